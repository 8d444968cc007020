/**
 * Worker use case: one delivered message → claim the record, take the write lock of the issue/page
 * it writes to, pass the breaker and the shared rate limit, call Atlassian once, release the lock,
 * record the outcome, and tell the queue adapter what to do with the message.
 *
 * Attempts are real attempts (DESIGN invariant 3): the record's `attempts` counts only calls that
 * were made, just before each one (`beginAttempt`). When the worker cannot call now (no token, a
 * pause, the breaker open or its probe taken, the record leased by another worker, another request
 * writing to the same issue/page, a wait longer than SQS allows), the request is *deferred*: the
 * record goes back to `queued` and a new message is sent with `DelaySeconds` while the delivered one
 * is deleted, so SQS's receive count — what its redrive policy counts — is not used up by waiting.
 *
 * Dead means in the DLQ (invariant 4): on the last failed attempt the record is marked `dead`; when
 * the message has been received `maxAttempts` times it is released so SQS's redrive moves it,
 * otherwise (deferrals restarted its count) the worker puts a copy in the DLQ itself.
 *
 * The read cache (lambdas/core/read-cache.ts), when given, learns of every completion: a read stores
 * its result, a write invalidates its object's `get` entries and its service's searches. The cache
 * is best effort: its failures are reported to `onCacheFailure` and never change the outcome.
 * A completed fire-and-forget record expires after FIRE_AND_FORGET_RETENTION_SECONDS.
 *
 * `depends_on`: a payload's `{{<token>.<path>}}` placeholders are resolved from the dependencies'
 * results right after the claim and the result is checked by the operation's schema (failure:
 * `failed` with VALIDATION_ERROR). After every final write (completed, failed, dead) the request's
 * waiting dependents are released and the ready ones sent; a failure there is only reported (the
 * sweeper reconciles waiting requests), never a retry of the finished request.
 */
import { queueKey } from '../../lib/config/resources.js';
import type { RiqConfig } from '../../lib/config/riq-config.js';
import { breakerOutcomeOf } from './breaker.js';
import { isSatisfiedState, resolveTemplates, templateTokens } from './dependencies.js';
import { toRiqError, type ErrorBody, type RiqError } from './errors.js';
import { parsePayload } from './operations.js';
import type {
  CallScope,
  CircuitBreaker,
  RateFeedback,
  RateGate,
  WriteLockKey,
  WriteLocks,
} from './flow-control.js';
import type {
  CallContext,
  Clock,
  DeferReason,
  DependencyStore,
  Lease,
  OperationExecutor,
  ReadCache,
  RequestStore,
  WorkQueue,
} from './ports.js';
import { afterCompletion, generationBeforeCall } from './read-cache.js';
import { FIRE_AND_FORGET_RETENTION_SECONDS, type RequestRecord } from './request-record.js';
import { retryDelaySeconds } from './retry-schedule.js';

/** SQS's longest DelaySeconds; longer waits are chained through `notBefore`. */
export const MAX_DELAY_SECONDS = 900;

/** The longest a request waits for another worker's half-open probe before looking again. */
export const PROBE_WAIT_CAP_MS = 5_000;

/**
 * How long a write waits when another request holds its object's lock: writes to one issue are
 * short, the holder usually releases within a second.
 */
export const OBJECT_BUSY_WAIT_MS = 1_000;

/** The flow control a worker passes before each call; absent in tests of the bare request path. */
export interface FlowControl {
  breaker: CircuitBreaker;
  rate: RateGate;
  /** The scope of a record's call (endpoint family, write target) for the rate gate. */
  scopeOf(record: RequestRecord): CallScope;
  /**
   * Serializes writes to one issue/page (a scope with `write` and `objectId`): taken before the
   * breaker and the token, released after the call. Absent: writes are not serialized.
   */
  writeLocks?: WriteLocks;
}

export interface ProcessDeps {
  store: RequestStore;
  executor: OperationExecutor;
  clock: Clock;
  config: Pick<RiqConfig, 'retry' | 'retentionDays'> & Partial<Pick<RiqConfig, 'cache'>>;
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
}

export interface DeliveredMessage {
  token: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery of this message. */
  receiveCount: number;
  /** Epoch ms from the message: do not run before (a chained deferral). */
  notBefore?: number;
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
  | { action: 'defer'; delaySeconds: number; notBefore?: number; outcome: DeferReason }
  /**
   * Last attempt failed and the record is `dead`: `release` lets SQS's redrive move this message
   * (its receive count reached the limit); `copy` puts a copy in the DLQ and deletes this one.
   */
  | { action: 'dead-letter'; via: 'release' | 'copy'; outcome: 'dead' };

export async function processRequest(deps: ProcessDeps, message: DeliveredMessage): Promise<Disposition> {
  const now = deps.clock.now();
  if (message.notBefore !== undefined && message.notBefore > now + 1000) {
    return deferFor(deps, message.notBefore - now, 'not_before', now);
  }
  const claim = await deps.store.claim(message.token, now, deps.leaseSeconds);
  switch (claim.kind) {
    case 'missing':
      // Purged by an operator (or expired): nothing to do.
      return { action: 'ack', outcome: 'missing' };
    case 'finished':
      // A duplicate delivery of a request that already ended: never call Atlassian again.
      return { action: 'ack', outcome: 'already-finished' };
    case 'busy': {
      // Another worker holds a live lease: look again once it has expired (not an attempt).
      const left = (claim.record.lease_expires_at ?? now) - now + 1000;
      return deferFor(deps, left, 'busy', now);
    }
    case 'claimed':
      break;
  }

  const lease: Lease = { token: message.token, leaseId: claim.leaseId };
  // A payload with `{{<token>.<path>}}` placeholders gets its dependencies' results now.
  const resolved = await resolvePayload(deps, claim.record);
  if (!resolved.ok) {
    const failedAt = deps.clock.now();
    const stored = await deps.store.fail(lease, resolved.error.toBody(), failedAt, expiry(deps, failedAt));
    if (stored) await releaseDependents(deps, lease.token);
    return { action: 'ack', outcome: stored ? 'failed' : 'lease-lost' };
  }
  const record: RequestRecord = { ...claim.record, payload: resolved.payload };

  let probe = false;
  let scope: CallScope | undefined;
  let lock: HeldLock | undefined;
  if (deps.flow) {
    const gate = await passFlowControl(deps.flow, record, deps.clock, now + deps.leaseSeconds * 1000);
    if (!gate.pass) {
      const until = now + gate.waitMs;
      await deps.store.defer(lease, now, gate.reason, until);
      return deferFor(deps, gate.waitMs, gate.reason, now);
    }
    probe = gate.probe;
    scope = gate.scope;
    lock = gate.lock;
  }

  const attempt = await deps.store.beginAttempt(lease, deps.clock.now());
  if (attempt === undefined) {
    await releaseLock(lock);
    if (deps.flow && probe) await deps.flow.breaker.report(record.service, 'neutral', true, deps.clock.now());
    return { action: 'ack', outcome: 'lease-lost' };
  }

  // Any answer of the operation's calls carrying `X-RateLimit-NearLimit: true` eases the rate.
  let nearLimit = false;
  const reconcileIssues = await writtenIssueIds(deps, record);
  const context: CallContext = {
    token: record.token,
    attempt,
    ...(reconcileIssues.length > 0 ? { reconcileIssues } : {}),
    onUpstreamSignal: (signal) => {
      if (signal.nearLimit) nearLimit = true;
    },
  };
  // A search's entry is stamped with the generation from before its call (see read-cache.ts).
  const generation = await cacheQuietly(deps, record.token, (cache) =>
    generationBeforeCall(cache, record.operation),
  );
  let result: unknown;
  try {
    result = await deps.executor.execute(record.operation, record.payload, context);
  } catch (err) {
    await releaseLock(lock);
    const error = toRiqError(err);
    if (deps.flow && scope) await reportOutcome(deps.flow, scope, probe, error, nearLimit, deps.clock.now());
    return settleFailure(deps, lease, error, attempt, message.receiveCount);
  }
  await releaseLock(lock);
  const done = deps.clock.now();
  if (deps.flow && scope) await reportOutcome(deps.flow, scope, probe, undefined, nearLimit, done);
  // The cache learns of the call before the record says completed: a caller who saw a write
  // complete never gets the value it replaced from the cache, nor a read's result a miss after.
  await cacheQuietly(deps, record.token, (cache, config) =>
    afterCompletion(cache, config, {
      operation: record.operation,
      payload: record.payload,
      result: result ?? null,
      now: done,
      ...(generation !== undefined ? { generation } : {}),
    }),
  );
  const expiresAt =
    record.fire_and_forget === true
      ? Math.floor(done / 1000) + FIRE_AND_FORGET_RETENTION_SECONDS
      : expiry(deps, done);
  const stored = await deps.store.complete(lease, result ?? null, done, expiresAt);
  if (stored) await releaseDependents(deps, lease.token);
  return { action: 'ack', outcome: stored ? 'completed' : 'lease-lost' };
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
  const id = (write.result as { id?: unknown } | null | undefined)?.id;
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
  const tokens = templateTokens(record.payload);
  if (tokens.length === 0) return { ok: true, payload: record.payload };
  const results = new Map<string, unknown>();
  for (const token of tokens) {
    const parent = await deps.store.get(token);
    if (parent && parent.owner === record.owner && isSatisfiedState(parent.status)) {
      results.set(token, parent.result ?? null);
    }
  }
  const resolution = resolveTemplates(record.payload, results);
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
 */
async function releaseDependents(deps: ProcessDeps, token: string): Promise<void> {
  if (!deps.dependencies || !deps.queue) return;
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

/** A write lock this worker holds for the call. */
interface HeldLock {
  locks: WriteLocks;
  key: WriteLockKey;
  owner: string;
}

type Gate =
  | { pass: true; probe: boolean; scope: CallScope; lock?: HeldLock }
  | { pass: false; waitMs: number; reason: DeferReason };

/**
 * The write lock of the call's object first (a write that must wait for another takes neither a
 * probe nor a token), then the breaker (an open breaker takes no token), then a token for this
 * priority and scope. A refusal after the lock was taken releases it. The lock expires with the
 * claim's lease (`lockUntil`), so a worker that dies mid-call blocks the object no longer than that.
 */
async function passFlowControl(
  flow: FlowControl,
  record: RequestRecord,
  clock: Clock,
  lockUntil: number,
): Promise<Gate> {
  const now = clock.now();
  const scope = flow.scopeOf(record);
  let lock: HeldLock | undefined;
  if (flow.writeLocks && scope.write && scope.objectId !== undefined) {
    const key: WriteLockKey = { service: scope.service, objectId: scope.objectId };
    const taken = await flow.writeLocks.acquire(key, record.token, now, lockUntil);
    if (!taken.acquired) return { pass: false, waitMs: OBJECT_BUSY_WAIT_MS, reason: 'object_busy' };
    lock = { locks: flow.writeLocks, key, owner: record.token };
  }
  const breaker = await flow.breaker.acquire(record.service, now);
  if (!breaker.allowed) {
    await releaseLock(lock);
    if (breaker.state === 'open') return { pass: false, waitMs: breaker.waitMs, reason: 'breaker_open' };
    // Half-open with the probe taken: its lease bounds the wait, but the probe usually answers much
    // sooner and closes the breaker, so look again soon.
    return { pass: false, waitMs: Math.min(breaker.waitMs, PROBE_WAIT_CAP_MS), reason: 'probe_taken' };
  }
  // The token is stamped with the time it is taken, not when the message arrived: the earlier the
  // stamp, the longer the gap to the call Atlassian counts, and gaps that vary bunch calls up.
  const permit = await flow.rate.acquire(scope, clock.now());
  if (!permit.granted) {
    await releaseLock(lock);
    // A probe that cannot go now gives its turn back, so another worker may probe.
    if (breaker.probe) await flow.breaker.report(record.service, 'neutral', true, now);
    return { pass: false, waitMs: permit.waitMs, reason: permit.reason };
  }
  return { pass: true, probe: breaker.probe, scope, ...(lock ? { lock } : {}) };
}

/**
 * Gives a write lock back. A failed release is not the request's failure (its call is over, its
 * outcome must still be recorded): the lock then simply runs out at its expiry.
 */
async function releaseLock(lock: HeldLock | undefined): Promise<void> {
  if (!lock) return;
  try {
    await lock.locks.release(lock.key, lock.owner);
  } catch {
    // Expires by itself with the claim's lease.
  }
}

/** What the call told the breaker and the rate gate. Failures that never reached Atlassian say nothing about its rate. */
async function reportOutcome(
  flow: FlowControl,
  scope: CallScope,
  probe: boolean,
  error: RiqError | undefined,
  nearLimit: boolean,
  now: number,
): Promise<void> {
  const feedback = rateFeedbackOf(error, nearLimit);
  if (feedback) await flow.rate.report(scope, feedback, now);
  await flow.breaker.report(scope.service, breakerOutcomeOf(error), probe, now);
}

/**
 * The rate feedback of an operation's outcome. `nearLimit`: some answer of its calls carried
 * `X-RateLimit-NearLimit: true` (a 429 is reported as such whatever the earlier answers said; a
 * failure without an answer, after an earlier call was told near-limit, still reports that).
 */
export function rateFeedbackOf(error: RiqError | undefined, nearLimit = false): RateFeedback | undefined {
  const ok: RateFeedback = nearLimit ? { kind: 'ok', nearLimit: true } : { kind: 'ok' };
  if (!error) return ok;
  const details = error.details ?? {};
  if (error.code === 'RATE_LIMITED') {
    const retryAfter = details['retryAfterSeconds'];
    const reason = details['rateLimitReason'];
    const reset = details['rateLimitReset'];
    const resetAt = typeof reset === 'string' ? Date.parse(reset) : NaN;
    return {
      kind: 'rate_limited',
      ...(typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : {}),
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(Number.isFinite(resetAt) ? { resetAt } : {}),
    };
  }
  // An HTTP answer (any status) reached Atlassian: its rate held. Timeouts and resets say nothing.
  return typeof details['status'] === 'number' || nearLimit ? ok : undefined;
}

async function settleFailure(
  deps: ProcessDeps,
  lease: Lease,
  error: RiqError,
  attempt: number,
  receiveCount: number,
): Promise<Disposition> {
  const now = deps.clock.now();
  const body: ErrorBody = { ...error.toBody(), details: { ...error.details, attempt } };
  if (!error.retryable) {
    const stored = await deps.store.fail(lease, body, now, expiry(deps, now));
    if (stored) await releaseDependents(deps, lease.token);
    return { action: 'ack', outcome: stored ? 'failed' : 'lease-lost' };
  }
  if (attempt >= deps.config.retry.maxAttempts) {
    if (await deps.store.markDead(lease, body, now)) await releaseDependents(deps, lease.token);
    const via = receiveCount >= deps.config.retry.maxAttempts ? 'release' : 'copy';
    return { action: 'dead-letter', via, outcome: 'dead' };
  }
  await deps.store.release(lease, body, now);
  // Atlassian's Retry-After is the minimum wait; the backoff applies when it is longer.
  const retryAfter = error.details?.['retryAfterSeconds'];
  const backoff = retryDelaySeconds(deps.config.retry, attempt, deps.random);
  const delaySeconds = typeof retryAfter === 'number' ? Math.max(backoff, Math.ceil(retryAfter)) : backoff;
  return { action: 'retry', delaySeconds, outcome: 'retry' };
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

function expiry(deps: ProcessDeps, nowMs: number): number {
  return Math.floor(nowMs / 1000) + deps.config.retentionDays * 24 * 3600;
}
