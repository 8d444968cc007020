import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { ValidationError } from '../../../model/errors.js';
import type { OperationExecutor, WorkQueue } from '../../../lambdas/core/ports/index.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import {
  afterCompletion,
  cacheKeyOf,
  invalidationOf,
  isCacheable,
  isLive,
  lookup,
  ttlSecondsOf,
} from '../../../lambdas/core/domain/read-cache-policy.js';
import { FIRE_AND_FORGET_RETENTION_SECONDS, type RequestRecord } from '../../../model/request-record.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { submit, type SubmitDeps } from '../../../lambdas/core/use-cases/submit.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';
import { InMemoryReadCache } from '../../support/in-memory-read-cache.js';

const CONFIG = { cache: { getTtlSeconds: 300, searchTtlSeconds: 120 } };
const OWNER = 'arn:aws:iam::1:user/a';
const cmd = (body: object) => parseSubmitBody(JSON.stringify(body), 10_000);

describe('read cache policy', () => {
  describe('what is cacheable and for how long', () => {
    it('caches gets and searches, never writes', () => {
      expect(isCacheable('jira.get_task')).toBe(true);
      expect(isCacheable('confluence.search_pages')).toBe(true);
      expect(isCacheable('jira.create_task')).toBe(false);
      expect(isCacheable('confluence.update_page')).toBe(false);
    });

    it('keeps gets getTtlSeconds and searches searchTtlSeconds', () => {
      expect(ttlSecondsOf('jira.get_task', CONFIG)).toBe(300);
      expect(ttlSecondsOf('confluence.get_page', CONFIG)).toBe(300);
      expect(ttlSecondsOf('jira.search_tasks', CONFIG)).toBe(120);
    });
  });

  describe('keys', () => {
    it('do not depend on the order of payload keys, but on every value', () => {
      const a = cacheKeyOf('jira.search_tasks', { jql: 'project = MD', max_results: 5 });
      expect(cacheKeyOf('jira.search_tasks', { max_results: 5, jql: 'project = MD' })).toBe(a);
      expect(cacheKeyOf('jira.search_tasks', { jql: 'project = MD', max_results: 6 })).not.toBe(a);
      expect(a.startsWith('jira.search_tasks#')).toBe(true);
    });
  });

  describe('invalidation', () => {
    it("a write to an issue or page invalidates that object's get and its service's searches", () => {
      for (const operation of ['jira.update_task', 'jira.transition_task', 'jira.add_comment'] as const) {
        expect(invalidationOf(operation, { task_id: 'MD-7' })).toEqual({
          getKeys: [cacheKeyOf('jira.get_task', { task_id: 'MD-7' })],
          searchesOf: 'jira',
        });
      }
      expect(invalidationOf('confluence.update_page', { page_id: '42', content: 'x' })).toEqual({
        getKeys: [cacheKeyOf('confluence.get_page', { page_id: '42' })],
        searchesOf: 'confluence',
      });
    });

    it('a create invalidates only the searches', () => {
      expect(invalidationOf('jira.create_task', { title: 'T', project_id: 'MD' })).toEqual({
        getKeys: [],
        searchesOf: 'jira',
      });
    });
  });

  describe('liveness', () => {
    const entry = { operation: 'jira.get_task' as const, result: 1, cachedAt: 0, expiresAt: 1000 };
    it('an entry past its own expiry is dead, even if storage still has it', () => {
      expect(isLive(entry, 999)).toBe(true);
      expect(isLive(entry, 1000)).toBe(false);
    });

    it('a search is live only at the generation it was made in', () => {
      const search = { ...entry, operation: 'jira.search_tasks' as const, generation: 3 };
      expect(isLive(search, 0, 3)).toBe(true);
      expect(isLive(search, 0, 4)).toBe(false);
      expect(isLive({ ...search, generation: undefined }, 0, 0)).toBe(false);
    });
  });

  describe('lookup and afterCompletion', () => {
    it('stores a read, serves it until it expires, and a write to the object deletes it', async () => {
      const cache = new InMemoryReadCache();
      const payload = { task_id: 'MD-1' };
      await afterCompletion(cache, CONFIG, {
        operation: 'jira.get_task',
        payload,
        result: { key: 'MD-1' },
        now: 0,
      });
      expect((await lookup(cache, 'jira.get_task', payload, 299_999))?.result).toEqual({ key: 'MD-1' });
      expect(await lookup(cache, 'jira.get_task', payload, 300_000)).toBeUndefined();

      await afterCompletion(cache, CONFIG, {
        operation: 'jira.add_comment',
        payload: { ...payload, comment: 'c' },
        result: {},
        now: 1,
      });
      expect(cache.entries.size).toBe(0);
    });

    it('a search is a miss once any write of its service completed', async () => {
      const cache = new InMemoryReadCache();
      const payload = { jql: 'project = MD' };
      await afterCompletion(cache, CONFIG, {
        operation: 'jira.search_tasks',
        payload,
        result: [],
        now: 0,
        generation: 0,
      });
      expect(await lookup(cache, 'jira.search_tasks', payload, 1)).toBeDefined();
      await afterCompletion(cache, CONFIG, {
        operation: 'confluence.create_page',
        payload: { title: 'P', content: 'x', space_id: 'MD' },
        result: {},
        now: 1,
      });
      expect(await lookup(cache, 'jira.search_tasks', payload, 2)).toBeDefined();
      await afterCompletion(cache, CONFIG, {
        operation: 'jira.create_task',
        payload: { title: 'T', project_id: 'MD' },
        result: {},
        now: 2,
      });
      expect(await lookup(cache, 'jira.search_tasks', payload, 3)).toBeUndefined();
    });

    it('does not store a search without the generation read before its call', async () => {
      const cache = new InMemoryReadCache();
      await afterCompletion(cache, CONFIG, {
        operation: 'jira.search_tasks',
        payload: { jql: 'x' },
        result: [],
        now: 0,
      });
      expect(cache.entries.size).toBe(0);
    });
  });
});

describe('submit with the read cache', () => {
  function setup() {
    const store = new InMemoryStore();
    const sent: string[] = [];
    const cache = new InMemoryReadCache();
    const clock = new FakeClock();
    const failures: unknown[] = [];
    const deps: SubmitDeps = {
      store,
      queue: { send: async (_q: string, token: string) => void sent.push(token) } as unknown as WorkQueue,
      clock,
      config: { retentionDays: 7 },
      cache,
      onCacheFailure: (err) => failures.push(err),
    };
    return { store, sent, cache, clock, deps, failures };
  }
  const read = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };

  it('answers a live entry as cached, storing and queueing nothing', async () => {
    const { store, sent, cache, clock, deps } = setup();
    await afterCompletion(cache, CONFIG, {
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1' },
      result: { key: 'MD-1' },
      now: clock.now(),
    });
    const answer = await submit(deps, cmd(read), OWNER);
    expect(answer).toEqual({
      status: 'cached',
      routing_path: 'CACHE',
      result: { key: 'MD-1' },
      cached_at: new Date(clock.now()).toISOString(),
      cache: 'hit',
    });
    expect(store.records.size).toBe(0);
    expect(sent).toEqual([]);
  });

  it('queues a miss, and reads with fresh or an idempotency key skip the cache', async () => {
    const { sent, cache, clock, deps } = setup();
    expect(await submit(deps, cmd(read), OWNER)).toMatchObject({ status: 'queued', cache: 'miss' });
    await afterCompletion(cache, CONFIG, {
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1' },
      result: {},
      now: clock.now(),
    });
    expect(await submit(deps, cmd({ ...read, fresh: true }), OWNER)).toMatchObject({
      status: 'queued',
      cache: 'bypass',
    });
    expect(await submit(deps, cmd({ ...read, idempotency_key: 'k1' }), OWNER)).toMatchObject({
      status: 'queued',
      cache: 'bypass',
    });
    expect(sent).toHaveLength(3);
  });

  it('a failing cache is a miss, not a failed submit', async () => {
    const { cache, deps, failures } = setup();
    cache.failure = new Error('DynamoDB down');
    expect(await submit(deps, cmd(read), OWNER)).toMatchObject({ status: 'queued', cache: 'miss' });
    expect(failures).toHaveLength(1);
  });

  it('marks a fire-and-forget request on its record and answer', async () => {
    const { store, deps } = setup();
    const answer = await submit(
      deps,
      cmd({
        operation: 'jira.create_task',
        payload: { title: 'T', project_id: 'MD' },
        fire_and_forget: true,
      }),
      OWNER,
    );
    expect(answer).toMatchObject({ status: 'queued', fire_and_forget: true, cache: 'none' });
    expect([...store.records.values()][0]?.fire_and_forget).toBe(true);
  });
});

describe('processRequest with the read cache', () => {
  const TOKEN = `req_${'1'.repeat(32)}`;
  function setup(record: Partial<RequestRecord>, execute: OperationExecutor['execute']) {
    const store = new InMemoryStore();
    const clock = new FakeClock();
    const cache = new InMemoryReadCache();
    const failures: unknown[] = [];
    const deps: ProcessDeps = {
      store,
      clock,
      executor: { execute },
      config: DEFAULT_CONFIG,
      leaseSeconds: 40,
      cache,
      onCacheFailure: (_token, err) => failures.push(err),
      random: () => 0,
    };
    void store.insert({
      token: TOKEN,
      owner: 'o',
      operation: 'jira.get_task',
      service: 'jira',
      priority: 'normal',
      payload: { task_id: 'MD-1' },
      status: 'queued',
      routing_path: 'QUEUED',
      attempts: 0,
      created_at: new Date(clock.now()).toISOString(),
      updated_at: new Date(clock.now()).toISOString(),
      ...record,
    });
    return { store, clock, cache, deps, failures };
  }

  it('a completed read stores its result', async () => {
    const { cache, clock, deps } = setup({}, async () => ({ key: 'MD-1' }));
    await processRequest(deps, { token: TOKEN, receiveCount: 1 });
    expect((await lookup(cache, 'jira.get_task', { task_id: 'MD-1' }, clock.now()))?.result).toEqual({
      key: 'MD-1',
    });
  });

  it('a search made while a write completed is stamped with the generation before its call', async () => {
    const s = setup({ operation: 'jira.search_tasks', payload: { jql: 'project = MD' } }, async () => []);
    s.deps.executor = {
      execute: async () => {
        await s.cache.bumpGeneration('jira');
        return [];
      },
    };
    await processRequest(s.deps, { token: TOKEN, receiveCount: 1 });
    expect(s.cache.entries.size).toBe(1);
    expect(
      await lookup(s.cache, 'jira.search_tasks', { jql: 'project = MD' }, s.clock.now()),
    ).toBeUndefined();
  });

  it("a completed write deletes its object's get entry and bumps its service's generation", async () => {
    const { cache, clock, deps } = setup(
      { operation: 'jira.update_task', payload: { task_id: 'MD-1', title: 'New' } },
      async () => ({}),
    );
    await afterCompletion(cache, CONFIG, {
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1' },
      result: {},
      now: clock.now(),
    });
    await processRequest(deps, { token: TOKEN, receiveCount: 1 });
    expect(cache.entries.size).toBe(0);
    expect(cache.generations.get('jira')).toBe(1);
  });

  it('a failing cache never fails the request', async () => {
    const { store, cache, deps, failures } = setup({}, async () => ({ key: 'MD-1' }));
    cache.failure = new Error('DynamoDB down');
    expect(await processRequest(deps, { token: TOKEN, receiveCount: 1 })).toEqual({
      action: 'ack',
      outcome: 'completed',
    });
    expect((await store.get(TOKEN))?.status).toBe('completed');
    expect(failures.length).toBeGreaterThan(0);
  });

  it('a completed fire-and-forget record expires after an hour, a failed one after the retention', async () => {
    const done = setup({ fire_and_forget: true }, async () => ({}));
    await processRequest(done.deps, { token: TOKEN, receiveCount: 1 });
    expect((await done.store.get(TOKEN))?.expires_at).toBe(
      Math.floor(done.clock.now() / 1000) + FIRE_AND_FORGET_RETENTION_SECONDS,
    );
    const failed = setup({ fire_and_forget: true }, async () => {
      throw ValidationError.forField('payload.task_id', 'no such issue');
    });
    await processRequest(failed.deps, { token: TOKEN, receiveCount: 1 });
    expect((await failed.store.get(TOKEN))?.expires_at).toBe(
      Math.floor(failed.clock.now() / 1000) + DEFAULT_CONFIG.retentionDays * 24 * 3600,
    );
  });
});
