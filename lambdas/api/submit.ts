/** POST /api/queue/submit */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { parseSubmitBody } from '../core/submit-command.js';
import { submitRequest, type SubmitDeps } from '../core/submit.js';
import { documentClient, sqsClient } from '../shared/aws-clients.js';
import { systemClock } from '../shared/clock.js';
import { readQueueUrls, readSettings, readTableName } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { DynamoRequestStore } from '../store/dynamo-request-store.js';
import { SqsWorkQueue } from '../store/sqs-work-queue.js';
import { bodyText, callerIdentity, httpErrors, json } from './http.js';

const settings = readSettings();
const deps: SubmitDeps = {
  store: new DynamoRequestStore(documentClient(), readTableName(), settings.retentionDays * 24 * 3600),
  queue: new SqsWorkQueue(sqsClient(), readQueueUrls()),
  clock: systemClock,
  config: settings,
  onEnqueueFailure: (token, err) =>
    logger.error('queue send failed after the record was stored; the sweeper will re-enqueue it', {
      token,
      error: err as Error,
    }),
};

async function submit(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const command = parseSubmitBody(bodyText(event), settings.api.maxBodyBytes);
  const response = await submitRequest(deps, command, callerIdentity(event));
  logger.info('request submitted', {
    token: response.token,
    operation: command.operation,
    priority: command.priority,
    status: response.status,
    duplicate: response.duplicate ?? false,
  });
  const { duplicate: _duplicate, ...body } = response;
  return json(200, body);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(submit);
