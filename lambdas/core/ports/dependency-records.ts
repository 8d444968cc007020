/**
 * The storage under `depends_on` (lambdas/adapters/dynamodb/dynamo-dependencies.ts; in memory in
 * tests): request records with their dependency fields, and the few atomic writes that make
 * registration and release race-free. It decides nothing: which child is released, failed or left
 * waiting is decided above it, once, in lambdas/core/domain/dependency-store.ts.
 *
 * The fields (on request records):
 * - a parent carries `dependents`, the children registered on it;
 * - a child carries `depends_on` (its list, as submitted), `after_write` (the write it waits for to
 *   finish) and, while `status = waiting`, `waiting_on`: the parents that have not finished yet.
 *
 * Every write is conditional on the state it changes, so it may be repeated harmlessly and, of
 * callers racing for the same change, exactly one gets it.
 */
import type { ErrorBody } from '../../../model/errors.js';
import type { RequestRecord } from '../../../model/request-record.js';
import type { IdempotencyClaim, ListedRecord, WaitingQuery } from './index.js';

/** A request record with the children registered on it; sets are read back as sorted arrays. */
export type DependencyRecord = RequestRecord & { dependents?: string[] };

export type ChildWrite =
  /** The child (and its idempotency claim) was written. */
  | { kind: 'stored' }
  /** The idempotency key was taken: nothing written. */
  | { kind: 'duplicate'; existingToken: string; fingerprint: string };

export type WaitingChildWrite =
  | ChildWrite
  /** These parents had finished (or were gone) when the write was tried: nothing written. */
  | { kind: 'parents_finished'; parents: string[] };

/** A waiting child's move to `failed`. */
export interface ChildFailure {
  error: ErrorBody;
  /** Epoch ms of the change (`updated_at`, `completed_at`). */
  now: number;
  /** Epoch seconds: the failed record's TTL (`expires_at`). */
  expiresAt: number;
}

export interface DependencyRecords {
  /** The record as it is now (a strongly consistent read), or undefined when there is none. */
  get(token: string): Promise<DependencyRecord | undefined>;

  /**
   * Writes `record`, a token never stored, with its idempotency claim in the same atomic write.
   * Throws when the token exists.
   */
  putChild(record: DependencyRecord, idempotency?: IdempotencyClaim): Promise<ChildWrite>;

  /**
   * One atomic write of `record` (a `waiting` child, never stored), its idempotency claim, and
   * `record.token` added to the `dependents` of each of `parents`, on the condition that every
   * parent exists and has not finished (`queued`, `processing` or `waiting`). A parent's finishing
   * write is a single-item write, so it is ordered either before this write (which is then refused,
   * naming the parent) or after it (and the release that follows it sees the child). Throws when
   * the token exists.
   */
  putWaitingChild(
    record: DependencyRecord,
    parents: readonly string[],
    idempotency?: IdempotencyClaim,
  ): Promise<WaitingChildWrite>;

  /**
   * Removes `parent` from the child's `waiting_on` (and sets `updated_at`), only while the child is
   * `waiting` with `parent` in `waiting_on`. False when refused.
   */
  removeWaitingOn(child: string, parent: string, now: number): Promise<boolean>;

  /**
   * `waiting` with an empty `waiting_on` → `queued`: the record as written, or undefined when
   * refused. Of concurrent callers exactly one gets the record.
   */
  markReady(child: string, now: number): Promise<DependencyRecord | undefined>;

  /**
   * `waiting` → `failed` with `failure.error`, `waiting_on` removed: the record as written, or
   * undefined when refused: the child is not `waiting`, or `parent` is only its `after_write` (not
   * also in its `depends_on`), which a failed parent satisfies instead.
   */
  markFailed(child: string, parent: string, failure: ChildFailure): Promise<DependencyRecord | undefined>;

  /**
   * Records `waiting` since before `updatedBefore` and not swept (`swept_at`, stamped by
   * RequestStore.markSwept) since `sweptBefore`, oldest first, at most `limit`, as the by-status
   * index lists them.
   */
  findWaiting(query: WaitingQuery): Promise<ListedRecord[]>;
}
