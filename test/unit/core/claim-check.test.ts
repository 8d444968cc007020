/**
 * Bodies of any size (claim check): payloads and results over `bodies.offloadBytes` live in the
 * body store with a pointer in the record; a result that cannot be stored ends the request `failed`
 * with RESULT_TOO_LARGE and is never called again; a transient store failure is a deferral.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import {
  ResultTooLargeError,
  answerResult,
  bodyKey,
  loadPayload,
  storePayload,
  storeResult,
} from '../../../lambdas/core/domain/claim-check.js';
import { BodyRejectedError } from '../../../model/errors.js';
import { getResult, type ResultDeps } from '../../../lambdas/core/use-cases/get-result.js';
import type { OperationName } from '../../../model/operations.js';
import type { WorkQueue } from '../../../lambdas/core/ports/index.js';
import {
  STORE_RETRY_WAIT_MS,
  processRequest,
  type ProcessDeps,
} from '../../../lambdas/core/use-cases/process-request.js';
import { cacheKeyOf } from '../../../lambdas/core/domain/read-cache-policy.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { submitRequest, type SubmitDeps } from '../../../lambdas/core/use-cases/submit.js';
import { InMemoryBodyStore } from '../../support/in-memory-body-store.js';
import { InMemoryReadCache } from '../../support/in-memory-read-cache.js';
import { FakeClock, InMemoryStore, queuedRecord } from '../../support/in-memory-store.js';

const TOKEN = `req_${'5'.repeat(32)}`;
const OWNER = 'arn:aws:iam::1:user/a';
const LIMITS = {
  ...DEFAULT_CONFIG.bodies,
  offloadBytes: 1024,
  maxResultBytes: 8 * 1024,
  inlineResultBytes: 4096,
};

/** A JSON value whose serialized size is about `bytes`. */
const sized = (bytes: number) => ({ body: 'x'.repeat(bytes) });
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

describe('claim check', () => {
  describe('storePayload', () => {
    it('keeps a payload up to offloadBytes in the record', async () => {
      const bodies = new InMemoryBodyStore();
      const payload = sized(100);
      expect(await storePayload(bodies, LIMITS, TOKEN, payload)).toEqual({ payload });
      expect(bodies.puts).toBe(0);
    });

    it('stores a larger payload under the token and leaves a pointer and an empty payload', async () => {
      const bodies = new InMemoryBodyStore();
      const payload = sized(5000);
      const stored = await storePayload(bodies, LIMITS, TOKEN, payload);
      expect(stored).toEqual({
        payload: {},
        payload_ref: { key: `requests/${TOKEN}/payload.json`, size_bytes: size(payload) },
      });
      expect(await loadPayload(bodies, { token: TOKEN, ...stored })).toEqual(payload);
    });

    it('answers NOT_FOUND for a payload the store no longer has', async () => {
      const ref = { key: bodyKey(TOKEN, 'payload'), size_bytes: 5000 };
      await expect(
        loadPayload(new InMemoryBodyStore(), { token: TOKEN, payload: {}, payload_ref: ref }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', retryable: false });
    });
  });

  describe('storeResult', () => {
    it('keeps a small result inline and stores a larger one, up to maxResultBytes', async () => {
      const bodies = new InMemoryBodyStore();
      expect(await storeResult(bodies, LIMITS, TOKEN, sized(10))).toEqual({ result: sized(10) });
      const big = sized(6000);
      expect(await storeResult(bodies, LIMITS, TOKEN, big)).toEqual({
        result_ref: { key: `requests/${TOKEN}/result.json`, size_bytes: size(big) },
      });
      expect(JSON.parse(bodies.objects.get(`requests/${TOKEN}/result.json`)!)).toEqual(big);
    });

    it('refuses a result over maxResultBytes with RESULT_TOO_LARGE without storing it', async () => {
      const bodies = new InMemoryBodyStore();
      const err = await storeResult(bodies, LIMITS, TOKEN, sized(9000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResultTooLargeError);
      expect(err).toMatchObject({ code: 'RESULT_TOO_LARGE', retryable: false });
      expect(bodies.puts).toBe(0);
    });

    it('turns a refusal for good into RESULT_TOO_LARGE and passes a transient error on', async () => {
      await expect(
        storeResult(InMemoryBodyStore.refusing(), LIMITS, TOKEN, sized(2000)),
      ).rejects.toMatchObject({ code: 'RESULT_TOO_LARGE' });
      const flaky = new InMemoryBodyStore();
      flaky.putFailure = new Error('connection reset');
      const err = await storeResult(flaky, LIMITS, TOKEN, sized(2000)).catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(ResultTooLargeError);
      expect((err as Error).message).toBe('connection reset');
    });
  });

  describe('answerResult', () => {
    it('answers inline up to inlineResultBytes and as a presigned URL above it', async () => {
      const bodies = new InMemoryBodyStore();
      const now = Date.parse('2026-11-23T10:00:00Z');
      const medium = await storeResult(bodies, LIMITS, TOKEN, sized(3000));
      expect(await answerResult(bodies, LIMITS, medium, now)).toEqual({ result: sized(3000) });
      const large = await storeResult(bodies, LIMITS, TOKEN, sized(6000));
      expect(await answerResult(bodies, LIMITS, large, now)).toEqual({
        result_url: `memory://requests/${TOKEN}/result.json?expires=${LIMITS.resultUrlSeconds}`,
        result_size_bytes: size(sized(6000)),
        result_url_expires_at: new Date(now + LIMITS.resultUrlSeconds * 1000).toISOString(),
      });
    });
  });
});

function worker(operation: OperationName, result: unknown, payload: Record<string, unknown>) {
  const store = new InMemoryStore();
  const clock = new FakeClock();
  const bodies = new InMemoryBodyStore();
  const cache = new InMemoryReadCache();
  const seen: Array<Record<string, unknown>> = [];
  const deps: ProcessDeps = {
    store,
    clock,
    bodies,
    cache,
    executor: {
      execute: async (_op, p) => {
        seen.push(p);
        return result;
      },
    },
    config: { ...DEFAULT_CONFIG, bodies: LIMITS },
    leaseSeconds: 40,
    random: () => 0,
  };
  const record = queuedRecord(clock, {
    token: TOKEN,
    owner: OWNER,
    operation,
    service: operation.startsWith('jira') ? 'jira' : 'confluence',
    payload,
  });
  void store.insert(record);
  return { store, clock, bodies, cache, deps, seen };
}

describe('processRequest with large bodies', () => {
  it('completes with a pointer to a large result, and the read cache keeps the pointer', async () => {
    const page = { id: '1', body: 'x'.repeat(6000) };
    const { store, bodies, cache, deps } = worker('confluence.get_page', page, { page_id: '1' });
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toMatchObject({
      outcome: 'completed',
    });
    const record = (await store.get(TOKEN))!;
    expect(record.result).toBeUndefined();
    expect(record.result_ref).toEqual({ key: bodyKey(TOKEN, 'result'), size_bytes: size(page) });
    expect(JSON.parse(bodies.objects.get(bodyKey(TOKEN, 'result'))!)).toEqual(page);
    const entry = cache.entries.get(cacheKeyOf('confluence.get_page', { page_id: '1' }));
    expect(entry).toMatchObject({ result: null, resultRef: record.result_ref });
  });

  it('ends a result over maxResultBytes failed with RESULT_TOO_LARGE; a redelivery never calls again', async () => {
    const { store, bodies, deps, seen } = worker('jira.search_tasks', sized(9000), { jql: 'project = MD' });
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
      action: 'ack',
      outcome: 'failed',
    });
    expect(await store.get(TOKEN)).toMatchObject({
      status: 'failed',
      error: { code: 'RESULT_TOO_LARGE', retryable: false, details: { attempt: 1 } },
    });
    expect(bodies.puts).toBe(0);
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 2 })).toEqual({
      action: 'ack',
      outcome: 'already-finished',
    });
    expect(seen).toHaveLength(1);
  });

  it('ends a result the body store refuses for good failed with RESULT_TOO_LARGE', async () => {
    const { store, bodies, deps } = worker('confluence.get_page', sized(2000), { page_id: '1' });
    bodies.putFailure = new BodyRejectedError('AccessDenied');
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toMatchObject({
      outcome: 'failed',
    });
    expect((await store.get(TOKEN))?.error?.code).toBe('RESULT_TOO_LARGE');
  });

  it('defers (store_unavailable) when storing the result fails transiently', async () => {
    const { store, bodies, deps } = worker('confluence.get_page', sized(2000), { page_id: '1' });
    bodies.putFailure = new Error('503 SlowDown');
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
      action: 'defer',
      delaySeconds: STORE_RETRY_WAIT_MS / 1000,
      outcome: 'store_unavailable',
    });
    expect(await store.get(TOKEN)).toMatchObject({ status: 'queued', deferred_reason: 'store_unavailable' });
    bodies.putFailure = undefined;
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toMatchObject({
      outcome: 'completed',
    });
  });

  it('calls with the payload loaded from the body store', async () => {
    const content = 'x'.repeat(5000);
    const { store, bodies, deps, seen } = worker('confluence.update_page', { id: '1' }, {});
    const stored = await storePayload(bodies, LIMITS, TOKEN, { page_id: '1', content });
    Object.assign(store.records.get(TOKEN)!, stored);
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toMatchObject({
      outcome: 'completed',
    });
    expect(seen).toEqual([{ page_id: '1', content }]);
  });

  it('fails NOT_FOUND without calling when the stored payload is gone', async () => {
    const { store, deps, seen } = worker('confluence.update_page', { id: '1' }, {});
    store.records.get(TOKEN)!.payload_ref = { key: bodyKey(TOKEN, 'payload'), size_bytes: 5000 };
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toMatchObject({
      outcome: 'failed',
    });
    expect((await store.get(TOKEN))?.error?.code).toBe('NOT_FOUND');
    expect(seen).toHaveLength(0);
  });

  it('defers without calling when the body store cannot be read', async () => {
    const { store, bodies, deps, seen } = worker('confluence.update_page', { id: '1' }, {});
    Object.assign(store.records.get(TOKEN)!, await storePayload(bodies, LIMITS, TOKEN, sized(5000)));
    bodies.getFailure = new Error('connection reset');
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toMatchObject({
      action: 'defer',
      outcome: 'store_unavailable',
    });
    expect(seen).toHaveLength(0);
    expect(await store.get(TOKEN)).toMatchObject({ status: 'queued', attempts: 0 });
  });
});

describe('submit and result with large bodies', () => {
  it('stores a large payload in the body store and the record with a pointer', async () => {
    const store = new InMemoryStore();
    const bodies = new InMemoryBodyStore();
    const deps: SubmitDeps = {
      store,
      bodies,
      queue: { send: async () => undefined } as unknown as WorkQueue,
      clock: new FakeClock(),
      config: { retentionDays: 7, bodies: LIMITS },
      newToken: () => TOKEN,
    };
    const payload = { title: 'Big', space_id: 'MD', content: 'x'.repeat(5000) };
    const body = JSON.stringify({ operation: 'confluence.create_page', payload });
    await submitRequest(deps, parseSubmitBody(body, 100_000), OWNER);
    const record = (await store.get(TOKEN))!;
    expect(record.payload).toEqual({});
    expect(record.payload_ref?.key).toBe(bodyKey(TOKEN, 'payload'));
    expect(JSON.parse(bodies.objects.get(bodyKey(TOKEN, 'payload'))!)).toEqual(payload);
  });

  it('answers GET /result with a presigned URL for a result over inlineResultBytes', async () => {
    const store = new InMemoryStore();
    const bodies = new InMemoryBodyStore();
    const clock = new FakeClock();
    const big = sized(6000);
    const { result_ref } = (await storeResult(bodies, LIMITS, TOKEN, big)) as { result_ref: never };
    await store.insert({
      token: TOKEN,
      owner: OWNER,
      operation: 'jira.search_tasks',
      service: 'jira',
      priority: 'normal',
      payload: { jql: 'project = MD' },
      status: 'completed',
      routing_path: 'QUEUED',
      attempts: 1,
      created_at: 'x',
      updated_at: 'x',
      result_ref,
    });
    const deps: ResultDeps = {
      store,
      clock,
      bodies,
      limits: LIMITS,
      longPollCapSeconds: 25,
      changes: { waitForChange: async () => {}, hearsAllWrites: () => false },
    };
    const view = await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 0 });
    expect(view.result).toBeUndefined();
    expect(view).toMatchObject({
      result_url: expect.stringContaining(bodyKey(TOKEN, 'result')),
      result_size_bytes: size(big),
    });
  });
});
