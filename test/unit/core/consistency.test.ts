/** `after_consistency_token` through the use cases: submit, the worker's release, the sweeper. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { RiqError, UpstreamError } from '../../../model/errors.js';
import type { OperationName } from '../../../model/operations.js';
import type { CallContext, WorkQueue } from '../../../lambdas/core/ports/index.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { submit, type SubmitAnswer, type SubmitDeps } from '../../../lambdas/core/use-cases/submit.js';
import { sweep } from '../../../lambdas/core/use-cases/sweeper.js';
import { InMemoryDependencyStore } from '../../support/in-memory-dependencies.js';
import { InMemoryReadCache } from '../../support/in-memory-read-cache.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

const OWNER = 'arn:aws:iam::1:user/a';
const OTHER = 'arn:aws:iam::1:user/b';

type Execute = (operation: OperationName, payload: Record<string, unknown>) => Promise<unknown>;

function setup(execute: Execute = async () => ({ ok: true })) {
  const store = new InMemoryStore();
  const dependencies = new InMemoryDependencyStore(store);
  const sent: string[] = [];
  const queue = { send: async (_queue: string, token: string) => void sent.push(token) };
  const clock = new FakeClock();
  const contexts: Array<{ operation: OperationName; context: CallContext }> = [];
  let n = 0;
  const submitDeps: SubmitDeps = {
    store,
    queue: queue as unknown as WorkQueue,
    clock,
    config: { retentionDays: 7 },
    newToken: () => `req_${String(++n).padStart(32, '0')}`,
    dependencies,
    cache: new InMemoryReadCache(),
  };
  const processDeps: ProcessDeps = {
    store,
    executor: {
      execute: async (operation, payload, context) => {
        contexts.push({ operation, context });
        return execute(operation, payload);
      },
    },
    clock,
    config: DEFAULT_CONFIG,
    leaseSeconds: 40,
    cache: submitDeps.cache!,
    dependencies,
    queue,
  };
  const post = async (body: object, owner = OWNER) =>
    submit(submitDeps, parseSubmitBody(JSON.stringify(body), 100_000), owner);
  const run = (token: string) => processRequest(processDeps, { token, receiveCount: 1 });
  return { store, dependencies, queue, sent, clock, contexts, post, run };
}

const update = { operation: 'jira.update_task', payload: { task_id: 'MD-1', title: 'new' } };
const get = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };
const notFound = async () => {
  throw new UpstreamError('NOT_FOUND', 'no issue', { status: 404 });
};

function stored(answer: SubmitAnswer) {
  if (answer.status === 'cached') throw new Error('expected a stored request, got a cached answer');
  return answer;
}

async function errorOf(p: Promise<unknown>): Promise<RiqError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RiqError) return err;
    throw err;
  }
  throw new Error('expected a RiqError');
}

describe('after_consistency_token', () => {
  it('waits for an unfinished write, bypassing a live cache entry, then reads fresh', async () => {
    let title = 'old';
    const { post, run, store, sent } = setup(async (operation) =>
      operation === 'jira.update_task'
        ? ((title = 'new'), { id: '10001', key: 'MD-1' })
        : { key: 'MD-1', title },
    );
    await run(stored(await post(get)).token);
    expect((await post(get)).status).toBe('cached');

    const write = stored(await post(update));
    expect(write.consistency_token).toMatch(/^cst_[0-9a-f]{32}$/);
    const read = stored(await post({ ...get, after_consistency_token: write.consistency_token }));
    expect(read.status).toBe('waiting');
    expect(read.cache).toBe('bypass');
    expect((await store.get(read.token))?.after_write).toBe(write.token);
    expect((await store.get(read.token))?.depends_on).toBeUndefined();
    expect(sent).not.toContain(read.token);

    await run(write.token);
    expect(sent).toContain(read.token);
    await run(read.token);
    expect(await store.get(read.token)).toMatchObject({ status: 'completed', result: { title: 'new' } });
  });

  it('is satisfied by a write that failed: the waiting request runs, it does not fail', async () => {
    const { post, run, store, sent } = setup(async (operation) => {
      if (operation === 'jira.update_task') return notFound();
      return { key: 'MD-1' };
    });
    const write = stored(await post(update));
    const read = stored(await post({ ...get, after_consistency_token: write.consistency_token }));
    expect(read.status).toBe('waiting');
    await run(write.token);
    expect((await store.get(write.token))?.status).toBe('failed');
    expect((await store.get(read.token))?.status).toBe('queued');
    expect(sent).toContain(read.token);
    await run(read.token);
    expect((await store.get(read.token))?.status).toBe('completed');
  });

  it('queues at once after a write that already finished, completed or failed', async () => {
    for (const execute of [async () => ({ id: '1' }), notFound]) {
      const { post, run, sent } = setup(execute);
      const write = stored(await post(update));
      await run(write.token);
      const read = stored(await post({ ...get, after_consistency_token: write.consistency_token }));
      expect(read.status).toBe('queued');
      expect(sent).toContain(read.token);
    }
  });

  it('counts an unknown (expired or never issued) token as satisfied', async () => {
    const { post, store, sent } = setup();
    const read = stored(await post({ ...get, after_consistency_token: `cst_${'e'.repeat(32)}` }));
    expect(read.status).toBe('queued');
    expect(read.cache).toBe('bypass');
    expect(sent).toEqual([read.token]);
    expect((await store.get(read.token))?.after_write).toBeUndefined();
  });

  it("answers NOT_FOUND naming the field for another caller's write, writing nothing", async () => {
    const { post, store } = setup();
    const write = stored(await post(update, OTHER));
    const before = store.records.size;
    const err = await errorOf(post({ ...get, after_consistency_token: write.consistency_token }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.details?.['field']).toBe('after_consistency_token');
    expect(store.records.size).toBe(before);
  });

  it('keeps the depends_on rule for a token that is also in depends_on', async () => {
    const { post, run, store } = setup(async (operation) =>
      operation === 'jira.update_task' ? notFound() : { ok: true },
    );
    const write = stored(await post(update));
    const child = stored(
      await post({ ...get, depends_on: [write.token], after_consistency_token: write.consistency_token }),
    );
    await run(write.token);
    expect((await store.get(child.token))?.error).toMatchObject({ code: 'DEPENDENCY_FAILED' });
  });

  it('passes the written issue id to a Jira search as reconcileIssues', async () => {
    const { post, run, contexts } = setup(async (operation) =>
      operation === 'jira.create_task' ? { id: '10042', key: 'MD-42' } : { tasks: [] },
    );
    const write = stored(
      await post({ operation: 'jira.create_task', payload: { title: 'T', project_id: 'MD' } }),
    );
    const search = { operation: 'jira.search_tasks', payload: { jql: 'project = MD' } };
    const read = stored(await post({ ...search, after_consistency_token: write.consistency_token }));
    await run(write.token);
    await run(read.token);
    const plain = stored(await post({ ...search, fresh: true }));
    await run(plain.token);
    const searches = contexts.filter((c) => c.operation === 'jira.search_tasks');
    expect(searches[0]?.context.reconcileIssues).toEqual([10042]);
    expect(searches[1]?.context.reconcileIssues).toBeUndefined();
  });

  it('is released by the sweeper when the write finished but its release was missed', async () => {
    const { post, run, store, sent, dependencies, clock, queue } = setup(notFound);
    const write = stored(await post(update));
    const read = stored(await post({ ...get, after_consistency_token: write.consistency_token }));
    // The write's worker crashed after its final write, before the release.
    await run(write.token);
    const record = store.records.get(read.token)!;
    Object.assign(record, { status: 'waiting', waiting_on: [write.token] });
    sent.length = 0;
    clock.advance(10 * 60_000);
    await sweep({
      store,
      queue: queue as unknown as WorkQueue,
      clock,
      dependencies,
      staleQueuedSeconds: 120,
      batchSize: 10,
    });
    expect((await store.get(read.token))?.status).toBe('queued');
    expect(sent).toContain(read.token);
  });
});
