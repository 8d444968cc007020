/**
 * The small interfaces the use cases need from the outside world. Adapters in lambdas/store and
 * lambdas/atlassian implement them; unit tests hand in in-memory versions.
 */
import type { QueueKey } from '../../lib/config/resources.js';
import type { ErrorBody } from './errors.js';
import type { OperationName } from './operations.js';
import type { RequestRecord, Status } from './request-record.js';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface IdempotencyClaim {
  key: string;
  /** Hash of operation + payload: the same key with another fingerprint is a conflict. */
  fingerprint: string;
}

export type InsertOutcome =
  { kind: 'inserted' } | { kind: 'duplicate'; existingToken: string; fingerprint: string };

export type ClaimOutcome =
  | { kind: 'claimed'; record: RequestRecord; leaseId: string }
  /** Another worker holds a live lease. */
  | { kind: 'busy'; record: RequestRecord }
  /** completed / failed / cached: nothing left to do. */
  | { kind: 'finished'; record: RequestRecord }
  | { kind: 'missing' };

export interface Lease {
  token: string;
  leaseId: string;
}

export interface RequestStore {
  /** Writes a new record; with an idempotency claim, atomically, so one key yields one record. */
  insert(record: RequestRecord, idempotency?: IdempotencyClaim): Promise<InsertOutcome>;
  get(token: string): Promise<RequestRecord | undefined>;
  /**
   * Conditionally moves a `queued` or `dead` record, or one whose lease expired, to `processing`.
   * Claiming does not count an attempt (a claimed request may still be deferred); claiming a `dead`
   * record (a DLQ redrive) resets its attempts, so the redriven request gets a full set again.
   */
  claim(token: string, now: number, leaseSeconds: number): Promise<ClaimOutcome>;
  /**
   * Counts one real attempt just before the call to Atlassian, while `lease` is still the record's
   * lease; answers the attempt number, or undefined when the lease was lost.
   */
  beginAttempt(lease: Lease, now: number): Promise<number | undefined>;
  /** Back to `queued` without counting an attempt: the worker could not call now (a deferral). */
  defer(lease: Lease, now: number, reason: DeferReason, until: number): Promise<boolean>;
  /** The following succeed only while `lease` is still the record's lease (else they return false). */
  complete(lease: Lease, result: unknown, now: number, expiresAt: number): Promise<boolean>;
  fail(lease: Lease, error: ErrorBody, now: number, expiresAt: number): Promise<boolean>;
  /** Back to `queued` after a retryable failure; the next delivery claims it again. */
  release(lease: Lease, error: ErrorBody, now: number): Promise<boolean>;
  markDead(lease: Lease, error: ErrorBody, now: number): Promise<boolean>;
  countByStatus(status: Status): Promise<number>;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

/** Why a worker did not call Atlassian now (visible on the record as `deferred_reason`). */
export type DeferReason = 'no_token' | 'paused' | 'breaker_open' | 'probe_taken' | 'busy' | 'not_before';

export interface SendOptions {
  /** SQS DelaySeconds, 0–900. */
  delaySeconds?: number;
  /** Epoch ms before which a worker re-defers instead of claiming (waits longer than 15 minutes). */
  notBefore?: number;
}

export interface WorkQueue {
  send(queue: QueueKey, token: string, options?: SendOptions): Promise<void>;
  /** Puts a copy of the work message straight into the queue's dead-letter queue. */
  sendToDeadLetter(queue: QueueKey, token: string): Promise<void>;
  /** Sets when a received message becomes visible again (the retry backoff). */
  changeVisibility(queue: QueueKey, receiptHandle: string, seconds: number): Promise<void>;
  depth(queue: QueueKey): Promise<QueueDepth>;
  deadLetterDepth(queue: QueueKey): Promise<number>;
}

/** Executes one operation against Atlassian; throws UpstreamError (or ValidationError) on failure. */
export interface OperationExecutor {
  execute(
    operation: OperationName,
    payload: Record<string, unknown>,
    /** `attempt`: this call's attempt number (1 first), so an adapter can reconcile after an ambiguous failure. */
    context: { token: string; attempt?: number },
  ): Promise<unknown>;
}
