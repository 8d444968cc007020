import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig } from '../../../model/config/riq-config.js';
import {
  INITIAL_BREAKER_STATE,
  StoredCircuitBreaker,
  applyOutcome,
  breakerOutcomeOf,
  breakerSettingsOf,
  decideAcquire,
  failuresInWindow,
  viewOf,
  type BreakerSettings,
  type BreakerState,
  type BreakerStateStore,
} from '../../../lambdas/core/domain/breaker.js';
import { ERROR_CODES, RiqError, UpstreamError, type ErrorCode } from '../../../model/errors.js';
import type { BreakerOutcome } from '../../../lambdas/core/ports/flow-control.js';
import {
  InMemoryBreakerStateStore,
  InMemoryCircuitBreaker,
} from '../../support/in-memory-circuit-breaker.js';

const settings: BreakerSettings = {
  failureThreshold: 5,
  windowSeconds: 60,
  recoverySeconds: 60,
  probeLeaseSeconds: 40,
};
const T0 = Date.parse('2026-01-08T19:53:00.000Z');
const S = 1000;

/** Applies ordinary (non-probe) failures at the given times, in order. */
function failAt(state: BreakerState, times: number[]): BreakerState {
  return times.reduce((s, t) => applyOutcome(s, settings, 'failure', null, t) ?? s, state);
}

function openedAt(t: number): BreakerState {
  return failAt(INITIAL_BREAKER_STATE, [t - 4, t - 3, t - 2, t - 1, t]);
}

/** Open at T0, then a probe taken at T0 + recovery with lease id `p1`. */
function halfOpen(): BreakerState {
  const step = decideAcquire(openedAt(T0), settings, T0 + 60 * S, 'p1');
  expect(step.decision).toEqual({ allowed: true, probe: true });
  return step.next!;
}

const noSleep = async () => {};

describe('breaker state machine', () => {
  describe('closed', () => {
    it('lets every call through without writing anything', () => {
      expect(decideAcquire(INITIAL_BREAKER_STATE, settings, T0, 'x')).toEqual({
        decision: { allowed: true, probe: false },
      });
    });

    it('stays closed with threshold − 1 failures and opens at the threshold', () => {
      const four = failAt(INITIAL_BREAKER_STATE, [T0, T0 + S, T0 + 2 * S, T0 + 3 * S]);
      expect(four.state).toBe('closed');
      expect(four.failures).toHaveLength(4);
      expect(four.lastFailureAt).toBe(T0 + 3 * S);
      const five = applyOutcome(four, settings, 'failure', null, T0 + 4 * S)!;
      expect(five.state).toBe('open');
      expect(five.openedAt).toBe(T0 + 4 * S);
      expect(five.nextAttemptAt).toBe(T0 + 64 * S);
      expect(five.lastFailureAt).toBe(T0 + 4 * S);
    });

    it('does not count failures older than the window', () => {
      // Five failures spread over 61 s: the first has left the window when the fifth arrives.
      const s = failAt(INITIAL_BREAKER_STATE, [T0, T0 + 15 * S, T0 + 30 * S, T0 + 45 * S, T0 + 60 * S]);
      expect(s.state).toBe('closed');
      expect(s.failures).toEqual([T0 + 15 * S, T0 + 30 * S, T0 + 45 * S, T0 + 60 * S]);
      // One just inside the window (59.999 s old) still counts.
      const t = failAt(INITIAL_BREAKER_STATE, [T0 + 1, T0 + 15 * S, T0 + 30 * S, T0 + 45 * S, T0 + 60 * S]);
      expect(t.state).toBe('open');
    });

    it('keeps at most threshold failure times, the latest, in order', () => {
      const lowThreshold = { ...settings, failureThreshold: 3 };
      const times = [T0 + 5, T0 + 1, T0 + 3];
      const s = times.reduce(
        (st, t) => applyOutcome(st, { ...lowThreshold, failureThreshold: 100 }, 'failure', null, t) ?? st,
        INITIAL_BREAKER_STATE,
      );
      expect(s.failures).toEqual([T0 + 1, T0 + 3, T0 + 5]);
      const opened = applyOutcome(s, lowThreshold, 'failure', null, T0 + 9)!;
      expect(opened.failures).toEqual([T0 + 3, T0 + 5, T0 + 9]);
      expect(opened.state).toBe('open');
    });

    it('ignores neutral outcomes, and successes when no failure counts (no write)', () => {
      const two = failAt(INITIAL_BREAKER_STATE, [T0, T0 + S]);
      expect(applyOutcome(two, settings, 'neutral', null, T0 + 2 * S)).toBeUndefined();
      expect(applyOutcome(INITIAL_BREAKER_STATE, settings, 'success', null, T0)).toBeUndefined();
      // Both failures have left the window: nothing to cancel.
      expect(applyOutcome(two, settings, 'success', null, T0 + 61 * S)).toBeUndefined();
    });

    it('lets a success cancel the oldest failure still counted', () => {
      const two = failAt(INITIAL_BREAKER_STATE, [T0, T0 + S]);
      expect(applyOutcome(two, settings, 'success', null, T0 + 2 * S)?.failures).toEqual([T0 + S]);
      // Three more failures after a success: four counted, still closed; a fifth opens it.
      const afterSuccess = applyOutcome(two, settings, 'success', null, T0 + 2 * S)!;
      const four = failAt(afterSuccess, [T0 + 3 * S, T0 + 4 * S, T0 + 5 * S]);
      expect(four.state).toBe('closed');
      expect(failAt(four, [T0 + 6 * S]).state).toBe('open');
    });

    it('stays closed under scattered errors (one call in five fails) and opens in an outage', () => {
      let s: BreakerState = INITIAL_BREAKER_STATE;
      for (let call = 0; call < 500; call++) {
        const outcome = call % 5 === 0 ? 'failure' : 'success';
        s = applyOutcome(s, settings, outcome, null, T0 + call * 100) ?? s;
      }
      expect(s.state).toBe('closed');
      // Then every call fails: the threshold's worth of failures in a row opens it.
      for (let call = 0; call < settings.failureThreshold; call++) {
        expect(s.state).toBe('closed');
        s = applyOutcome(s, settings, 'failure', null, T0 + 50 * S + call * 100) ?? s;
      }
      expect(s.state).toBe('open');
    });

    it('opens when most calls fail, successes in between', () => {
      let s: BreakerState = INITIAL_BREAKER_STATE;
      let call = 0;
      // Two failures for each success: the count grows by one per three calls.
      while (s.state === 'closed' && call < 100) {
        s = applyOutcome(s, settings, call % 3 === 2 ? 'success' : 'failure', null, T0 + call * 100) ?? s;
        call += 1;
      }
      expect(s.state).toBe('open');
      expect(call).toBeLessThan(20);
    });
  });

  describe('open', () => {
    it('refuses calls until the recovery timeout, saying how long is left', () => {
      const s = openedAt(T0);
      expect(decideAcquire(s, settings, T0 + 1, 'x')).toEqual({
        decision: { allowed: false, waitMs: 60 * S - 1, state: 'open' },
      });
      expect(decideAcquire(s, settings, T0 + 59 * S, 'x').decision).toEqual({
        allowed: false,
        waitMs: 1 * S,
        state: 'open',
      });
    });

    it('ignores late reports of calls let through before it opened', () => {
      const s = openedAt(T0);
      for (const outcome of ['success', 'failure', 'neutral'] as const) {
        expect(applyOutcome(s, settings, outcome, null, T0 + S)).toBeUndefined();
      }
    });

    it('lets one probe through once the recovery timeout passed, under a lease', () => {
      const step = decideAcquire(openedAt(T0), settings, T0 + 60 * S, 'p1');
      expect(step.decision).toEqual({ allowed: true, probe: true });
      expect(step.next).toMatchObject({
        state: 'half_open',
        probeId: 'p1',
        probeExpiresAt: T0 + 100 * S,
        nextAttemptAt: null,
        openedAt: T0,
      });
    });
  });

  describe('half_open', () => {
    it('refuses every other caller while the probe lease is live', () => {
      const s = halfOpen();
      expect(decideAcquire(s, settings, T0 + 61 * S, 'p2')).toEqual({
        decision: { allowed: false, waitMs: 39 * S, state: 'half_open' },
      });
    });

    it('hands a new probe to the next caller once the lease expired (a crashed prober)', () => {
      const step = decideAcquire(halfOpen(), settings, T0 + 100 * S, 'p2');
      expect(step.decision).toEqual({ allowed: true, probe: true });
      expect(step.next).toMatchObject({ probeId: 'p2', probeExpiresAt: T0 + 140 * S });
    });

    it('closes on a probe success and forgets the failures', () => {
      const closed = applyOutcome(halfOpen(), settings, 'success', 'p1', T0 + 61 * S)!;
      expect(closed).toMatchObject({
        state: 'closed',
        failures: [],
        probeId: null,
        probeExpiresAt: null,
        nextAttemptAt: null,
        openedAt: T0,
      });
      expect(decideAcquire(closed, settings, T0 + 61 * S, 'x').decision).toEqual({
        allowed: true,
        probe: false,
      });
    });

    it('opens again for a new recovery period on a probe failure', () => {
      const reopened = applyOutcome(halfOpen(), settings, 'failure', 'p1', T0 + 62 * S)!;
      expect(reopened).toMatchObject({
        state: 'open',
        openedAt: T0 + 62 * S,
        nextAttemptAt: T0 + 122 * S,
        lastFailureAt: T0 + 62 * S,
        probeId: null,
      });
      expect(decideAcquire(reopened, settings, T0 + 63 * S, 'x').decision).toEqual({
        allowed: false,
        waitMs: 59 * S,
        state: 'open',
      });
    });

    it('on a neutral probe only releases the lease, so the next caller probes at once', () => {
      const released = applyOutcome(halfOpen(), settings, 'neutral', 'p1', T0 + 61 * S)!;
      expect(released).toMatchObject({ state: 'half_open', probeId: null, probeExpiresAt: null });
      expect(decideAcquire(released, settings, T0 + 61 * S, 'p2').decision).toEqual({
        allowed: true,
        probe: true,
      });
    });

    it('ignores the report of a probe whose lease another prober took over', () => {
      const taken = decideAcquire(halfOpen(), settings, T0 + 100 * S, 'p2').next!;
      expect(applyOutcome(taken, settings, 'success', 'p1', T0 + 101 * S)).toBeUndefined();
      expect(applyOutcome(taken, settings, 'failure', 'p1', T0 + 101 * S)).toBeUndefined();
      expect(applyOutcome(taken, settings, 'success', 'p2', T0 + 101 * S)?.state).toBe('closed');
    });

    it('ignores ordinary (non-probe) reports', () => {
      const s = halfOpen();
      for (const outcome of ['success', 'failure', 'neutral'] as const) {
        expect(applyOutcome(s, settings, outcome, null, T0 + 61 * S)).toBeUndefined();
      }
    });

    it('ignores a probe report once the breaker is closed again', () => {
      const closed = applyOutcome(halfOpen(), settings, 'success', 'p1', T0 + 61 * S)!;
      expect(applyOutcome(closed, settings, 'failure', 'p1', T0 + 62 * S)).toBeUndefined();
    });
  });

  describe('view', () => {
    it('shows a fresh breaker closed with nothing counted', () => {
      expect(viewOf('jira', INITIAL_BREAKER_STATE, settings, T0)).toEqual({
        service: 'jira',
        state: 'closed',
        failure_count: 0,
        opened_at: null,
        next_attempt_at: null,
        last_failure_at: null,
      });
    });

    it('counts only failures inside the window', () => {
      const s = failAt(INITIAL_BREAKER_STATE, [T0, T0 + 30 * S]);
      expect(viewOf('jira', s, settings, T0 + 30 * S).failure_count).toBe(2);
      expect(viewOf('jira', s, settings, T0 + 60 * S).failure_count).toBe(1);
      expect(failuresInWindow(s.failures, settings, T0 + 91 * S)).toEqual([]);
    });

    it('shows an open breaker with its times, and as half_open once a probe may pass', () => {
      const s = openedAt(T0);
      expect(viewOf('confluence', s, settings, T0 + S)).toEqual({
        service: 'confluence',
        state: 'open',
        failure_count: 5,
        opened_at: '2026-01-08T19:53:00.000Z',
        next_attempt_at: '2026-01-08T19:54:00.000Z',
        last_failure_at: '2026-01-08T19:53:00.000Z',
      });
      expect(viewOf('confluence', s, settings, T0 + 60 * S)).toMatchObject({
        state: 'half_open',
        next_attempt_at: null,
      });
    });
  });

  it('takes its settings from the config: the probe lease is a worker claim lease', () => {
    expect(breakerSettingsOf(DEFAULT_CONFIG)).toEqual({
      failureThreshold: 5,
      windowSeconds: 60,
      recoverySeconds: 60,
      probeLeaseSeconds: 70,
    });
    const custom = resolveConfig({ breaker: { failureThreshold: 3 }, worker: { timeoutSeconds: 90 } });
    expect(breakerSettingsOf(custom)).toMatchObject({ failureThreshold: 3, probeLeaseSeconds: 100 });
  });
});

describe('breakerOutcomeOf', () => {
  const expected: Record<ErrorCode, BreakerOutcome> = {
    NOT_FOUND: 'success',
    VALIDATION_ERROR: 'success',
    PERMISSION_DENIED: 'success',
    PAYLOAD_TOO_LARGE: 'success',
    SERVICE_UNAVAILABLE: 'failure',
    TIMEOUT: 'failure',
    INTERNAL_ERROR: 'failure',
    RATE_LIMITED: 'neutral',
    AUTH_FAILED: 'neutral',
    IDEMPOTENCY_CONFLICT: 'neutral',
    NOT_DEAD: 'neutral',
    DEPENDENCY_FAILED: 'neutral',
    NOT_IMPLEMENTED: 'neutral',
    METHOD_NOT_ALLOWED: 'neutral',
    UNSUPPORTED_MEDIA_TYPE: 'neutral',
    INVALID_STATUS: 'neutral',
    RESULT_TOO_LARGE: 'neutral',
  };

  it('is a success when there was no error', () => {
    expect(breakerOutcomeOf()).toBe('success');
    expect(breakerOutcomeOf(undefined)).toBe('success');
  });

  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('maps %s', (code) => {
    expect(breakerOutcomeOf(new UpstreamError(code, 'x', { status: 500 }))).toBe(expected[code]);
    expect(breakerOutcomeOf(new RiqError(code, 'x'))).toBe(expected[code]);
  });

  it('does not count a call the idempotency layer held back (an earlier call still in progress)', () => {
    const held = new UpstreamError(
      'SERVICE_UNAVAILABLE',
      'an earlier call for this request is still in progress',
      {
        reason: 'call_in_progress',
        retryAfterSeconds: 40,
      },
    );
    expect(breakerOutcomeOf(held)).toBe('neutral');
  });

  it('treats an unclassified thrown error as upstream trouble (INTERNAL_ERROR)', () => {
    expect(breakerOutcomeOf(new TypeError('fetch failed'))).toBe('failure');
  });
});

describe('StoredCircuitBreaker', () => {
  describe('over a shared in-memory store (several workers)', () => {
    function workers(n: number) {
      const store = new InMemoryBreakerStateStore();
      let id = 0;
      return {
        store,
        breakers: Array.from(
          { length: n },
          () => new InMemoryCircuitBreaker(settings, store, { newProbeId: () => `probe-${++id}` }),
        ),
      };
    }

    async function trip(b: StoredCircuitBreaker, at: number) {
      for (let i = 0; i < settings.failureThreshold; i++) await b.report('jira', 'failure', false, at);
    }

    it('opens at the threshold and refuses with the recovery left', async () => {
      const { breakers } = workers(2);
      const [a, b] = breakers as [InMemoryCircuitBreaker, InMemoryCircuitBreaker];
      for (let i = 0; i < 4; i++) await a.report('jira', 'failure', false, T0);
      expect(await b.acquire('jira', T0)).toEqual({ allowed: true, probe: false });
      await b.report('jira', 'failure', false, T0);
      expect(await a.acquire('jira', T0 + 10 * S)).toEqual({
        allowed: false,
        waitMs: 50 * S,
        state: 'open',
      });
    });

    it('gives exactly one of many concurrent callers the probe', async () => {
      const { breakers } = workers(4);
      await trip(breakers[0]!, T0);
      const decisions = await Promise.all(
        breakers.flatMap((b) => Array.from({ length: 5 }, () => b.acquire('jira', T0 + 60 * S))),
      );
      expect(decisions.filter((d) => d.allowed)).toEqual([{ allowed: true, probe: true }]);
      expect(decisions.filter((d) => !d.allowed)).toHaveLength(19);
    });

    it('settles the half-open state only through the instance that holds the probe', async () => {
      const { breakers, store } = workers(2);
      const [a, b] = breakers as [InMemoryCircuitBreaker, InMemoryCircuitBreaker];
      await trip(a, T0);
      expect(await a.acquire('jira', T0 + 60 * S)).toEqual({ allowed: true, probe: true });
      await b.report('jira', 'success', true, T0 + 61 * S); // b holds no probe: ignored
      expect(store.stateOf('jira').state).toBe('half_open');
      await a.report('jira', 'success', true, T0 + 61 * S);
      expect(store.stateOf('jira').state).toBe('closed');
      expect((await b.view('jira', T0 + 61 * S)).state).toBe('closed');
    });

    it('lets a new probe through after a crashed prober, and ignores the crashed one later', async () => {
      const { breakers, store } = workers(2);
      const [a, b] = breakers as [InMemoryCircuitBreaker, InMemoryCircuitBreaker];
      await trip(a, T0);
      expect((await a.acquire('jira', T0 + 60 * S)).allowed).toBe(true);
      expect((await b.acquire('jira', T0 + 99 * S)).allowed).toBe(false);
      expect(await b.acquire('jira', T0 + 100 * S)).toEqual({ allowed: true, probe: true });
      await a.report('jira', 'failure', true, T0 + 101 * S); // stale lease: ignored
      expect(store.stateOf('jira').state).toBe('half_open');
      await b.report('jira', 'failure', true, T0 + 101 * S);
      expect(store.stateOf('jira')).toMatchObject({ state: 'open', nextAttemptAt: T0 + 161 * S });
    });

    it('keeps services apart', async () => {
      const { breakers } = workers(1);
      await trip(breakers[0]!, T0);
      expect((await breakers[0]!.acquire('jira', T0)).allowed).toBe(false);
      expect(await breakers[0]!.acquire('confluence', T0)).toEqual({ allowed: true, probe: false });
    });
  });

  describe('against lost write races', () => {
    /** A store whose first `losses` saves fail as if another worker wrote first. */
    class RacyStore extends InMemoryBreakerStateStore {
      saves = 0;
      constructor(private losses: number) {
        super();
      }
      override async save(service: 'jira' | 'confluence', state: BreakerState, version: number) {
        this.saves++;
        if (this.losses > 0) {
          this.losses--;
          return false;
        }
        return super.save(service, state, version);
      }
    }

    it('re-reads and retries until its write wins', async () => {
      const store = new RacyStore(3);
      const b = new StoredCircuitBreaker(store, settings, { sleep: noSleep });
      await b.report('jira', 'failure', false, T0);
      expect(store.saves).toBe(4);
      expect(store.stateOf('jira').failures).toEqual([T0]);
    });

    it('gives up with an error after maxAttempts', async () => {
      const store: BreakerStateStore = new RacyStore(100);
      const b = new StoredCircuitBreaker(store, settings, { sleep: noSleep, maxAttempts: 5 });
      await expect(b.report('jira', 'failure', false, T0)).rejects.toThrow(/contended after 5/);
    });

    it('writes nothing for calls that change nothing', async () => {
      const store = new RacyStore(0);
      const b = new StoredCircuitBreaker(store, settings, { sleep: noSleep });
      await b.acquire('jira', T0);
      await b.report('jira', 'success', false, T0);
      await b.report('jira', 'neutral', false, T0);
      expect(store.saves).toBe(0);
    });
  });
});
