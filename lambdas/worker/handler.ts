/**
 * Worker: SQS batch → one `processRequest` per message, one after another (Powertools batch with a
 * partial batch response). One function per service is deployed from this entry; the bulkhead is
 * the function's reserved concurrency.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { allQueueKeys, claimLeaseSeconds } from '../../lib/config/resources.js';
import { RUNTIME_ENV } from '../../lib/config/runtime-env.js';
import { awsConnection, localConnection, readLocalSettings } from '../atlassian/connection.js';
import { AtlassianExecutor } from '../atlassian/operation-executor.js';
import { breakerSettingsOf } from '../core/breaker.js';
import { processRequest, type ProcessDeps } from '../core/process-request.js';
import { callScopeOf } from '../core/rate-control.js';
import { DynamoCircuitBreaker } from '../store/dynamo-circuit-breaker.js';
import { DynamoDependencyStore } from '../store/dynamo-dependencies.js';
import { DynamoRateGate } from '../store/dynamo-rate-gate.js';
import { DynamoReadCache } from '../store/dynamo-read-cache.js';
import { documentClient, dynamoDbClient, sqsClient } from '../shared/aws-clients.js';
import { systemClock } from '../shared/clock.js';
import { optionalEnv, readQueueUrls, readSettings, readTableName } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { DynamoRequestStore } from '../store/dynamo-request-store.js';
import { DynamoWriteLocks } from '../store/dynamo-write-lock.js';
import { IdempotentExecutor } from '../store/idempotent-executor.js';
import { cachedSecretReader } from '../store/secret-reader.js';
import { SecretsManagerTokenStore } from '../store/secret-token-store.js';
import { SqsWorkQueue, parseWorkMessage } from '../store/sqs-work-queue.js';
import { MessageKept, applyDisposition, queueKeyFromArn } from './message-actions.js';

const settings = readSettings();
const queue = new SqsWorkQueue(sqsClient(), readQueueUrls(), readQueueUrls(RUNTIME_ENV.deadLetterQueueUrls));
const secretArn = optionalEnv(RUNTIME_ENV.atlassianSecretArn);
const warn = (message: string, details?: Record<string, unknown>) => logger.warn(message, details ?? {});
// On AWS the secret is read during the cold start (top-level await), so a missing or malformed one
// fails the init with its name; locally the credentials come from the environment.
const connection = secretArn
  ? await awsConnection(process.env, secretArn, {
      readSecret: cachedSecretReader,
      tokenStore: (id) => new SecretsManagerTokenStore(id, new SecretsManagerClient({})),
      oauth: { warn },
    })
  : localConnection(readLocalSettings(process.env), { warn });
logger.info('Atlassian connection', { auth_mode: connection.mode, jira: connection.endpoints.jiraBaseUrl });
const retentionSeconds = settings.retentionDays * 24 * 3600;
// Done once (DESIGN invariant 2): a call whose result was saved is not made again by a later
// attempt, even when the worker died before `complete` (see lambdas/store/idempotent-executor.ts).
const executor = new IdempotentExecutor(
  new AtlassianExecutor({
    ...connection.endpoints,
    auth: connection.auth,
    timeoutMs: settings.upstream.timeoutMs,
    defaultIssueType: settings.atlassian.defaultIssueType,
  }),
  {
    client: dynamoDbClient(),
    tableName: readTableName(),
    retentionSeconds,
    callTimeoutSeconds: settings.worker.timeoutSeconds,
    warn,
  },
);
const deps: ProcessDeps = {
  store: new DynamoRequestStore(documentClient(), readTableName(), retentionSeconds),
  executor,
  clock: systemClock,
  config: settings,
  leaseSeconds: claimLeaseSeconds(settings),
  // One instance per container: a half-open probe is reported through the breaker that granted it.
  flow: {
    breaker: new DynamoCircuitBreaker(documentClient(), readTableName(), breakerSettingsOf(settings)),
    rate: new DynamoRateGate(documentClient(), readTableName(), settings),
    scopeOf: (record) => callScopeOf(record.operation, record.payload, record.priority),
    // Writes to one issue or page go one at a time across all workers.
    writeLocks: new DynamoWriteLocks(documentClient(), readTableName()),
  },
  // Completed reads fill the read cache; completed writes invalidate it (best effort).
  cache: new DynamoReadCache(documentClient(), readTableName()),
  onCacheFailure: (token, err) =>
    logger.warn('read cache update failed; the request outcome stands', { token, error: err as Error }),
  // depends_on: a finished request releases its waiting children and sends the ready ones.
  dependencies: new DynamoDependencyStore(documentClient(), readTableName(), retentionSeconds),
  queue,
  onReleaseFailure: (token, err) =>
    logger.error('releasing dependents failed; the sweeper reconciles them', { token, error: err as Error }),
};
const knownQueues = allQueueKeys();

async function handleRecord(record: SQSRecord): Promise<void> {
  try {
    await processRecord(record);
  } catch (err) {
    // A record kept on purpose (a retry) is not an error; anything else is logged before the batch
    // processor reports the record as failed (it comes back after its visibility timeout).
    if (!(err instanceof MessageKept))
      logger.error('record failed', { message_id: record.messageId, error: err });
    throw err;
  }
}

async function processRecord(record: SQSRecord): Promise<void> {
  const key = queueKeyFromArn(record.eventSourceARN, settings.namePrefix, knownQueues);
  const { token, not_before: notBefore } = parseWorkMessage(record.body);
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  const started = Date.now();
  const disposition = await processRequest(deps, {
    token,
    receiveCount,
    ...(notBefore !== undefined ? { notBefore } : {}),
  });
  logger.info('request processed', {
    token,
    queue: key,
    receive_count: receiveCount,
    outcome: disposition.outcome,
    action: disposition.action,
    ...(disposition.action === 'retry' ? { retry_in_seconds: disposition.delaySeconds } : {}),
    ...(disposition.action === 'defer' ? { deferred_seconds: disposition.delaySeconds } : {}),
    duration_ms: Date.now() - started,
  });
  await applyDisposition(queue, key, record.receiptHandle, token, disposition);
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  // An in-progress call record left by a crash expires when this invocation's time is up: before
  // the claim lease (the worker timeout + 10 s) lets another worker take the request.
  executor.registerLambdaContext(context);
  // A processor per invocation: it holds the batch's state, and the local stack runs several
  // invocations of this module at once (on Lambda one environment runs one invocation at a time,
  // but sharing one processor there buys nothing either). A shared one let a concurrent invocation
  // reset the failures of another, whose kept (retried) message was then deleted and lost.
  return processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
    context,
    processInParallel: false,
    // A batch whose every record is retried later is not a Lambda error.
    throwOnFullBatchFailure: false,
  });
}
