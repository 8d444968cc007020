import { describe, expect, it } from 'vitest';
import {
  NEAR_LIMIT_PACE_FACTOR,
  advance,
  capacityOf,
  freshBudget,
  nearLimit,
  observeSignals,
  paceAt,
  pointsSettingsFor,
  pointsViewOf,
  quotaExhausted,
  resync,
  samePoints,
  settle,
  signalsConcernPoints,
  tryCharge,
  type PointsSettings,
  type PointsState,
} from '../../../lambdas/core/domain/points-budget.js';
import { readRateLimitSignals } from '../../../lambdas/core/domain/rate-limit-signals.js';
import { resolveConfig, type Priority } from '../../../model/config/riq-config.js';

/** One point a second (3,600 an hour), 100 s of burst: capacity 100; low keeps 30 back, normal 10. */
const S: PointsSettings = {
  enabled: true,
  quota: 3600,
  windowSeconds: 3600,
  burstSeconds: 100,
  reserves: { high: 0, normal: 0.1, low: 0.3 },
};

/** The top of a UTC hour. */
const T0 = Date.parse('2026-03-02T10:00:00Z');
const HOUR = 3_600_000;

function withPoints(points: number, extra: Partial<PointsState> = {}): PointsState {
  return { points, updatedAt: T0, ...extra };
}

function charge(state: PointsState, priority: Priority, estimate: number, now: number, s = S) {
  return tryCharge(state, s, priority, estimate, now);
}

/**
 * Charges `estimate` for `priority` again and again from `from` to `to`, each time as soon as the
 * refused answer's `waitMs` says; the points granted in total.
 */
function drain(state: PointsState, priority: Priority, estimate: number, from: number, to: number, s = S) {
  let current = state;
  let now = from;
  let granted = 0;
  while (now <= to) {
    const { state: next, decision } = tryCharge(current, s, priority, estimate, now);
    current = next;
    if (decision.granted) granted += decision.charged;
    else now += decision.waitMs;
  }
  return { granted, state: current };
}

describe('points budget', () => {
  describe('settings', () => {
    it('takes the service’s quota, window, burst and reserves from the config', () => {
      const config = resolveConfig({
        services: {
          confluence: { points: { quotaPerHour: 7200, burstSeconds: 60, reserves: { low: 0.5 } } },
        },
      });
      expect(pointsSettingsFor(config, 'confluence', 'oauth')).toEqual({
        enabled: true,
        quota: 7200,
        windowSeconds: 3600,
        burstSeconds: 60,
        reserves: { high: 0, normal: 0.1, low: 0.5 },
      });
    });

    it('is on for OAuth connections and off for API-token ones', () => {
      const config = resolveConfig({});
      expect(pointsSettingsFor(config, 'jira', 'oauth').enabled).toBe(true);
      expect(pointsSettingsFor(config, 'jira', 'api_token').enabled).toBe(false);
    });
  });

  describe('capacity and pace', () => {
    it('starts full at burstSeconds of the quota’s pace', () => {
      const tier1: PointsSettings = { ...S, quota: 65_000, burstSeconds: 300 };
      const fresh = freshBudget(tier1, T0);
      expect(fresh.points).toBeCloseTo((65_000 / 3600) * 300, 6);
      expect(capacityOf(fresh, tier1)).toBe(fresh.points);
    });

    it('refills at quota / window per second, continuously, and never above the capacity', () => {
      expect(advance(withPoints(0), S, T0 + 10_500).points).toBeCloseTo(10.5, 9);
      expect(advance(withPoints(95), S, T0 + 60_000).points).toBe(100);
    });

    it('lets a backlog spend the capacity and then only the pace: never the hour in its first minutes', () => {
      const tenMinutes = drain(freshBudget(S, T0), 'high', 2, T0, T0 + 600_000);
      // 100 at once, then 1 a second: 700 of the hour's 3,600 in ten minutes.
      expect(tenMinutes.granted).toBeGreaterThanOrEqual(698);
      expect(tenMinutes.granted).toBeLessThanOrEqual(702);
      const hour = drain(freshBudget(S, T0), 'high', 1, T0, T0 + HOUR - 1);
      expect(hour.granted).toBeLessThanOrEqual(100 + 3600);
      expect(hour.granted).toBeGreaterThanOrEqual(100 + 3599);
    });

    it('caps stored points at a lowered capacity (a deploy changed the quota)', () => {
      const halved: PointsSettings = { ...S, quota: 1800 };
      expect(advance(withPoints(100), halved, T0).points).toBe(50);
    });
  });

  describe('tryCharge', () => {
    it('takes the estimate when it leaves the priority’s reserve', () => {
      const { state, decision } = charge(withPoints(50), 'low', 20, T0);
      expect(decision).toEqual({ granted: true, charged: 20 });
      expect(state.points).toBe(30);
      expect(charge(state, 'low', 1, T0).decision.granted).toBe(false);
    });

    it('refuses with exactly the wait until the refill covers reserve + estimate', () => {
      const { decision } = charge(withPoints(0), 'high', 5, T0);
      expect(decision).toEqual({ granted: false, waitMs: 5000 });
      expect(charge(withPoints(0), 'high', 5, T0 + 4999).decision.granted).toBe(false);
      expect(charge(withPoints(0), 'high', 5, T0 + 5000).decision.granted).toBe(true);
      // low needs its reserve of 30 on top: 31 s for one point.
      expect(charge(withPoints(0), 'low', 1, T0).decision).toEqual({ granted: false, waitMs: 31_000 });
      expect(charge(withPoints(0), 'low', 1, T0 + 31_000).decision.granted).toBe(true);
    });

    it('counts a non-number or negative estimate as one point', () => {
      for (const silly of [Number.NaN, -5, Number.POSITIVE_INFINITY]) {
        const { state, decision } = charge(withPoints(10), 'high', silly, T0);
        expect(decision).toEqual({ granted: true, charged: 1 });
        expect(state.points).toBe(9);
      }
    });

    it('lets an estimate larger than a priority may ever hold wait for a full budget, and caps it at the capacity', () => {
      // low may hold at most 70 above its reserve: 90 waits for 100 and is charged in full.
      expect(charge(withPoints(99), 'low', 90, T0).decision).toEqual({ granted: false, waitMs: 1000 });
      const full = charge(withPoints(100), 'low', 90, T0);
      expect(full.decision).toEqual({ granted: true, charged: 90 });
      expect(full.state.points).toBe(10);
      const huge = charge(withPoints(100), 'high', 500, T0);
      expect(huge.decision).toEqual({ granted: true, charged: 100 });
      expect(huge.state.points).toBe(0);
    });
  });

  describe('priority reserves', () => {
    it('lets low take only what is above 30 %, normal above 10 %, high the rest', () => {
      const at = (priority: Priority) => drain(withPoints(100), priority, 1, T0, T0).granted;
      expect(at('low')).toBe(70);
      expect(at('normal')).toBe(90);
      expect(at('high')).toBe(100);
    });

    it('keeps a low backlog from taking the points high needs', () => {
      const afterLow = drain(withPoints(100), 'low', 5, T0, T0 + 60_000).state;
      const high = charge(afterLow, 'high', 25, T0 + 60_000);
      expect(high.decision.granted).toBe(true);
    });
  });

  describe('settle', () => {
    it('gives back what the call did not spend', () => {
      const charged = charge(withPoints(60), 'high', 51, T0).state;
      expect(settle(charged, S, 48, T0).points).toBe(57);
    });

    it('never gives back beyond the capacity', () => {
      expect(settle(withPoints(90), S, 500, T0).points).toBe(100);
    });

    it('takes more when the call cost more than charged, leaving a debt the refill pays first', () => {
      const indebted = settle(withPoints(2), S, -10, T0);
      expect(indebted.points).toBe(-8);
      expect(charge(indebted, 'high', 1, T0).decision).toEqual({ granted: false, waitMs: 9000 });
    });

    it('changes nothing while the budget is off: it charged nothing', () => {
      const apiToken: PointsSettings = { ...S, enabled: false };
      expect(settle(withPoints(40), apiToken, -30, T0).points).toBe(40);
      expect(settle(withPoints(40), apiToken, 30, T0).points).toBe(40);
    });

    it('bounds a debt at the capacity and ignores a give-back that is not a number', () => {
      expect(settle(withPoints(0), S, -1e9, T0).points).toBe(-100);
      expect(settle(withPoints(40), S, Number.NaN, T0).points).toBe(40);
      expect(settle(withPoints(40), S, Number.POSITIVE_INFINITY, T0).points).toBe(40);
    });
  });

  describe('resync from RateLimit r and t', () => {
    it('re-plans the rest of the hour to spend exactly r: points ≤ r, pace (r − points) / t', () => {
      const state = resync(withPoints(80), S, { remaining: 50, secondsToReset: 100 }, T0);
      expect(state.points).toBe(50);
      expect(paceAt(state, S, T0)).toBe(0);
      const plenty = resync(withPoints(10), S, { remaining: 100, secondsToReset: 90 }, T0);
      expect(plenty.points).toBe(10);
      expect(paceAt(plenty, S, T0)).toBe(1);
    });

    it('never spends more than r before the reset, whatever the backlog', () => {
      const state = resync(withPoints(100), S, { remaining: 40, secondsToReset: 600 }, T0);
      expect(drain(state, 'high', 1, T0, T0 + 600_000 - 1).granted).toBeLessThanOrEqual(40);
      expect(drain(state, 'high', 1, T0, T0 + 600_000 - 1).granted).toBeGreaterThanOrEqual(39);
    });

    it('follows an r larger than its own picture: points kept, a pace above the quota’s until the reset', () => {
      const state = resync(withPoints(20), S, { remaining: 500, secondsToReset: 100 }, T0);
      expect(state.points).toBe(20);
      expect(paceAt(state, S, T0 + 1)).toBe(4.8);
      expect(advance(state, S, T0 + 10_000).points).toBeCloseTo(68, 9);
      // At the reset the quota's own pace is back.
      expect(paceAt(state, S, T0 + 100_000)).toBe(1);
      expect(advance(state, S, T0 + 100_000).resyncPace).toBeUndefined();
    });

    it('gives the exact wait through the change of pace at the reset', () => {
      // 0 points, r = 0 for 10 s: nothing until the reset, then 1 a second.
      const state = resync(withPoints(0), S, { remaining: 0, secondsToReset: 10 }, T0);
      expect(charge(state, 'high', 3, T0).decision).toEqual({ granted: false, waitMs: 13_000 });
      expect(charge(state, 'high', 3, T0 + 13_000).decision.granted).toBe(true);
    });

    it('paces an r without t to the reset known, else to the top of the UTC hour', () => {
      // 20 minutes before the top of the hour: r = 1,200 → 0 now (points 100 kept), 1.1 a second.
      const at = T0 + 40 * 60_000;
      const state = resync(withPoints(100, { updatedAt: at }), S, { remaining: 1200 }, at);
      expect(state.points).toBe(100);
      expect(state.resyncPace).toEqual({ perSecond: (1200 - 100) / 1200, until: T0 + HOUR });
      const low = resync(withPoints(100, { updatedAt: at }), S, { remaining: 30 }, at);
      expect(low.points).toBe(30);
      expect(drain(low, 'high', 1, at, T0 + HOUR - 1).granted).toBeLessThanOrEqual(30);
      // A reset learned from an earlier t is the one used.
      const known = resync(
        withPoints(100, { updatedAt: at, resetAt: at + 600_000 }),
        S,
        { remaining: 700 },
        at,
      );
      expect(known.resyncPace).toEqual({ perSecond: 1, until: at + 600_000 });
    });

    it('learns t alone as the reset without touching points or pace', () => {
      const state = resync(withPoints(40), S, { secondsToReset: 120 }, T0);
      expect(state.resetAt).toBe(T0 + 120_000);
      expect(state.points).toBe(40);
      expect(state.resyncPace).toBeUndefined();
    });

    it('ignores negative, non-number and zero values', () => {
      const before = withPoints(40);
      for (const reading of [
        { remaining: -1, secondsToReset: 100 },
        { remaining: Number.NaN, secondsToReset: 100 },
        { remaining: 10, secondsToReset: -5 },
        { remaining: 10, secondsToReset: Number.NaN },
        { remaining: 10, secondsToReset: 0 },
        { quota: -65_000, windowSeconds: 3600 },
        { quota: 0, windowSeconds: 3600 },
        { quota: Number.NaN },
        { quota: Number.POSITIVE_INFINITY },
      ]) {
        const after = resync(before, S, reading, T0);
        expect(after.points).toBe(40);
        expect(after.resyncPace).toBeUndefined();
        expect(after.learned).toBeUndefined();
      }
    });
  });

  describe('a quota announced in RateLimit-Policy', () => {
    it('replaces the configured quota and window, and stays in the state', () => {
      const learned = resync(withPoints(100), S, { quota: 7200, windowSeconds: 1800 }, T0);
      expect(learned.learned).toEqual({ quota: 7200, windowSeconds: 1800 });
      expect(paceAt(learned, S, T0)).toBe(4);
      expect(capacityOf(learned, S)).toBe(400);
      const later = advance(learned, S, T0 + HOUR);
      expect(later.learned).toEqual({ quota: 7200, windowSeconds: 1800 });
      expect(later.points).toBe(400);
    });

    it('caps the points at a smaller learned capacity; a window not given keeps the one in force', () => {
      const learned = resync(withPoints(100), S, { quota: 360 }, T0);
      expect(learned.learned).toEqual({ quota: 360, windowSeconds: 3600 });
      expect(learned.points).toBe(10);
    });

    it('turns the budget on for an API-token connection, which is otherwise never refused', () => {
      const apiToken: PointsSettings = { ...S, enabled: false };
      expect(charge(withPoints(0), 'low', 50, T0, apiToken).decision).toEqual({ granted: true, charged: 0 });
      const announced = resync(withPoints(0), apiToken, { quota: 3600, windowSeconds: 3600 }, T0);
      expect(charge(announced, 'low', 50, T0, apiToken).decision.granted).toBe(false);
    });
  });

  describe('near the limit', () => {
    it('halves the pace until the top of the UTC hour when no reset is known', () => {
      const slowed = nearLimit(withPoints(0, { updatedAt: T0 + 45 * 60_000 }), S, T0 + 45 * 60_000);
      expect(slowed.slowUntil).toBe(T0 + HOUR);
      expect(paceAt(slowed, S, T0 + 50 * 60_000)).toBe(NEAR_LIMIT_PACE_FACTOR);
      expect(paceAt(slowed, S, T0 + HOUR)).toBe(1);
      // 10 points take 20 s at half pace.
      expect(charge(slowed, 'high', 10, T0 + 45 * 60_000).decision).toEqual({
        granted: false,
        waitMs: 20_000,
      });
    });

    it('slows until the reset the headers gave, and never halves twice', () => {
      const withReset = resync(withPoints(0), S, { secondsToReset: 300 }, T0);
      const slowed = nearLimit(nearLimit(withReset, S, T0), S, T0 + 1000);
      expect(slowed.slowUntil).toBe(T0 + 300_000);
      expect(paceAt(slowed, S, T0 + 2000)).toBe(0.5);
    });

    it('waits exactly across the end of the slowdown', () => {
      // 5 s left at half pace gives 2.5 points; the other 2.5 take 2.5 s at full pace.
      const slowed = nearLimit(withPoints(0, { updatedAt: T0 + HOUR - 5000 }), S, T0 + HOUR - 5000);
      expect(charge(slowed, 'high', 5, T0 + HOUR - 5000).decision).toEqual({
        granted: false,
        waitMs: 7500,
      });
    });
  });

  describe('quota exhausted', () => {
    it('grants nothing to any priority until the reset, then refills from empty at the pace', () => {
      const resetAt = T0 + 1847_000;
      const spent = quotaExhausted(withPoints(100), S, resetAt, T0);
      expect(charge(spent, 'high', 1, T0).decision).toEqual({ granted: false, waitMs: 1_848_000 });
      expect(charge(spent, 'high', 1, resetAt - 1).decision.granted).toBe(false);
      expect(charge(spent, 'high', 1, resetAt).decision.granted).toBe(false);
      expect(charge(spent, 'high', 1, resetAt + 1000).decision.granted).toBe(true);
      expect(charge(spent, 'low', 1, resetAt + 1000).decision.granted).toBe(false);
    });

    it('lasts to the top of the UTC hour without a reset time, or with one in the past', () => {
      const now = T0 + 20 * 60_000;
      expect(quotaExhausted(withPoints(50), S, undefined, now).exhaustedUntil).toBe(T0 + HOUR);
      expect(quotaExhausted(withPoints(50), S, now - 1, now).exhaustedUntil).toBe(T0 + HOUR);
      expect(quotaExhausted(withPoints(50), S, Number.NaN, now).exhaustedUntil).toBe(T0 + HOUR);
    });

    it('caps an absurd reset at one window, and never shortens a running exhaustion', () => {
      expect(quotaExhausted(withPoints(50), S, Number.MAX_SAFE_INTEGER, T0).exhaustedUntil).toBe(T0 + HOUR);
      const long = quotaExhausted(withPoints(50), S, T0 + 600_000, T0);
      expect(quotaExhausted(long, S, T0 + 60_000, T0 + 1000).exhaustedUntil).toBe(T0 + 600_000);
    });

    it('drops a resync pace: the reset starts a fresh hour at the quota’s pace', () => {
      const resynced = resync(withPoints(50), S, { remaining: 500, secondsToReset: 900 }, T0);
      const spent = quotaExhausted(resynced, S, T0 + 60_000, T0);
      expect(spent.resyncPace).toBeUndefined();
      expect(paceAt(spent, S, T0 + 61_000)).toBe(1);
    });
  });

  describe('clocks and damaged state', () => {
    it('mints nothing from a clock behind the last update, and never moves time back', () => {
      const state = withPoints(10);
      const behind = advance(state, S, T0 - 60_000);
      expect(behind.points).toBe(10);
      expect(behind.updatedAt).toBe(T0);
      // Two workers alternating between a fast and a slow clock gain nothing from the skew.
      let current = withPoints(0);
      for (let i = 0; i < 10; i++) current = advance(current, S, i % 2 === 0 ? T0 + 5000 : T0 - 5000);
      expect(current.points).toBeCloseTo(5, 9);
    });

    it('counts the wait from the stored time when the caller’s clock is behind', () => {
      expect(charge(withPoints(0), 'high', 2, T0 - 1000).decision).toEqual({ granted: false, waitMs: 3000 });
    });

    it('treats non-number points as empty and a non-number time as now', () => {
      const damaged = { points: Number.NaN, updatedAt: Number.NaN };
      const now = advance(damaged, S, T0);
      expect(now).toEqual({ points: 0, updatedAt: T0 });
    });
  });

  describe('observeSignals', () => {
    const read = (headers: Record<string, string>, now = T0) =>
      readRateLimitSignals(new Headers(headers), now);

    it('learns the quota of a Beta- policy and re-plans from the status', () => {
      const signals = read({
        'Beta-RateLimit-Policy': '"global-app-quota";q=7200;w=3600',
        'Beta-RateLimit': '"global-app-quota";r=1000;t=500',
      });
      const state = observeSignals(withPoints(100), S, signals, T0);
      expect(state.learned).toEqual({ quota: 7200, windowSeconds: 3600 });
      expect(state.points).toBe(100);
      expect(state.resyncPace).toEqual({ perSecond: 1.8, until: T0 + 500_000 });
      // r is under 20 % of q (near limit), but the exact pace is not halved on top.
      expect(state.slowUntil).toBeUndefined();
    });

    it('follows the policy and status that leave the slowest pace when several are listed', () => {
      const signals = read({
        'RateLimit-Policy': '"global-app-quota";q=65000;w=3600, "tenant-quota";q=3600;w=3600',
        RateLimit: '"global-app-quota";r=9000;t=900, "tenant-quota";r=90;t=900',
      });
      const state = observeSignals(withPoints(100), S, signals, T0);
      expect(state.learned).toEqual({ quota: 3600, windowSeconds: 3600 });
      expect(state.points).toBe(90);
      expect(state.resyncPace).toEqual({ perSecond: 0, until: T0 + 900_000 });
    });

    it('re-plans from a status whose r comes without t, to the top of the hour', () => {
      const at = T0 + 50 * 60_000;
      const signals = read(
        {
          'RateLimit-Policy': '"global-app-quota";q=3600;w=3600',
          RateLimit: '"global-app-quota";r=60',
        },
        at,
      );
      const state = observeSignals(withPoints(100, { updatedAt: at }), S, signals, at);
      expect(state.points).toBe(60);
      expect(state.resyncPace).toEqual({ perSecond: 0, until: T0 + HOUR });
      expect(charge(state, 'high', 61, at).decision.granted).toBe(false);
    });

    it('slows on X-RateLimit-NearLimit when no r re-plans the hour', () => {
      const state = observeSignals(withPoints(50), S, read({ 'X-RateLimit-NearLimit': 'true' }), T0 + 1000);
      expect(state.slowUntil).toBe(T0 + HOUR);
    });

    it('is exhausted on a quota 429 until the later of X-RateLimit-Reset and Retry-After', () => {
      const signals = read({
        'RateLimit-Reason': 'jira-quota-tenant-based',
        'Retry-After': '1847',
        'X-RateLimit-Reset': '2026-03-02T10:20:00Z',
      });
      const state = observeSignals(withPoints(50), S, signals, T0);
      expect(state.exhaustedUntil).toBe(T0 + 1_847_000);
      expect(state.points).toBe(0);
    });

    it('tells which answers concern the budget at all', () => {
      expect(signalsConcernPoints(read({}))).toBe(false);
      expect(signalsConcernPoints(read({ 'RateLimit-Reason': 'jira-burst-based', 'Retry-After': '2' }))).toBe(
        false,
      );
      expect(signalsConcernPoints(read({ 'RateLimit-Reason': 'jira-quota-global-based' }))).toBe(true);
      expect(signalsConcernPoints(read({ 'X-RateLimit-NearLimit': 'true' }))).toBe(true);
      expect(
        signalsConcernPoints(read({ 'Beta-RateLimit-Policy': '"global-app-quota";q=65000;w=3600' })),
      ).toBe(true);
      expect(signalsConcernPoints(read({ RateLimit: '"global-app-quota";t=60' }))).toBe(true);
    });

    it('is not exhausted by a burst 429, and changes nothing on an answer without rate headers', () => {
      const burst = observeSignals(withPoints(50), S, read({ 'RateLimit-Reason': 'jira-burst-based' }), T0);
      expect(burst.exhaustedUntil).toBeUndefined();
      const plain = withPoints(50);
      expect(samePoints(observeSignals(plain, S, read({}), T0), advance(plain, S, T0))).toBe(true);
    });
  });

  describe('pointsViewOf', () => {
    it('shows the budget at the time asked, where its quota comes from, and its holds', () => {
      const learned = resync(
        withPoints(10),
        S,
        { quota: 7200, windowSeconds: 3600, secondsToReset: 600 },
        T0,
      );
      const view = pointsViewOf('jira', nearLimit(learned, S, T0), S, T0 + 5000);
      expect(view).toEqual({
        service: 'jira',
        enabled: true,
        points: 15,
        capacity: 200,
        pace_per_second: 1,
        quota: 7200,
        window_seconds: 3600,
        quota_source: 'headers',
        reset_at: '2026-03-02T10:10:00.000Z',
        slow_until: '2026-03-02T10:10:00.000Z',
        exhausted_until: null,
      });
      const off = pointsViewOf('confluence', withPoints(100), { ...S, enabled: false }, T0);
      expect(off).toMatchObject({ enabled: false, quota_source: 'config', quota: 3600, reset_at: null });
    });
  });
});
