/**
 * Worker: SQS batch → one `processRequest` per message, one after another (Powertools batch with a
 * partial batch response). One function per service is deployed from this entry; the bulkhead is
 * the function's reserved concurrency.
 *
 * Before each message after the first it checks the time left: with less than one message's budget
 * (lambdas/core/domain/attempt-budget.ts) it starts no more and hands the rest back untouched, instead of
 * being cut off by its timeout with messages it never started.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { allQueueKeys } from '../../model/config/resources.js';
import { mayStartMessage } from '../core/domain/attempt-budget.js';
import { processRequest } from '../core/use-cases/process-request.js';
import { callAndSettleDeps } from '../shared/call-and-settle.js';
import { logger } from '../shared/logger.js';
import { functionMetrics } from '../shared/metrics.js';
import * as root from '../shared/root.js';
import { parseWorkMessage } from '../adapters/sqs/sqs-work-queue.js';
import { messageBudgetMs } from '../../model/config/message-budget.js';
import {
  MessageKept,
  applyDisposition,
  handBack,
  processedLineLevel,
  queueKeyFromArn,
} from './message-actions.js';

const settings = root.settings();
const queue = root.workQueueWithDeadLetters();
// The catalogue's metrics (model/config/metrics.ts), written as single EMF lines as they happen.
const metrics = functionMetrics('riq-worker', logger);
const { deps, executor } = await callAndSettleDeps({
  metrics,
  queue,
  timeoutMs: settings.upstream.timeoutMs,
  functionTimeoutSeconds: settings.worker.timeoutSeconds,
});
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

/** A message not started in this invocation: a fresh copy now, this one done (see `handBack`). */
async function handBackRecord(record: SQSRecord, remainingMs: number): Promise<void> {
  const key = queueKeyFromArn(record.eventSourceARN, settings.namePrefix, knownQueues);
  const {
    token,
    not_before: notBefore,
    slot_at: slotAt,
    dead_letter: deadLetter,
  } = parseWorkMessage(record.body);
  const details = {
    correlation_id: token,
    token,
    queue: key,
    remaining_ms: remainingMs,
    budget_ms: messageBudgetMs(settings.upstream.timeoutMs),
  };
  try {
    await handBack(queue, key, {
      token,
      receiptHandle: record.receiptHandle,
      ...(notBefore !== undefined ? { notBefore } : {}),
      ...(slotAt !== undefined ? { slotAt } : {}),
      ...(deadLetter === true ? { deadLetter } : {}),
    });
    logger.info('message handed back unstarted: too little time left', details);
  } catch (err) {
    logger.warn('handing back an unstarted message failed; it is kept, visible again', {
      ...details,
      error: err as Error,
    });
    throw err;
  }
}

async function processRecord(record: SQSRecord): Promise<void> {
  const key = queueKeyFromArn(record.eventSourceARN, settings.namePrefix, knownQueues);
  const {
    token,
    not_before: notBefore,
    slot_at: slotAt,
    dead_letter: deadLetter,
  } = parseWorkMessage(record.body);
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  const started = Date.now();
  const disposition = await processRequest(deps, {
    token,
    receiveCount,
    ...(notBefore !== undefined ? { notBefore } : {}),
    ...(slotAt !== undefined ? { slotAt } : {}),
    ...(deadLetter === true ? { fromDeadLetter: true } : {}),
  });
  const processed = processedLineLevel(disposition) === 'INFO' ? logger.info : logger.debug;
  processed.call(logger, 'request processed', {
    correlation_id: token,
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
  let started = 0;
  const handleInTime = async (record: SQSRecord): Promise<void> => {
    const remainingMs = context.getRemainingTimeInMillis();
    if (!mayStartMessage({ remainingMs, upstreamTimeoutMs: settings.upstream.timeoutMs, started })) {
      return handBackRecord(record, remainingMs);
    }
    started += 1;
    return handleRecord(record);
  };
  // A processor per invocation: it holds the batch's state, and the local stack runs several
  // invocations of this module at once (on Lambda one environment runs one invocation at a time,
  // but sharing one processor there buys nothing either). A shared one let a concurrent invocation
  // reset the failures of another, whose kept (retried) message was then deleted and lost.
  return processPartialResponse(event, handleInTime, new BatchProcessor(EventType.SQS), {
    context,
    processInParallel: false,
    // A batch whose every record is retried later is not a Lambda error.
    throwOnFullBatchFailure: false,
  });
}
