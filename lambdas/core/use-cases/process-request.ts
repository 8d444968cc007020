/**
 * Worker use case: one delivered message → claim the record, take the write lock of the issue/page
 * it writes to, pass the breaker and the shared rate limit, call Atlassian once, release the lock,
 * record the outcome, and tell the queue adapter what to do with the message.
 *
 * Attempts are real attempts (DESIGN invariant 3): the record's `attempts` counts only calls that
 * were made: the claim begins one in the same write, and every way out before the call (a deferral,
 * store trouble, a payload that does not resolve) gives it back in its own write. When the worker cannot call now (no token, a
 * pause, the breaker open or its probe taken, the record leased by another worker, another request
 * writing to the same issue/page, a wait longer than SQS allows), the request is *deferred*: the
 * record goes back to `queued` and a new message is sent with `DelaySeconds` while the delivered one
 * is deleted, so SQS's receive count — what its redrive policy counts — is not used up by waiting.
 *
 * Dead means in the DLQ (invariant 4): on the last failed attempt the record is marked `dead` and a
 * copy of the message, marked as a dead letter, goes to the DLQ. Only that copy, redriven by an
 * operator (console or API), claims the dead record again: a stray or duplicate message of the same
 * request (a deferral's copy, a sweeper's re-send, a late redelivery) finds it finished.
 *
 * A create whose outcome is unknown (its failure says `outcomeUnknown`, with the reconcile window as
 * `retryAfterSeconds`) is retried after the window, and its error keeps `reconcileNotBefore`: any
 * message that claims the request sooner is deferred to then without a call, so the retry's look-up
 * comes only once Atlassian's search can show what the lost call made.
 *
 * Trouble with RIQ's own storage (DynamoDB throttling or errors) on the way to the call is a
 * deferral (`store_unavailable`): no attempt, no receive, no breaker failure. After a call, the
 * flow-control report is best effort, and an outcome that could not be stored (or a write whose
 * cache invalidation kept failing) is deferred too: the next delivery gets the saved result from
 * the done-once layer instead of calling again.
 *
 * The read cache (lambdas/core/domain/read-cache-policy.ts), when given, learns of every completion: a read stores
 * its result, a write invalidates its object's `get` entries and its service's searches. The cache
 * is best effort: its failures are reported to `onCacheFailure` and never change the outcome.
 * A completed fire-and-forget record expires after FIRE_AND_FORGET_RETENTION_SECONDS.
 *
 * `depends_on`: a payload's `{{<token>.<path>}}` placeholders are resolved from the dependencies'
 * results right after the claim and the result is checked by the operation's schema (failure:
 * `failed` with VALIDATION_ERROR). After every final write (completed, failed, dead) the request's
 * waiting dependents are released and the ready ones sent; a failure there is only reported (the
 * sweeper reconciles waiting requests), never a retry of the finished request.
 *
 * Bodies of any size (lambdas/core/domain/claim-check.ts): a payload kept in the body store is loaded
 * right after the claim (a failure to read it is store trouble: a deferral; a payload that is gone
 * fails the request NOT_FOUND). A result larger than `bodies.offloadBytes` is stored there before
 * the record is completed with a pointer; one that cannot be stored for good (over
 * `bodies.maxResultBytes`, or refused) ends the request `failed` with RESULT_TOO_LARGE, and a
 * transient failure to store it is a `store_unavailable` deferral.
 */
import { queueKey, recordRetentionSeconds } from '../../../model/config/resources.js';
import { DEFAULT_CONFIG, type RiqConfig } from '../../../model/config/riq-config.js';
import {
  ResultTooLargeError,
  loadPayload,
  loadResult,
  storeResult,
  storedResultOf,
  type BodyLimits,
} from '../domain/claim-check.js';
import { isSatisfiedState, resolveTemplates, templateTokens } from '../domain/dependencies.js';
import { randomUUID } from 'node:crypto';
import { CallNotMadeError, RiqError, toRiqError, type ErrorBody } from '../../../model/errors.js';
import { isWrite, parsePayload } from '../../../model/operations.js';
import type { BreakerOutcome } from '../ports/flow-control.js';
import {
  passFlowControl,
  releaseLock,
  reportOutcome,
  type FlowControl,
  type Gate,
} from '../domain/flow-gate.js';
import { callAttemptOf } from '../domain/points-metering.js';
import type {
  BodyStore,
  CallContext,
  ClaimOutcome,
  Clock,
  DeferReason,
  DependencyStore,
  Lease,
  OperationExecutor,
  ReadCache,
  RequestStore,
  SettledRecord,
  WorkQueue,
} from '../ports/index.js';
import type { StoredResult } from '../../../model/request-record.js';
import { afterCompletion, generationBeforeCall } from '../domain/read-cache-policy.js';
import { FIRE_AND_FORGET_RETENTION_SECONDS, type RequestRecord } from '../../../model/request-record.js';
import type { RequestObserver } from '../ports/request-events.js';
import { retryDelaySeconds } from '../domain/retry-schedule.js';
import { slotDelaySeconds } from '../domain/token-bucket.js';

/** SQS's longest DelaySeconds; longer waits are chained through `notBefore`. */
export const MAX_DELAY_SECONDS = 900;

/** How long a request waits after RIQ's own storage failed a step (DynamoDB throttling is brief). */
export const STORE_RETRY_WAIT_MS = 2_000;

/** Tries of a write's cache invalidation before its completion is deferred instead. */
export const INVALIDATION_TRIES = 3;

export interface ProcessDeps {
  store: RequestStore;
  executor: OperationExecutor;
  clock: Clock;
  config: Pick<RiqConfig, 'retry' | 'retentionDays'> & Partial<Pick<RiqConfig, 'cache' | 'bodies'>>;
  /**
   * Where large payloads and results are kept (claim check); `config.bodies` sets the sizes
   * (default: DEFAULT_CONFIG's). Absent, a result over `bodies.offloadBytes` is RESULT_TOO_LARGE.
   */
  bodies?: BodyStore;
  leaseSeconds: number;
  flow?: FlowControl;
  /** The read cache to fill and invalidate (with `config.cache`); absent, nothing is cached. */
  cache?: ReadCache;
  /** A cache read or write failed (logged; the request's outcome stands). */
  onCacheFailure?: (token: string, err: unknown) => void;
  random?: () => number;
  /**
   * `depends_on`: after each final write (completed, failed, dead) the request's waiting children
   * are released and the ready ones sent to `queue`. Absent, nothing is released here (the sweeper
   * still reconciles waiting requests).
   */
  dependencies?: Pick<DependencyStore, 'releaseDependents'>;
  queue?: Pick<WorkQueue, 'send'>;
  /** A release or a send of a released child failed (logged; the sweeper repairs it). */
  onReleaseFailure?: (token: string, err: unknown) => void;
  /**
   * A storage step failed (logged): `step` names it. Before the call it became a deferral; the
   * report after the call was skipped; a failed write of the outcome became a deferral.
   */
  onStoreFailure?: (token: string, step: StoreStep, err: unknown) => void;
  /** Told of each state change this use case stores (logs and metrics); absent: nobody. */
  observe?: RequestObserver;
  /**
   * Waiting for a rate slot in the invocation: slots due within `maxMs` (all waits together) are waited for with `sleep`
   * (which must move `clock` on) instead of a deferral, which would cost an SQS send, a delivery and
   * two DynamoDB writes. Absent: every refusal is deferred.
   */
  slotWait?: { maxMs: number; sleep: (ms: number) => Promise<void> };
}

/** A write that gives back the attempt the claim began: no call was made. */
const REFUND = { refundAttempt: true } as const;

/** In-invocation waits for a slot at most, before the request is deferred (its slot lost again and again). */
export const MAX_SLOT_WAITS = 3;

/** The storage steps whose failure is reported through `onStoreFailure`. */
export type StoreStep =
  'claim' | 'gate' | 'call_record' | 'report' | 'invalidate' | 'store_result' | 'settle';

export interface DeliveredMessage {
  token: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery of this message. */
  receiveCount: number;
  /** Epoch ms from the message: do not run before (a chained deferral). */
  notBefore?: number;
  /** Epoch ms from the message: the rate slot its deferral was given (token-bucket.ts `tryAcquire`). */
  slotAt?: number;
  /** The copy put in the DLQ when the request died, redriven by an operator: it may revive it. */
  fromDeadLetter?: boolean;
}

export type Disposition =
  /** Done with this message: delete it. */
  | { action: 'ack'; outcome: 'completed' | 'failed' | 'already-finished' | 'missing' | 'lease-lost' }
  /** Keep the message and make it visible again after the delay (a retry after a real attempt). */
  | { action: 'retry'; delaySeconds: number; outcome: 'retry' }
  /**
   * Not called: send a new message delayed by `delaySeconds` (≤ 900; `notBefore` when the wait is
   * longer) and delete this one, so the receive count is not spent on waiting.
   */
  | { action: 'defer'; delaySeconds: number; notBefore?: number; slotAt?: number; outcome: DeferReason }
  /**
   * Last attempt failed and the record is `dead`: put a copy marked as a dead letter in the DLQ and
   * delete this message (so the copy is the only message that can revive the record).
   */
  | { action: 'dead-letter'; outcome: 'dead' };

export async function processRequest(deps: ProcessDeps, message: DeliveredMessage): Promise<Disposition> {
  const now = deps.clock.now();
  const slotAhead = message.slotAt === undefined ? 0 : message.slotAt - now;
  if (
    (message.notBefore !== undefined && message.notBefore > now + 1000) ||
    slotAhead > slotEarlyMs(deps) + 1000
  ) {
    return message.slotAt !== undefined
      ? deferToSlot(message.slotAt, 'not_before', now, slotEarlyMs(deps))
      : deferFor(deps, (message.notBefore ?? now) - now, 'not_before', now);
  }
  const leaseId = randomUUID();
  let claim: ClaimOutcome;
  try {
    // The claim begins the attempt in the same write; a deferral below gives it back in its own.
    claim = await deps.store.claim(message.token, now, deps.leaseSeconds, 'QUEUED', {
      leaseId,
      beginAttempt: true,
      ...(message.fromDeadLetter === true ? { reviveDead: true } : {}),
    });
  } catch (err) {
    deps.onStoreFailure?.(message.token, 'claim', err);
    return deferFor(deps, STORE_RETRY_WAIT_MS, 'store_unavailable', now);
  }
  switch (claim.kind) {
    case 'missing':
      // Purged by an operator (or expired): nothing to do.
      return { action: 'ack', outcome: 'missing' };
    case 'finished':
      // A duplicate delivery of a request that already ended, or a stray message of a dead one:
      // never call Atlassian again.
      return { action: 'ack', outcome: 'already-finished' };
    case 'busy': {
      // Another worker holds a live lease: look again once it has expired (not an attempt).
      const left = (claim.record.lease_expires_at ?? now) - now + 1000;
      return deferFor(deps, left, 'busy', now);
    }
    case 'claimed':
      break;
  }

  const lease: Lease = { token: message.token, leaseId: claim.leaseId, attempt: claim.record.attempts };
  // A create whose last call's outcome is unknown is not called again before its reconcile window
  // has passed, whichever message comes (an SQS duplicate, a copy sent while a DIRECT attempt ran).
  const reconcileAt = reconcileNotBefore(claim.record);
  if (reconcileAt !== undefined && reconcileAt > now + 1000) {
    const deferred = await deps.store.defer(lease, now, 'not_before', reconcileAt, REFUND).then(
      () => true,
      (err: unknown) => {
        deps.onStoreFailure?.(lease.token, 'claim', err);
        return false;
      },
    );
    return deferFor(deps, deferred ? reconcileAt - now : STORE_RETRY_WAIT_MS, 'not_before', now);
  }
  /** A store step before the call failed: back to `queued` if the store lets us, then wait. */
  const deferAfterStoreFailure = async (step: StoreStep, err: unknown): Promise<Disposition> => {
    deps.onStoreFailure?.(lease.token, step, err);
    const at = deps.clock.now();
    // Should this write fail too, the lease runs out and the next delivery takes the request over.
    await deps.store
      .defer(lease, at, 'store_unavailable', at + STORE_RETRY_WAIT_MS, REFUND)
      .catch(() => false);
    return deferFor(deps, STORE_RETRY_WAIT_MS, 'store_unavailable', at);
  };
  // A payload with `{{<token>.<path>}}` placeholders gets its dependencies' results now.
  let resolved: Resolution;
  try {
    resolved = await resolvePayload(deps, claim.record);
  } catch (err) {
    return deferAfterStoreFailure('claim', err);
  }
  if (!resolved.ok) {
    const failedAt = deps.clock.now();
    const error = resolved.error.toBody();
    const stored = await deps.store.fail(lease, error, failedAt, expiry(deps, failedAt), REFUND);
    if (stored) {
      deps.observe?.({ kind: 'failed', record: claim.record, at: failedAt, error });
      await releaseDependents(deps, stored);
    }
    return { action: 'ack', outcome: stored ? 'failed' : 'lease-lost' };
  }
  // Its `calls` are those made before this attempt's, as callAndSettle expects.
  const record: RequestRecord = {
    ...claim.record,
    payload: resolved.payload,
    calls: (claim.record.calls ?? 1) - 1,
  };

  const attempt = claim.record.attempts;
  let gate: PassedGate | undefined;
  if (deps.flow) {
    let passed: Gate;
    let slotAt = message.slotAt;
    let waitedMs = 0;
    // Deferred to its slot, the message may come back a little before it: wait for it here.
    const early = slotAt === undefined ? 0 : slotAt - deps.clock.now();
    if (deps.slotWait && early > 0 && early <= deps.slotWait.maxMs) {
      await deps.slotWait.sleep(early);
      waitedMs = early;
    }
    for (let waits = 0; ; waits++) {
      try {
        passed = await passFlowControl(deps.flow, record, deps.clock, {
          attempt: callAttemptOf(attempt, record),
          lockUntil: now + deps.leaseSeconds * 1000,
          lockOwner: lockOwnerOf(lease),
          ...(slotAt !== undefined ? { slotAt } : {}),
        });
      } catch (err) {
        // A lock or probe taken before the failing step runs out with the lease.
        return deferAfterStoreFailure('gate', err);
      }
      const wait = passed.pass ? undefined : passed;
      if (wait?.slotAt === undefined || !deps.slotWait || waits >= MAX_SLOT_WAITS) break;
      const waitMs = Math.max(0, wait.slotAt - deps.clock.now());
      if (waitedMs + waitMs > deps.slotWait.maxMs) break;
      slotAt = wait.slotAt;
      waitedMs += waitMs;
      if (waitMs > 0) await deps.slotWait.sleep(waitMs);
    }
    if (!passed.pass) {
      // A worker may take the half-open probe, so its gate never answers `breaker_half_open`.
      const reason = passed.reason === 'breaker_half_open' ? 'probe_taken' : passed.reason;
      const at = deps.clock.now();
      const until = passed.slotAt ?? at + passed.waitMs;
      await deps.store.defer(lease, at, reason, until, REFUND);
      deps.observe?.({ kind: 'deferred', record, at, reason, waitMs: until - at });
      return passed.slotAt !== undefined
        ? deferToSlot(passed.slotAt, reason, at, slotEarlyMs(deps))
        : deferFor(deps, passed.waitMs, reason, at);
    }
    gate = passed;
  }

  return callAndSettle(deps, { record, lease, attempt, ...(gate ? { gate } : {}) });
}

/**
 * The owner of a write lock: the request and the claim's lease, so a caller that lost its claim (an
 * abandoned DIRECT attempt, a worker whose lease ran out) can never release the lock of the caller
 * that holds the request now.
 */
export function lockOwnerOf(lease: Lease): string {
  return `${lease.token}:${lease.leaseId}`;
}

/** A gate that let the call through: what must be reported and released after it. */
export type PassedGate = Extract<Gate, { pass: true }>;

/** A claimed request whose attempt has begun: everything the call and its settling need. */
export interface StartedAttempt {
  /** The claimed record, its payload's placeholders resolved. */
  record: RequestRecord;
  lease: Lease;
  /** The attempt number `beginAttempt` answered. */
  attempt: number;
  /** Absent without flow control. */
  gate?: PassedGate;
}

/** How `callAndSettle` calls: the worker's defaults, or the DIRECT path's short deadline. */
export interface CallOptions {
  /** Epoch ms by which the whole operation must have answered (CallContext.deadline). */
  deadline?: number;
  /** What an error tells the breaker. @default breakerOutcomeOf */
  breakerOutcome?: (error?: RiqError) => BreakerOutcome;
  /** Told of the record as the settling write left it (not called when the lease was lost). */
  onSettled?: (record: SettledRecord) => void;
}

/**
 * Makes the call of a started attempt and records its outcome: releases the write lock, reports to
 * the breaker and the rate gate, fills or invalidates the cache, completes / fails / releases /
 * kills the record and releases its dependents. Shared by the worker and the DIRECT submit path
 * (lambdas/core/use-cases/direct-route.ts), so both settle a request the same way.
 */
export async function callAndSettle(
  deps: ProcessDeps,
  started: StartedAttempt,
  options: CallOptions = {},
): Promise<Disposition> {
  const { record, lease, attempt, gate } = started;
  /** The record as a settling write left it, told to `options.onSettled`. */
  const settled = <T extends SettledRecord | undefined>(written: T): T => {
    if (written) options.onSettled?.(written);
    return written;
  };
  // Any answer of the operation's calls carrying `X-RateLimit-NearLimit: true` eases the rate.
  let nearLimit = false;
  const reconcileIssues = await writtenIssueIds(deps, record);
  const context: CallContext = {
    token: record.token,
    // The call's number over the request's whole life, as the gate charged its points for.
    attempt: callAttemptOf(attempt, record),
    ...submittedAtOf(record),
    ...(reconcileIssues.length > 0 ? { reconcileIssues } : {}),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    onUpstreamSignal: (signal) => {
      if (signal.nearLimit) nearLimit = true;
    },
  };
  // Best effort: a failed report must not lose the call's outcome (a probe left taken runs out
  // with its lease; the bucket refills by itself).
  const report = async (error: RiqError | undefined, now: number) => {
    if (!deps.flow || !gate) return;
    try {
      await reportOutcome(
        deps.flow,
        gate.scope,
        gate.probe,
        error,
        nearLimit,
        now,
        options.breakerOutcome,
        gate.grantedAt,
      );
    } catch (err) {
      deps.onStoreFailure?.(record.token, 'report', err);
    }
  };
  /** A store step after the call failed: the next delivery settles it (the done-once layer has the result). */
  const deferSettling = async (step: StoreStep, err: unknown): Promise<Disposition> => {
    deps.onStoreFailure?.(record.token, step, err);
    const at = deps.clock.now();
    settled(
      await deps.store.defer(lease, at, 'store_unavailable', at + STORE_RETRY_WAIT_MS).catch(() => undefined),
    );
    return deferFor(deps, STORE_RETRY_WAIT_MS, 'store_unavailable', at);
  };
  // A search's entry is stamped with the generation from before its call (see read-cache.ts).
  const generation = await cacheQuietly(deps, record.token, (cache) =>
    generationBeforeCall(cache, record.operation),
  );
  let result: unknown;
  try {
    result = await deps.executor.execute(record.operation, record.payload, context);
  } catch (err) {
    await releaseLock(gate?.lock);
    if (err instanceof CallNotMadeError) {
      // RIQ's own call record could not be written: nothing reached Atlassian. Not an attempt, not
      // a breaker failure; the probe (if this was it) is given back.
      if (deps.flow && gate?.probe) {
        await deps.flow.breaker
          .report(record.service, 'neutral', true, deps.clock.now())
          .catch(() => undefined);
      }
      deps.onStoreFailure?.(record.token, 'call_record', err);
      const at = deps.clock.now();
      settled(
        await deps.store
          .defer(lease, at, 'store_unavailable', at + STORE_RETRY_WAIT_MS, { refundAttempt: true })
          .catch(() => undefined),
      );
      return deferFor(deps, STORE_RETRY_WAIT_MS, 'store_unavailable', at);
    }
    const error = toRiqError(err);
    await report(error, deps.clock.now());
    try {
      return await settleFailure(deps, record, lease, error, attempt, settled);
    } catch (storeErr) {
      return deferSettling('settle', storeErr);
    }
  }
  await releaseLock(gate?.lock);
  const done = deps.clock.now();
  await report(undefined, done);
  // A large result goes to the body store first (claim check); one that cannot be stored for good
  // fails the request below, never leaves it to be called again.
  let stored: StoredResult | undefined;
  let tooLarge: ResultTooLargeError | undefined;
  try {
    stored = await storeResult(deps.bodies, bodyLimitsOf(deps), record.token, result ?? null);
  } catch (err) {
    if (!(err instanceof ResultTooLargeError)) return deferSettling('store_result', err);
    tooLarge = err;
  }
  // The cache learns of the call before the record says completed: a caller who saw a write
  // complete never gets the value it replaced from the cache, nor a read's result a miss after.
  const completion = {
    operation: record.operation,
    payload: record.payload,
    result: stored !== undefined && 'result' in stored ? stored.result : null,
    ...(stored !== undefined && 'result_ref' in stored ? { resultRef: stored.result_ref } : {}),
    now: done,
    ...(generation !== undefined ? { generation } : {}),
  };
  if (isWrite(record.operation) && deps.cache && deps.config.cache) {
    // A write's invalidation is what read-after-write rests on: retried, and should it keep
    // failing, the completion waits for the next delivery rather than leave a stale read behind.
    const invalidated = await invalidateWithRetries(deps.cache, { cache: deps.config.cache }, completion);
    if (invalidated !== true) return deferSettling('invalidate', invalidated.error);
  } else if (stored !== undefined) {
    await cacheQuietly(deps, record.token, (cache, config) => afterCompletion(cache, config, completion));
  }
  if (stored === undefined) {
    const error: ErrorBody = { ...tooLarge!.toBody(), details: { ...tooLarge!.details, attempt } };
    let failed: SettledRecord | undefined;
    try {
      failed = settled(await deps.store.fail(lease, error, done, expiry(deps, done)));
    } catch (err) {
      return deferSettling('settle', err);
    }
    if (failed) {
      deps.observe?.({ kind: 'failed', record, at: done, attempt, error });
      await releaseDependents(deps, failed);
    }
    return { action: 'ack', outcome: failed ? 'failed' : 'lease-lost' };
  }
  const expiresAt =
    record.fire_and_forget === true
      ? Math.floor(done / 1000) + FIRE_AND_FORGET_RETENTION_SECONDS
      : expiry(deps, done);
  let completed: SettledRecord | undefined;
  try {
    completed = settled(await deps.store.complete(lease, stored, done, expiresAt));
  } catch (err) {
    return deferSettling('settle', err);
  }
  if (completed) {
    deps.observe?.({ kind: 'completed', record, at: done, attempt });
    await releaseDependents(deps, completed);
  }
  return { action: 'ack', outcome: completed ? 'completed' : 'lease-lost' };
}

/**
 * A `jira.search_tasks` with `after_consistency_token`: the numeric id of the Jira issue its write
 * wrote (`result.id` of create/update/transition), so Jira's eventually consistent search includes
 * it (`reconcileIssues`). Empty for anything else, or when the write has no such result.
 */
async function writtenIssueIds(deps: ProcessDeps, record: RequestRecord): Promise<number[]> {
  if (record.operation !== 'jira.search_tasks' || record.after_write === undefined) return [];
  // Best effort: without the id the search still runs (Jira may then lag behind the write).
  const write = await deps.store.get(record.after_write).catch(() => undefined);
  if (!write || write.owner !== record.owner || write.service !== 'jira' || write.status !== 'completed') {
    return [];
  }
  if (write.operation === 'jira.add_comment') return [];
  const written = storedResultOf(write);
  const result = written && (await loadResult(deps.bodies, written).catch(() => undefined));
  const id = (result as { id?: unknown } | null | undefined)?.id;
  const n =
    typeof id === 'string' && /^[0-9]{1,15}$/.test(id) ? Number(id) : typeof id === 'number' ? id : NaN;
  return Number.isSafeInteger(n) ? [n] : [];
}

type Resolution = { ok: true; payload: Record<string, unknown> } | { ok: false; error: RiqError };

/**
 * Replaces the payload's placeholders with the results of the dependencies they name, then checks
 * the resolved payload against the operation's schema (submit could not: a placeholder is no
 * issue key). A path that does not resolve, or a resolved payload the schema refuses, is a
 * VALIDATION_ERROR (the request ends `failed`, not retryable).
 */
async function resolvePayload(deps: ProcessDeps, record: RequestRecord): Promise<Resolution> {
  let payload: Record<string, unknown>;
  try {
    payload = await loadPayload(deps.bodies, record);
  } catch (err) {
    // A payload that is gone fails the request; a store that failed to answer defers it.
    if (err instanceof RiqError) return { ok: false, error: err };
    throw err;
  }
  const tokens = templateTokens(payload);
  if (tokens.length === 0) return { ok: true, payload };
  const results = new Map<string, unknown>();
  for (const token of tokens) {
    const parent = await deps.store.get(token);
    if (parent && parent.owner === record.owner && isSatisfiedState(parent.status)) {
      const stored = storedResultOf(parent);
      const result = stored === undefined ? null : await loadResult(deps.bodies, stored);
      // A parent's stored result that is gone leaves its placeholders unresolved (VALIDATION_ERROR).
      if (result !== undefined) results.set(token, result);
    }
  }
  const resolution = resolveTemplates(payload, results);
  if (!resolution.ok) return resolution;
  try {
    return {
      ok: true,
      payload: parsePayload(record.operation, resolution.payload) as Record<string, unknown>,
    };
  } catch (err) {
    return { ok: false, error: toRiqError(err) };
  }
}

/**
 * After a final write: releases the request's waiting children and sends the ready ones. Its
 * failures are reported, never the finished request's: the sweeper reconciles waiting children.
 *
 * `finished` is the record as its final write left it. Without `dependents` there is nothing to
 * release, and nothing can wait on it later (a child registers only on an unfinished parent,
 * conditionally: lambdas/adapters/dynamodb/dynamo-dependencies.ts), so nothing is read.
 */
async function releaseDependents(deps: ProcessDeps, finished: SettledRecord): Promise<void> {
  if (!deps.dependencies || !deps.queue) return;
  if (!finished.dependents?.length) return;
  const token = finished.token;
  try {
    const now = deps.clock.now();
    const released = await deps.dependencies.releaseDependents(token, {
      now,
      failedExpiresAt: expiry(deps, now),
    });
    for (const child of released.ready) {
      try {
        await deps.queue.send(queueKey(child.service, child.priority), child.token);
      } catch (err) {
        // The child is `queued`: the sweeper re-enqueues it.
        deps.onReleaseFailure?.(child.token, err);
      }
    }
  } catch (err) {
    deps.onReleaseFailure?.(token, err);
  }
}

/** A write's cache invalidation, tried `INVALIDATION_TRIES` times: true, or the last error. */
async function invalidateWithRetries(
  cache: ReadCache,
  config: Pick<RiqConfig, 'cache'>,
  completion: Parameters<typeof afterCompletion>[2],
): Promise<true | { error: unknown }> {
  let error: unknown;
  for (let tried = 0; tried < INVALIDATION_TRIES; tried++) {
    if (tried > 0) await new Promise((r) => setTimeout(r, 50 * 4 ** (tried - 1)));
    try {
      await afterCompletion(cache, config, completion);
      return true;
    } catch (err) {
      error = err;
    }
  }
  return { error };
}

/** Runs a cache step when there is a cache; a failure is reported and answers undefined. */
async function cacheQuietly<T>(
  deps: ProcessDeps,
  token: string,
  step: (cache: ReadCache, config: Pick<RiqConfig, 'cache'>) => Promise<T>,
): Promise<T | undefined> {
  if (!deps.cache || !deps.config.cache) return undefined;
  try {
    return await step(deps.cache, { cache: deps.config.cache });
  } catch (err) {
    deps.onCacheFailure?.(token, err);
    return undefined;
  }
}

async function settleFailure(
  deps: ProcessDeps,
  record: RequestRecord,
  lease: Lease,
  error: RiqError,
  attempt: number,
  settled: <T extends SettledRecord | undefined>(written: T) => T,
): Promise<Disposition> {
  const now = deps.clock.now();
  const body: ErrorBody = { ...error.toBody(), details: { ...error.details, attempt } };
  if (!error.retryable) {
    const stored = settled(await deps.store.fail(lease, body, now, expiry(deps, now)));
    if (stored) {
      deps.observe?.({ kind: 'failed', record, at: now, attempt, error: body });
      await releaseDependents(deps, stored);
    }
    return { action: 'ack', outcome: stored ? 'failed' : 'lease-lost' };
  }
  if (attempt >= deps.config.retry.maxAttempts) {
    const dead = settled(await deps.store.markDead(lease, body, now));
    if (dead) {
      deps.observe?.({ kind: 'dead', record, at: now, attempt, error: body });
      await releaseDependents(deps, dead);
    }
    return { action: 'dead-letter', outcome: 'dead' };
  }
  // Atlassian's Retry-After is the minimum wait; the backoff applies when it is longer.
  const retryAfter = error.details?.['retryAfterSeconds'];
  const backoff = retryDelaySeconds(deps.config.retry, attempt, deps.random);
  const delaySeconds = typeof retryAfter === 'number' ? Math.max(backoff, Math.ceil(retryAfter)) : backoff;
  const retryAt = now + delaySeconds * 1000;
  // Kept with the error, so any message claiming the request before then is deferred to it.
  const released: ErrorBody =
    body.details?.['outcomeUnknown'] === true
      ? { ...body, details: { ...body.details, reconcileNotBefore: retryAt } }
      : body;
  if (settled(await deps.store.release(lease, released, now, retryAt))) {
    deps.observe?.({ kind: 'retry', record, at: now, attempt, error: released, delaySeconds });
  }
  return { action: 'retry', delaySeconds, outcome: 'retry' };
}

/** How early a message deferred to its slot may come back: as long as a worker may wait for it. */
function slotEarlyMs(deps: ProcessDeps): number {
  return deps.slotWait?.maxMs ?? 0;
}

/**
 * A deferral to a rate slot: the message comes back at most `earlyMs` before it (the worker waits
 * the rest, see `slotDelaySeconds`), and carries it, so the call then takes its token ahead of calls
 * without one. No jitter: the line already spreads the calls one token interval apart.
 */
function deferToSlot(slotAt: number, reason: DeferReason, now: number, earlyMs: number): Disposition {
  const seconds = Math.max(1, slotDelaySeconds(slotAt, now, earlyMs));
  if (seconds <= MAX_DELAY_SECONDS)
    return { action: 'defer', delaySeconds: seconds, slotAt, outcome: reason };
  return { action: 'defer', delaySeconds: MAX_DELAY_SECONDS, notBefore: slotAt, slotAt, outcome: reason };
}

/** A deferral of at least `waitMs` (whole seconds, 1 at least, plus up to 20 % jitter against herds). */
function deferFor(deps: ProcessDeps, waitMs: number, reason: DeferReason, now: number): Disposition {
  const random = deps.random ?? Math.random;
  const seconds = Math.max(1, Math.ceil((Math.max(0, waitMs) / 1000) * (1 + 0.2 * random())));
  if (seconds <= MAX_DELAY_SECONDS) return { action: 'defer', delaySeconds: seconds, outcome: reason };
  return {
    action: 'defer',
    delaySeconds: MAX_DELAY_SECONDS,
    notBefore: now + seconds * 1000,
    outcome: reason,
  };
}

/** The record's `created_at` as `submittedAt` (left out when unreadable). */
function submittedAtOf(record: RequestRecord): { submittedAt?: number } {
  const at = Date.parse(record.created_at);
  return Number.isFinite(at) ? { submittedAt: at } : {};
}

/**
 * Epoch ms before which the request must not be called: set on the error of a create whose outcome
 * was unknown (`outcomeUnknown`), at the end of its reconcile window. Undefined otherwise.
 */
function reconcileNotBefore(record: RequestRecord): number | undefined {
  const details = record.error?.details;
  const at = details?.['outcomeUnknown'] === true ? details['reconcileNotBefore'] : undefined;
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}

/** The body sizes: the deployment's, or the defaults. */
function bodyLimitsOf(deps: ProcessDeps): BodyLimits {
  return deps.config.bodies ?? DEFAULT_CONFIG.bodies;
}

function expiry(deps: ProcessDeps, nowMs: number): number {
  return Math.floor(nowMs / 1000) + recordRetentionSeconds(deps.config);
}
