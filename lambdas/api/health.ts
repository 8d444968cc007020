/** GET /api/queue/health */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { breakerSettingsOf } from '../core/domain/breaker.js';
import { checkHealth, type HealthDeps } from '../core/use-cases/health.js';
import { documentClient, sqsClient } from '../shared/aws-clients.js';
import { systemClock } from '../shared/clock.js';
import { runtimeEnv } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { DynamoCircuitBreaker } from '../adapters/dynamodb/dynamo-circuit-breaker.js';
import { DynamoRequestStore } from '../adapters/dynamodb/dynamo-request-store.js';
import { SqsWorkQueue } from '../adapters/sqs/sqs-work-queue.js';
import { httpErrors, json } from './http.js';

const settings = runtimeEnv.settings;
const deps: HealthDeps = {
  breaker: new DynamoCircuitBreaker(documentClient(), runtimeEnv.tableName, breakerSettingsOf(settings)),
  queue: new SqsWorkQueue(sqsClient(), runtimeEnv.queueUrls, runtimeEnv.deadLetterQueueUrls),
  store: new DynamoRequestStore(documentClient(), runtimeEnv.tableName, settings.retentionDays * 24 * 3600),
  clock: systemClock,
};

async function health(): Promise<APIGatewayProxyResult> {
  return json(200, await checkHealth(deps));
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(health);
