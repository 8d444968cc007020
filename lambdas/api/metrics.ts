/** GET /api/queue/metrics: the current gauges as JSON, or (`Accept: text/plain`) for Prometheus. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
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
import { httpErrors, json } from './http.js';

const deps: MetricsDeps = {
  breaker: root.circuitBreaker(),
  queue: root.workQueueWithDeadLetters(),
  store: root.requestStore(),
  // Only `peek` is used: a GetItem of each service's bucket, never a write.
  rate: root.rateGate(),
  rateSettings: rateSettingsByService(root.settings()),
  clock: systemClock,
};

/** The Accept header, whatever case API Gateway passed its name in. */
function acceptOf(event: APIGatewayProxyEvent): string | undefined {
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === 'accept' && value) return value;
  }
  return undefined;
}

async function metrics(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
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

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(metrics);
