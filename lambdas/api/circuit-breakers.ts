/** GET /api/queue/circuit-breakers: every service's breaker, read-only. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { breakerSettingsOf } from '../core/domain/breaker.js';
import { readBreakerReport, type BreakerReportDeps } from '../core/use-cases/breaker-report.js';
import { documentClient } from '../shared/aws-clients.js';
import { systemClock } from '../shared/clock.js';
import { runtimeEnv } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { DynamoCircuitBreaker } from '../adapters/dynamodb/dynamo-circuit-breaker.js';
import { httpErrors, json } from './http.js';

const settings = breakerSettingsOf(runtimeEnv.settings);
const deps: BreakerReportDeps = {
  breaker: new DynamoCircuitBreaker(documentClient(), runtimeEnv.tableName, settings),
  clock: systemClock,
  settings,
};

async function circuitBreakers(): Promise<APIGatewayProxyResult> {
  return json(200, await readBreakerReport(deps));
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(circuitBreakers);
