/** POST /api/queue/submit */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { submitFunctionTimeoutSeconds } from '../../model/config/resources.js';
import { routeDirect } from '../core/use-cases/direct-route.js';
import { parseSubmitBody } from '../core/domain/submit-command.js';
import { toSubmitResponse } from '../core/use-cases/submit-answer.js';
import { submit, type SubmitDeps } from '../core/use-cases/submit.js';
import { bodyStore, documentClient, sqsClient } from '../shared/aws-clients.js';
import { callDepsFromEnv } from '../shared/call-deps.js';
import { systemClock } from '../shared/clock.js';
import { runtimeEnv } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { functionMetrics, observeSubmissions } from '../shared/metrics.js';
import { DynamoDependencyStore } from '../adapters/dynamodb/dynamo-dependencies.js';
import { DynamoReadCache } from '../adapters/dynamodb/dynamo-read-cache.js';
import { DynamoRequestStore } from '../adapters/dynamodb/dynamo-request-store.js';
import { SqsWorkQueue } from '../adapters/sqs/sqs-work-queue.js';
import { bodyText, callerIdentity, httpErrors, json } from './http.js';

/**
 * CloudWatch metrics (EMF in the log, model/config/metrics.ts): those of each submit
 * (lambdas/core/use-cases/submit-answer.ts) and the DIRECT calls' outcomes, as the workers emit them.
 */
const metrics = functionMetrics('riq-submit', logger);
const observe = observeSubmissions(metrics, logger);

const settings = runtimeEnv.settings;
// The dead-letter queues only for DIRECT calls, whose last failed attempt is dead-lettered here.
const queue = new SqsWorkQueue(
  sqsClient(),
  runtimeEnv.queueUrls,
  settings.routing.direct ? runtimeEnv.deadLetterQueueUrls : {},
);
// Adaptive routing: the DIRECT path calls and settles exactly as a worker does, with the short
// deadline of `routing.directTimeoutMs` (lambdas/core/use-cases/direct-route.ts). Off: everything is queued.
const direct = settings.routing.direct
  ? await callDepsFromEnv({
      settings,
      metrics,
      queue,
      timeoutMs: settings.routing.directTimeoutMs,
      functionTimeoutSeconds: submitFunctionTimeoutSeconds(settings),
    })
  : undefined;
/**
 * What answering `queued` still needs once the DIRECT attempt is no longer waited for: the queue
 * send, the metrics and the log line. Without this bound a DIRECT attempt slowed down (its store and
 * gate calls have no deadline; a saturated CPU slowed DynamoDB) ran into the function's timeout, and
 * middy's early-timeout answer (`TimeoutError: [AbortError]: The operation was aborted.`, 5 ms before
 * the function's) became a 500 for a request that was stored and went on to run.
 */
const DIRECT_ANSWER_RESERVE_MS = 3_000;

const deps: SubmitDeps = {
  store: new DynamoRequestStore(documentClient(), runtimeEnv.tableName, settings.retentionDays * 24 * 3600),
  queue,
  clock: systemClock,
  config: settings,
  // Large payloads are stored here, large results read or presigned (claim check).
  bodies: direct?.deps.bodies ?? bodyStore(runtimeEnv.bodyBucket),
  cache: new DynamoReadCache(documentClient(), runtimeEnv.tableName),
  dependencies: new DynamoDependencyStore(
    documentClient(),
    runtimeEnv.tableName,
    settings.retentionDays * 24 * 3600,
  ),
  onEnqueueFailure: (token, err) =>
    logger.error('queue send failed after the record was stored; the sweeper will re-enqueue it', {
      token,
      error: err as Error,
    }),
  onCacheFailure: (err) =>
    logger.warn('read cache lookup failed; the read is queued', { error: err as Error }),
  ...(direct
    ? {
        direct: (record) =>
          routeDirect(
            {
              ...direct.deps,
              timeoutMs: settings.routing.directTimeoutMs,
              onQueueFailure: (token, err) =>
                logger.error('queue send after a failed DIRECT call failed; the sweeper re-sends it', {
                  token,
                  error: err as Error,
                }),
            },
            record,
          ),
        onDirectFailure: (token, err) =>
          logger.error('DIRECT attempt failed; the request is queued', { token, error: err as Error }),
      }
    : {}),
};

async function submitHandler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  // A DIRECT call's in-progress idempotency record expires with this invocation.
  direct?.executor.registerLambdaContext(context);
  const command = parseSubmitBody(bodyText(event), settings.api.maxBodyBytes);
  // The DIRECT attempt is waited for only while the answer can still be given in time (see above).
  const answer = await submit(
    direct
      ? { ...deps, directWaitMs: () => context.getRemainingTimeInMillis() - DIRECT_ANSWER_RESERVE_MS }
      : deps,
    command,
    callerIdentity(event),
  );
  observe(command, answer);
  const { statusCode, body } = toSubmitResponse(answer);
  return json(statusCode, body);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(submitHandler);
