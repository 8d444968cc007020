import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../lib/config/riq-config.js';
import { UpstreamError, ValidationError } from '../../../lambdas/core/errors.js';
import type { OperationExecutor } from '../../../lambdas/core/ports.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/process-request.js';
import type { RequestRecord } from '../../../lambdas/core/request-record.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

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
  const record: RequestRecord = {
    token: TOKEN,
    owner: 'o',
    operation: 'jira.create_task',
    service: 'jira',
    priority: 'normal',
    payload: { title: 'T', project_id: 'MD' },
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: new Date(clock.now()).toISOString(),
    updated_at: new Date(clock.now()).toISOString(),
  };
  void store.insert(record);
  return { store, clock, deps, calls: () => calls };
}

describe('processRequest', () => {
  it('completes the request with the result and an expiry', async () => {
    const { store, deps } = setup(async () => ({ key: 'MD-1' }));
    const d = await processRequest(deps, { token: TOKEN, receiveCount: 1 });
    expect(d).toEqual({ action: 'ack', outcome: 'completed' });
    const r = await store.get(TOKEN);
    expect(r).toMatchObject({ status: 'completed', result: { key: 'MD-1' }, attempts: 1 });
    expect(r?.expires_at).toBeGreaterThan(Date.now() / 1000);
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
    expect(d).toMatchObject({ action: 'retry', outcome: 'busy' });
    expect(d.action === 'retry' && d.delaySeconds).toBeGreaterThanOrEqual(40);
    expect(calls()).toBe(0);
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

  it('marks the request dead on the last attempt and releases the message to the DLQ', async () => {
    const { store, deps } = setup(async () => {
      throw new UpstreamError('TIMEOUT', 'timed out');
    });
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

  it('processes a dead request again when its message is redriven', async () => {
    let fail = true;
    const { store, deps } = setup(async () => {
      if (fail) throw new UpstreamError('SERVICE_UNAVAILABLE', 'down');
      return { key: 'MD-9' };
    });
    await processRequest(deps, { token: TOKEN, receiveCount: 4 });
    expect((await store.get(TOKEN))?.status).toBe('dead');
    fail = false;
    expect((await processRequest(deps, { token: TOKEN, receiveCount: 1 })).outcome).toBe('completed');
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
});
