/**
 * The small interfaces the use cases need from the outside world. Adapters in lambdas/adapters/
 * implement them; unit tests hand in in-memory versions.
 */
import type { QueueKey } from '../../../model/config/resources.js';
import type { Service } from '../../../model/config/riq-config.js';
import type { ErrorBody } from '../../../model/errors.js';
import type { OperationName } from '../../../model/operations.js';
import type { RateLimitSignals } from '../domain/rate-limit-signals.js';
import type {
  BodyRef,
  RequestRecord,
  RoutingPath,
  Status,
  StoredResult,
} from '../../../model/request-record.js';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/**
 * Word that a request's record was written, heard only where the writer runs in the reader's own
 * process (the local stack runs every function in one). On Lambda each function is a process of
 * its own: nothing is heard, and a wait is a plain pause.
 */
export interface RecordChanges {
  /** Resolves after `ms`, or as soon as a write to the record of `token` is heard. */
  waitForChange(token: string, ms: number): Promise<void>;
  /** Whether every write to the records is heard here, so a reader need not re-read on a timer. */
  hearsAllWrites(): boolean;
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

/** Who may claim a request: a worker (`QUEUED`) or the submit function's DIRECT call. */
export type ClaimRoutingPath = Exclude<RoutingPath, 'CACHE'>;

export interface Lease {
  token: string;
  leaseId: string;
  /** The attempt the lease's claim began (its number), told in the timeline entries it writes. */
  attempt?: number;
}

export interface ClaimOptions {
  /** The lease id to claim with (default: a new one), known before the claim to name a write lock. */
  leaseId?: string;
  /** The message was redriven from the dead-letter queue by an operator: a `dead` record may be claimed. */
  reviveDead?: boolean;
  /**
   * The claim also begins an attempt in the same write (a worker: a deferral before the call gives
   * it back with `refundAttempt`). The claimed record's `attempts` is then the attempt's number.
   */
  beginAttempt?: boolean;
}

/**
 * A request record as a settling write left it: with `dependents`, the children registered on it
 * (lambdas/core/ports/dependency-records.ts), which a finished request must release.
 */
export type SettledRecord = RequestRecord & { dependents?: string[] };

/**
 * A request as the by-status index lists it for the sweeper: what it filters on, stamps and
 * re-sends with, not the whole record.
 */
export type ListedRecord = Pick<
  RequestRecord,
  | 'token'
  | 'status'
  | 'service'
  | 'priority'
  | 'created_at'
  | 'updated_at'
  | 'lease_expires_at'
  | 'deferred_until'
> & { swept_at?: string };

/** How a record is inserted: `leaseId`, stored already `processing` under that lease (DIRECT). */
export interface InsertOptions {
  leaseId?: string;
}

export interface RequestStore {
  /**
   * Writes a new record; with an idempotency claim, atomically, so one key yields one record. A
   * record stored `processing` (the DIRECT path, its gate passed and its attempt begun) carries its
   * lease: `options.leaseId` and the record's `lease_expires_at`.
   */
  insert(
    record: RequestRecord,
    idempotency?: IdempotencyClaim,
    options?: InsertOptions,
  ): Promise<InsertOutcome>;
  get(token: string): Promise<RequestRecord | undefined>;
  /**
   * Conditionally moves a `queued` record, or one whose lease expired, to `processing`. A `dead`
   * record is claimed only with `reviveDead` (a message an operator redrove from the dead-letter
   * queue), and then its attempts are reset, so the redriven request gets a full set again; any
   * other message finds it `finished`. Claiming does not count an attempt (a claimed request may
   * still be deferred), unless `options.beginAttempt` asks for it. The claim sets `routing_path` to the path that will call (default `QUEUED`,
   * a worker): a request whose DIRECT call failed and was queued reads `QUEUED` once a worker
   * takes it.
   */
  claim(
    token: string,
    now: number,
    leaseSeconds: number,
    routingPath?: ClaimRoutingPath,
    options?: ClaimOptions,
  ): Promise<ClaimOutcome>;
  /**
   * Back to `queued` without counting an attempt: the worker could not call now (a deferral).
   * `refundAttempt`: the attempt the claim began made no call after all (a deferral, or the call's
   * own bookkeeping failed first), so it and its call are taken back in the same write.
   */
  defer(
    lease: Lease,
    now: number,
    reason: DeferReason,
    until: number,
    options?: { refundAttempt?: boolean },
  ): Promise<SettledRecord | undefined>;
  /**
   * The following, like `defer`, succeed only while `lease` is still the record's lease, and answer
   * the record as the write left it (undefined: the lease was lost, nothing was written), so no
   * read follows a settling write. `complete` stores the result inline (`result`) or the pointer to
   * it (`result_ref`, see lambdas/core/domain/claim-check.ts), and drops the other.
   */
  complete(
    lease: Lease,
    result: StoredResult,
    now: number,
    expiresAt: number,
  ): Promise<SettledRecord | undefined>;
  /** `refundAttempt`: as for `defer` (a request failed before its call, e.g. an unresolved payload). */
  fail(
    lease: Lease,
    error: ErrorBody,
    now: number,
    expiresAt: number,
    options?: { refundAttempt?: boolean },
  ): Promise<SettledRecord | undefined>;
  /**
   * Back to `queued` after a retryable failure; the next delivery claims it again, not before
   * `retryAt` (epoch ms, stored as `deferred_until`, so the sweeper leaves a request waiting out its
   * backoff or a long Retry-After alone). It and `markDead` set `routing_path` to `QUEUED`: a retry
   * and the DLQ go through the queue.
   */
  release(lease: Lease, error: ErrorBody, now: number, retryAt: number): Promise<SettledRecord | undefined>;
  markDead(lease: Lease, error: ErrorBody, now: number): Promise<SettledRecord | undefined>;
  /**
   * Records with `status`, counted on the by-status index. That index lists the statuses someone
   * looks for (`queued`, `processing`, `waiting`, `dead`); any other counts none.
   */
  countByStatus(status: Status): Promise<number>;
  /**
   * One page of records with `status` (one the by-status index lists, as `countByStatus`), oldest
   * first. `startKey` is the `nextKey` of the previous page; a `service` filter, or a record that
   * changed status while the page was read, may make a page shorter than `limit`.
   */
  listByStatus(status: Status, query: ListQuery): Promise<RecordPage>;
  /**
   * One page of requests with `status`, oldest first, as the by-status index projects them (no
   * read of the whole records): what the operator's request listing shows. `service` and
   * `operation` are exact-match filters; a page may then read on to fill up to `limit`.
   */
  listSummaries(status: Status, query: SummaryQuery): Promise<SummaryPage>;
  /**
   * Operator retry: a `dead` record back to `queued` with its attempts reset and its error kept as
   * `last_error`, conditionally (any other status is left alone).
   */
  requeueDead(token: string, now: number): Promise<DeadLetterChange>;
  /** Operator purge: deletes the record only while it is `dead`. */
  deleteDead(token: string): Promise<DeadLetterChange>;
  /**
   * Records left `queued` since before `updatedBefore` (ISO 8601) and not waiting out a deferral or
   * a retry backoff that ends after it (`deferred_until`), or `processing` with a lease that expired
   * before `leaseExpiredBefore` (epoch ms), and not swept since `sweptBefore`: the sweeper's
   * candidates, at most `limit`.
   */
  findStranded(query: StrandedQuery): Promise<ListedRecord[]>;
  /**
   * Stamps `swept_at` on a record the sweeper is about to re-enqueue, only while it is still as
   * the sweeper saw it (same status, `updated_at` and lease): false when a worker moved it since,
   * or another sweep got there first.
   */
  markSwept(seen: ListedRecord, now: number): Promise<boolean>;
}

/** An opaque position in a paged listing (DynamoDB's LastEvaluatedKey). */
export type PageKey = Record<string, unknown>;

export interface ListQuery {
  limit: number;
  startKey?: PageKey;
  service?: Service;
}

export interface SummaryQuery extends ListQuery {
  operation?: OperationName;
}

/** A request as the by-status index projects it for the operator's listing. */
export type SummaryRecord = Pick<
  RequestRecord,
  | 'token'
  | 'status'
  | 'service'
  | 'operation'
  | 'priority'
  | 'attempts'
  | 'created_at'
  | 'updated_at'
  | 'error'
  | 'last_error'
>;

export interface SummaryPage {
  records: SummaryRecord[];
  nextKey?: PageKey;
}

export interface RecordPage {
  records: RequestRecord[];
  nextKey?: PageKey;
}

export type DeadLetterChange =
  { kind: 'changed'; record: RequestRecord } | { kind: 'missing' } | { kind: 'not_dead'; status: Status };

export interface StrandedQuery {
  status: 'queued' | 'processing';
  /** `queued`: updated before this ISO 8601 instant. */
  updatedBefore: string;
  /** `processing`: lease expired before this epoch ms. */
  leaseExpiredBefore: number;
  /** Only records never swept or swept before this ISO 8601 instant. */
  sweptBefore: string;
  limit: number;
}

export interface WaitingQuery {
  updatedBefore: string;
  /** Only records never swept or swept before this ISO 8601 instant. */
  sweptBefore: string;
  limit: number;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

/**
 * Why a worker did not call Atlassian now (visible on the record as `deferred_reason`).
 * `object_busy`: another request is writing to the same issue/page (its write lock is held).
 * `object_window`: the issue/page took as many writes as its write window allows for now
 * (`services.<s>.objectWriteWindows`, object-write-window.ts).
 * `no_points`: the hourly points budget cannot pay the call's estimate yet (points-budget.ts).
 * `store_unavailable`: RIQ's own storage (DynamoDB) failed or throttled a step before the call, or
 * one after it that the outcome needs; never an attempt, never a breaker failure.
 */
export type DeferReason =
  | 'no_token'
  | 'no_points'
  | 'paused'
  | 'breaker_open'
  | 'probe_taken'
  | 'busy'
  | 'not_before'
  | 'object_busy'
  | 'object_window'
  | 'store_unavailable';

export interface SendOptions {
  /** SQS DelaySeconds, 0–900. */
  delaySeconds?: number;
  /** Epoch ms before which a worker re-defers instead of claiming (waits longer than 15 minutes). */
  notBefore?: number;
  /** Epoch ms: the rate slot the request was given, handed back to the gate when it comes. */
  slotAt?: number;
  /**
   * The message is a dead-letter copy handed back unstarted (lambdas/worker/message-actions.ts
   * `handBack`): the copy keeps its mark, so it may still revive its dead record.
   */
  deadLetter?: true;
}

export interface WorkQueue {
  send(queue: QueueKey, token: string, options?: SendOptions): Promise<void>;
  /**
   * Puts a copy of the work message straight into the queue's dead-letter queue, marked as a dead
   * letter: redriven to its source queue (console or API), it is the one message that may claim the
   * `dead` record again.
   */
  sendToDeadLetter(queue: QueueKey, token: string): Promise<void>;
  /** Sets when a received message becomes visible again (the retry backoff). */
  changeVisibility(queue: QueueKey, receiptHandle: string, seconds: number): Promise<void>;
  depth(queue: QueueKey): Promise<QueueDepth>;
  deadLetterDepth(queue: QueueKey): Promise<number>;
}

/** What a redrive started or did for one dead-letter queue. */
export interface RedriveOutcome {
  queue: QueueKey;
  /** `move_task`: SQS moves the messages in the background (the task handle names it). */
  mode: 'move_task' | 'copy';
  task_handle?: string;
  /** `copy`: messages moved back to the source queue. */
  moved?: number;
}

/** Moves the messages of a dead-letter queue back to its source queue. */
export interface DeadLetterRedriver {
  redrive(queue: QueueKey): Promise<RedriveOutcome>;
}

/** What an answer from Atlassian said about its rate limit, whatever its status. */
export interface UpstreamSignal {
  /** `X-RateLimit-NearLimit: true`: the site's budget is nearly spent. */
  readonly nearLimit: boolean;
  /** Everything the answer's headers say about the limits: the points budget follows its quota. */
  readonly rateLimit?: RateLimitSignals;
}

/** The request a call is made for: its token and attempt number (1 first), for reconciling retries. */
export interface CallContext {
  readonly token: string;
  readonly attempt?: number;
  /**
   * Epoch ms the request was submitted (its record's `created_at`): a retried create adopts only
   * an object made after it (minus a clock allowance), never an older one that merely matches.
   */
  readonly submittedAt?: number;
  /**
   * Told about every HTTP answer the operation got (an operation may make several calls), so the
   * worker can feed `X-RateLimit-NearLimit` back to the rate gate; the result stays the result.
   */
  readonly onUpstreamSignal?: (signal: UpstreamSignal) => void;
  /**
   * `jira.search_tasks` after a write (`after_consistency_token`): the written issue's id, for Jira
   * to reconcile with its eventually consistent search (`reconcileIssues`).
   */
  readonly reconcileIssues?: readonly number[];
  /**
   * Epoch ms by which the whole operation (all its HTTP calls) must have answered: the DIRECT
   * submit path's short timeout. A call still running then fails TIMEOUT. Absent: only the
   * per-call timeout applies.
   */
  readonly deadline?: number;
}

/** Executes one operation against Atlassian; throws UpstreamError (or ValidationError) on failure. */
export interface OperationExecutor {
  execute(operation: OperationName, payload: Record<string, unknown>, context: CallContext): Promise<unknown>;
}

/** One cached answer. Times are epoch ms. */
export interface CacheEntry {
  operation: OperationName;
  /** The result; `null` when it is in the body store (`resultRef`). */
  result: unknown;
  /** A large result: where it is in the body store (the request's own `result_ref`). */
  resultRef?: BodyRef;
  cachedAt: number;
  expiresAt: number;
  /** Searches only: the service's search generation when the search was made. */
  generation?: number;
}

/**
 * The read cache's storage (lambdas/adapters/dynamodb/dynamo-read-cache.ts; in memory in tests). The policy —
 * keys, TTLs, liveness, invalidation — is lambdas/core/domain/read-cache-policy.ts.
 */
export interface ReadCache {
  get(key: string): Promise<CacheEntry | undefined>;
  put(key: string, entry: CacheEntry): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** The service's current search generation (0 when never bumped). */
  generation(service: Service): Promise<number>;
  /** Moves the service's search generation on: every cached search of it becomes a miss. */
  bumpGeneration(service: Service): Promise<void>;
}

/** Options of a `depends_on` registration (DependencyStore.register). */
export interface DependencyRegisterOptions {
  now: number;
  /** Epoch seconds: the TTL of the child if it is stored already `failed`. */
  failedExpiresAt: number;
  idempotency?: IdempotencyClaim;
}

export type DependencyRegisterOutcome =
  /** Stored `waiting`: a parent's release will enqueue or fail it. */
  | { kind: 'waiting'; record: RequestRecord; waitingOn: string[] }
  /** Every parent had completed: stored `queued`, to be sent now. */
  | { kind: 'ready'; record: RequestRecord }
  /** A parent had failed, died or gone: stored `failed` with DEPENDENCY_FAILED. */
  | { kind: 'failed'; record: RequestRecord; dependency: string }
  /** The idempotency key was taken: nothing written. */
  | { kind: 'duplicate'; existingToken: string; fingerprint: string };

export interface DependencyReleaseOptions {
  now: number;
  /** Epoch seconds: the TTL of the children that fail. */
  failedExpiresAt: number;
}

export interface DependencyRelease {
  /** Children moved `waiting → queued`: send each to its queue. */
  ready: RequestRecord[];
  /** Children (at any depth) failed with DEPENDENCY_FAILED. */
  failed: RequestRecord[];
}

/**
 * `depends_on`: race-free registration of a child on its parents and release of the children when
 * a parent finishes. One implementation, StoredDependencyStore (lambdas/core/domain/dependency-store.ts),
 * over a DependencyRecords storage (./dependency-records.ts: DynamoDB, or in memory in tests).
 */
export interface DependencyStore {
  register(
    child: RequestRecord,
    dependsOn: readonly string[],
    options: DependencyRegisterOptions,
  ): Promise<DependencyRegisterOutcome>;
  /** After `parent` reached a final state: releases (or fails, cascading) its children. Re-runnable. */
  releaseDependents(parent: string, options: DependencyReleaseOptions): Promise<DependencyRelease>;
  /** The sweeper's repair of a child left `waiting` after a crash between a finish and its release. */
  reconcileWaiting(child: string, options: DependencyReleaseOptions): Promise<DependencyRelease>;
  /**
   * Children `waiting` unchanged since before `updatedBefore` and not swept (`swept_at`, stamped by
   * RequestStore.markSwept) since `sweptBefore`, both ISO 8601, oldest first, at most `limit`.
   */
  findWaiting(query: WaitingQuery): Promise<ListedRecord[]>;
}

/**
 * Storage of large bodies (lambdas/adapters/s3/s3-body-store.ts; in memory in tests). `put` throws
 * `BodyRejectedError` (model/errors.ts) when the store refuses the body for good; anything
 * else it throws is transient (a retry may succeed).
 */
export interface BodyStore {
  /** Stores JSON `text` under `key`, replacing what was there. */
  put(key: string, text: string): Promise<void>;
  /** The text under `key`, or undefined when there is none (never stored, or expired). */
  get(key: string): Promise<string | undefined>;
  /** A URL from which anyone holding it may GET the body for `seconds`. */
  presignedUrl(key: string, seconds: number): Promise<string>;
}
