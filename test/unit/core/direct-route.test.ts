/**
 * Adaptive routing's DIRECT path through the submit use case, with the real in-memory bucket,
 * breaker, write locks, cache and dependency store: what is called directly, what is queued, and
 * how a DIRECT call is settled.
 */
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig, type RiqConfig } from '../../../model/config/riq-config.js';
import { breakerSettingsOf } from '../../../lambdas/core/domain/breaker.js';
import {
  directBreakerOutcome,
  directRoute,
  type DirectDeps,
} from '../../../lambdas/core/use-cases/direct-route.js';
import { UpstreamError, ValidationError } from '../../../model/errors.js';
import type { OperationName } from '../../../model/operations.js';
import type {
  CallContext,
  SendOptions,
  SettledRecord,
  WorkQueue,
} from '../../../lambdas/core/ports/index.js';
import { PointsMeteredExecutor } from '../../../lambdas/core/domain/points-metering.js';
import { callScopeOf } from '../../../lambdas/core/domain/token-bucket.js';
import { STORE_RETRY_WAIT_MS, processRequest } from '../../../lambdas/core/use-cases/process-request.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { submit, type SubmitDeps, type SubmitResponse } from '../../../lambdas/core/use-cases/submit.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';
import { InMemoryDependencyStore } from '../../support/in-memory-dependencies.js';
import { InMemoryPointsBudget } from '../../support/in-memory-points-budget.js';
import { InMemoryRateGate } from '../../support/in-memory-rate-gate.js';
import { InMemoryReadCache } from '../../support/in-memory-read-cache.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';
import { InMemoryWriteLocks } from '../../support/in-memory-write-locks.js';

const OWNER = 'arn:aws:iam::1:user/a';
const TIMEOUT_MS = 3000;

type Execute = (operation: OperationName, payload: Record<string, unknown>) => Promise<unknown>;

function setup(execute: Execute = async () => ({ key: 'MD-1', id: '10001' }), overrides: object = {}) {
  const config: RiqConfig = resolveConfig(overrides);
  const store = new InMemoryStore();
  const clock = new FakeClock();
  const breaker = new InMemoryCircuitBreaker(breakerSettingsOf(config));
  const rate = new InMemoryRateGate(config);
  const locks = new InMemoryWriteLocks();
  const cache = new InMemoryReadCache();
  const dependencies = new InMemoryDependencyStore(store);
  const sent: Array<{ token: string; options?: SendOptions }> = [];
  const deadLettered: string[] = [];
  const queue = {
    send: async (_q: string, token: string, options?: SendOptions) => void sent.push({ token, options }),
    sendToDeadLetter: async (_q: string, token: string) => void deadLettered.push(token),
  };
  const calls: Array<{ operation: OperationName; context: CallContext }> = [];
  let n = 0;
  const directDeps: DirectDeps = {
    store,
    clock,
    config,
    leaseSeconds: 40,
    random: () => 0,
    executor: {
      execute: async (operation, payload, context) => {
        calls.push({ operation, context });
        return execute(operation, payload);
      },
    },
    flow: {
      breaker,
      rate,
      writeLocks: locks,
      scopeOf: (r) => callScopeOf(r.operation, r.payload, r.priority),
    },
    cache,
    dependencies,
    queue,
    timeoutMs: TIMEOUT_MS,
  };
  const submitDeps: SubmitDeps = {
    store,
    queue: queue as unknown as WorkQueue,
    clock,
    config,
    newToken: () => `req_${String(++n).padStart(32, '0')}`,
    cache,
    dependencies,
    direct: directRoute(directDeps),
  };
  const post = async (body: object) =>
    (await submit(submitDeps, parseSubmitBody(JSON.stringify(body), 100_000), OWNER)) as SubmitResponse;
  return {
    store,
    clock,
    breaker,
    rate,
    locks,
    cache,
    sent,
    deadLettered,
    calls,
    submitDeps,
    directDeps,
    post,
  };
}

const get = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };
const create = { operation: 'jira.create_task', payload: { title: 'T', project_id: 'MD' } };
const update = { operation: 'jira.update_task', payload: { task_id: 'MD-1', title: 'new' } };

describe('adaptive routing: DIRECT', () => {
  it('calls a request with a token at once and answers completed with the result, nothing queued', async () => {
    const { post, store, sent, calls } = setup();
    const answer = await post(create);
    expect(answer).toMatchObject({
      status: 'completed',
      routing_path: 'DIRECT',
      result: { key: 'MD-1', id: '10001' },
      consistency_token: expect.stringMatching(/^cst_/),
      direct: { kind: 'called' },
    });
    expect(sent).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.context).toMatchObject({ token: answer.token, attempt: 1 });
    expect(await store.get(answer.token)).toMatchObject({
      status: 'completed',
      routing_path: 'DIRECT',
      attempts: 1,
      result: { key: 'MD-1', id: '10001' },
    });
  });

  it('stores a request the gate let through once, already processing under its lease with its attempt begun', async () => {
    const { post, store, calls, directDeps } = setup();
    const inserted: Array<{ status: string; attempts: number; routing_path: string; lease: boolean }> = [];
    const insert = store.insert.bind(store);
    store.insert = async (record, idem, options) => {
      inserted.push({
        status: record.status,
        attempts: record.attempts,
        routing_path: record.routing_path,
        lease: options?.leaseId !== undefined && record.lease_expires_at !== undefined,
      });
      return insert(record, idem, options);
    };
    // Seen mid-call: the record is the DIRECT attempt's, its lease live (a worker finds it busy).
    let during: unknown;
    directDeps.executor = {
      execute: async (_op, _payload, context) => {
        calls.push({ operation: 'jira.get_task', context });
        during = await processRequest(directDeps, { token: context.token, receiveCount: 1 });
        return { key: 'MD-1' };
      },
    };
    const answer = await post(get);
    expect(answer).toMatchObject({ status: 'completed', routing_path: 'DIRECT' });
    expect(inserted).toEqual([{ status: 'processing', attempts: 1, routing_path: 'DIRECT', lease: true }]);
    expect(during).toMatchObject({ action: 'defer', outcome: 'busy' });
    expect(calls).toHaveLength(1);
  });

  it('stores a request the gate refused queued, its attempts untouched, and never stores it twice', async () => {
    const { post, store, breaker, clock } = setup();
    for (let i = 0; i < 5; i++) await breaker.report('jira', 'failure', false, clock.now());
    const inserted: string[] = [];
    const insert = store.insert.bind(store);
    store.insert = async (record, idem, options) => {
      inserted.push(record.status);
      return insert(record, idem, options);
    };
    const answer = await post(get);
    expect(answer).toMatchObject({ status: 'queued', direct: { kind: 'skipped', reason: 'breaker_open' } });
    expect(inserted).toEqual(['queued']);
    expect(await store.get(answer.token)).toMatchObject({
      status: 'queued',
      attempts: 0,
      routing_path: 'QUEUED',
    });
  });

  it('a repeated submit with the same idempotency key answers the same request, calls nothing again and gives its write lock back', async () => {
    const { post, calls, locks, clock } = setup();
    const keyed = { ...update, idempotency_key: 'k-1' };
    const first = await post(keyed);
    expect(first).toMatchObject({ status: 'completed', routing_path: 'DIRECT' });
    const again = await post(keyed);
    expect(again).toMatchObject({ token: first.token, status: 'completed', duplicate: true });
    expect(calls).toHaveLength(1);
    // The repeated submit's gate took the issue's lock; it was given back with nothing called.
    expect(
      await locks.acquire(
        { service: 'jira', objectId: 'MD-1' },
        'req_other',
        clock.now(),
        clock.now() + 1000,
      ),
    ).toEqual({ acquired: true });
  });

  it('bounds the whole operation by the DIRECT deadline', async () => {
    const { post, calls, clock } = setup();
    await post(get);
    expect(calls[0]!.context.deadline).toBe(clock.now() + TIMEOUT_MS);
  });

  it('takes tokens from the shared bucket: a burst beyond it is queued, and only the tokens are calls', async () => {
    const burst = 10;
    const { post, sent, calls } = setup(undefined, {
      services: { jira: { burst, ratePerMinute: 60, reserves: { normal: 0, low: 0 } } },
      // The bucket's own arithmetic: no call-jitter margin.
      rateControl: { callJitterMs: 0 },
    });
    const answers = [];
    // The clock stands still: no token is refilled during the burst.
    for (let i = 0; i < burst + 5; i++) answers.push(await post({ ...get, fresh: true }));
    expect(answers.filter((a) => a.routing_path === 'DIRECT')).toHaveLength(burst);
    const queued = answers.filter((a) => a.routing_path === 'QUEUED');
    expect(queued).toHaveLength(5);
    expect(queued.every((a) => a.status === 'queued' && a.direct?.kind === 'skipped')).toBe(true);
    expect(queued.map((a) => a.direct)).toContainEqual({ kind: 'skipped', reason: 'no_token' });
    expect(sent.map((s) => s.token).sort()).toEqual(queued.map((a) => a.token).sort());
    expect(calls).toHaveLength(burst);
  });

  it('queues a request refused for want of tokens delayed to the rate slot it was given, carrying it', async () => {
    // 1 token/s, burst 2, no reserves: two DIRECT calls, then slots 1 s apart from the refill.
    const { post, sent, clock, rate, directDeps } = setup(undefined, {
      services: { jira: { burst: 2, ratePerMinute: 60, reserves: { normal: 0, low: 0 } } },
      // The bucket's own arithmetic: no call-jitter margin.
      rateControl: { callJitterMs: 0 },
    });
    const t0 = clock.now();
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await post({ ...get, fresh: true }));
    expect(answers.map((a) => a.routing_path)).toEqual(['DIRECT', 'DIRECT', 'QUEUED', 'QUEUED', 'QUEUED']);
    expect(sent.map((s) => s.options)).toEqual([
      { delaySeconds: 1, slotAt: t0 + 1_000 },
      { delaySeconds: 2, slotAt: t0 + 2_000 },
      { delaySeconds: 3, slotAt: t0 + 3_000 },
    ]);
    expect(rate.state('jira')?.lines).toEqual({ normal: t0 + 4_000 });
    // The worker's first delivery, at its slot, takes the token: no deferral.
    clock.advance(1_000);
    const first = await processRequest(directDeps, {
      token: answers[2]!.token,
      receiveCount: 1,
      slotAt: sent[0]!.options!.slotAt!,
    });
    expect(first).toEqual({ action: 'ack', outcome: 'completed' });
  });

  it('charges the points of the call it makes and settles them: a first comment costs 1', async () => {
    // One point a second, 100 s of burst: 100 points; the clock stands still.
    const overrides = {
      services: { jira: { points: { quotaPerHour: 3600, windowSeconds: 3600, burstSeconds: 100 } } },
    };
    const { post, clock, directDeps, calls } = setup(
      async () => ({ id: '10001', issue_key: 'MD-1', url: 'u', created: 'c' }),
      overrides,
    );
    const points = new InMemoryPointsBudget(resolveConfig(overrides), 'oauth');
    directDeps.flow.points = points;
    directDeps.executor = new PointsMeteredExecutor(directDeps.executor, { budget: points, clock });
    const answer = await post({ operation: 'jira.add_comment', payload: { task_id: 'MD-1', comment: 'c' } });
    expect(answer).toMatchObject({ status: 'completed', routing_path: 'DIRECT' });
    expect(calls.map((c) => c.context.attempt)).toEqual([1]);
    expect(points.calls.flatMap((c) => (c.kind === 'charge' ? [c.estimate] : []))).toEqual([1]);
    expect((await points.view('jira', clock.now())).points).toBe(99);
  });

  it('leaves the priority reserves to higher priorities', async () => {
    const { post } = setup(undefined, {
      services: { jira: { burst: 10, ratePerMinute: 60, reserves: { normal: 0.1, low: 0.3 } } },
      // The bucket's own arithmetic: no call-jitter margin.
      rateControl: { callJitterMs: 0 },
    });
    const lows = [];
    for (let i = 0; i < 10; i++) lows.push(await post({ ...get, fresh: true, priority: 'low' }));
    expect(lows.filter((a) => a.routing_path === 'DIRECT')).toHaveLength(7);
    const high = await post({ ...get, fresh: true, priority: 'high' });
    expect(high.routing_path).toBe('DIRECT');
  });

  it('queues without calling while the breaker is open, and never makes a DIRECT call the half-open probe', async () => {
    const { post, breaker, clock, calls, sent } = setup();
    for (let i = 0; i < DEFAULT_CONFIG.breaker.failureThreshold; i++) {
      await breaker.report('jira', 'failure', false, clock.now());
    }
    const whileOpen = await post(get);
    expect(whileOpen).toMatchObject({
      status: 'queued',
      routing_path: 'QUEUED',
      direct: { kind: 'skipped', reason: 'breaker_open' },
    });

    clock.advance(DEFAULT_CONFIG.breaker.recoverySeconds * 1000 + 1);
    const halfOpen = await post({ ...get, fresh: true });
    expect(halfOpen.direct).toEqual({ kind: 'skipped', reason: 'breaker_half_open' });
    expect(calls).toEqual([]);
    expect(sent.map((s) => s.token)).toEqual([whileOpen.token, halfOpen.token]);
    // The probe was given back: a worker may take it now.
    expect(await breaker.acquire('jira', clock.now())).toEqual({ allowed: true, probe: true });
  });

  it('queues a write whose issue another request is writing to', async () => {
    const { post, locks, clock, calls } = setup();
    await locks.acquire(
      { service: 'jira', objectId: 'MD-1' },
      'req_other',
      clock.now(),
      clock.now() + 30_000,
    );
    const answer = await post(update);
    expect(answer).toMatchObject({ status: 'queued', direct: { kind: 'skipped', reason: 'object_busy' } });
    expect(calls).toEqual([]);
  });

  it('after a retryable failure queues the request with the attempt counted and the backoff as delay', async () => {
    const { post, store, sent, breaker, clock } = setup(async () => {
      throw new UpstreamError('SERVICE_UNAVAILABLE', 'HTTP 503', { status: 503 });
    });
    const answer = await post(create);
    expect(answer).toMatchObject({ status: 'queued', routing_path: 'QUEUED', direct: { kind: 'called' } });
    expect(sent).toEqual([{ token: answer.token, options: { delaySeconds: 1 } }]);
    expect(await store.get(answer.token)).toMatchObject({
      status: 'queued',
      routing_path: 'QUEUED',
      attempts: 1,
      error: { code: 'SERVICE_UNAVAILABLE' },
    });
    // A 503 is upstream trouble: the breaker counts it.
    expect((await breaker.view('jira', clock.now())).failure_count).toBe(1);
    // The worker's claim keeps the path QUEUED.
    const claim = await store.claim(answer.token, clock.now() + 2000, 40);
    expect(claim.kind === 'claimed' && claim.record.routing_path).toBe('QUEUED');
  });

  it('does not count its own short deadline against Atlassian', async () => {
    const { post, breaker, clock } = setup(async () => {
      throw new UpstreamError('TIMEOUT', 'timed out after 3000 ms', { timeoutMs: 3000 });
    });
    expect((await post(get)).status).toBe('queued');
    expect((await breaker.view('jira', clock.now())).failure_count).toBe(0);
    expect(directBreakerOutcome(new UpstreamError('SERVICE_UNAVAILABLE', 'reset'))).toBe('failure');
    expect(directBreakerOutcome(undefined)).toBe('success');
  });

  it('answers failed with the error when Atlassian refuses the request for good', async () => {
    const { post, sent } = setup(async () => {
      throw ValidationError.forField('project', 'valid project is required');
    });
    const answer = await post(create);
    expect(answer).toMatchObject({
      status: 'failed',
      routing_path: 'DIRECT',
      error: { code: 'VALIDATION_ERROR', retryable: false },
    });
    expect(sent).toEqual([]);
  });

  it('puts a last failed attempt in the DLQ, as a worker would', async () => {
    const { post, deadLettered, sent, store } = setup(
      async () => {
        throw new UpstreamError('SERVICE_UNAVAILABLE', 'HTTP 503', { status: 503 });
      },
      { retry: { maxAttempts: 1 } },
    );
    const answer = await post(create);
    expect(answer.status).toBe('dead');
    expect(deadLettered).toEqual([answer.token]);
    expect(sent).toEqual([]);
    expect((await store.get(answer.token))?.routing_path).toBe('QUEUED');
  });

  it('never calls routing "queued", fire_and_forget, depends_on or after_consistency_token requests', async () => {
    const { post, calls, store } = setup();
    const parent = await post({ ...create, routing: 'queued' });
    expect(parent).toMatchObject({
      status: 'queued',
      routing_path: 'QUEUED',
      direct: { kind: 'ineligible' },
    });
    const forgotten = await post({ ...update, fire_and_forget: true });
    expect(forgotten.direct).toEqual({ kind: 'ineligible' });
    const child = await post({ ...update, depends_on: [parent.token] });
    expect(child.status).toBe('waiting');
    const after = await post({ ...get, after_consistency_token: parent.consistency_token });
    expect(after.status).toBe('waiting');
    expect(calls).toEqual([]);
    expect((await store.get(parent.token))?.status).toBe('queued');
  });

  it('fills the read cache, and a DIRECT write invalidates it', async () => {
    const { post, calls } = setup(async (operation) =>
      operation === 'jira.get_task' ? { key: 'MD-1', title: 'old' } : { key: 'MD-1', id: '10001' },
    );
    expect((await post(get)).routing_path).toBe('DIRECT');
    expect(await post(get)).toMatchObject({ status: 'cached', routing_path: 'CACHE' });
    expect((await post(update)).routing_path).toBe('DIRECT');
    expect((await post(get)).routing_path).toBe('DIRECT');
    expect(calls.map((c) => c.operation)).toEqual(['jira.get_task', 'jira.update_task', 'jira.get_task']);
  });

  it('releases the dependents registered while the DIRECT call ran', async () => {
    let child: SubmitResponse | undefined;
    const ctx = setup(async (operation) => {
      if (operation === 'jira.create_task') {
        // The child arrives while its parent's DIRECT call is in flight.
        child = await ctx.post({
          operation: 'jira.add_comment',
          payload: { task_id: `{{${parentToken()}.key}}`, comment: 'hi' },
          depends_on: [parentToken()],
        });
      }
      return { key: 'MD-7', id: '10007' };
    });
    const parentToken = () => `req_${'1'.padStart(32, '0')}`;
    const parent = await ctx.post(create);
    expect(parent).toMatchObject({ token: parentToken(), status: 'completed', routing_path: 'DIRECT' });
    expect(child?.status).toBe('waiting');
    expect((await ctx.store.get(child!.token))?.status).toBe('queued');
    expect(ctx.sent.map((s) => s.token)).toEqual([child!.token]);
  });

  it('queues the request when the DIRECT attempt itself fails, and reports it', async () => {
    const { submitDeps, store, sent } = setup();
    const failures: string[] = [];
    submitDeps.direct = {
      admit: async () => {
        throw new Error('DynamoDB unavailable');
      },
      call: async () => {
        throw new Error('never called');
      },
    };
    submitDeps.onDirectFailure = (token) => failures.push(token);
    const answer = (await submit(
      submitDeps,
      parseSubmitBody(JSON.stringify(get), 100_000),
      OWNER,
    )) as SubmitResponse;
    expect(answer).toMatchObject({ status: 'queued', direct: { kind: 'skipped', reason: 'error' } });
    expect(failures).toEqual([answer.token]);
    expect(sent.map((s) => s.token)).toEqual([answer.token]);
    expect((await store.get(answer.token))?.status).toBe('queued');
  });
});

/**
 * Once the request is stored, a DIRECT problem is never the caller's error: a submit answered 500
 * for a stored request (a load run: the function ran out of time while DynamoDB was slow, and middy
 * answered `TimeoutError: [AbortError]`) invites a retry that writes twice. The request is answered
 * `queued` with its token and left where the worker and the sweeper finish it.
 */
describe('adaptive routing: DIRECT problems after the request is stored', () => {
  const failuresOf = (submitDeps: SubmitDeps) => {
    const failures: Array<{ token: string; err: unknown }> = [];
    submitDeps.onDirectFailure = (token, err) => failures.push({ token, err });
    return failures;
  };

  it('answers queued with the token when the attempt does not answer in time, and leaves its lease to the worker and the sweeper', async () => {
    const { post, submitDeps, directDeps, store, sent, calls, clock } = setup();
    // The write after the call hangs (DynamoDB slowed by a saturated CPU), then fails.
    const complete = store.complete.bind(store);
    let hang = true;
    let failLate: (err: unknown) => void = () => undefined;
    store.complete = (...args) =>
      hang ? new Promise<SettledRecord | undefined>((_, reject) => (failLate = reject)) : complete(...args);
    const failures = failuresOf(submitDeps);
    submitDeps.directWaitMs = () => 20;

    const answer = await post(create);
    expect(answer).toMatchObject({
      token: expect.stringMatching(/^req_/),
      status: 'queued',
      routing_path: 'QUEUED',
      direct: { kind: 'skipped', reason: 'timeout' },
    });
    expect(answer.poll_url).toBe(`/api/queue/result/${answer.token}`);
    expect(failures).toEqual([{ token: answer.token, err: expect.objectContaining({ code: 'TIMEOUT' }) }]);
    expect(sent.map((s) => s.token)).toEqual([answer.token]);
    // Called once, its attempt counted; the record is still the DIRECT attempt's, under its lease.
    expect(calls).toHaveLength(1);
    expect(await store.get(answer.token)).toMatchObject({ status: 'processing', attempts: 1 });
    // The message's worker does not call a second time while that lease lives.
    const early = await processRequest(directDeps, { token: answer.token, receiveCount: 1 });
    expect(early).toMatchObject({ action: 'defer', outcome: 'busy' });
    expect(calls).toHaveLength(1);

    // The write after the call fails late: the attempt defers the request (the store is in trouble),
    // and its delayed message brings it back to a worker.
    failLate(new DOMException('The operation was aborted', 'AbortError'));
    await vi.waitFor(async () =>
      expect(await store.get(answer.token)).toMatchObject({
        status: 'queued',
        deferred_reason: 'store_unavailable',
      }),
    );
    expect(sent.map((s) => s.token)).toEqual([answer.token, answer.token]);

    // A worker takes it over as the second call (a create whose first outcome is unknown is
    // reconciled by the adapter on any call after the first).
    hang = false;
    clock.advance(STORE_RETRY_WAIT_MS);
    const later = await processRequest(directDeps, { token: answer.token, receiveCount: 1 });
    expect(later).toMatchObject({ action: 'ack', outcome: 'completed' });
    expect(calls.map((c) => c.context.attempt)).toEqual([1, 2]);
  });

  it('does not start an attempt it has no time to wait for', async () => {
    const { post, submitDeps, store, sent, calls } = setup();
    submitDeps.directWaitMs = () => 0;
    const answer = await post(create);
    expect(answer).toMatchObject({ status: 'queued', direct: { kind: 'skipped', reason: 'no_time' } });
    expect(calls).toEqual([]);
    expect(sent.map((s) => s.token)).toEqual([answer.token]);
    expect(await store.get(answer.token)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('queues, never fails, a call that threw a raw abort (its outcome is unknown)', async () => {
    const { post, store, sent } = setup(async () => {
      throw new DOMException('The operation was aborted', 'TimeoutError');
    });
    const answer = await post(create);
    expect(answer).toMatchObject({ status: 'queued', routing_path: 'QUEUED', direct: { kind: 'called' } });
    expect(sent.map((s) => s.token)).toEqual([answer.token]);
    expect(await store.get(answer.token)).toMatchObject({
      status: 'queued',
      attempts: 1,
      error: { code: 'INTERNAL_ERROR', retryable: true },
    });
  });

  it('answers queued with the token when the write after the call throws: deferred, its message sent', async () => {
    const { post, submitDeps, store, sent, calls } = setup();
    store.complete = async () => {
      throw new DOMException('The operation was aborted', 'AbortError');
    };
    const failures = failuresOf(submitDeps);
    const answer = await post(create);
    expect(answer).toMatchObject({ status: 'queued', direct: { kind: 'called' } });
    expect(failures).toEqual([]);
    expect(sent).toEqual([
      expect.objectContaining({ token: answer.token, options: expect.objectContaining({ delaySeconds: 2 }) }),
    ]);
    expect(calls).toHaveLength(1);
    expect(await store.get(answer.token)).toMatchObject({
      status: 'queued',
      attempts: 1,
      deferred_reason: 'store_unavailable',
    });
  });
});
