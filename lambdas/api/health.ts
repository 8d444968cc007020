/** GET /api/queue/health */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { checkHealth, type HealthDeps } from '../core/use-cases/health.js';
import { systemClock } from '../shared/clock.js';
import { logger } from '../shared/logger.js';
import * as root from '../shared/root.js';
import { type ApiEvent, type ApiResult, httpErrors, json } from './http.js';

const deps: HealthDeps = {
  breaker: root.circuitBreaker(),
  rate: root.rateGate(),
  points: root.pointsViews(),
  queue: root.workQueueWithDeadLetters(),
  store: root.requestStore(),
  clock: systemClock,
};

async function health(): Promise<ApiResult> {
  return json(200, await checkHealth(deps));
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(health);
