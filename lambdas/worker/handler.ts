/**
 * Worker: SQS batch → one `processRequest` per message, one after another (Powertools batch with a
 * partial batch response). One function per service is deployed from this entry; the bulkhead is
 * the function's reserved concurrency.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { allQueueKeys, claimLeaseSeconds } from '../../lib/config/resources.js';
import { RUNTIME_ENV } from '../../lib/config/runtime-env.js';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { secretAuthProvider } from '../atlassian/credentials.js';
import { AtlassianExecutor } from '../atlassian/operation-executor.js';
import { processRequest, type ProcessDeps } from '../core/process-request.js';
import { documentClient, sqsClient } from '../shared/aws-clients.js';
import { systemClock } from '../shared/clock.js';
import { optionalEnv, readQueueUrls, readSettings, readTableName, requiredEnv } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { DynamoRequestStore } from '../store/dynamo-request-store.js';
import { SqsWorkQueue, parseWorkMessage } from '../store/sqs-work-queue.js';
import { applyDisposition, queueKeyFromArn } from './message-actions.js';

const settings = readSettings();
const queue = new SqsWorkQueue(sqsClient(), readQueueUrls());
const jiraBaseUrl = requiredEnv(RUNTIME_ENV.jiraBaseUrl);
const secretArn = optionalEnv(RUNTIME_ENV.atlassianSecretArn);
const auth = secretArn
  ? // Cached for 5 minutes: a rotated API token is used within 5 minutes, without a redeploy.
    secretAuthProvider(secretArn, (id) => getSecret(id, { transform: 'json', maxAge: 300 }))
  : { email: requiredEnv(RUNTIME_ENV.atlassianEmail), apiToken: requiredEnv(RUNTIME_ENV.atlassianApiToken) };
const deps: ProcessDeps = {
  store: new DynamoRequestStore(documentClient(), readTableName(), settings.retentionDays * 24 * 3600),
  executor: new AtlassianExecutor({
    jiraBaseUrl,
    confluenceBaseUrl: optionalEnv(RUNTIME_ENV.confluenceBaseUrl) ?? `${jiraBaseUrl}/wiki`,
    auth,
    timeoutMs: settings.upstream.timeoutMs,
    defaultIssueType: settings.atlassian.defaultIssueType,
  }),
  clock: systemClock,
  config: settings,
  leaseSeconds: claimLeaseSeconds(settings),
};
const knownQueues = allQueueKeys();
const processor = new BatchProcessor(EventType.SQS);

async function handleRecord(record: SQSRecord): Promise<void> {
  const key = queueKeyFromArn(record.eventSourceARN, settings.namePrefix, knownQueues);
  const { token } = parseWorkMessage(record.body);
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  const started = Date.now();
  const disposition = await processRequest(deps, { token, receiveCount });
  logger.info('request processed', {
    token,
    queue: key,
    attempt: receiveCount,
    outcome: disposition.outcome,
    action: disposition.action,
    ...(disposition.action === 'retry' ? { retry_in_seconds: disposition.delaySeconds } : {}),
    duration_ms: Date.now() - started,
  });
  await applyDisposition(queue, key, record.receiptHandle, disposition);
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  return processPartialResponse(event, handleRecord, processor, {
    context,
    processInParallel: false,
    // A batch whose every record is retried later is not a Lambda error.
    throwOnFullBatchFailure: false,
  });
}
