/** GET /api/queue/circuit-breakers: every service's breaker, read-only. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { breakerSettingsOf } from '../core/domain/breaker.js';
import { readBreakerReport, type BreakerReportDeps } from '../core/use-cases/breaker-report.js';
import { systemClock } from '../shared/clock.js';
import { logger } from '../shared/logger.js';
import * as root from '../shared/root.js';
import { type ApiEvent, type ApiResult, httpErrors, json } from './http.js';

const deps: BreakerReportDeps = {
  breaker: root.circuitBreaker(),
  clock: systemClock,
  settings: breakerSettingsOf(root.settings()),
};

async function circuitBreakers(): Promise<ApiResult> {
  return json(200, await readBreakerReport(deps));
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(circuitBreakers);
