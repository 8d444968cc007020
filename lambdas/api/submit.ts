/** POST /api/queue/submit */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { parseSubmitBody } from '../core/submit-command.js';
import { submit, type SubmitDeps } from '../core/submit.js';
import { documentClient, sqsClient } from '../shared/aws-clients.js';
import { systemClock } from '../shared/clock.js';
import { readQueueUrls, readSettings, readTableName } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { DynamoDependencyStore } from '../store/dynamo-dependencies.js';
import { DynamoReadCache } from '../store/dynamo-read-cache.js';
import { DynamoRequestStore } from '../store/dynamo-request-store.js';
import { SqsWorkQueue } from '../store/sqs-work-queue.js';
import { bodyText, callerIdentity, httpErrors, json } from './http.js';

/**
 * CloudWatch metrics (EMF in the log): `Submitted` per accepted submit, and for reads that looked
 * the cache up `CacheHit`/`CacheMiss` (0 or 1 each, so their sums give the hit ratio).
 */
const metrics = new Metrics({ namespace: 'RIQ', serviceName: 'riq-submit', logger });

const settings = readSettings();
const deps: SubmitDeps = {
  store: new DynamoRequestStore(documentClient(), readTableName(), settings.retentionDays * 24 * 3600),
  queue: new SqsWorkQueue(sqsClient(), readQueueUrls()),
  clock: systemClock,
  config: settings,
  cache: new DynamoReadCache(documentClient(), readTableName()),
  dependencies: new DynamoDependencyStore(
    documentClient(),
    readTableName(),
    settings.retentionDays * 24 * 3600,
  ),
  onEnqueueFailure: (token, err) =>
    logger.error('queue send failed after the record was stored; the sweeper will re-enqueue it', {
      token,
      error: err as Error,
    }),
  onCacheFailure: (err) =>
    logger.warn('read cache lookup failed; the read is queued', { error: err as Error }),
};

async function submitHandler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const command = parseSubmitBody(bodyText(event), settings.api.maxBodyBytes);
  const answer = await submit(deps, command, callerIdentity(event));
  metrics.addMetric('Submitted', MetricUnit.Count, 1);
  if (answer.cache === 'hit' || answer.cache === 'miss') {
    metrics.addMetric('CacheHit', MetricUnit.Count, answer.cache === 'hit' ? 1 : 0);
    metrics.addMetric('CacheMiss', MetricUnit.Count, answer.cache === 'miss' ? 1 : 0);
  }
  if (answer.cache === 'hit') {
    logger.info('read answered from the cache', {
      operation: command.operation,
      cached_at: answer.cached_at,
    });
    const { cache: _cache, ...body } = answer;
    return json(200, body);
  }
  logger.info('request submitted', {
    token: answer.token,
    operation: command.operation,
    priority: command.priority,
    status: answer.status,
    duplicate: answer.duplicate ?? false,
    cache: answer.cache ?? 'none',
  });
  const { duplicate: _duplicate, cache: _cache, fire_and_forget: fireAndForget, ...body } = answer;
  // Fire and forget: accepted, not to be waited on.
  return json(fireAndForget === true ? 202 : 200, body);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(httpErrors(logger))
  .handler(submitHandler);
