/**
 * Worker use case: one delivered message → claim the record, call Atlassian once, record the outcome,
 * and tell the queue adapter what to do with the message.
 *
 * The message's receive count is the attempt number, because it is what SQS's redrive policy counts:
 * after `maxAttempts` failed receives the next receive moves the message to the DLQ. So on the last
 * failed attempt the record is marked `dead` and the message is released at once (DESIGN invariant 4).
 */
import type { RiqConfig } from '../../lib/config/riq-config.js';
import { toRiqError, type ErrorBody, type RiqError } from './errors.js';
import type { Clock, Lease, OperationExecutor, RequestStore } from './ports.js';
import { retryDelaySeconds } from './retry-schedule.js';

export interface ProcessDeps {
  store: RequestStore;
  executor: OperationExecutor;
  clock: Clock;
  config: Pick<RiqConfig, 'retry' | 'retentionDays'>;
  leaseSeconds: number;
  random?: () => number;
}

export interface DeliveredMessage {
  token: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
}

export type Disposition =
  /** Done with this message: delete it. */
  | { action: 'ack'; outcome: 'completed' | 'failed' | 'already-finished' | 'missing' | 'lease-lost' }
  /** Keep the message and make it visible again after the delay (a retry after backoff). */
  | { action: 'retry'; delaySeconds: number; outcome: 'retry' | 'busy' }
  /** Last attempt failed: release the message now so SQS's redrive moves it to the DLQ. */
  | { action: 'dead-letter'; outcome: 'dead' };

export async function processRequest(deps: ProcessDeps, message: DeliveredMessage): Promise<Disposition> {
  const now = deps.clock.now();
  const claim = await deps.store.claim(message.token, now, deps.leaseSeconds);
  switch (claim.kind) {
    case 'missing':
      // Purged by an operator (or expired): nothing to do.
      return { action: 'ack', outcome: 'missing' };
    case 'finished':
      // A duplicate delivery of a request that already ended: never call Atlassian again.
      return { action: 'ack', outcome: 'already-finished' };
    case 'busy': {
      // Another worker holds a live lease: look again once it has expired.
      const left = Math.max(1, Math.ceil(((claim.record.lease_expires_at ?? now) - now) / 1000) + 1);
      return { action: 'retry', delaySeconds: left, outcome: 'busy' };
    }
    case 'claimed':
      break;
  }

  const lease: Lease = { token: message.token, leaseId: claim.leaseId };
  const { record } = claim;
  let result: unknown;
  try {
    result = await deps.executor.execute(record.operation, record.payload, { token: record.token });
  } catch (err) {
    return settleFailure(deps, lease, toRiqError(err), message.receiveCount);
  }
  const done = deps.clock.now();
  const stored = await deps.store.complete(lease, result ?? null, done, expiry(deps, done));
  return { action: 'ack', outcome: stored ? 'completed' : 'lease-lost' };
}

async function settleFailure(
  deps: ProcessDeps,
  lease: Lease,
  error: RiqError,
  attempt: number,
): Promise<Disposition> {
  const now = deps.clock.now();
  const body: ErrorBody = { ...error.toBody(), details: { ...error.details, attempt } };
  if (!error.retryable) {
    const stored = await deps.store.fail(lease, body, now, expiry(deps, now));
    return { action: 'ack', outcome: stored ? 'failed' : 'lease-lost' };
  }
  if (attempt >= deps.config.retry.maxAttempts) {
    await deps.store.markDead(lease, body, now);
    return { action: 'dead-letter', outcome: 'dead' };
  }
  await deps.store.release(lease, body, now);
  return {
    action: 'retry',
    delaySeconds: retryDelaySeconds(deps.config.retry, attempt, deps.random),
    outcome: 'retry',
  };
}

function expiry(deps: ProcessDeps, nowMs: number): number {
  return Math.floor(nowMs / 1000) + deps.config.retentionDays * 24 * 3600;
}
