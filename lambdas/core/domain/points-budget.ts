/**
 * The arithmetic of the hourly points budget, the second budget every call to Atlassian passes after
 * the request token bucket (token-bucket.ts). Atlassian counts OAuth 2.0 (3LO), Connect and Forge
 * apps' calls in *points* per hour (points-cost.ts says what a call costs); once the quota is spent,
 * every call is refused until the top of the UTC hour (../shared/atlassian facts). Pure, so that the
 * DynamoDB budget (lambdas/adapters/dynamodb/dynamo-points-budget.ts) and the in-memory one of the
 * unit tests (test/support/in-memory-points-budget.ts) cannot differ.
 *
 * One budget per service holds **points**, refilled at the *pace* and capped at the *capacity*:
 * - The pace is the quota spread over its window, `quota / windowSeconds` points per second (65,000
 *   an hour: ~18/s). A backlog therefore spends the hour evenly instead of in its first minutes.
 * - The capacity is `burstSeconds` of that pace (default 300 s: ~5,400 points), so an idle service
 *   may burst a few minutes' worth, never the hour.
 * - Priority reserves are shares of the capacity, as in the token bucket: a charge of priority `p`
 *   goes through only if at least `reserve(p) + estimate` points are there, so `high` keeps a share
 *   `low` can never take.
 *
 * What Atlassian says corrects the budget (`observeSignals` reads one answer's parsed headers):
 * - `RateLimit-Policy` / `Beta-RateLimit-Policy` (`q`, `w`): a *learned* quota, stored in the state
 *   and obeyed from then on, whatever the config says and whatever the auth mode (`resync`).
 * - `RateLimit` / `Beta-RateLimit` (`r` left, `t` seconds to the reset): the truth about this hour;
 *   `resync` re-plans the rest of the hour so that RIQ spends at most `r` before the reset.
 * - Near the limit (`X-RateLimit-NearLimit`, or `r` under 20 % of `q`): the pace halves until the
 *   reset (`nearLimit`), so the last fifth of the hour is spent slowly, before any 429.
 * - A 429 whose `RateLimit-Reason` is a quota: nothing is granted to any priority until the reset
 *   (`quotaExhausted`).
 *
 * API-token connections only meet the burst limits: without a header-announced quota their budget is
 * off (`settings.enabled` false) and every charge is granted. The state is still kept, so a quota
 * Atlassian announces later switches the budget on.
 *
 * Timestamps are epoch milliseconds passed in by the caller, never read from a clock here. A clock
 * behind the stored `updatedAt` (another worker's clock ran ahead) refills nothing and never moves
 * `updatedAt` back, so clock skew cannot mint points.
 */
import type { AuthMode, Priority, RiqConfig, Service } from '../../../model/config/riq-config.js';
import type { PointsView } from '../ports/points-budget.js';
import type { RateLimitSignals } from './rate-limit-signals.js';

/** The numbers one service's budget runs on, resolved from the config and the connection's auth mode. */
export interface PointsSettings {
  /**
   * Whether the budget applies without a quota learned from the headers: true for OAuth 2.0
   * connections (Atlassian counts their points), false for API-token ones (they meet only the burst
   * limits). A learned quota turns the budget on either way.
   */
  enabled: boolean;
  /** Points per window, from the config: Atlassian's tier 1 grants 65,000 an hour. */
  quota: number;
  windowSeconds: number;
  /** Capacity, in seconds of the pace: what an idle budget may spend at once. */
  burstSeconds: number;
  /** Shares of the capacity each priority must leave (`high` 0). */
  reserves: Record<Priority, number>;
}

/**
 * A service's settings from the config and the connection's auth mode: on for OAuth 2.0, off (until a
 * quota is announced) for an API token.
 */
export function pointsSettingsFor(config: RiqConfig, service: Service, authMode: AuthMode): PointsSettings {
  const points = config.services[service].points;
  return {
    enabled: authMode === 'oauth',
    quota: points.quotaPerHour,
    windowSeconds: points.windowSeconds,
    burstSeconds: points.burstSeconds,
    reserves: { high: 0, normal: points.reserves.normal, low: points.reserves.low },
  };
}

/** A quota Atlassian announced (`RateLimit-Policy: "…";q=65000;w=3600`). */
export interface LearnedQuota {
  quota: number;
  windowSeconds: number;
}

/** One service's budget, as stored. */
export interface PointsState {
  /** Points as of `updatedAt` (fractional: refill is continuous). Below 0 only after a settle that cost more than charged. */
  points: number;
  updatedAt: number;
  /** The quota announced in the headers; when set it replaces the config's quota and window. */
  learned?: LearnedQuota;
  /** The pace `resync` set from `r` and `t`, in points per second, in force until the reset. */
  resyncPace?: { perSecond: number; until: number };
  /** When the quota resets, as the last header that said it (`t`, or a quota 429's reset). */
  resetAt?: number;
  /** Until then the configured (or learned) pace is halved: Atlassian said the quota is nearly spent. */
  slowUntil?: number;
  /** Until then nothing is granted: Atlassian refused a call because the quota is spent. */
  exhaustedUntil?: number;
}

/** The answer to "may this call spend its points now?". `waitMs`: exactly when enough will be there. */
export type ChargeDecision = { granted: true; charged: number } | { granted: false; waitMs: number };

/** What a `RateLimit`/`RateLimit-Policy` pair says; any value may be missing or unreadable. */
export interface QuotaReading {
  /** `r`: points left before the reset. */
  remaining?: number;
  /** `t`: seconds to the reset. */
  secondsToReset?: number;
  /** `q`: the quota per window. */
  quota?: number;
  /** `w`: the window, seconds. */
  windowSeconds?: number;
}

/** Near the limit the pace is multiplied by this until the reset. */
export const NEAR_LIMIT_PACE_FACTOR = 0.5;

/** Floating-point slack so that 0.9999999999 refilled points count as one. */
const EPSILON = 1e-9;

/** Whether charges are counted: configured on (OAuth), or a quota was announced. */
export function budgetApplies(state: PointsState, settings: PointsSettings): boolean {
  return settings.enabled || state.learned !== undefined;
}

/** The quota and window in force: the learned ones when Atlassian announced them, else the config's. */
export function quotaOf(state: PointsState, settings: PointsSettings): LearnedQuota {
  return state.learned ?? { quota: settings.quota, windowSeconds: settings.windowSeconds };
}

/** The pace of the quota, points per second, before any slowdown or resync. */
export function basePaceOf(state: PointsState, settings: PointsSettings): number {
  const { quota, windowSeconds } = quotaOf(state, settings);
  return quota / windowSeconds;
}

/** The most points the budget holds: `burstSeconds` of the quota's pace. */
export function capacityOf(state: PointsState, settings: PointsSettings): number {
  return basePaceOf(state, settings) * settings.burstSeconds;
}

/**
 * The pace at instant `at`: 0 while exhausted; the resync pace until the reset it was computed for;
 * otherwise the quota's pace, halved while slowed. A resync pace is not halved: it is already exact.
 */
export function paceAt(state: PointsState, settings: PointsSettings, at: number): number {
  if (state.exhaustedUntil !== undefined && at < state.exhaustedUntil) return 0;
  if (state.resyncPace !== undefined && at < state.resyncPace.until) return state.resyncPace.perSecond;
  const base = basePaceOf(state, settings);
  return state.slowUntil !== undefined && at < state.slowUntil ? base * NEAR_LIMIT_PACE_FACTOR : base;
}

/** A budget nobody has used yet: full. */
export function freshBudget(settings: PointsSettings, now: number): PointsState {
  const state: PointsState = { points: 0, updatedAt: now };
  state.points = capacityOf(state, settings);
  return state;
}

/**
 * Brings a stored budget to `now`: refills by the pace over the time since `updatedAt` (the pace may
 * change within it: see `paceAt`), caps at the capacity (a deploy or a learned quota may have
 * lowered it), and drops the slowdown, resync and exhaustion once they end. A non-number `points`
 * (a damaged item) counts as empty; a debt is bounded by the capacity.
 */
export function advance(state: PointsState, settings: PointsSettings, now: number): PointsState {
  const capacity = capacityOf(state, settings);
  const stored = Number.isFinite(state.points) ? Math.max(-capacity, state.points) : 0;
  const from = Number.isFinite(state.updatedAt) ? state.updatedAt : now;
  const refilled = now > from ? refillBetween(state, settings, from, now) : 0;
  const next: PointsState = {
    points: Math.min(capacity, stored + refilled),
    updatedAt: Math.max(from, now),
  };
  if (state.learned !== undefined) next.learned = state.learned;
  if (state.resyncPace !== undefined && state.resyncPace.until > now) next.resyncPace = state.resyncPace;
  if (state.resetAt !== undefined && state.resetAt > now) next.resetAt = state.resetAt;
  if (state.slowUntil !== undefined && state.slowUntil > now) next.slowUntil = state.slowUntil;
  if (state.exhaustedUntil !== undefined && state.exhaustedUntil > now) {
    next.exhaustedUntil = state.exhaustedUntil;
  }
  return next;
}

/**
 * Charges `estimate` points for a call of `priority` when, after it, the priority's reserve is still
 * there; refused, `waitMs` is exactly how long until the refill makes it so (through any change of
 * pace on the way), so a caller may sleep or re-queue for that long. While exhausted, nothing is
 * granted to any priority, and the wait runs at least to the reset.
 *
 * An estimate above what the priority may ever hold (`capacity − reserve`) would wait forever: it
 * waits for a full budget instead and is charged in full, reaching into the reserve. An estimate
 * above the capacity is charged as the capacity. Neither happens with the defaults: the largest
 * estimate (205, a retried comment on a numeric id) is far below the reserves' room. A non-number or negative
 * estimate counts as 1.
 */
export function tryCharge(
  state: PointsState,
  settings: PointsSettings,
  priority: Priority,
  estimate: number,
  now: number,
): { state: PointsState; decision: ChargeDecision } {
  const current = advance(state, settings, now);
  if (!budgetApplies(current, settings)) {
    return { state: current, decision: { granted: true, charged: 0 } };
  }
  const capacity = capacityOf(current, settings);
  const cost = Math.min(chargeOf(estimate), capacity);
  const needed = Math.min(reserveOf(settings, priority, capacity) + cost, capacity);
  const exhausted = current.exhaustedUntil !== undefined && current.exhaustedUntil > now;
  if (!exhausted && current.points + EPSILON >= needed) {
    return {
      state: { ...current, points: Math.max(0, current.points - cost) },
      decision: { granted: true, charged: cost },
    };
  }
  const refilledAt = whenRefilled(current, settings, current.updatedAt, needed - current.points);
  const readyAt = exhausted ? Math.max(refilledAt, current.exhaustedUntil ?? 0) : refilledAt;
  return { state: current, decision: { granted: false, waitMs: Math.max(1, Math.ceil(readyAt - now)) } };
}

/**
 * Returns what a call did not spend (`estimate − actual`, points-cost.ts `settlePoints`), capped at
 * the capacity. A negative `giveBack` (the call cost more than charged) takes the difference, which
 * may leave a debt the refill pays off first: those points were spent at Atlassian. Not a number,
 * or a budget that is off (it charged nothing): nothing changes.
 */
export function settle(
  state: PointsState,
  settings: PointsSettings,
  giveBack: number,
  now: number,
): PointsState {
  const current = advance(state, settings, now);
  if (!budgetApplies(current, settings) || !Number.isFinite(giveBack) || giveBack === 0) return current;
  const capacity = capacityOf(current, settings);
  return { ...current, points: Math.max(-capacity, Math.min(capacity, current.points + giveBack)) };
}

/**
 * Corrects the budget by what Atlassian's headers say; a value that is missing, not a number or
 * negative is ignored (a quota or window of 0 as well: it cannot pace anything).
 *
 * - `quota` (and `windowSeconds`, else the one in force): stored as the learned quota, replacing the
 *   config's from now on. The points are capped at the new capacity.
 * - `secondsToReset` `t`: the reset is then `now + t`; `nearLimit` and `quotaExhausted` use it.
 * - `remaining` `r` with `t > 0`: the rest of the hour is re-planned so that RIQ spends at most `r`
 *   before the reset: the points become `min(points, r)` (never raised: in-flight estimates are
 *   already taken from them), and until the reset the pace is `(r − points) / t`, so points now
 *   plus the refill until the reset add up to exactly `r`. That pace may be above the quota's own
 *   (points left over near the end of the hour are Atlassian's to give) or 0 (nothing left). After
 *   the reset the quota's pace applies again. `r` with `t = 0` (the reset is now) changes nothing.
 * - `r` without `t`: the same, up to the reset known from an earlier answer, else the end of the
 *   current window (the top of the UTC hour for an hour's window).
 */
export function resync(
  state: PointsState,
  settings: PointsSettings,
  reading: QuotaReading,
  now: number,
): PointsState {
  let next = advance(state, settings, now);
  const quota = positive(reading.quota);
  if (quota !== undefined) {
    const windowSeconds = positive(reading.windowSeconds) ?? quotaOf(next, settings).windowSeconds;
    next = { ...next, learned: { quota, windowSeconds } };
    next.points = Math.min(next.points, capacityOf(next, settings));
  }
  const t = nonNegative(reading.secondsToReset);
  // A `t` given but unreadable leaves `r` unplaced in time: nothing is re-planned.
  if (t === 0 || (reading.secondsToReset !== undefined && t === undefined)) return next;
  if (t !== undefined) next = { ...next, resetAt: now + t * 1000 };
  const r = nonNegative(reading.remaining);
  if (r === undefined) return next;
  const until = next.resetAt ?? windowEnd(next, settings, now);
  if (until <= now) return next;
  const points = Math.min(next.points, r);
  return { ...next, points, resyncPace: { perSecond: (r - points) / ((until - now) / 1000), until } };
}

/**
 * Atlassian says the quota is nearly spent: the quota's pace halves until the reset (the one the
 * headers gave, else the end of the current window: the top of the UTC hour for an hour's window).
 * Repeated, it extends nothing past that reset and never halves twice.
 */
export function nearLimit(state: PointsState, settings: PointsSettings, now: number): PointsState {
  const current = advance(state, settings, now);
  const until = current.resetAt ?? windowEnd(current, settings, now);
  return { ...current, slowUntil: Math.max(current.slowUntil ?? 0, until) };
}

/**
 * Atlassian refused a call because the quota is spent: nothing is granted until `resetAt` (epoch ms;
 * a missing, past or unreadable one: the known reset, else the end of the current window), capped
 * at one window from now (Atlassian has sent absurd values), and the budget is empty then; it
 * refills at the quota's pace from the reset on, so the fresh hour is paced as well. A running
 * exhaustion is never shortened.
 */
export function quotaExhausted(
  state: PointsState,
  settings: PointsSettings,
  resetAt: number | undefined,
  now: number,
): PointsState {
  const current = advance(state, settings, now);
  const windowMs = quotaOf(current, settings).windowSeconds * 1000;
  const given =
    resetAt !== undefined && Number.isFinite(resetAt) && resetAt > now
      ? resetAt
      : (current.resetAt ?? windowEnd(current, settings, now));
  const until = Math.max(current.exhaustedUntil ?? 0, Math.min(given, now + windowMs));
  const next: PointsState = { ...current, points: Math.min(current.points, 0), exhaustedUntil: until };
  delete next.resyncPace;
  return next;
}

/**
 * Everything one answer's headers say, applied in order: the announced quota and where it stands
 * (`resync`, with the policy and status that leave the slowest pace when several are listed), the
 * near-limit warning (only when no `r` re-planned the hour: that pace is exact already), and a
 * quota 429 (`RateLimit-Reason` of scope `quota`: exhausted until `X-RateLimit-Reset`, or
 * `Retry-After`, whichever is later).
 */
export function observeSignals(
  state: PointsState,
  settings: PointsSettings,
  signals: RateLimitSignals,
  now: number,
): PointsState {
  const windowSeconds = quotaOf(state, settings).windowSeconds;
  const policy = slowest(
    signals.policies.filter((p) => p.quota > 0 && p.windowSeconds !== 0),
    (p) => p.quota / (p.windowSeconds ?? windowSeconds),
  );
  // A status without `t` is paced to the end of the window (see `resync`).
  const toWindowEnd = Math.max(1, (windowEnd(state, settings, now) - now) / 1000);
  const status =
    slowest(
      signals.statuses.filter((s) => s.remaining !== undefined && s.resetSeconds !== 0),
      (s) => (s.remaining ?? 0) / (s.resetSeconds ?? toWindowEnd),
    ) ?? signals.statuses.find((s) => s.resetSeconds !== undefined);
  const reading: QuotaReading = {
    ...(policy !== undefined ? { quota: policy.quota } : {}),
    ...(policy?.windowSeconds !== undefined ? { windowSeconds: policy.windowSeconds } : {}),
    ...(status?.remaining !== undefined ? { remaining: status.remaining } : {}),
    ...(status?.resetSeconds !== undefined ? { secondsToReset: status.resetSeconds } : {}),
  };
  let next = resync(state, settings, reading, now);
  if (signals.nearLimit && next.resyncPace === undefined) next = nearLimit(next, settings, now);
  if (signals.reason?.scope === 'quota') {
    const retryAt =
      signals.retryAfterSeconds !== undefined ? now + signals.retryAfterSeconds * 1000 : undefined;
    const resetAt = [signals.reset?.at, retryAt].filter((x): x is number => x !== undefined);
    next = quotaExhausted(next, settings, resetAt.length > 0 ? Math.max(...resetAt) : undefined, now);
  }
  return next;
}

/**
 * Whether an answer's headers could change a budget (a quota announced or its status, near the
 * limit, a quota 429), so an answer without them costs the shared budget no read.
 */
export function signalsConcernPoints(signals: RateLimitSignals): boolean {
  return (
    signals.policies.length > 0 ||
    signals.statuses.length > 0 ||
    signals.nearLimit ||
    signals.reason?.scope === 'quota'
  );
}

/** The budget at `now`, as the health view shows it. */
export function pointsViewOf(
  service: Service,
  state: PointsState,
  settings: PointsSettings,
  now: number,
): PointsView {
  const current = advance(state, settings, now);
  const { quota, windowSeconds } = quotaOf(current, settings);
  const iso = (at: number | undefined) => (at === undefined ? null : new Date(at).toISOString());
  return {
    service,
    enabled: budgetApplies(current, settings),
    points: current.points,
    capacity: capacityOf(current, settings),
    pace_per_second: paceAt(current, settings, now),
    quota,
    window_seconds: windowSeconds,
    quota_source: current.learned !== undefined ? 'headers' : 'config',
    reset_at: iso(current.resetAt),
    slow_until: iso(current.slowUntil),
    exhausted_until: iso(current.exhaustedUntil),
  };
}

/** True when two budgets hold the same state, so an adapter can skip a write that changes nothing. */
export function samePoints(a: PointsState, b: PointsState): boolean {
  return (
    a.points === b.points &&
    a.updatedAt === b.updatedAt &&
    a.learned?.quota === b.learned?.quota &&
    a.learned?.windowSeconds === b.learned?.windowSeconds &&
    a.resyncPace?.perSecond === b.resyncPace?.perSecond &&
    a.resyncPace?.until === b.resyncPace?.until &&
    a.resetAt === b.resetAt &&
    a.slowUntil === b.slowUntil &&
    a.exhaustedUntil === b.exhaustedUntil
  );
}

/** The entry of `entries` with the lowest `pace`; undefined when there is none. */
function slowest<T>(entries: readonly T[], pace: (entry: T) => number): T | undefined {
  let best: T | undefined;
  for (const entry of entries) if (best === undefined || pace(entry) < pace(best)) best = entry;
  return best;
}

/** The points a priority must leave: its share of the capacity (`high` none). */
function reserveOf(settings: PointsSettings, priority: Priority, capacity: number): number {
  return priority === 'high' ? 0 : settings.reserves[priority] * capacity;
}

function chargeOf(estimate: number): number {
  return Number.isFinite(estimate) && estimate >= 0 ? estimate : 1;
}

/** The end of the window `now` is in: windows start at multiples of their length since the epoch (UTC hours). */
function windowEnd(state: PointsState, settings: PointsSettings, now: number): number {
  const windowMs = quotaOf(state, settings).windowSeconds * 1000;
  return (Math.floor(now / windowMs) + 1) * windowMs;
}

/** The instants after `from` where the pace changes, in order. */
function paceChanges(state: PointsState, from: number): number[] {
  const at = [state.exhaustedUntil, state.resyncPace?.until, state.slowUntil];
  return at.filter((x): x is number => x !== undefined && x > from).sort((a, b) => a - b);
}

/** Points refilled between `from` and `to` (uncapped), the pace constant between its changes. */
function refillBetween(state: PointsState, settings: PointsSettings, from: number, to: number): number {
  let total = 0;
  let start = from;
  for (const end of [...paceChanges(state, from).filter((x) => x < to), to]) {
    total += (paceAt(state, settings, start) * (end - start)) / 1000;
    start = end;
  }
  return total;
}

/**
 * The instant the refill since `from` reaches `amount`, walking through the changes of pace. After
 * the last change the quota's pace (positive) applies, so the instant always exists.
 */
function whenRefilled(state: PointsState, settings: PointsSettings, from: number, amount: number): number {
  let missing = amount;
  let start = from;
  for (const end of paceChanges(state, from)) {
    if (missing <= 0) return start;
    const pace = paceAt(state, settings, start);
    const gained = (pace * (end - start)) / 1000;
    if (pace > 0 && gained >= missing) return start + (missing / pace) * 1000;
    missing -= gained;
    start = end;
  }
  return missing <= 0 ? start : start + (missing / paceAt(state, settings, start)) * 1000;
}

function positive(x: number | undefined): number | undefined {
  return x !== undefined && Number.isFinite(x) && x > 0 ? x : undefined;
}

function nonNegative(x: number | undefined): number | undefined {
  return x !== undefined && Number.isFinite(x) && x >= 0 ? x : undefined;
}
