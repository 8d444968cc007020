/**
 * DynamoDB trouble on the request path (throttling, errors) is a deferral, never a lost step: no
 * attempt, no spent receive (the message is re-sent, not kept), no breaker failure, and an outcome
 * already reached is never lost to a later best-effort step.
 */
import { ProvisionedThroughputExceededException, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { CallNotMadeError } from '../../../model/errors.js';
import type { FlowControl } from '../../../lambdas/core/domain/flow-gate.js';
import {
  STORE_RETRY_WAIT_MS,
  processRequest,
  type ProcessDeps,
  type StoreStep,
} from '../../../lambdas/core/use-cases/process-request.js';
import { cacheKeyOf } from '../../../lambdas/core/domain/read-cache-policy.js';
import type { OperationName } from '../../../model/operations.js';
import { callScopeOf } from '../../../lambdas/core/domain/token-bucket.js';
import { sweep } from '../../../lambdas/core/use-cases/sweeper.js';
import {
  InMemoryBreakerStateStore,
  InMemoryCircuitBreaker,
} from '../../support/in-memory-circuit-breaker.js';
import { InMemoryRateGate } from '../../support/in-memory-rate-gate.js';
import { InMemoryReadCache } from '../../support/in-memory-read-cache.js';
import { FakeClock, InMemoryStore, queuedRecord } from '../../support/in-memory-store.js';
import { InMemoryWriteLocks } from '../../support/in-memory-write-locks.js';

const TOKEN = `req_${'7'.repeat(32)}`;

function throttled(): Error {
  return new ProvisionedThroughputExceededException({ message: 'throughput exceeded', $metadata: {} });
}

function setup(operation: OperationName = 'jira.update_task', payload: Record<string, unknown> = {}) {
  const store = new InMemoryStore();
  const clock = new FakeClock();
  const breakerState = new InMemoryBreakerStateStore();
  const locks = new InMemoryWriteLocks();
  const rate = new InMemoryRateGate();
  const flow: FlowControl = {
    breaker: new InMemoryCircuitBreaker(undefined, breakerState),
    rate,
    scopeOf: (r) => callScopeOf(r.operation, r.payload, r.priority),
    writeLocks: locks,
  };
  const cache = new InMemoryReadCache();
  const failures: Array<{ step: StoreStep; err: unknown }> = [];
  let calls = 0;
  const deps: ProcessDeps = {
    store,
    clock,
    flow,
    cache,
    executor: {
      execute: async () => {
        calls += 1;
        return { key: 'MD-7' };
      },
    },
    config: DEFAULT_CONFIG,
    leaseSeconds: 40,
    random: () => 0,
    onStoreFailure: (_token, step, err) => void failures.push({ step, err }),
  };
  const record = queuedRecord(clock, {
    token: TOKEN,
    owner: 'o',
    operation,
    service: 'jira',
    payload: Object.keys(payload).length > 0 ? payload : { task_id: 'MD-7', title: 'New' },
  });
  void store.insert(record);
  return { store, clock, deps, flow, locks, cache, breakerState, failures, calls: () => calls };
}

const deferred = { action: 'defer', delaySeconds: STORE_RETRY_WAIT_MS / 1000, outcome: 'store_unavailable' };

describe('processRequest under DynamoDB trouble', () => {
  it('defers when the claim is throttled: nothing called, nothing counted', async () => {
    const { store, deps, failures, calls } = setup();
    store.claim = async () => {
      throw throttled();
    };
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual(deferred);
    expect(calls()).toBe(0);
    expect(failures.map((f) => f.step)).toEqual(['claim']);
  });

  it('defers when the gate is throttled, giving the record back without an attempt', async () => {
    const { store, deps, flow, failures, calls } = setup();
    flow.rate.acquire = async () => {
      throw new ThrottlingException({
        message: 'rate of requests exceeds the allowed throughput',
        $metadata: {},
      });
    };
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual(deferred);
    expect(calls()).toBe(0);
    expect(failures.map((f) => f.step)).toEqual(['gate']);
    expect(await store.get(TOKEN)).toMatchObject({
      status: 'queued',
      attempts: 0,
      deferred_reason: 'store_unavailable',
    });
  });

  it('takes the attempt back and tells the breaker nothing when the call record cannot be written', async () => {
    const { store, deps, breakerState, failures } = setup();
    deps.executor = {
      execute: async () => {
        throw new CallNotMadeError('call record not written', { cause: throttled() });
      },
    };
    // Five in a row would open the breaker for everyone if they counted as upstream failures.
    for (let i = 0; i < 6; i++) {
      expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual(deferred);
    }
    expect(failures.map((f) => f.step)).toEqual(Array(6).fill('call_record'));
    expect(breakerState.stateOf('jira').state).toBe('closed');
    expect(await store.get(TOKEN)).toMatchObject({ status: 'queued', attempts: 0, calls: 0 });
  });

  it('completes a successful call even when reporting it to the breaker and the bucket fails', async () => {
    const { store, deps, flow, failures } = setup();
    flow.breaker.report = async () => {
      throw throttled();
    };
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
      action: 'ack',
      outcome: 'completed',
    });
    expect(failures.map((f) => f.step)).toEqual(['report']);
    expect((await store.get(TOKEN))?.status).toBe('completed');
  });

  it('defers, never drops, a completion the store refused; the next delivery completes it', async () => {
    const { store, clock, deps, failures } = setup();
    const complete = store.complete.bind(store);
    let refuse = true;
    store.complete = async (...args) => {
      if (refuse) throw throttled();
      return complete(...args);
    };
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual(deferred);
    expect(failures.map((f) => f.step)).toEqual(['settle']);
    expect(await store.get(TOKEN)).toMatchObject({ status: 'queued', deferred_reason: 'store_unavailable' });
    refuse = false;
    clock.advance(STORE_RETRY_WAIT_MS);
    expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
  });

  it('retries a write’s cache invalidation before it reports the write completed', async () => {
    const { store, deps, cache } = setup();
    const getKey = cacheKeyOf('jira.get_task', { task_id: 'MD-7' });
    await cache.put(getKey, {
      operation: 'jira.get_task',
      result: { old: true },
      cachedAt: 0,
      expiresAt: 9e15,
    });
    const remove = cache.delete.bind(cache);
    let failuresLeft = 2;
    cache.delete = async (keys) => {
      if (failuresLeft-- > 0) throw throttled();
      return remove(keys);
    };
    expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
    expect(await cache.get(getKey)).toBeUndefined();
    expect((await store.get(TOKEN))?.status).toBe('completed');
  });

  it('defers the completion of a write whose invalidation keeps failing: no stale read after a completed write', async () => {
    const { store, deps, cache, failures } = setup();
    const getKey = cacheKeyOf('jira.get_task', { task_id: 'MD-7' });
    await cache.put(getKey, {
      operation: 'jira.get_task',
      result: { old: true },
      cachedAt: 0,
      expiresAt: 9e15,
    });
    cache.delete = async () => {
      throw throttled();
    };
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual(deferred);
    expect(failures.map((f) => f.step)).toEqual(['invalidate']);
    expect((await store.get(TOKEN))?.status).toBe('queued');
    expect(await cache.get(getKey)).toBeDefined();
  });
});

describe('the sweeper and a request waiting out its retry', () => {
  it('does not re-send a request released with a Retry-After longer than its staleness', async () => {
    const { store, clock, deps } = setup();
    deps.executor = {
      execute: async () => {
        const { UpstreamError } = await import('../../../model/errors.js');
        throw new UpstreamError('RATE_LIMITED', '429', { status: 429, retryAfterSeconds: 1800 });
      },
    };
    expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).action).toBe('retry');
    const sent: string[] = [];
    const sweepNow = () =>
      sweep({
        store,
        queue: { send: async (_q, token) => void sent.push(token) },
        clock,
        staleQueuedSeconds: 120,
        batchSize: 10,
      });
    clock.advance(10 * 60_000);
    await sweepNow();
    expect(sent).toEqual([]);
    // Once its wait (and the staleness after it) is over, a lost message is repaired as usual.
    clock.advance(20 * 60_000 + 121_000);
    await sweepNow();
    expect(sent).toEqual([TOKEN]);
  });
});
