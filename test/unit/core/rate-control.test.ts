import { describe, expect, it } from 'vitest';
import type { CallScope, RateFeedback } from '../../../lambdas/core/ports/flow-control.js';
import type { OperationName } from '../../../model/operations.js';
import { OPERATIONS } from '../../../model/operations.js';
import {
  advance,
  applyFeedback,
  callScopeOf,
  fullBucket,
  pauseScopeOf,
  rateSettingsFor,
  sameBucket,
  tryAcquire,
  type BucketState,
  type RateSettings,
} from '../../../lambdas/core/domain/token-bucket.js';
import { resolveConfig, type Priority, type RiqConfigOverrides } from '../../../model/config/riq-config.js';

/**
 * 10 tokens/s, burst 10: reserves normal 1 token, low 3; floor 0.5/s; climb 0.5/s per s, probe 0.05;
 * no call-jitter margin unless `rateControl.callJitterMs` is given (that margin has its own tests).
 */
function settings(overrides: RiqConfigOverrides = {}): RateSettings {
  return rateSettingsFor(
    resolveConfig({
      ...overrides,
      rateControl: { callJitterMs: 0, ...overrides.rateControl },
      services: {
        jira: { ratePerMinute: 600, burst: 10, reserves: { normal: 0.1, low: 0.3 } },
        ...overrides.services,
      },
    }),
    'jira',
  );
}

/** Every 429 cuts here (the AIMD arithmetic); the confirmation of a first 429 has its own tests. */
const S = settings({ rateControl: { adaptive: { confirmWindowSeconds: 0 } } });
const T0 = 1_700_000_000_000;

function scope(overrides: Partial<CallScope> = {}): CallScope {
  return { service: 'jira', priority: 'high', endpoint: 'jira:issue:get', write: false, ...overrides };
}

function bucket(overrides: Partial<BucketState> = {}): BucketState {
  return { ...fullBucket(S, T0), ...overrides };
}

/** Acquires `times` times at `now`, returns how many were granted and the final state. */
function drain(state: BucketState, priority: Priority, now: number, times = 50, s = S) {
  let granted = 0;
  let current = state;
  for (let i = 0; i < times; i++) {
    const out = tryAcquire(current, scope({ priority }), s, now);
    current = out.state;
    if (out.decision.granted) granted++;
  }
  return { granted, state: current };
}

function feed(state: BucketState, feedback: RateFeedback, now: number, sc = scope(), s = S) {
  return applyFeedback(state, sc, feedback, s, now);
}

const limited = (retryAfterSeconds?: number, reason?: string, resetAt?: number): RateFeedback => ({
  kind: 'rate_limited',
  ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
  ...(reason !== undefined && { reason }),
  ...(resetAt !== undefined && { resetAt }),
});

/**
 * Reports successes one token interval apart for `seconds` of simulated time, at the current rate.
 * With `nearLimit`, a backlog takes every token as it comes, so RIQ's bucket agrees with Atlassian's
 * that little is left.
 */
function succeedFor(state: BucketState, from: number, seconds: number, nearLimit = false) {
  let current = state;
  let t = from;
  while (t < from + seconds * 1000) {
    t += 1000 / current.effectiveRatePerSecond;
    current = feed(nearLimit ? { ...current, tokens: 0 } : current, { kind: 'ok', nearLimit }, t);
  }
  return { state: current, now: t };
}

describe('rate control', () => {
  describe('settings', () => {
    it('turns the configured rate per minute into tokens per second and reserves into tokens', () => {
      expect(S.ratePerSecond).toBe(10);
      expect(S.reserves).toEqual({ high: 0, normal: 1, low: 3 });
      expect(S.minRatePerSecond).toBeCloseTo(0.5);
    });

    it('keeps every priority runnable with a tiny burst', () => {
      const tiny = settings({ services: { jira: { ratePerMinute: 60, burst: 1 } } });
      expect(tiny.reserves).toEqual({ high: 0, normal: 0, low: 0 });
      expect(tryAcquire(fullBucket(tiny, T0), scope({ priority: 'low' }), tiny, T0).decision.granted).toBe(
        true,
      );
    });
  });

  describe('refill', () => {
    it('adds tokens at the effective rate, continuously', () => {
      expect(advance(bucket({ tokens: 0 }), S, T0 + 350).tokens).toBeCloseTo(3.5);
      const slow = bucket({ tokens: 0, effectiveRatePerSecond: 2 });
      expect(advance(slow, S, T0 + 1000).tokens).toBeCloseTo(2);
    });

    it('never holds more than the burst', () => {
      expect(advance(bucket({ tokens: 9 }), S, T0 + 60_000).tokens).toBe(10);
    });

    it('mints nothing from a clock behind the last update, and never moves time back', () => {
      const state = bucket({ tokens: 1, updatedAt: T0 });
      const behind = advance(state, S, T0 - 5_000);
      expect(behind.tokens).toBe(1);
      expect(behind.updatedAt).toBe(T0);
    });

    it('clamps a stored bucket to lowered settings (a deploy changed rate or burst)', () => {
      const lowered = settings({ services: { jira: { ratePerMinute: 60, burst: 4 } } });
      const state = advance(bucket({ tokens: 10, effectiveRatePerSecond: 10 }), lowered, T0);
      expect(state.tokens).toBe(4);
      expect(state.effectiveRatePerSecond).toBe(1);
    });

    it('grants exactly burst + rate × elapsed over a window', () => {
      let state = bucket();
      let granted = 0;
      for (let t = T0; t <= T0 + 2_000; t += 10) {
        const out = drain(state, 'high', t, 5);
        state = out.state;
        granted += out.granted;
      }
      expect(granted).toBe(10 + 20);
    });
  });

  describe('priority reserves', () => {
    it('lets low take only what is above its reserve, normal a little more, high the rest', () => {
      const low = drain(bucket(), 'low', T0);
      expect(low.granted).toBe(7);
      const normal = drain(low.state, 'normal', T0);
      expect(normal.granted).toBe(2);
      const high = drain(normal.state, 'high', T0);
      expect(high.granted).toBe(1);
      expect(high.state.tokens).toBeCloseTo(0);
    });

    it('keeps a low backlog from taking the token high needs', () => {
      // Low hammers the bucket for a second: it never gets below its reserve, so high still gets 3 at once.
      let state = bucket();
      for (let t = T0; t < T0 + 1_000; t += 5) state = drain(state, 'low', t, 3).state;
      expect(drain(state, 'high', T0 + 1_000, 3).granted).toBe(3);
    });
  });

  describe('call-jitter margin', () => {
    it('makes normal and low keep callJitterMs of refill beyond their reserve; high takes it', () => {
      // 10/s × 250 ms = 2.5 tokens: normal needs 1 (reserve) + 2.5 + 1, so 10 → 4 and then refused.
      const jittered = settings({ rateControl: { callJitterMs: 250 } });
      const normal = drain(bucket(), 'normal', T0, 50, jittered);
      expect(normal.granted).toBe(6);
      const low = drain(bucket(), 'low', T0, 50, jittered);
      expect(low.granted).toBe(4);
      expect(drain(normal.state, 'high', T0, 50, jittered).granted).toBe(4);
    });

    it('scales with the effective rate and never exceeds 30 % of the burst', () => {
      const halfRate = bucket({ effectiveRatePerSecond: 5 });
      // 5/s × 250 ms = 1.25 tokens: normal stops below 1 + 1.25 + 1 = 3.25.
      expect(
        drain(halfRate, 'normal', T0, 50, settings({ rateControl: { callJitterMs: 250 } })).granted,
      ).toBe(7);
      // 10/s × 5 s = 50 tokens, capped at 3: normal stops below 1 + 3 + 1 = 5.
      expect(
        drain(bucket(), 'normal', T0, 50, settings({ rateControl: { callJitterMs: 5_000 } })).granted,
      ).toBe(6);
    });

    it('counts the larger of it and the margin lone 429s raised, not both', () => {
      const jittered = settings({ rateControl: { callJitterMs: 100 } });
      // Jitter 1 token, 429 margin 2: normal needs 1 + 2 + 1 = 4, so 10 → 3 and then refused.
      expect(drain(bucket({ margin: 2 }), 'normal', T0, 50, jittered).granted).toBe(7);
    });

    it('is 400 ms by default', () => {
      expect(resolveConfig({}).rateControl.callJitterMs).toBe(400);
    });
  });

  describe('call cost', () => {
    it('takes as many tokens as the call costs, above the priority reserve', () => {
      const three = scope({ cost: 3, priority: 'low' });
      // Burst 10, low reserve 3: a cost-3 call needs 6 tokens, so 10 → 7 → 4 and then refused.
      let state = bucket();
      const granted: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const out = tryAcquire(state, three, S, T0);
        state = out.state;
        granted.push(out.decision.granted);
      }
      expect(granted).toEqual([true, true, false]);
      expect(state.tokens).toBeCloseTo(4);
    });

    it('waits for the refill of reserve + cost tokens', () => {
      const d = tryAcquire(bucket({ tokens: 1 }), scope({ cost: 3 }), S, T0).decision;
      expect(d).toEqual({ granted: false, reason: 'no_token', waitMs: 200 });
    });

    it('counts a missing, fractional or silly cost sanely and caps it at the burst', () => {
      const tokensAfter = (cost: number | undefined) =>
        tryAcquire(bucket(), scope(cost === undefined ? {} : { cost }), S, T0).state.tokens;
      expect(tokensAfter(undefined)).toBeCloseTo(9);
      expect(tokensAfter(0)).toBeCloseTo(9);
      expect(tokensAfter(Number.NaN)).toBeCloseTo(9);
      expect(tokensAfter(1.5)).toBeCloseTo(8);
      // More than the burst could never be granted: capped, the call takes the whole bucket.
      expect(tokensAfter(99)).toBeCloseTo(0);
    });
  });

  describe('wait time', () => {
    it('is the refill time to reserve + 1 tokens, per priority', () => {
      const empty = bucket({ tokens: 0 });
      const waits = (['high', 'normal', 'low'] as const).map((priority) => {
        const d = tryAcquire(empty, scope({ priority }), S, T0).decision;
        return d.granted ? 0 : d.waitMs;
      });
      expect(waits).toEqual([100, 200, 400]);
    });

    it('follows the effective rate and counts partial tokens', () => {
      const d = tryAcquire(bucket({ tokens: 0.5, effectiveRatePerSecond: 5 }), scope(), S, T0).decision;
      expect(d).toEqual({ granted: false, reason: 'no_token', waitMs: 100 });
    });

    it('is the time until the pause ends while paused', () => {
      const d = tryAcquire(bucket({ pausedUntil: T0 + 7_500 }), scope(), S, T0).decision;
      expect(d).toEqual({ granted: false, reason: 'paused', waitMs: 7_500 });
    });

    it('is the end of the latest covering pause', () => {
      const state = bucket({ pausedUntil: T0 + 1_000, pauses: { 'jira:issue:get': T0 + 4_000 } });
      expect(tryAcquire(state, scope(), S, T0).decision).toMatchObject({ reason: 'paused', waitMs: 4_000 });
    });
  });

  describe('per-endpoint burst buckets', () => {
    // A service rate above Atlassian's per-endpoint limits: 200/s, burst 400.
    const fast = settings({ services: { jira: { ratePerMinute: 12_000, burst: 400 } } });
    const put = scope({ endpoint: 'jira:issue:update', write: true });

    it('takes each call from its endpoint bucket too, sized by its method (PUT 50/s, GET 100/s)', () => {
      expect(fast.endpointBurst['jira:issue:update']).toBe(50);
      expect(fast.endpointBurst['jira:issue:get']).toBe(100);
      let state = fullBucket(fast, T0);
      const granted = { put: 0, get: 0 };
      for (let i = 0; i < 60; i++) {
        const p = tryAcquire(state, put, fast, T0);
        state = p.state;
        if (p.decision.granted) granted.put++;
        const g = tryAcquire(state, scope(), fast, T0);
        state = g.state;
        if (g.decision.granted) granted.get++;
      }
      expect(granted).toEqual({ put: 50, get: 60 });
      // Refused for its endpoint only, without a slot: it waits for that bucket's refill.
      expect(tryAcquire(state, put, fast, T0).decision).toEqual({
        granted: false,
        reason: 'no_token',
        waitMs: 20,
      });
      expect(tryAcquire(state, put, fast, T0 + 20).decision).toEqual({ granted: true });
    });

    it('forgets an endpoint bucket once it has refilled', () => {
      const used = tryAcquire(fullBucket(fast, T0), put, fast, T0).state;
      expect(used.endpoints?.['jira:issue:update']).toEqual({ tokens: 49, at: T0 });
      expect(advance(used, fast, T0 + 19).endpoints).toBeDefined();
      expect(advance(used, fast, T0 + 20).endpoints).toBeUndefined();
    });
  });

  describe('the line of waiting calls', () => {
    /** Asks once for each priority in `who` at `now`, in order; returns the decisions and the state. */
    function ask(state: BucketState, calls: Array<Partial<CallScope>>, now: number) {
      const decisions = [];
      let current = state;
      for (const call of calls) {
        const out = tryAcquire(current, scope({ priority: 'normal', ...call }), S, now);
        current = out.state;
        decisions.push(out.decision);
      }
      return { decisions, state: current };
    }
    const slotOf = (d: { granted: boolean; slotAt?: number }) => (d.granted ? undefined : d.slotAt);

    it('gives refused calls slots one token interval apart, the first when refill reaches the reserve', () => {
      // Normal's reserve is 1 token and the bucket is empty: the first slot is 200 ms away (2 tokens).
      const { decisions } = ask(bucket({ tokens: 0 }), [{}, {}, {}, {}], T0);
      expect(decisions.map(slotOf)).toEqual([T0 + 200, T0 + 300, T0 + 400, T0 + 500]);
      expect(decisions.map((d) => (d.granted ? 0 : d.waitMs))).toEqual([200, 300, 400, 500]);
    });

    it('grants each call that comes back at its slot: N waiting calls cost N refusals, not N per interval', () => {
      let state = bucket({ tokens: 0 });
      const first = ask(
        state,
        Array.from({ length: 30 }, () => ({})),
        T0,
      );
      state = first.state;
      const slots = first.decisions.map(slotOf) as number[];
      let refusals = 0;
      for (const slotAt of slots) {
        const out = tryAcquire(state, scope({ priority: 'normal', slotAt }), S, slotAt);
        state = out.state;
        if (!out.decision.granted) refusals++;
      }
      expect(refusals).toBe(0);
      // 30 calls in 3.1 s from an empty bucket: the rate (10/s) with the normal reserve kept.
      expect(slots[29]! - T0).toBe(3_100);
      expect(advance(state, S, slots[29]!).tokens).toBeCloseTo(1);
    });

    it('makes a call without a slot join the line while the line runs, even with tokens in the bucket', () => {
      const lined = ask(bucket({ tokens: 0 }), [{}, {}], T0).state;
      // 1 s later the bucket holds 10 tokens, but the line's next free slot is ahead: join it.
      const late = bucket({ ...lined, tokens: 10, updatedAt: T0 + 1_000 });
      const line = { ...late, lines: { normal: T0 + 2_000 } };
      const fresh = tryAcquire(line, scope({ priority: 'normal' }), S, T0 + 1_000);
      expect(fresh.decision).toEqual({
        granted: false,
        reason: 'no_token',
        waitMs: 1_000,
        slotAt: T0 + 2_000,
      });
      expect(fresh.state.lines?.normal).toBe(T0 + 2_100);
      // A holder of a slot due now takes its token ahead of it.
      const holder = tryAcquire(line, scope({ priority: 'normal', slotAt: T0 + 1_000 }), S, T0 + 1_000);
      expect(holder.decision).toEqual({ granted: true });
    });

    it('lets a call without a slot take a token beyond what a second of late holders needs (a slot nobody used)', () => {
      // Burst 20, normal reserve 2: the line owes a second of refill (10 tokens) to calls coming back late.
      const wide = settings({ services: { jira: { ratePerMinute: 600, burst: 20 } } });
      const line = { ...fullBucket(wide, T0), lines: { normal: T0 + 5_000 } };
      const at = (tokens: number) =>
        tryAcquire({ ...line, tokens }, scope({ priority: 'normal' }), wide, T0).decision.granted;
      expect(at(12.9)).toBe(false);
      expect(at(13)).toBe(true);
    });

    it('gives a holder that finds no token (high took it) a new slot at the end of the line', () => {
      const { state, decisions } = ask(bucket({ tokens: 0 }), [{}, {}], T0);
      const slotAt = slotOf(decisions[0]!)!;
      const taken = tryAcquire(state, scope({ priority: 'high' }), S, slotAt).state;
      const again = tryAcquire(taken, scope({ priority: 'normal', slotAt }), S, slotAt);
      expect(again.decision).toMatchObject({ granted: false, slotAt: T0 + 400 });
    });

    it('lines low up behind the line of normal', () => {
      const normals = ask(bucket({ tokens: 0 }), [{}, {}, {}], T0).state;
      const low = tryAcquire(normals, scope({ priority: 'low' }), S, T0);
      // Low alone would wait 400 ms (reserve 3 + 1); normal's line runs to T0 + 500.
      expect(low.decision).toMatchObject({ granted: false, slotAt: T0 + 500 });
      expect(low.state.lines).toEqual({ normal: T0 + 500, low: T0 + 600 });
    });

    it('never lines high up: it waits for the refill of its cost, and the lines do not hold it back', () => {
      const normals = ask(bucket({ tokens: 0 }), [{}, {}, {}], T0).state;
      const high = tryAcquire(normals, scope({ priority: 'high' }), S, T0);
      expect(high.decision).toEqual({ granted: false, reason: 'no_token', waitMs: 100 });
      expect(high.state).toEqual(normals);
      expect(tryAcquire(normals, scope({ priority: 'high' }), S, T0 + 100).decision).toEqual({
        granted: true,
      });
    });

    it('takes no slot for a caller that will not wait (DIRECT), and changes nothing', () => {
      const empty = bucket({ tokens: 0 });
      const direct = tryAcquire(empty, scope({ priority: 'normal', lineUp: false }), S, T0);
      expect(direct.decision).toEqual({ granted: false, reason: 'no_token', waitMs: 200 });
      expect(sameBucket(direct.state, advance(empty, S, T0))).toBe(true);
    });

    it('lines up calls waiting out a pause, their slots from its end', () => {
      // A service-wide 429 (no reason) with Retry-After 2: the bucket is empty until T0 + 2 s.
      const paused = feed(bucket(), limited(2), T0);
      const { decisions } = ask(paused, [{}, {}, {}], T0 + 500);
      expect(decisions.map((d) => (d.granted ? 'granted' : d.reason))).toEqual([
        'paused',
        'paused',
        'paused',
      ]);
      const rate = paused.effectiveRatePerSecond;
      const first = T0 + 2_000 + Math.ceil((2 / rate) * 1000);
      expect(decisions.map(slotOf)).toEqual([first, first + 1000 / rate, first + 2000 / rate].map(Math.ceil));
    });

    it("lines up calls to an endpoint whose own bucket a burst 429 emptied, the others' tokens untouched", () => {
      const limitedGet = feed(bucket(), limited(1, 'jira-burst-based'), T0);
      const { decisions } = ask(limitedGet, [{}, {}], T0 + 1_000);
      // The endpoint refills at the service's (cut) rate from the pause's end: a token per interval.
      const interval = 1000 / limitedGet.effectiveRatePerSecond;
      expect(decisions.map(slotOf)).toEqual([
        Math.ceil(T0 + 1_000 + interval),
        Math.ceil(T0 + 1_000 + 2 * interval),
      ]);
      expect(
        tryAcquire(limitedGet, scope({ priority: 'normal', endpoint: 'jira:search' }), S, T0 + 1_000)
          .decision,
      ).toEqual({
        granted: true,
      });
    });

    it("lets high past an endpoint's line when that endpoint's bucket holds its token", () => {
      // After a burst 429, normal calls wait in the endpoint's own line. high has no line to wait
      // in: it takes the endpoint's token as it takes the service's, ahead of the line.
      const limitedGet = feed(bucket(), limited(1, 'jira-burst-based'), T0);
      const lined = ask(limitedGet, [{}, {}, {}, {}, {}], T0 + 1_000).state;
      const interval = 1000 / lined.effectiveRatePerSecond;
      const at = T0 + 1_000 + interval + 1;
      expect(lined.endpoints?.['jira:issue:get']?.next).toBeGreaterThan(at);
      expect(tryAcquire(lined, scope({ priority: 'high' }), S, at).decision).toEqual({ granted: true });
      // A normal call without a slot still joins the line.
      expect(tryAcquire(lined, scope({ priority: 'normal' }), S, at).decision).toMatchObject({
        granted: false,
        reason: 'no_token',
      });
    });

    it('forgets a line whose last slot has passed', () => {
      const lined = ask(bucket({ tokens: 0 }), [{}], T0).state;
      expect(lined.lines).toEqual({ normal: T0 + 300 });
      expect(advance(lined, S, T0 + 300).lines).toBeUndefined();
      expect(tryAcquire(lined, scope({ priority: 'normal' }), S, T0 + 5_000).decision).toEqual({
        granted: true,
      });
    });

    it('after a burst 429, callers held back by both buckets keep their slots and drain at the rate', () => {
      // A drain at the limit (the service bucket empty) meets a burst 429 on its endpoint; 60 more
      // calls arrive over the next 3 s, and every refused call comes back exactly at its slot.
      const C = settings();
      let state = feed({ ...fullBucket(C, T0), tokens: 0 }, limited(1, 'jira-burst-based'), T0, scope(), C);
      const asks: Array<{ at: number; slotAt?: number }> = [];
      for (let i = 0; i < 60; i++) asks.push({ at: T0 + 50 * i });
      const granted: number[] = [];
      let holdersRefused = 0;
      while (asks.length > 0) {
        asks.sort((a, b) => a.at - b.at);
        const next = asks.shift()!;
        const holding = next.slotAt !== undefined;
        const call = scope({ priority: 'normal', ...(holding ? { slotAt: next.slotAt } : {}) });
        const out = tryAcquire(state, call, C, next.at);
        state = out.state;
        if (out.decision.granted) {
          granted.push(next.at);
          continue;
        }
        if (holding) holdersRefused++;
        const slotAt = out.decision.slotAt!;
        expect(slotAt).toBeDefined();
        asks.push({ at: slotAt, slotAt });
      }
      expect(holdersRefused).toBe(0);
      // 60 calls at 10/s once the second's pause is over, less the tokens normal leaves in hand.
      const last = Math.max(...granted);
      expect(last - T0).toBeLessThanOrEqual(1_000 + 6_000 + 300);
    });
  });

  describe('pauses scoped by RateLimit-Reason', () => {
    const write = (objectId: string) =>
      scope({ endpoint: 'jira:issue:update', write: true, objectId, priority: 'normal' });

    it('maps each reason to its reach', () => {
      expect(pauseScopeOf('jira-burst-based', scope())).toBe('endpoint');
      expect(pauseScopeOf('jira-per-issue-on-write', write('MD-1'))).toBe('object');
      expect(pauseScopeOf('jira-per-issue-on-write', scope({ write: true }))).toBe('endpoint');
      expect(pauseScopeOf('jira-quota-global-based', scope())).toBe('service');
      expect(pauseScopeOf('jira-quota-tenant-based', scope())).toBe('service');
      expect(pauseScopeOf('something-new', scope())).toBe('service');
      expect(pauseScopeOf(undefined, scope())).toBe('service');
    });

    it('jira-burst-based pauses that endpoint family only, for Retry-After', () => {
      const state = feed(bucket(), limited(3, 'jira-burst-based'), T0);
      expect(tryAcquire(state, scope(), S, T0 + 500).decision).toMatchObject({
        reason: 'paused',
        waitMs: 2_500,
      });
      // Other families are neither paused nor emptied: they go on with the service's tokens.
      const other = scope({ endpoint: 'jira:search' });
      expect(tryAcquire(state, other, S, T0 + 500).decision).toEqual({ granted: true });
      // The paused family's own bucket is empty and refills from the pause's end at the service's
      // rate (Atlassian just said it holds no tokens for that endpoint).
      expect(tryAcquire(state, scope(), S, T0 + 3_000).decision).toMatchObject({ reason: 'no_token' });
      const oneToken = 1000 / state.effectiveRatePerSecond;
      expect(tryAcquire(state, scope(), S, T0 + 3_000 + oneToken).decision.granted).toBe(true);
    });

    it('a pause ends with an empty bucket, not with the tokens a refill would have gathered during it', () => {
      for (const reason of ['jira-burst-based', undefined]) {
        const paused = feed(bucket(), limited(2, reason), T0);
        let state = paused;
        let granted = 0;
        // Ask every 10 ms for the 100 ms right after the pause: only what refills after it is there.
        for (let t = T0 + 2_000; t <= T0 + 2_100; t += 10) {
          const r = tryAcquire(state, scope(), S, t);
          state = r.state;
          if (r.decision.granted) granted++;
        }
        expect(granted).toBeLessThanOrEqual(Math.ceil(0.1 * paused.effectiveRatePerSecond));
      }
    });

    it('jira-per-issue-on-write pauses writes to that issue only, and neither drains nor slows', () => {
      const state = feed(bucket(), limited(2, 'jira-per-issue-on-write'), T0, write('MD-1'));
      expect(tryAcquire(state, write('MD-1'), S, T0 + 100).decision).toMatchObject({ reason: 'paused' });
      expect(tryAcquire(state, write('MD-2'), S, T0 + 100).decision.granted).toBe(true);
      expect(tryAcquire(state, scope({ objectId: 'MD-1' }), S, T0 + 100).decision.granted).toBe(true);
      expect(state.effectiveRatePerSecond).toBe(10);
      expect(state.tokens).toBe(10);
      expect(tryAcquire(state, write('MD-1'), S, T0 + 2_000).decision.granted).toBe(true);
    });

    it('jira-quota-* pauses the whole service until X-RateLimit-Reset when that is later', () => {
      const state = feed(bucket(), limited(5, 'jira-quota-global-based', T0 + 60_000), T0);
      expect(state.pausedUntil).toBe(T0 + 60_000);
      expect(tryAcquire(state, scope({ endpoint: 'jira:search' }), S, T0 + 59_000).decision).toMatchObject({
        reason: 'paused',
        waitMs: 1_000,
      });
      const oneToken = 1000 / state.effectiveRatePerSecond;
      expect(
        tryAcquire(state, scope({ endpoint: 'jira:search' }), S, T0 + 60_000 + oneToken).decision.granted,
      ).toBe(true);
    });

    it('jira-quota-* pauses until Retry-After when that is later, or reset alone without one', () => {
      expect(feed(bucket(), limited(90, 'jira-quota-tenant-based', T0 + 10_000), T0).pausedUntil).toBe(
        T0 + 90_000,
      );
      expect(feed(bucket(), limited(undefined, 'jira-quota-tenant-based', T0 + 10_000), T0).pausedUntil).toBe(
        T0 + 10_000,
      );
    });

    it('an unknown or absent reason pauses the whole service for Retry-After', () => {
      for (const reason of [undefined, 'confluence-something']) {
        const state = feed(bucket(), limited(4, reason), T0);
        expect(state.pausedUntil).toBe(T0 + 4_000);
        expect(tryAcquire(state, scope({ endpoint: 'jira:search' }), S, T0 + 1).decision).toMatchObject({
          reason: 'paused',
        });
      }
    });

    it('a 429 without Retry-After pauses nothing but still drains the bucket and lowers the rate', () => {
      const state = feed(bucket(), limited(), T0);
      expect(state.pausedUntil).toBe(0);
      expect(state.pauses).toEqual({});
      expect(state.tokens).toBe(0);
      expect(state.effectiveRatePerSecond).toBeCloseTo(7);
      expect(tryAcquire(state, scope(), S, T0 + 1).decision).toMatchObject({ reason: 'no_token' });
    });

    it('caps an absurd Retry-After and ignores a negative one', () => {
      const longMaxValue = 9.223372036854776e18; // a Retry-After once seen from Atlassian
      expect(feed(bucket(), limited(longMaxValue), T0).pausedUntil).toBe(T0 + 3_600_000);
      expect(feed(bucket(), limited(-1), T0).pausedUntil).toBe(0);
    });

    it('never shortens a running pause', () => {
      let state = feed(bucket(), limited(30), T0);
      state = feed(state, limited(5), T0 + 1_000);
      expect(state.pausedUntil).toBe(T0 + 30_000);
    });

    it('forgets pauses that ended', () => {
      const state = feed(bucket(), limited(1, 'jira-burst-based'), T0);
      expect(advance(state, S, T0 + 1_001).pauses).toEqual({});
    });
  });

  describe('adaptive rate (AIMD)', () => {
    it('cuts the rate multiplicatively on a 429, once per burst of 429s in flight together', () => {
      let state = feed(bucket(), limited(1), T0);
      expect(state.effectiveRatePerSecond).toBeCloseTo(7);
      state = feed(state, limited(1), T0 + 300);
      expect(state.effectiveRatePerSecond).toBeCloseTo(7);
      state = feed(state, limited(1), T0 + 2_000);
      expect(state.effectiveRatePerSecond).toBeCloseTo(4.9);
    });

    it('finds a limit at half the configured rate within two 429s', () => {
      let state = bucket();
      for (const t of [T0, T0 + 2_000]) state = feed(state, limited(1), t);
      expect(state.effectiveRatePerSecond).toBeLessThanOrEqual(S.ratePerSecond / 2);
    });

    it('never drops below the floor', () => {
      let state = bucket();
      for (let i = 0; i < 30; i++) state = feed(state, limited(1), T0 + i * 2_000);
      expect(state.effectiveRatePerSecond).toBeCloseTo(0.5);
    });

    it('refills at the lowered rate after a 429', () => {
      const state = feed(bucket(), limited(), T0);
      expect(advance(state, S, T0 + 1_000).tokens).toBeCloseTo(7);
    });

    it('climbs by increasePerSecond per second of successes while far below the limit met', () => {
      const far = bucket({ effectiveRatePerSecond: 3, limitRatePerSecond: 7 });
      const { state } = succeedFor(far, T0, 2);
      expect(state.effectiveRatePerSecond).toBeGreaterThan(3 + 0.8);
      expect(state.effectiveRatePerSecond).toBeLessThan(3 + 1.2);
    });

    it('climbs back from a cut only as the slow probe: the cut lands on the probe band', () => {
      const cut = feed(feed(bucket(), limited(), T0), limited(), T0 + 2_000); // 4.9/s, limit met at 7
      const { state } = succeedFor(cut, T0 + 2_000, 2);
      expect(state.effectiveRatePerSecond).toBeGreaterThan(4.9);
      expect(state.effectiveRatePerSecond).toBeLessThan(4.9 + 0.15);
    });

    it('climbs slowly near the rate at which the limit was last met', () => {
      const near = bucket({ effectiveRatePerSecond: 6.5, limitRatePerSecond: 7 });
      const { state } = succeedFor(near, T0, 2);
      expect(state.effectiveRatePerSecond).toBeGreaterThan(6.5);
      expect(state.effectiveRatePerSecond).toBeLessThan(6.5 + 0.15);
    });

    it('forgets a limit the rate climbed past without a 429', () => {
      // Band 30 %: past 4 × 1.3 = 5.2 the limit met at 4 is stale.
      const state = feed(
        bucket({ effectiveRatePerSecond: 5.199, limitRatePerSecond: 4 }),
        { kind: 'ok' },
        T0,
      );
      expect(state.effectiveRatePerSecond).toBeGreaterThan(5.2);
      expect(state.limitRatePerSecond).toBeUndefined();
    });

    it('at most doubles the rate on one success', () => {
      const floor = bucket({ effectiveRatePerSecond: 0.5 });
      expect(feed(floor, { kind: 'ok' }, T0).effectiveRatePerSecond).toBeCloseTo(1);
    });

    it('returns to the configured rate after enough success, and never passes it', () => {
      const cut = feed(bucket(), limited(), T0);
      const { state } = succeedFor(cut, T0, 120);
      expect(state.effectiveRatePerSecond).toBe(10);
    });

    it('changes nothing on success at the configured rate', () => {
      const state = advance(bucket(), S, T0 + 100);
      expect(sameBucket(state, feed(state, { kind: 'ok' }, T0 + 100))).toBe(true);
      expect(sameBucket(state, feed(state, limited(), T0 + 100))).toBe(false);
    });
  });

  describe('a lone 429 at the configured rate', () => {
    const C = settings();

    it('pauses and empties the bucket but keeps the rate; a second one within the window cuts', () => {
      expect(C.confirmWindowMs).toBe(10_000);
      const first = feed(bucket(), limited(1, 'jira-burst-based'), T0, scope(), C);
      expect(first.effectiveRatePerSecond).toBe(10);
      expect(first.endpoints?.['jira:issue:get']).toEqual({ tokens: 0, at: T0 + 1_000, rate: 10 });
      expect(first.pauses['jira:issue:get']).toBe(T0 + 1_000);
      const second = feed(first, limited(1, 'jira-burst-based'), T0 + 9_000, scope(), C);
      expect(second.effectiveRatePerSecond).toBeCloseTo(7);
      expect(second.limitRatePerSecond).toBe(10);
    });

    it('counts 429s of calls in flight together as one signal, not as the confirmation', () => {
      let state = bucket();
      for (let i = 0; i < 5; i++) state = feed(state, limited(1), T0 + i * 100, scope(), C);
      expect(state.effectiveRatePerSecond).toBe(10);
    });

    it('forgets a 429 older than the window: the next one is alone again', () => {
      const first = feed(bucket(), limited(1), T0, scope(), C);
      const later = feed(first, limited(1), T0 + 11_000, scope(), C);
      expect(later.effectiveRatePerSecond).toBe(10);
      expect(advance(first, C, T0 + 11_000).lastLimitedAt).toBeUndefined();
    });

    it('keeps one more token in hand for normal and low after each lone 429, a token a minute less after', () => {
      const first = feed(bucket(), limited(1), T0, scope(), C);
      expect(first.margin).toBe(1);
      // Normal's reserve is 1 token: with the margin it needs 3 to take one, high still 1.
      const refilled = { ...first, tokens: 2.9, updatedAt: T0 + 1_000 };
      expect(tryAcquire(refilled, scope({ priority: 'normal' }), C, T0 + 1_000).decision.granted).toBe(false);
      expect(tryAcquire(refilled, scope({ priority: 'high' }), C, T0 + 1_000).decision.granted).toBe(true);
      const second = feed(first, limited(1), T0 + 11_000, scope(), C);
      // It ran down from the end of the first pause (T0 + 1 s) to the second 429.
      expect(second.margin).toBeCloseTo(2 - 10_000 / 60_000);
      expect(advance(second, C, T0 + 11_000 + 120_000).margin).toBeUndefined();
      // Capped at 30 % of the burst.
      let state = bucket();
      for (let i = 0; i < 10; i++) state = feed(state, limited(1), T0 + i * 11_000, scope(), C);
      expect(state.margin).toBeLessThanOrEqual(3);
      expect(state.effectiveRatePerSecond).toBe(10);
    });

    it('weighs NearLimit while RIQ holds plenty the same way: alone it raises the margin, twice it cuts', () => {
      // Burst 10: Atlassian is under 20 % while RIQ believes it holds 8.
      const first = feed(bucket({ tokens: 8 }), { kind: 'ok', nearLimit: true }, T0, scope(), C);
      expect(first.effectiveRatePerSecond).toBe(10);
      expect(first.tokens).toBe(2);
      expect(first.margin).toBe(1);
      const second = feed({ ...first, tokens: 8 }, { kind: 'ok', nearLimit: true }, T0 + 5_000, scope(), C);
      expect(second.effectiveRatePerSecond).toBeCloseTo(7);
      expect(second.limitRatePerSecond).toBe(10);
    });

    it('allows for the margin: Atlassian may be that much below RIQ without a disagreement', () => {
      // Floor 2 + 1 + margin 1: 3.5 tokens in hand is no sign of a lower limit with the margin.
      const withMargin = feed(
        bucket({ tokens: 3.5, margin: 1 }),
        { kind: 'ok', nearLimit: true },
        T0,
        scope(),
        C,
      );
      expect(withMargin.tokens).toBe(3.5);
      expect(withMargin.lastLimitedAt).toBeUndefined();
      const without = feed(bucket({ tokens: 3.5 }), { kind: 'ok', nearLimit: true }, T0, scope(), C);
      expect(without.tokens).toBe(2);
      expect(without.lastLimitedAt).toBe(T0);
    });

    it('cuts at once below the configured rate: the limit is already known to be lower', () => {
      const slow = feed(bucket({ effectiveRatePerSecond: 8 }), limited(1), T0, scope(), C);
      expect(slow.effectiveRatePerSecond).toBeCloseTo(5.6);
    });
  });

  describe('X-RateLimit-NearLimit', () => {
    it('stops the climb while it is reported and for the hold after', () => {
      const cut = feed(bucket(), limited(), T0); // 7/s
      const held = succeedFor(cut, T0, 5, true);
      expect(held.state.effectiveRatePerSecond).toBeCloseTo(7);
      expect(held.state.slowUntil).toBeCloseTo(held.now + 10_000);
      const stillHeld = feed(held.state, { kind: 'ok' }, held.now + 9_000);
      expect(stillHeld.effectiveRatePerSecond).toBeCloseTo(7);
    });

    it('makes the climb after the hold a slow probe', () => {
      const held = feed(
        bucket({ effectiveRatePerSecond: 5, tokens: 1 }),
        { kind: 'ok', nearLimit: true },
        T0,
      );
      expect(held.limitRatePerSecond).toBe(5);
      const after = succeedFor(held, T0 + 10_000, 2);
      expect(after.state.effectiveRatePerSecond).toBeGreaterThan(5);
      expect(after.state.effectiveRatePerSecond).toBeLessThan(5 + 0.15);
    });

    it('keeps the rate by default, so a drain at a known limit loses no throughput', () => {
      expect(feed(bucket({ tokens: 1 }), { kind: 'ok', nearLimit: true }, T0).effectiveRatePerSecond).toBe(
        10,
      );
    });

    it('when RIQ still holds plenty, drops to what Atlassian has left and cuts the rate once per cooldown', () => {
      // Burst 10: Atlassian is under 20 % (2 tokens) while RIQ believes it has 8: the site's limit is lower.
      let state = feed(bucket({ tokens: 8 }), { kind: 'ok', nearLimit: true }, T0);
      expect(state.tokens).toBe(2);
      expect(state.effectiveRatePerSecond).toBeCloseTo(7);
      expect(state.limitRatePerSecond).toBe(10);
      state = feed({ ...state, tokens: 8 }, { kind: 'ok', nearLimit: true }, T0 + 500);
      expect(state.tokens).toBe(2);
      expect(state.effectiveRatePerSecond).toBeCloseTo(7);
      state = feed({ ...state, tokens: 8 }, { kind: 'ok', nearLimit: true }, T0 + 2_500);
      expect(state.effectiveRatePerSecond).toBeCloseTo(4.9);
    });

    it('compares the buckets at the time of the call, not after the refill since its answer', () => {
      // The token was taken 400 ms before the report: RIQ then held 4.5 − 4 = 0.5, as low as Atlassian.
      const late = feed(bucket({ tokens: 4.5 }), { kind: 'ok', nearLimit: true, grantedAt: T0 - 400 }, T0);
      expect(late.effectiveRatePerSecond).toBe(10);
      expect(late.tokens).toBe(4.5);
      // Taken just now, the same 4.5 is more than Atlassian's 20 % plus one: the limit is lower.
      const now = feed(bucket({ tokens: 4.5 }), { kind: 'ok', nearLimit: true, grantedAt: T0 }, T0);
      expect(now.effectiveRatePerSecond).toBeCloseTo(7);
    });

    it('with nearLimitFactor < 1 eases the rate once per hold, not once per answer', () => {
      const easing = settings({ rateControl: { adaptive: { nearLimitFactor: 0.9 } } });
      let state = fullBucket(easing, T0);
      for (let i = 0; i < 20; i++) {
        state = feed({ ...state, tokens: 1 }, { kind: 'ok', nearLimit: true }, T0 + i * 100, scope(), easing);
      }
      expect(state.effectiveRatePerSecond).toBeCloseTo(9);
    });
  });

  describe('callScopeOf', () => {
    const payloads: Record<OperationName, Record<string, unknown>> = {
      'jira.get_task': { task_id: 'MD-1' },
      'jira.create_task': { title: 'T', project_id: 'MD' },
      'jira.update_task': { task_id: 'MD-2', title: 'T' },
      'jira.transition_task': { task_id: 'MD-3', target_status: 'Done' },
      'jira.add_comment': { task_id: 'MD-4', comment: 'c' },
      'jira.search_tasks': { jql: 'project = MD' },
      'confluence.get_page': { page_id: '11' },
      'confluence.create_page': { title: 'P', content: 'x', space_id: 'MD' },
      'confluence.update_page': { page_id: '12', content: 'x' },
      'confluence.search_pages': { query: 'q' },
    };
    const expected: Record<OperationName, Omit<CallScope, 'priority'>> = {
      'jira.get_task': { service: 'jira', endpoint: 'jira:issue:get', write: false },
      'jira.create_task': { service: 'jira', endpoint: 'jira:issue:create', write: true },
      'jira.update_task': { service: 'jira', endpoint: 'jira:issue:update', write: true, objectId: 'MD-2' },
      'jira.transition_task': {
        service: 'jira',
        endpoint: 'jira:issue:transition',
        write: true,
        objectId: 'MD-3',
        cost: 3,
      },
      'jira.add_comment': { service: 'jira', endpoint: 'jira:issue:comment', write: true, objectId: 'MD-4' },
      'jira.search_tasks': { service: 'jira', endpoint: 'jira:search', write: false },
      'confluence.get_page': { service: 'confluence', endpoint: 'confluence:page:get', write: false },
      'confluence.create_page': { service: 'confluence', endpoint: 'confluence:page:create', write: true },
      'confluence.update_page': {
        service: 'confluence',
        endpoint: 'confluence:page:update',
        write: true,
        objectId: '12',
      },
      'confluence.search_pages': { service: 'confluence', endpoint: 'confluence:search', write: false },
    };

    it.each(OPERATIONS)('maps %s', (operation) => {
      expect(callScopeOf(operation, payloads[operation], 'low')).toEqual({
        ...expected[operation],
        priority: 'low',
      });
    });

    it('gives each operation its own endpoint family', () => {
      const families = OPERATIONS.map((o) => callScopeOf(o, payloads[o], 'high').endpoint);
      expect(new Set(families).size).toBe(OPERATIONS.length);
    });

    it('names no object when the payload lacks one', () => {
      expect(callScopeOf('jira.update_task', {}, 'high').objectId).toBeUndefined();
      expect(callScopeOf('jira.update_task', null, 'high').objectId).toBeUndefined();
    });
  });
});
