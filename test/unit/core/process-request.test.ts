import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { UpstreamError, ValidationError } from '../../../model/errors.js';
import type { OperationExecutor } from '../../../lambdas/core/ports/index.js';
import type { FlowControl } from '../../../lambdas/core/domain/flow-gate.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import type { BreakerDecision, PermitDecision } from '../../../lambdas/core/ports/flow-control.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { callScopeOf } from '../../../lambdas/core/domain/token-bucket.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';
import { InMemoryRateGate } from '../../support/in-memory-rate-gate.js';
import { InMemoryWriteLocks } from '../../support/in-memory-write-locks.js';
import type { ServiceWriteWindows } from '../../../lambdas/core/domain/object-write-window.js';
import { FakeClock, InMemoryStore, queuedRecord } from '../../support/in-memory-store.js';

const TOKEN = `req_${'1'.repeat(32)}`;

function setup(execute: OperationExecutor['execute']) {
  const store = new InMemoryStore();
  const clock = new FakeClock();
  let calls = 0;
  const deps: ProcessDeps = {
    store,
    clock,
    executor: {
      execute: async (...args) => {
        calls += 1;
        return execute(...args);
      },
    },
    config: DEFAULT_CONFIG,
    leaseSeconds: 40,
    random: () => 0,
  };
  const record = queuedRecord(clock, {
    token: TOKEN,
    owner: 'o',
    operation: 'jira.create_task',
    service: 'jira',
    payload: { title: 'T', project_id: 'MD' },
  });
  void store.insert(record);
  return { store, clock, deps, calls: () => calls };
}

describe('processRequest', () => {
  it('completes the request with the result and an expiry', async () => {
    const { store, clock, deps } = setup(async () => ({ key: 'MD-1' }));
    const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
    expect(d).toEqual({ action: 'ack', outcome: 'completed' });
    const r = await store.get(TOKEN);
    expect(r).toMatchObject({ status: 'completed', result: { key: 'MD-1' }, attempts: 1 });
    // The expiry is measured on the clock the code used, not on the day the test runs.
    const retentionSeconds = DEFAULT_CONFIG.retentionDays * 24 * 3600;
    expect(r?.expires_at).toBe(Math.floor(clock.now() / 1000) + retentionSeconds);
  });

  it('drops a duplicate delivery of a finished request without calling Atlassian', async () => {
    const { deps, calls } = setup(async () => ({ key: 'MD-1' }));
    await processRequest(deps, { token: TOKEN, receiveCount: 1 });
    const again = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
    expect(again).toEqual({ action: 'ack', outcome: 'already-finished' });
    expect(calls()).toBe(1);
  });

  it('leaves a request another worker holds alone until its lease expires', async () => {
    const { store, clock, deps, calls } = setup(async () => ({}));
    await store.claim(TOKEN, clock.now(), 40);
    const d = await processRequest(deps, { token: TOKEN, receiveCount: 2 });
    expect(d).toMatchObject({ action: 'defer', outcome: 'busy' });
    expect(d.action === 'defer' && d.delaySeconds).toBeGreaterThanOrEqual(40);
    expect(calls()).toBe(0);
    expect((await store.get(TOKEN))?.attempts).toBe(0);
    clock.advance(41_000);
    expect((await processRequest(deps, { token: TOKEN, receiveCount: 3 })).outcome).toBe('completed');
  });

  it('retries a retryable failure with a growing delay and keeps the error', async () => {
    const { store, deps } = setup(async () => {
      throw new UpstreamError('SERVICE_UNAVAILABLE', 'HTTP 503', { status: 503 });
    });
    const delays: number[] = [];
    for (const attempt of [1, 2, 3]) {
      const d = await processRequest(deps, { token: TOKEN, receiveCount: attempt });
      expect(d.action).toBe('retry');
      if (d.action === 'retry') delays.push(d.delaySeconds);
      expect((await store.get(TOKEN))?.status).toBe('queued');
    }
    expect(delays).toEqual([1, 2, 4]);
    expect((await store.get(TOKEN))?.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
  });

  it('marks the request dead on the last attempt and sends a dead-letter copy to the DLQ', async () => {
    const { store, deps } = setup(async () => {
      throw new UpstreamError('TIMEOUT', 'timed out');
    });
    store.records.get(TOKEN)!.attempts = DEFAULT_CONFIG.retry.maxAttempts - 1;
    const d = await processRequest(deps, { token: TOKEN, receiveCount: DEFAULT_CONFIG.retry.maxAttempts });
    expect(d).toEqual({ action: 'dead-letter', outcome: 'dead' });
    const r = await store.get(TOKEN);
    expect(r).toMatchObject({ status: 'dead', error: { code: 'TIMEOUT', details: { attempt: 4 } } });
    expect(r?.expires_at).toBeUndefined();
  });

  it('fails a non-retryable error at once, on the first attempt', async () => {
    const { store, deps } = setup(async () => {
      throw ValidationError.forField('project', 'valid project is required');
    });
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
      action: 'ack',
      outcome: 'failed',
    });
    expect((await store.get(TOKEN))?.status).toBe('failed');
  });

  it('processes a dead request again when its dead-letter copy is redriven', async () => {
    let fail = true;
    const { store, deps } = setup(async () => {
      if (fail) throw new UpstreamError('SERVICE_UNAVAILABLE', 'down');
      return { key: 'MD-9' };
    });
    store.records.get(TOKEN)!.attempts = 3;
    await processRequest(deps, { token: TOKEN, receiveCount: 4 });
    expect((await store.get(TOKEN))?.status).toBe('dead');
    fail = false;
    const redriven = await processRequest(deps, { token: TOKEN, receiveCount: 1, fromDeadLetter: true });
    expect(redriven.outcome).toBe('completed');
    // The redrive started a fresh set of attempts.
    expect((await store.get(TOKEN))?.attempts).toBe(1);
  });

  describe('stray copies', () => {
    it('never revives a dead request: a stray message finds it finished, attempts and calls unchanged', async () => {
      const { store, deps, calls } = setup(async () => {
        throw new UpstreamError('SERVICE_UNAVAILABLE', 'down');
      });
      for (let i = 0; i < DEFAULT_CONFIG.retry.maxAttempts; i++) {
        await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      }
      expect(await store.get(TOKEN)).toMatchObject({ status: 'dead', attempts: 4, calls: 4 });
      // A deferral's copy, a sweeper's re-send, a late duplicate: none is the dead-letter copy.
      const stray = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(stray).toEqual({ action: 'ack', outcome: 'already-finished' });
      expect(await store.get(TOKEN)).toMatchObject({ status: 'dead', attempts: 4, calls: 4 });
      expect(calls()).toBe(4);
    });

    it('never revives a finished request, even with a dead-letter copy', async () => {
      const { store, deps, calls } = setup(async () => ({ key: 'MD-1' }));
      await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      const again = await processRequest(deps, { token: TOKEN, receiveCount: 1, fromDeadLetter: true });
      expect(again).toEqual({ action: 'ack', outcome: 'already-finished' });
      expect((await store.get(TOKEN))?.status).toBe('completed');
      expect(calls()).toBe(1);
    });

    it("numbers calls over the request's life, so a create after a redrive reconciles, and tells each when it was submitted", async () => {
      const attempts: Array<number | undefined> = [];
      const submittedAt: Array<number | undefined> = [];
      let fail = true;
      const { store, deps } = setup(async (_op, _payload, context) => {
        attempts.push(context.attempt);
        submittedAt.push(context.submittedAt);
        if (fail) throw new UpstreamError('TIMEOUT', 'timed out');
        return { key: 'MD-1' };
      });
      const created = Date.parse((await store.get(TOKEN))!.created_at);
      for (let i = 0; i < DEFAULT_CONFIG.retry.maxAttempts; i++) {
        await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      }
      fail = false;
      await processRequest(deps, { token: TOKEN, receiveCount: 1, fromDeadLetter: true });
      // The redriven call is the fifth: the adapters reconcile a create on any call after the first.
      expect(attempts).toEqual([1, 2, 3, 4, 5]);
      expect((await store.get(TOKEN))?.attempts).toBe(1);
      // Every call, the redriven one too, has the request's own submission time.
      expect(submittedAt).toEqual([created, created, created, created, created]);
    });

    it("marks a retry's wait on the record, so the sweeper leaves it alone until then", async () => {
      const { store, clock, deps } = setup(async () => {
        throw new UpstreamError('RATE_LIMITED', '429', { status: 429, retryAfterSeconds: 1800 });
      });
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(d).toEqual({ action: 'retry', delaySeconds: 1800, outcome: 'retry' });
      expect((await store.get(TOKEN))?.deferred_until).toBe(new Date(clock.now() + 1_800_000).toISOString());
    });
  });

  it('treats an unexpected exception as a retryable internal error', async () => {
    const { store, deps } = setup(async () => {
      throw new TypeError('boom');
    });
    expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).action).toBe('retry');
    expect((await store.get(TOKEN))?.error).toMatchObject({
      code: 'INTERNAL_ERROR',
      message: 'internal error',
    });
  });

  it('acks a message whose record was purged', async () => {
    const { store, deps } = setup(async () => ({}));
    store.records.clear();
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
      action: 'ack',
      outcome: 'missing',
    });
  });

  it('counts attempts on the record, not the receive count: a redelivered message after deferrals still dies on the 4th real call', async () => {
    const { store, deps } = setup(async () => {
      throw new UpstreamError('SERVICE_UNAVAILABLE', 'down', { status: 503 });
    });
    // Each real attempt arrives on a fresh message (deferrals re-send), receive count 1 every time.
    const outcomes: string[] = [];
    for (let i = 0; i < DEFAULT_CONFIG.retry.maxAttempts; i++) {
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      outcomes.push(d.action);
    }
    expect(outcomes).toEqual(['retry', 'retry', 'retry', 'dead-letter']);
    expect((await store.get(TOKEN))?.attempts).toBe(4);
  });

  describe('a create whose outcome is unknown', () => {
    const unknown = () =>
      new UpstreamError('TIMEOUT', 'Jira POST /rest/api/3/issue timed out after 3000 ms', {
        timeoutMs: 3_000,
        outcomeUnknown: true,
        retryAfterSeconds: 30,
      });

    it('is retried after the reconcile window, which the record keeps with the error', async () => {
      const { store, clock, deps } = setup(async () => {
        throw unknown();
      });
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(d).toEqual({ action: 'retry', delaySeconds: 30, outcome: 'retry' });
      const r = await store.get(TOKEN);
      expect(r?.deferred_until).toBe(new Date(clock.now() + 30_000).toISOString());
      expect(r?.error?.details).toMatchObject({
        outcomeUnknown: true,
        reconcileNotBefore: clock.now() + 30_000,
      });
    });

    it('is not called again before the window by any other message, which is deferred to its end', async () => {
      let fail = true;
      const attempts: (number | undefined)[] = [];
      const { store, clock, deps } = setup(async (_op, _payload, context) => {
        attempts.push(context.attempt);
        if (fail) throw unknown();
        return { key: 'MD-1' };
      });
      await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      fail = false;

      // A duplicate SQS delivery 2 s later: deferred to the window's end, no call, no attempt.
      clock.advance(2_000);
      const early = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(early).toEqual({ action: 'defer', delaySeconds: 28, outcome: 'not_before' });
      expect(attempts).toEqual([1]);
      expect(await store.get(TOKEN)).toMatchObject({
        status: 'queued',
        attempts: 1,
        deferred_until: new Date(clock.now() + 28_000).toISOString(),
      });

      // Once the window has passed the retry calls (and the adapter reconciles, attempt 2).
      clock.advance(28_000);
      expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
        action: 'ack',
        outcome: 'completed',
      });
      expect(attempts).toEqual([1, 2]);
    });

    it('a known failure sets no window: the next message may call at once', async () => {
      const { store, deps } = setup(async () => {
        throw new UpstreamError('SERVICE_UNAVAILABLE', 'conflict', { status: 409, conflict: true });
      });
      await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect((await store.get(TOKEN))?.error?.details?.['reconcileNotBefore']).toBeUndefined();
      expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).action).toBe('retry');
    });
  });

  it('waits for Retry-After when it is longer than the backoff', async () => {
    const { deps } = setup(async () => {
      throw new UpstreamError('RATE_LIMITED', '429', { status: 429, retryAfterSeconds: 30 });
    });
    const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
    expect(d).toEqual({ action: 'retry', delaySeconds: 30, outcome: 'retry' });
  });

  it('chains a wait longer than 15 minutes through notBefore, without claiming', async () => {
    const { store, clock, deps, calls } = setup(async () => ({}));
    const notBefore = clock.now() + 20 * 60_000;
    const d = await processRequest(deps, { token: TOKEN, receiveCount: 1, notBefore });
    expect(d).toMatchObject({ action: 'defer', delaySeconds: 900, outcome: 'not_before' });
    expect((await store.get(TOKEN))?.status).toBe('queued');
    clock.advance(20 * 60_000);
    expect((await processRequest(deps, { token: TOKEN, receiveCount: 1, notBefore })).outcome).toBe(
      'completed',
    );
    expect(calls()).toBe(1);
  });

  describe('with flow control', () => {
    function withFlow(options: { breaker?: BreakerDecision; permit?: PermitDecision } = {}) {
      const ctx = setup(async () => ({ key: 'MD-1' }));
      const reports: string[] = [];
      const flow: FlowControl = {
        breaker: {
          acquire: async () => options.breaker ?? { allowed: true, probe: false },
          report: async (_s, outcome, probe) => {
            reports.push(`breaker:${outcome}:${probe}`);
          },
          view: async () => {
            throw new Error('unused');
          },
        },
        rate: {
          acquire: async () => options.permit ?? { granted: true },
          report: async (_s, feedback) => {
            reports.push(`rate:${feedback.kind}`);
          },
        },
        scopeOf: (r) => ({
          service: r.service,
          priority: r.priority,
          endpoint: 'jira:issue:create',
          write: true,
        }),
      };
      ctx.deps.flow = flow;
      return { ...ctx, reports };
    }

    it('defers without calling or counting an attempt when no token is there', async () => {
      const { store, deps, calls } = withFlow({
        permit: { granted: false, waitMs: 2500, reason: 'no_token' },
      });
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(d).toEqual({ action: 'defer', delaySeconds: 3, outcome: 'no_token' });
      expect(calls()).toBe(0);
      expect(await store.get(TOKEN)).toMatchObject({
        status: 'queued',
        attempts: 0,
        deferred_reason: 'no_token',
      });
    });

    describe('a rate slot', () => {
      /** A flow whose rate gate answers `permits` in turn (then grants), recording the scopes asked. */
      function withPermits(permits: PermitDecision[], slotWaitMs?: number) {
        const ctx = withFlow();
        const asked: Array<number | undefined> = [];
        const slept: number[] = [];
        ctx.deps.flow!.rate.acquire = async (scope) => {
          asked.push(scope.slotAt);
          return permits.shift() ?? { granted: true };
        };
        if (slotWaitMs !== undefined) {
          ctx.deps.slotWait = {
            maxMs: slotWaitMs,
            sleep: async (ms) => {
              slept.push(ms);
              ctx.clock.advance(ms);
            },
          };
        }
        return { ...ctx, asked, slept };
      }

      it('due within slotWaitMs is waited for in the invocation, then asked for with the slot', async () => {
        const { deps, clock, calls, asked, slept } = withPermits([], 1_000);
        const slotAt = clock.now() + 400;
        deps.flow!.rate.acquire = async (scope) => {
          asked.push(scope.slotAt);
          return scope.slotAt === slotAt
            ? { granted: true }
            : { granted: false, reason: 'no_token', waitMs: 400, slotAt };
        };
        const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
        expect(d).toEqual({ action: 'ack', outcome: 'completed' });
        expect(asked).toEqual([undefined, slotAt]);
        expect(slept).toEqual([400]);
        expect(calls()).toBe(1);
      });

      it('further away is a deferral that comes back at most slotWaitMs before it, carrying the slot', async () => {
        const { deps, clock, store, calls, slept } = withPermits([], 1_000);
        const slotAt = clock.now() + 2_300;
        deps.flow!.rate.acquire = async () => ({ granted: false, reason: 'no_token', waitMs: 2_300, slotAt });
        const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
        // Back after 2 s, 300 ms before the slot (the worker then waits for it); no jitter: the line
        // already spaces the calls.
        expect(d).toEqual({ action: 'defer', delaySeconds: 2, slotAt, outcome: 'no_token' });
        expect(slept).toEqual([]);
        expect(calls()).toBe(0);
        expect((await store.get(TOKEN))?.deferred_until).toBe(new Date(slotAt).toISOString());
      });

      it('carried by a message that came back before it is waited for, then handed to the gate', async () => {
        const { deps, clock, asked, slept, calls } = withPermits([], 1_000);
        const slotAt = clock.now() + 700;
        await processRequest(deps, { token: TOKEN, receiveCount: 1, slotAt });
        expect(slept).toEqual([700]);
        expect(asked).toEqual([slotAt]);
        expect(calls()).toBe(1);
      });

      it('carried by a message that came back further ahead of it than a worker waits is deferred to it again', async () => {
        const { deps, clock, asked, calls } = withPermits([], 1_000);
        const slotAt = clock.now() + 4_500;
        const d = await processRequest(deps, { token: TOKEN, receiveCount: 1, slotAt });
        expect(d).toEqual({ action: 'defer', delaySeconds: 4, slotAt, outcome: 'not_before' });
        expect(asked).toEqual([]);
        expect(calls()).toBe(0);
      });

      it('carried by the message is handed to the gate', async () => {
        const { deps, clock, asked } = withPermits([]);
        const slotAt = clock.now() - 5;
        await processRequest(deps, { token: TOKEN, receiveCount: 1, slotAt });
        expect(asked).toEqual([slotAt]);
      });

      it('waits at most slotWaitMs in all, then defers', async () => {
        const { deps, clock, slept } = withPermits([], 1_000);
        let n = 0;
        deps.flow!.rate.acquire = async () => {
          n += 1;
          return { granted: false, reason: 'no_token', waitMs: 600, slotAt: clock.now() + 600 };
        };
        const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
        expect(slept).toEqual([600]);
        expect(n).toBe(2);
        expect(d).toMatchObject({ action: 'defer', delaySeconds: 1, outcome: 'no_token' });
      });

      it('is never waited for without slotWait (a deferral instead)', async () => {
        const { deps, clock } = withPermits([]);
        const slotAt = clock.now() + 100;
        deps.flow!.rate.acquire = async () => ({ granted: false, reason: 'no_token', waitMs: 100, slotAt });
        expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
          action: 'defer',
          delaySeconds: 1,
          slotAt,
          outcome: 'no_token',
        });
      });
    });

    it('defers while the breaker is open, and a probe that gets no token gives its turn back', async () => {
      const open = withFlow({ breaker: { allowed: false, waitMs: 30_000, state: 'open' } });
      expect(await processRequest(open.deps, { token: TOKEN, receiveCount: 1 })).toMatchObject({
        action: 'defer',
        outcome: 'breaker_open',
      });
      expect(open.calls()).toBe(0);

      const probe = withFlow({
        breaker: { allowed: true, probe: true },
        permit: { granted: false, waitMs: 1000, reason: 'paused' },
      });
      expect((await processRequest(probe.deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('paused');
      expect(probe.reports).toEqual(['breaker:neutral:true']);
    });

    it('reports a success to both, and a 503 as a breaker failure', async () => {
      const ok = withFlow({ breaker: { allowed: true, probe: true } });
      await processRequest(ok.deps, { token: TOKEN, receiveCount: 1 });
      expect(ok.reports).toEqual(['rate:ok', 'breaker:success:true']);

      const failing = withFlow();
      failing.deps.executor = {
        execute: async () => {
          throw new UpstreamError('SERVICE_UNAVAILABLE', '503', { status: 503 });
        },
      };
      await processRequest(failing.deps, { token: TOKEN, receiveCount: 1 });
      expect(failing.reports).toEqual(['rate:ok', 'breaker:failure:false']);
    });

    it('feeds X-RateLimit-NearLimit from any call of the operation back to the rate gate', async () => {
      const near = withFlow();
      const seen: unknown[] = [];
      near.deps.flow!.rate.report = async (_s, feedback) => {
        seen.push(feedback);
      };
      near.deps.executor = {
        execute: async (_op, _payload, context) => {
          // Two calls: the first answer was near the limit, the second not.
          context.onUpstreamSignal?.({ nearLimit: true });
          context.onUpstreamSignal?.({ nearLimit: false });
          return { key: 'MD-1' };
        },
      };
      const grantedAt = near.clock.now();
      expect((await processRequest(near.deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
      // With the time its token was taken: the moment Atlassian's header speaks of.
      expect(seen).toEqual([{ kind: 'ok', nearLimit: true, grantedAt }]);
    });

    it('reports a plain ok when no answer was near the limit', async () => {
      const calm = withFlow();
      const seen: unknown[] = [];
      calm.deps.flow!.rate.report = async (_s, feedback) => {
        seen.push(feedback);
      };
      calm.deps.executor = {
        execute: async (_op, _payload, context) => {
          context.onUpstreamSignal?.({ nearLimit: false });
          return {};
        },
      };
      await processRequest(calm.deps, { token: TOKEN, receiveCount: 1 });
      expect(seen).toEqual([{ kind: 'ok' }]);
    });

    it('keeps the near-limit signal of an earlier call when a later one fails', async () => {
      const seen: unknown[] = [];
      for (const failure of [
        new UpstreamError('SERVICE_UNAVAILABLE', '503', { status: 503 }),
        new UpstreamError('TIMEOUT', 'timed out'),
      ]) {
        const failing = withFlow();
        failing.deps.flow!.rate.report = async (_s, feedback) => {
          seen.push(feedback);
        };
        failing.deps.executor = {
          execute: async (_op, _payload, context) => {
            context.onUpstreamSignal?.({ nearLimit: true });
            throw failure;
          },
        };
        expect((await processRequest(failing.deps, { token: TOKEN, receiveCount: 1 })).action).toBe('retry');
      }
      expect(seen).toMatchObject([
        { kind: 'ok', nearLimit: true },
        { kind: 'ok', nearLimit: true },
      ]);
    });

    it('passes a real gate the near-limit answer: the bucket stops climbing', async () => {
      const near = withFlow();
      const gate = new InMemoryRateGate();
      near.deps.flow!.rate = gate;
      near.deps.executor = {
        execute: async (_op, _payload, context) => {
          context.onUpstreamSignal?.({ nearLimit: true });
          return {};
        },
      };
      await processRequest(near.deps, { token: TOKEN, receiveCount: 1 });
      expect(gate.state('jira')?.slowUntil).toBe(
        near.clock.now() + DEFAULT_CONFIG.rateControl.adaptive.nearLimitHoldSeconds * 1000,
      );
    });

    it('reports a 429 to the rate gate with its Retry-After and reason', async () => {
      const limited = withFlow();
      const seen: unknown[] = [];
      limited.deps.flow!.rate.report = async (_s, feedback) => {
        seen.push(feedback);
      };
      limited.deps.executor = {
        execute: async () => {
          throw new UpstreamError('RATE_LIMITED', '429', {
            status: 429,
            retryAfterSeconds: 7,
            rateLimitReason: 'jira-burst-based',
          });
        },
      };
      await processRequest(limited.deps, { token: TOKEN, receiveCount: 1 });
      expect(seen).toEqual([{ kind: 'rate_limited', retryAfterSeconds: 7, reason: 'jira-burst-based' }]);
    });
  });
  describe('writes to one issue are serialized', () => {
    const OTHER = `req_${'2'.repeat(32)}`;

    function withLocks(
      operation: RequestRecord['operation'],
      payload: Record<string, unknown>,
      windows?: ServiceWriteWindows,
    ) {
      const ctx = setup(async () => ({ ok: true }));
      const record = ctx.store.records.get(TOKEN)!;
      record.operation = operation;
      record.payload = payload;
      const locks = new InMemoryWriteLocks(windows);
      const gate = new InMemoryRateGate();
      ctx.deps.flow = {
        breaker: new InMemoryCircuitBreaker(),
        rate: gate,
        scopeOf: (r) => callScopeOf(r.operation, r.payload, r.priority),
        writeLocks: locks,
      };
      return { ...ctx, locks, gate };
    }

    const issue = { service: 'jira', objectId: 'MD-7' } as const;

    it('defers a second write to the same issue while the lock is held, without an attempt or a token', async () => {
      const { store, clock, deps, locks, gate, calls } = withLocks('jira.update_task', {
        task_id: 'MD-7',
        title: 'New',
      });
      await locks.acquire(issue, OTHER, clock.now(), clock.now() + 40_000);
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      expect(d).toEqual({ action: 'defer', delaySeconds: 1, outcome: 'object_busy' });
      expect(calls()).toBe(0);
      expect(await store.get(TOKEN)).toMatchObject({
        status: 'queued',
        attempts: 0,
        deferred_reason: 'object_busy',
      });
      // Refused before the rate gate: no token spent on a write that could not run.
      expect(gate.calls).toEqual([]);
      expect(locks.holder(issue)?.owner).toBe(OTHER);

      // Once the holder is done, the write goes through.
      await locks.release(issue, OTHER);
      clock.advance(1_000);
      expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
      expect(calls()).toBe(1);
      expect((await store.get(TOKEN))?.attempts).toBe(1);
    });

    it('defers a write its issue’s write window cannot take yet, for the window’s wait, without an attempt or a token', async () => {
      // 2 at once, then one per second.
      const windows: ServiceWriteWindows = { jira: { burst: 2, intervalMs: 1_000 }, confluence: undefined };
      const { store, clock, deps, locks, gate, calls } = withLocks(
        'jira.add_comment',
        { task_id: 'MD-7', comment: 'c' },
        windows,
      );
      for (const owner of ['w1', 'w2']) {
        expect(await locks.acquire(issue, owner, clock.now(), clock.now() + 40_000)).toEqual({
          acquired: true,
        });
        await locks.release(issue, owner);
      }
      clock.advance(400);
      const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
      // 600 ms to the next room, rounded up to a whole second of SQS delay.
      expect(d).toEqual({ action: 'defer', delaySeconds: 1, outcome: 'object_window' });
      expect(calls()).toBe(0);
      expect(gate.calls).toEqual([]);
      expect(await store.get(TOKEN)).toMatchObject({
        status: 'queued',
        attempts: 0,
        deferred_reason: 'object_window',
        deferred_until: new Date(clock.now() + 600).toISOString(),
      });
      // The refusal took no room: the write goes once the window has some.
      clock.advance(600);
      expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
      expect(calls()).toBe(1);
      // Released, the issue keeps its window.
      expect(locks.holder(issue)).toBeUndefined();
      expect(locks.tatOf(issue)).toBe(clock.now() + 2_000);
    });

    it('lets a write to another issue run while one is locked', async () => {
      const { clock, deps, locks, calls } = withLocks('jira.add_comment', { task_id: 'MD-8', comment: 'c' });
      await locks.acquire(issue, OTHER, clock.now(), clock.now() + 40_000);
      expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
      expect(calls()).toBe(1);
    });

    it('takes over a lock whose holder’s lease expired', async () => {
      const { clock, deps, locks } = withLocks('jira.transition_task', {
        task_id: 'MD-7',
        target_status: 'Done',
      });
      await locks.acquire(issue, OTHER, clock.now(), clock.now() + 40_000);
      clock.advance(40_001);
      expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
      expect(locks.holder(issue)).toBeUndefined();
    });

    it('locks nothing for a read or a create', async () => {
      for (const [operation, payload] of [
        ['jira.get_task', { task_id: 'MD-7' }],
        ['jira.create_task', { title: 'T', project_id: 'MD' }],
      ] as const) {
        const { clock, deps, locks, calls } = withLocks(operation, payload);
        await locks.acquire(issue, OTHER, clock.now(), clock.now() + 40_000);
        expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
        expect(calls()).toBe(1);
        expect(locks.calls.filter((c) => c.owner.startsWith(TOKEN))).toEqual([]);
      }
    });

    it('holds the lock during the call and releases it after a success', async () => {
      const { clock, deps, locks } = withLocks('confluence.update_page', { page_id: '12', content: 'x' });
      const page = { service: 'confluence', objectId: '12' } as const;
      let during: unknown;
      deps.executor = {
        execute: async () => {
          during = locks.holder(page);
          return {};
        },
      };
      expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
      // Held in the name of the request and its claim's lease.
      expect(during).toEqual({
        owner: expect.stringMatching(new RegExp(`^${TOKEN}:[0-9a-f-]{36}$`)),
        expiresAt: clock.now() + deps.leaseSeconds * 1000,
      });
      expect(locks.holder(page)).toBeUndefined();
      expect(locks.calls.map((c) => c.kind)).toEqual(['acquire', 'release']);
    });

    it('releases the lock after a failure, retryable or not', async () => {
      for (const error of [
        new UpstreamError('SERVICE_UNAVAILABLE', '503', { status: 503 }),
        ValidationError.forField('payload.target_status', 'no such status'),
      ]) {
        const { deps, locks } = withLocks('jira.transition_task', { task_id: 'MD-7', target_status: 'Nope' });
        deps.executor = {
          execute: async () => {
            expect(locks.holder(issue)?.owner).toMatch(new RegExp(`^${TOKEN}:`));
            throw error;
          },
        };
        const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
        expect(d.action).toBe(error.retryable ? 'retry' : 'ack');
        expect(locks.holder(issue)).toBeUndefined();
      }
    });

    it('releases the lock when the call cannot go: no token, breaker open', async () => {
      const noToken = withLocks('jira.update_task', { task_id: 'MD-7', title: 'x' });
      noToken.deps.flow!.rate = {
        acquire: async () => ({ granted: false, waitMs: 500, reason: 'no_token' }),
        report: async () => undefined,
      };
      expect((await processRequest(noToken.deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe(
        'no_token',
      );
      expect(noToken.locks.holder(issue)).toBeUndefined();

      const open = withLocks('jira.update_task', { task_id: 'MD-7', title: 'x' });
      open.deps.flow!.breaker.acquire = async () => ({ allowed: false, waitMs: 30_000, state: 'open' });
      expect((await processRequest(open.deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe(
        'breaker_open',
      );
      expect(open.locks.holder(issue)).toBeUndefined();
    });

    it('still records the outcome when releasing fails (the lock then runs out by itself)', async () => {
      const { store, deps, locks } = withLocks('jira.update_task', { task_id: 'MD-7', title: 'x' });
      locks.release = async () => {
        throw new Error('DynamoDB unavailable');
      };
      expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
      expect((await store.get(TOKEN))?.status).toBe('completed');
    });
  });
});
