/**
 * The gate every call to Atlassian passes, from a worker or from the DIRECT submit path: the write
 * lock of the issue/page it writes to, the service's circuit breaker, then the shared rate limit and
 * the hourly points budget (flow-control.ts and points-budget.ts name the ports); and, after the
 * call, what its outcome tells the breaker and the rate gate. Both paths go through these
 * functions, so the DIRECT calls and the workers' calls share one bucket, one points budget and one
 * breaker (DESIGN invariants 5–7).
 */
import { breakerOutcomeOf } from './breaker.js';
import type { RiqError } from '../../../model/errors.js';
import type {
  BreakerOutcome,
  CallScope,
  CircuitBreaker,
  FlowGateReader,
  RateFeedback,
  RateGate,
  WriteLockKey,
  WriteLocks,
} from '../ports/flow-control.js';
import type { Clock, DeferReason } from '../ports/index.js';
import type { PointsBudget } from '../ports/points-budget.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { pointsEstimateOf } from './points-metering.js';
import { resetTimeOf } from './rate-limit-signals.js';

/** The longest a request waits for another worker's half-open probe before looking again. */
export const PROBE_WAIT_CAP_MS = 5_000;

/**
 * How long a write waits when another request holds its object's lock: writes to one issue are
 * short, the holder usually releases within a second.
 */
export const OBJECT_BUSY_WAIT_MS = 1_000;

/** The flow control a call passes first; absent in tests of the bare request path. */
export interface FlowControl {
  breaker: CircuitBreaker;
  rate: RateGate;
  /** The scope of a record's call (endpoint family, write target) for the rate gate. */
  scopeOf(record: RequestRecord): CallScope;
  /**
   * Serializes writes to one issue/page (a scope with `write` and `objectId`) and keeps them inside
   * its write window: taken before the breaker and the token, released after the call. Absent:
   * writes are neither serialized nor paced per object.
   */
  writeLocks?: WriteLocks;
  /**
   * The hourly points budget: charged the call's estimate once the token is taken (settled after
   * the call by points-metering.ts `PointsMeteredExecutor`, wired with it). Absent: points are not
   * counted.
   */
  points?: PointsBudget;
  /**
   * Reads the breaker, the bucket and the points budget together (one request) before the gate
   * decides; absent, each step reads its own item.
   */
  reader?: FlowGateReader;
}

/** A write lock held for the call. */
export interface HeldLock {
  locks: WriteLocks;
  key: WriteLockKey;
  owner: string;
}

/** Why a call cannot go now: the worker's deferral reasons, plus a DIRECT call's refused probe. */
export type GateRefusal = Exclude<DeferReason, 'busy' | 'not_before'> | 'breaker_half_open';

export type Gate =
  /** `charged`: the points the budget took for the call (0 or absent: none). */
  | { pass: true; probe: boolean; scope: CallScope; lock?: HeldLock; grantedAt: number; charged?: number }
  | { pass: false; waitMs: number; reason: GateRefusal; slotAt?: number };

export interface GateOptions {
  /**
   * The number the call will be made as (`CallContext.attempt`, points-metering.ts
   * `callAttemptOf`): a retried write costs more points than a first one.
   */
  attempt: number;
  /** Epoch ms the write lock is held until at most (the claim's lease). */
  lockUntil: number;
  /** Who holds the write lock: the request and its claim's lease (process-request `lockOwnerOf`). */
  lockOwner: string;
  /**
   * Whether the call may be the half-open breaker's probe. A worker's may; a DIRECT call's may not
   * (DIRECT needs a closed breaker): the probe is given back at once and the request is queued.
   * @default true
   */
  probe?: boolean;
  /** The rate line's slot an earlier refusal gave this request (see token-bucket.ts `tryAcquire`). */
  slotAt?: number;
  /** False when a refusal will not be waited out: no slot is taken. @default true */
  lineUp?: boolean;
}

/**
 * The write lock of the call's object first (a write that must wait for another, or for its
 * object's write window, takes neither a probe nor a token), then one read of the breaker, the
 * bucket and the points budget together (`flow.reader`), then the breaker (an open breaker takes
 * no token), then a token for this priority and scope, then the call's estimated points (`flow.points`). A refusal after the lock
 * was taken releases it. The lock expires at `lockUntil`, so a caller that dies mid-call blocks the
 * object no longer than its lease.
 */
export async function passFlowControl(
  flow: FlowControl,
  record: RequestRecord,
  clock: Clock,
  options: GateOptions,
): Promise<Gate> {
  const now = clock.now();
  const scope: CallScope = {
    ...flow.scopeOf(record),
    ...(options.slotAt !== undefined ? { slotAt: options.slotAt } : {}),
    ...(options.lineUp === false ? { lineUp: false } : {}),
  };
  let lock: HeldLock | undefined;
  if (flow.writeLocks && scope.write && scope.objectId !== undefined) {
    const key: WriteLockKey = { service: scope.service, objectId: scope.objectId };
    const taken = await flow.writeLocks.acquire(key, options.lockOwner, now, options.lockUntil);
    if (!taken.acquired) {
      // The window names its wait; a held lock is usually released well before its lease runs out.
      return taken.reason === 'window'
        ? { pass: false, waitMs: taken.waitMs, reason: 'object_window' }
        : { pass: false, waitMs: OBJECT_BUSY_WAIT_MS, reason: 'object_busy' };
    }
    lock = { locks: flow.writeLocks, key, owner: options.lockOwner };
  }
  const reading = flow.reader ? await flow.reader.read(record.service) : undefined;
  const breaker = await flow.breaker.acquire(record.service, now, reading);
  if (!breaker.allowed) {
    await releaseLock(lock);
    if (breaker.state === 'open') return { pass: false, waitMs: breaker.waitMs, reason: 'breaker_open' };
    // Half-open with the probe taken: its lease bounds the wait, but the probe usually answers much
    // sooner and closes the breaker, so look again soon.
    return { pass: false, waitMs: Math.min(breaker.waitMs, PROBE_WAIT_CAP_MS), reason: 'probe_taken' };
  }
  if (breaker.probe && options.probe === false) {
    await releaseLock(lock);
    await flow.breaker.report(record.service, 'neutral', true, now);
    return { pass: false, waitMs: 0, reason: 'breaker_half_open' };
  }
  // The token is stamped with the time it is taken, not when the message arrived: the earlier the
  // stamp, the longer the gap to the call Atlassian counts, and gaps that vary bunch calls up.
  const grantedAt = clock.now();
  const permit = await flow.rate.acquire(scope, grantedAt, reading);
  if (!permit.granted) {
    await releaseLock(lock);
    // A probe that cannot go now gives its turn back, so another worker may probe.
    if (breaker.probe) await flow.breaker.report(record.service, 'neutral', true, now);
    return {
      pass: false,
      waitMs: permit.waitMs,
      reason: permit.reason,
      ...(permit.slotAt !== undefined ? { slotAt: permit.slotAt } : {}),
    };
  }
  // Points last: they can be given back, a token cannot. A refusal here leaves the token spent,
  // which only happens while the hour's points run short.
  let charged = 0;
  if (flow.points) {
    const charge = await flow.points.charge(
      record.service,
      record.priority,
      pointsEstimateOf(record, options.attempt),
      clock.now(),
      reading,
    );
    if (!charge.granted) {
      await releaseLock(lock);
      if (breaker.probe) await flow.breaker.report(record.service, 'neutral', true, now);
      return { pass: false, waitMs: charge.waitMs, reason: charge.reason };
    }
    charged = charge.charged;
  }
  return {
    pass: true,
    probe: breaker.probe,
    scope,
    grantedAt,
    ...(lock ? { lock } : {}),
    ...(charged > 0 ? { charged } : {}),
  };
}

/**
 * Gives a write lock back. A failed release is not the request's failure (its call is over, its
 * outcome must still be recorded): the lock then simply runs out at its expiry.
 */
export async function releaseLock(lock: HeldLock | undefined): Promise<void> {
  if (!lock) return;
  try {
    await lock.locks.release(lock.key, lock.owner);
  } catch {
    // Expires by itself with the claim's lease.
  }
}

/**
 * What the call told the breaker and the rate gate. Failures that never reached Atlassian say
 * nothing about its rate. `breakerOutcome` decides what an error means to the breaker (default
 * `breakerOutcomeOf`; the DIRECT path does not count its own short timeouts as upstream failures).
 */
export async function reportOutcome(
  flow: FlowControl,
  scope: CallScope,
  probe: boolean,
  error: RiqError | undefined,
  nearLimit: boolean,
  now: number,
  breakerOutcome: (error?: RiqError) => BreakerOutcome = breakerOutcomeOf,
  grantedAt?: number,
): Promise<void> {
  const feedback = rateFeedbackOf(error, nearLimit, grantedAt);
  if (feedback) await flow.rate.report(scope, feedback, now);
  await flow.breaker.report(scope.service, breakerOutcome(error), probe, now);
}

/**
 * The rate feedback of an operation's outcome. `nearLimit`: some answer of its calls carried
 * `X-RateLimit-NearLimit: true` (a 429 is reported as such whatever the earlier answers said; a
 * failure without an answer, after an earlier call was told near-limit, still reports that).
 */
export function rateFeedbackOf(
  error: RiqError | undefined,
  nearLimit = false,
  grantedAt?: number,
): RateFeedback | undefined {
  const ok: RateFeedback = nearLimit
    ? { kind: 'ok', nearLimit: true, ...(grantedAt !== undefined ? { grantedAt } : {}) }
    : { kind: 'ok' };
  if (!error) return ok;
  const details = error.details ?? {};
  if (error.code === 'RATE_LIMITED') {
    const retryAfter = details['retryAfterSeconds'];
    const reason = details['rateLimitReason'];
    const reset = details['rateLimitReset'];
    const resetAt = typeof reset === 'string' ? resetTimeOf(reset) : undefined;
    return {
      kind: 'rate_limited',
      ...(typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : {}),
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(resetAt !== undefined ? { resetAt } : {}),
    };
  }
  // An HTTP answer (any status) reached Atlassian: its rate held. Timeouts and resets say nothing.
  return typeof details['status'] === 'number' || nearLimit ? ok : undefined;
}
