/**
 * The points budget on the request path: the gate charges each call's estimate after its token,
 * a refusal defers the request as `no_points`, and the metered executor settles the estimate
 * against the result and feeds every answer's headers back. Real in-memory budget, bucket, breaker
 * and locks.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, type RiqConfig } from '../../../model/config/riq-config.js';
import { breakerSettingsOf } from '../../../lambdas/core/domain/breaker.js';
import { passFlowControl, type FlowControl } from '../../../lambdas/core/domain/flow-gate.js';
import {
  callAttemptOf,
  PointsMeteredExecutor,
  type PointsReading,
  pointsEstimateOf,
} from '../../../lambdas/core/domain/points-metering.js';
import { readRateLimitSignals } from '../../../lambdas/core/domain/rate-limit-signals.js';
import { callScopeOf } from '../../../lambdas/core/domain/token-bucket.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import type { CallContext, OperationExecutor, UpstreamSignal } from '../../../lambdas/core/ports/index.js';
import { UpstreamError } from '../../../model/errors.js';
import type { OperationName } from '../../../model/operations.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';
import { InMemoryPointsBudget } from '../../support/in-memory-points-budget.js';
import { InMemoryRateGate } from '../../support/in-memory-rate-gate.js';
import { FakeClock, InMemoryStore, queuedRecord } from '../../support/in-memory-store.js';
import { InMemoryWriteLocks } from '../../support/in-memory-write-locks.js';

const TOKEN = `req_${'1'.repeat(32)}`;

/** One point a second, 100 s of burst: capacity 100; normal keeps 10 back. */
const CONFIG: RiqConfig = resolveConfig({
  services: { jira: { points: { quotaPerHour: 3600, windowSeconds: 3600, burstSeconds: 100 } } },
});

function record(
  clock: FakeClock,
  operation: OperationName,
  payload: Record<string, unknown>,
  over: Partial<RequestRecord> = {},
): RequestRecord {
  return {
    ...queuedRecord(clock, { token: TOKEN, owner: 'o', operation, service: 'jira', payload }),
    ...over,
  };
}

function flowOf(points: InMemoryPointsBudget) {
  const breaker = new InMemoryCircuitBreaker(breakerSettingsOf(CONFIG));
  const locks = new InMemoryWriteLocks();
  const flow: FlowControl = {
    breaker,
    rate: new InMemoryRateGate(CONFIG),
    scopeOf: (r) => callScopeOf(r.operation, r.payload, r.priority),
    writeLocks: locks,
    points,
  };
  return { flow, breaker, locks };
}

const gateOptions = (clock: FakeClock) => ({
  attempt: 1,
  lockUntil: clock.now() + 40_000,
  lockOwner: 'worker-1',
});

/**
 * `processRequest` over the real in-memory store, budget, bucket, breaker and locks, the executor
 * metered by the budget; `stored` is the one request in the store (a search by default).
 */
function setup(
  execute: OperationExecutor['execute'],
  points = new InMemoryPointsBudget(CONFIG, 'oauth'),
  stored: (clock: FakeClock) => RequestRecord = (clock) =>
    record(clock, 'jira.search_tasks', { jql: 'project = MD', max_results: 50 }),
) {
  const store = new InMemoryStore();
  const clock = new FakeClock();
  let calls = 0;
  const deps: ProcessDeps = {
    store,
    clock,
    executor: new PointsMeteredExecutor(
      {
        execute: async (...args) => {
          calls++;
          return execute(...args);
        },
      },
      { budget: points, clock },
    ),
    config: CONFIG,
    leaseSeconds: 40,
    random: () => 0,
    flow: flowOf(points).flow,
  };
  void store.insert(stored(clock));
  return { store, clock, deps, points, calls: () => calls };
}

/** An answer's signal as the HTTP client reports it. */
const answer = (headers: Record<string, string>, now: number): UpstreamSignal => {
  const rateLimit = readRateLimitSignals(new Headers(headers), now);
  return { nearLimit: rateLimit.nearLimitHeader === true, rateLimit };
};

describe('points on the request path', () => {
  describe('the estimate the gate charges', () => {
    it('is the operation’s estimate for the attempt the call will be', () => {
      const clock = new FakeClock();
      expect(pointsEstimateOf(record(clock, 'jira.search_tasks', { jql: 'x', max_results: 20 }), 1)).toBe(21);
      const create = record(clock, 'jira.create_task', { title: 'T', project_id: 'MD' });
      expect(pointsEstimateOf(create, 1)).toBe(1);
      // A retry first looks for what the lost attempt made: 3.
      expect(pointsEstimateOf(create, 2)).toBe(3);
    });

    it('counts the call by the attempt, or by the calls made before it after a redrive', () => {
      expect(callAttemptOf(1, { calls: 0 })).toBe(1);
      expect(callAttemptOf(1, {})).toBe(1);
      expect(callAttemptOf(2, { calls: 1 })).toBe(2);
      // A redrive reset the attempts; the two calls made before still count.
      expect(callAttemptOf(1, { calls: 2 })).toBe(3);
    });
  });

  describe('passFlowControl', () => {
    it('charges the estimate after the token', async () => {
      const clock = new FakeClock();
      const points = new InMemoryPointsBudget(CONFIG, 'oauth');
      const { flow } = flowOf(points);
      const gate = await passFlowControl(
        flow,
        record(clock, 'jira.search_tasks', { jql: 'x', max_results: 20 }),
        clock,
        gateOptions(clock),
      );
      expect(gate.pass).toBe(true);
      expect(points.calls).toEqual([
        {
          kind: 'charge',
          service: 'jira',
          priority: 'normal',
          estimate: 21,
          now: clock.now(),
          decision: { granted: true, charged: 21 },
        },
      ]);
    });

    it('refuses as no_points with the budget’s exact wait, releasing the lock and the probe', async () => {
      const clock = new FakeClock();
      const points = new InMemoryPointsBudget(CONFIG, 'oauth');
      points.setState('jira', { points: 10, updatedAt: clock.now() });
      const { flow, breaker, locks } = flowOf(points);
      // An open breaker past its recovery: this call is the half-open probe.
      for (let i = 0; i < CONFIG.breaker.failureThreshold; i++) {
        await breaker.report('jira', 'failure', false, clock.now());
      }
      clock.advance(CONFIG.breaker.recoverySeconds * 1000 + 1);
      points.setState('jira', { points: 10, updatedAt: clock.now() });
      const write = record(clock, 'jira.add_comment', { task_id: 'MD-1', comment: 'c' });
      const gate = await passFlowControl(flow, write, clock, gateOptions(clock));
      // normal keeps 10 back: 1 more point, a second at one point a second.
      expect(gate).toEqual({ pass: false, waitMs: 1000, reason: 'no_points' });
      const lock = await locks.acquire(
        { service: 'jira', objectId: 'MD-1' },
        'other',
        clock.now(),
        clock.now() + 1,
      );
      expect(lock.acquired).toBe(true);
      // The probe was given back: the next caller may take it.
      expect(await breaker.acquire('jira', clock.now())).toEqual({ allowed: true, probe: true });
    });

    it('charges nothing and refuses nothing for an API-token connection', async () => {
      const clock = new FakeClock();
      const points = new InMemoryPointsBudget(CONFIG, 'api_token');
      points.setState('jira', { points: 0, updatedAt: clock.now() });
      const gate = await passFlowControl(
        flowOf(points).flow,
        record(clock, 'jira.get_task', { task_id: 'MD-1' }),
        clock,
        gateOptions(clock),
      );
      expect(gate.pass).toBe(true);
    });
  });

  describe('processRequest with the points budget', () => {
    it('charges a search its estimate and gives back what the result did not cost', async () => {
      const { deps, points, clock } = setup(async () => ({ issues: [{ key: 'MD-1' }, { key: 'MD-2' }] }));
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(d).toMatchObject({ action: 'ack', outcome: 'completed' });
      // 51 charged, 3 spent (1 call + 2 issues): 48 back, 97 left of 100.
      expect(points.calls.map((c) => c.kind)).toEqual(['charge', 'settle']);
      expect(points.calls[1]).toMatchObject({ kind: 'settle', giveBack: 48 });
      expect((await points.view('jira', clock.now())).points).toBe(97);
    });

    it('defers as no_points without calling or counting an attempt while the quota is spent', async () => {
      const points = new InMemoryPointsBudget(CONFIG, 'oauth');
      const { deps, store, clock, calls } = setup(async () => ({ issues: [] }), points);
      points.setState('jira', { points: 0, updatedAt: clock.now(), exhaustedUntil: clock.now() + 600_000 });
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(d).toMatchObject({ action: 'defer', outcome: 'no_points' });
      expect(calls()).toBe(0);
      expect(await store.get(TOKEN)).toMatchObject({
        status: 'queued',
        attempts: 0,
        deferred_reason: 'no_points',
      });
    });
  });

  describe('what the gate charges is what the call settles', () => {
    /**
     * One delivery of `stored`, its call answering `result`. The clock stands still, so the points
     * left of the 100 are exactly the charge net of the give-back.
     */
    async function processOnce(stored: (clock: FakeClock) => RequestRecord, result: unknown) {
      const callAttempts: Array<number | undefined> = [];
      const { deps, points, clock } = setup(
        async (_operation, _payload, context) => {
          callAttempts.push(context.attempt);
          return result;
        },
        undefined,
        stored,
      );
      const disposition = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      const charged = points.calls.flatMap((c) => (c.kind === 'charge' ? [c.estimate] : []));
      return { disposition, callAttempts, charged, left: (await points.view('jira', clock.now())).points };
    }

    it('a first comment is charged the 1 point of its one call, not a retry’s look-up', async () => {
      const comment = (clock: FakeClock) =>
        record(clock, 'jira.add_comment', { task_id: 'MD-1', comment: 'c' });
      const run = await processOnce(comment, { id: '10001', issue_key: 'MD-1', url: 'u', created: 'c' });
      expect(run.disposition).toMatchObject({ outcome: 'completed' });
      expect(run.callAttempts).toEqual([1]);
      expect(run.charged).toEqual([1]);
      expect(run.left).toBe(99);
    });

    it('a retried create is charged its look-up as well and settles to the 2 points it cost', async () => {
      const create = (clock: FakeClock) =>
        record(clock, 'jira.create_task', { title: 'T', project_id: 'MD' }, { attempts: 1, calls: 1 });
      const run = await processOnce(create, { key: 'MD-1', id: '10000', url: 'u' });
      expect(run.disposition).toMatchObject({ outcome: 'completed' });
      expect(run.callAttempts).toEqual([2]);
      expect(run.charged).toEqual([3]);
      expect(run.left).toBe(98);
    });
  });

  describe('PointsMeteredExecutor', () => {
    const search = { jql: 'project = MD', max_results: 50 };

    function metered(execute: (context: CallContext, now: number) => Promise<unknown>) {
      const clock = new FakeClock();
      const points = new InMemoryPointsBudget(CONFIG, 'oauth');
      const failures: string[] = [];
      const readings: PointsReading[] = [];
      const executor = new PointsMeteredExecutor(
        { execute: async (_op, _payload, context) => execute(context, clock.now()) },
        {
          budget: points,
          clock,
          onFailure: (step) => failures.push(step),
          onMetered: (reading) => readings.push(reading),
        },
      );
      return { clock, points, executor, failures, readings };
    }

    it('tells each call once: the actual points once settled, and the last r Atlassian gave', async () => {
      const { executor, readings } = metered(async (context, now) => {
        context.onUpstreamSignal?.(answer({ RateLimit: '"global-app-quota";r=900;t=600' }, now));
        context.onUpstreamSignal?.(
          answer({ 'Beta-RateLimit': '"global-app-quota";r=300;t=600, "tenant-quota";r=200;t=600' }, now),
        );
        context.onUpstreamSignal?.(answer({ 'X-RateLimit-NearLimit': 'true' }, now));
        return { issues: [{ key: 'MD-1' }, { key: 'MD-2' }] };
      });
      await executor.execute('jira.search_tasks', search, { token: TOKEN });
      // 51 estimated, 3 spent (1 call + 2 issues); the last answer with r listed 300 and 200.
      expect(readings).toEqual([{ service: 'jira', spent: 3, remaining: 200 }]);
    });

    it('tells a failed call as its estimate, with no remaining when no answer gave r', async () => {
      const { executor, readings } = metered(async () => {
        throw new UpstreamError('SERVICE_UNAVAILABLE', 'HTTP 503', { status: 503 });
      });
      await expect(executor.execute('jira.search_tasks', search, { token: TOKEN })).rejects.toThrow();
      expect(readings).toEqual([{ service: 'jira', spent: 51 }]);
    });

    it('keeps the result when the metrics hook throws', async () => {
      const clock = new FakeClock();
      const executor = new PointsMeteredExecutor(
        { execute: async () => ({ key: 'MD-1' }) },
        {
          budget: new InMemoryPointsBudget(CONFIG, 'oauth'),
          clock,
          onMetered: () => {
            throw new Error('stdout closed');
          },
        },
      );
      await expect(executor.execute('jira.get_task', { task_id: 'MD-1' }, { token: TOKEN })).resolves.toEqual(
        { key: 'MD-1' },
      );
    });

    it('feeds every answer’s quota headers to the budget and still tells the caller', async () => {
      const forwarded: boolean[] = [];
      const { executor, points, clock } = metered(async (context, now) => {
        context.onUpstreamSignal?.(answer({}, now));
        context.onUpstreamSignal?.(
          answer(
            { 'Beta-RateLimit-Policy': '"global-app-quota";q=7200;w=3600', 'X-RateLimit-NearLimit': 'true' },
            now,
          ),
        );
        return { issues: [] };
      });
      await executor.execute('jira.search_tasks', search, {
        token: TOKEN,
        onUpstreamSignal: (s) => forwarded.push(s.nearLimit),
      });
      expect(forwarded).toEqual([false, true]);
      // The answer without rate headers was not fed: one observe only.
      expect(points.calls.filter((c) => c.kind === 'observe')).toHaveLength(1);
      expect(await points.view('jira', clock.now())).toMatchObject({ quota: 7200, quota_source: 'headers' });
      expect((await points.view('jira', clock.now())).slow_until).not.toBeNull();
    });

    it('settles before it re-plans from RateLimit r, so a give-back never lifts the points above r', async () => {
      const { executor, points, clock } = metered(async (context, now) => {
        context.onUpstreamSignal?.(answer({ RateLimit: '"global-app-quota";r=5;t=600' }, now));
        return { issues: [] };
      });
      points.setState('jira', { points: 49, updatedAt: clock.now() });
      await executor.execute('jira.search_tasks', search, { token: TOKEN });
      expect(points.calls.map((c) => c.kind)).toEqual(['settle', 'observe']);
      expect((await points.view('jira', clock.now())).points).toBe(5);
    });

    it('settles nothing for a failed call but observes its quota 429, and rethrows', async () => {
      const { executor, points, clock } = metered(async (context, now) => {
        context.onUpstreamSignal?.(
          answer({ 'RateLimit-Reason': 'jira-quota-global-based', 'Retry-After': '1847' }, now),
        );
        throw new UpstreamError('RATE_LIMITED', 'HTTP 429', { status: 429 });
      });
      await expect(executor.execute('jira.search_tasks', search, { token: TOKEN })).rejects.toThrow(
        'HTTP 429',
      );
      expect(points.calls.map((c) => c.kind)).toEqual(['observe']);
      expect((await points.view('jira', clock.now())).exhausted_until).toBe(
        new Date(clock.now() + 1_847_000).toISOString(),
      );
    });

    it('keeps the result when the budget cannot be written, and says so', async () => {
      const { executor, points, failures } = metered(async (context, now) => {
        context.onUpstreamSignal?.(answer({ 'X-RateLimit-NearLimit': 'true' }, now));
        return { issues: [] };
      });
      points.settle = async () => {
        throw new Error('throttled');
      };
      points.observe = async () => {
        throw new Error('throttled');
      };
      await expect(executor.execute('jira.search_tasks', search, { token: TOKEN })).resolves.toEqual({
        issues: [],
      });
      expect(failures).toEqual(['settle', 'observe']);
    });

    it('writes nothing when the call cost what it was charged', async () => {
      const { executor, points } = metered(async () => ({ key: 'MD-1' }));
      await executor.execute('jira.get_task', { task_id: 'MD-1' }, { token: TOKEN });
      expect(points.calls).toEqual([]);
    });
  });
});
