/** GET /api/queue/metrics: the current gauges as JSON, or (`Accept: text/plain`) for Prometheus. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import {
  negotiateFormat,
  PROMETHEUS_CONTENT_TYPE,
  rateSettingsByService,
  readMetrics,
  toPrometheusText,
  type MetricsDeps,
} from '../core/use-cases/metrics-report.js';
import { systemClock } from '../shared/clock.js';
import { logger } from '../shared/logger.js';
import * as root from '../shared/root.js';
import { type ApiEvent, type ApiResult, httpErrors, json } from './http.js';

const deps: MetricsDeps = {
  breaker: root.circuitBreaker(),
  queue: root.workQueueWithDeadLetters(),
  store: root.requestStore(),
  // Only `peek` is used: a GetItem of each service's bucket, never a write.
  rate: root.rateGate(),
  rateSettings: rateSettingsByService(root.settings()),
  clock: systemClock,
};

/** The Accept header (payload format 2.0 lower-cases header names and joins repeated ones with commas). */
function acceptOf(event: ApiEvent): string | undefined {
  return event.headers?.['accept'] || undefined;
}

async function metrics(event: ApiEvent): Promise<ApiResult> {
  const report = await readMetrics(deps);
  if (negotiateFormat(acceptOf(event)) === 'prometheus') {
    return {
      statusCode: 200,
      headers: { 'content-type': PROMETHEUS_CONTENT_TYPE, vary: 'Accept' },
      body: toPrometheusText(report),
    };
  }
  const answer = json(200, report);
  return { ...answer, headers: { ...answer.headers, vary: 'Accept' } };
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(metrics);
