/** depends_on through the use cases: submit, the worker's release and templates, the sweeper. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { UpstreamError } from '../../../model/errors.js';
import type { OperationName } from '../../../model/operations.js';
import type { WorkQueue } from '../../../lambdas/core/ports/index.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { submit, type SubmitDeps, type SubmitResponse } from '../../../lambdas/core/use-cases/submit.js';
import { sweep } from '../../../lambdas/core/use-cases/sweeper.js';
import { InMemoryDependencyStore } from '../../support/in-memory-dependencies.js';
import { InMemoryReadCache } from '../../support/in-memory-read-cache.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

const OWNER = 'arn:aws:iam::1:user/a';
const OTHER = 'arn:aws:iam::1:user/b';

class RecordingQueue {
  sent: Array<{ queue: string; token: string }> = [];
  fail = false;
  async send(queue: string, token: string) {
    if (this.fail) throw new Error('SQS unavailable');
    this.sent.push({ queue, token });
  }
}

type Execute = (operation: OperationName, payload: Record<string, unknown>) => Promise<unknown>;

function setup(execute: Execute = async () => ({ ok: true })) {
  const store = new InMemoryStore();
  const dependencies = new InMemoryDependencyStore(store);
  const queue = new RecordingQueue();
  const clock = new FakeClock();
  const calls: Array<{ operation: OperationName; payload: Record<string, unknown> }> = [];
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
  const releaseFailures: string[] = [];
  const processDeps: ProcessDeps = {
    store,
    executor: {
      execute: async (operation, payload) => {
        calls.push({ operation, payload });
        return execute(operation, payload);
      },
    },
    clock,
    config: DEFAULT_CONFIG,
    leaseSeconds: 40,
    dependencies,
    queue,
    onReleaseFailure: (token) => releaseFailures.push(token),
  };
  const post = async (body: object, owner = OWNER) =>
    (await submit(submitDeps, parseSubmitBody(JSON.stringify(body), 100_000), owner)) as SubmitResponse;
  const run = (token: string) => processRequest(processDeps, { token, receiveCount: 1 });
  return { store, dependencies, queue, clock, calls, post, run, submitDeps, processDeps, releaseFailures };
}

const create = { operation: 'jira.create_task', payload: { title: 'T', project_id: 'MD' } };

/** The sweeper, once the stranded records are older than its threshold. */
function sweepTenMinutesLater(
  deps: Pick<Parameters<typeof sweep>[0], 'store' | 'queue' | 'dependencies'> & { clock: FakeClock },
) {
  deps.clock.advance(10 * 60_000);
  return sweep({ ...deps, staleQueuedSeconds: 120, batchSize: 10 });
}

describe('depends_on', () => {
  describe('submit', () => {
    it('stores a child waiting on an unfinished parent and sends nothing for it', async () => {
      const { post, queue, store } = setup();
      const parent = await post(create);
      const child = await post({
        operation: 'jira.add_comment',
        payload: { task_id: `{{${parent.token}.key}}`, comment: 'hi' },
        depends_on: [parent.token],
      });
      expect(child.status).toBe('waiting');
      expect(queue.sent.map((s) => s.token)).toEqual([parent.token]);
      expect((await store.get(child.token))?.waiting_on).toEqual([parent.token]);
    });

    it('queues a child whose parents all completed', async () => {
      const { post, run, queue } = setup(async () => ({ key: 'MD-1' }));
      const parent = await post(create);
      await run(parent.token);
      const child = await post({
        operation: 'jira.get_task',
        payload: { task_id: 'MD-1' },
        depends_on: [parent.token],
      });
      expect(child.status).toBe('queued');
      expect(queue.sent.map((s) => s.token)).toEqual([parent.token, child.token]);
    });

    it('fails at once a child of a failed parent, naming it', async () => {
      const { post, run, store } = setup(async () => {
        throw new UpstreamError('NOT_FOUND', 'no issue', { status: 404 });
      });
      const parent = await post({ operation: 'jira.get_task', payload: { task_id: 'MD-9' } });
      await run(parent.token);
      const child = await post({ ...create, depends_on: [parent.token] });
      expect(child.status).toBe('failed');
      expect((await store.get(child.token))?.error).toMatchObject({
        code: 'DEPENDENCY_FAILED',
        details: { dependency: parent.token },
      });
    });

    it('answers NOT_FOUND naming the entry for an unknown or foreign dependency, writing nothing', async () => {
      const { post, store } = setup();
      const parent = await post(create, OTHER);
      const before = store.records.size;
      const unknown = `req_${'f'.repeat(32)}`;
      await expect(post({ ...create, depends_on: [unknown] })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        details: { field: 'depends_on.0' },
      });
      const own = await post(create);
      const sizeWithOwn = store.records.size;
      await expect(post({ ...create, depends_on: [own.token, parent.token] })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        details: { field: 'depends_on.1' },
      });
      expect(sizeWithOwn).toBe(before + 1);
      expect(store.records.size).toBe(sizeWithOwn);
    });

    it.each(['depends_on', 'after_consistency_token'] as const)(
      'rejects the same idempotency key with another %s as IDEMPOTENCY_CONFLICT, writing nothing',
      async (field) => {
        const { post, store } = setup();
        const [a, b] = [await post(create), await post(create)];
        const waitFor = (t: SubmitResponse) =>
          field === 'depends_on'
            ? { depends_on: [t.token] }
            : { after_consistency_token: t.consistency_token };
        const body = { ...create, idempotency_key: 'k', ...waitFor(a) };
        const first = await post(body);
        expect(first.status).toBe('waiting');
        const size = store.records.size;
        for (const other of [
          { ...body, ...waitFor(b) },
          { ...create, idempotency_key: 'k' },
        ]) {
          await expect(post(other)).rejects.toMatchObject({
            code: 'IDEMPOTENCY_CONFLICT',
            details: { token: first.token },
          });
        }
        expect(store.records.size).toBe(size);
        expect(await post(body)).toMatchObject({ token: first.token, duplicate: true });
      },
    );

    it('never answers a read with dependencies from the cache', async () => {
      const { post, run, submitDeps } = setup(async () => ({ key: 'MD-1' }));
      const parent = await post(create);
      await run(parent.token);
      const read = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };
      await submitDeps.cache!.put('x', { operation: 'jira.get_task', result: 1, cachedAt: 0, expiresAt: 1 });
      const answer = await post({ ...read, depends_on: [parent.token] });
      expect(answer.status).toBe('queued');
      expect(answer.token).toBeDefined();
    });
  });

  describe('worker', () => {
    it('runs a three-step chain in order, each step using its parent’s result', async () => {
      const { post, run, queue, calls, store } = setup(async (operation) =>
        operation === 'jira.create_task' ? { id: '10001', key: 'MD-7' } : { ok: true },
      );
      const created = await post(create);
      const comment = await post({
        operation: 'jira.add_comment',
        payload: { task_id: `{{${created.token}.key}}`, comment: 'made {{not a placeholder}}' },
        depends_on: [created.token],
      });
      const transition = await post({
        operation: 'jira.transition_task',
        payload: { task_id: `{{${created.token}.key}}`, target_status: 'Done' },
        depends_on: [comment.token, created.token],
      });
      expect([comment.status, transition.status]).toEqual(['waiting', 'waiting']);

      expect((await run(created.token)).outcome).toBe('completed');
      expect(queue.sent.map((s) => s.token)).toEqual([created.token, comment.token]);
      expect((await store.get(transition.token))?.waiting_on).toEqual([comment.token]);
      expect((await run(comment.token)).outcome).toBe('completed');
      expect(queue.sent.map((s) => s.token)).toEqual([created.token, comment.token, transition.token]);
      expect((await run(transition.token)).outcome).toBe('completed');

      expect(calls).toEqual([
        { operation: 'jira.create_task', payload: { title: 'T', project_id: 'MD' } },
        {
          operation: 'jira.add_comment',
          payload: { task_id: 'MD-7', comment: 'made {{not a placeholder}}' },
        },
        { operation: 'jira.transition_task', payload: { task_id: 'MD-7', target_status: 'Done' } },
      ]);
    });

    it('fails the whole chain with DEPENDENCY_FAILED when the first step fails', async () => {
      const { post, run, store, calls } = setup(async () => {
        throw new UpstreamError('NOT_FOUND', 'no issue', { status: 404 });
      });
      const first = await post({ operation: 'jira.get_task', payload: { task_id: 'MD-9' } });
      const second = await post({ ...create, depends_on: [first.token] });
      const third = await post({ ...create, depends_on: [second.token] });
      expect((await run(first.token)).outcome).toBe('failed');
      expect((await store.get(second.token))?.error).toMatchObject({
        code: 'DEPENDENCY_FAILED',
        details: { dependency: first.token, dependency_status: 'failed' },
      });
      expect((await store.get(third.token))?.status).toBe('failed');
      expect((await store.get(third.token))?.error?.details).toMatchObject({ dependency: second.token });
      expect(calls).toHaveLength(1);
    });

    it('fails with VALIDATION_ERROR a template whose path does not resolve, and its children', async () => {
      const { post, run, store, calls } = setup(async () => ({ id: '1' }));
      const created = await post(create);
      const comment = await post({
        operation: 'jira.add_comment',
        payload: { task_id: `{{${created.token}.key}}`, comment: 'x' },
        depends_on: [created.token],
      });
      const after = await post({ ...create, depends_on: [comment.token] });
      await run(created.token);
      expect((await run(comment.token)).outcome).toBe('failed');
      expect((await store.get(comment.token))?.error).toMatchObject({ code: 'VALIDATION_ERROR' });
      expect((await store.get(after.token))?.error?.code).toBe('DEPENDENCY_FAILED');
      expect(calls).toHaveLength(1);
    });

    it('fails with VALIDATION_ERROR a resolved payload the schema refuses', async () => {
      const { post, run, store } = setup(async () => ({ key: 'not an issue key!' }));
      const created = await post(create);
      const comment = await post({
        operation: 'jira.add_comment',
        payload: { task_id: `{{${created.token}.key}}`, comment: 'x' },
        depends_on: [created.token],
      });
      await run(created.token);
      expect((await run(comment.token)).outcome).toBe('failed');
      expect((await store.get(comment.token))?.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { field: 'payload.task_id' },
      });
    });

    it('keeps the parent completed when sending a released child fails; the sweeper sends it later', async () => {
      const { post, run, queue, store, releaseFailures, clock, dependencies } = setup(async () => ({
        key: 'MD-1',
      }));
      const parent = await post(create);
      const child = await post({ ...create, depends_on: [parent.token] });
      queue.fail = true;
      expect((await run(parent.token)).outcome).toBe('completed');
      expect(releaseFailures).toEqual([child.token]);
      expect((await store.get(child.token))?.status).toBe('queued');
      queue.fail = false;
      const report = await sweepTenMinutesLater({ store, queue, clock, dependencies });
      expect(report.requeued).toBe(1);
      expect(queue.sent.at(-1)?.token).toBe(child.token);
    });
  });

  describe('sweeper', () => {
    it('reconciles a child left waiting after its parent finished without a release', async () => {
      const { post, run, queue, store, clock, dependencies, processDeps } = setup(async () => ({
        key: 'MD-1',
      }));
      const parent = await post(create);
      const child = await post({ ...create, depends_on: [parent.token] });
      delete processDeps.dependencies; // the worker "crashed" before its release
      await run(parent.token);
      expect((await store.get(child.token))?.status).toBe('waiting');
      const report = await sweepTenMinutesLater({ store, queue, clock, dependencies });
      expect(report).toMatchObject({ reconciled_waiting: 1, released_dependents: 1, failed_dependents: 0 });
      expect((await store.get(child.token))?.status).toBe('queued');
      expect(queue.sent.at(-1)?.token).toBe(child.token);
    });

    it('fails with DEPENDENCY_FAILED a child whose parent is gone (purged or expired)', async () => {
      const { post, queue, store, clock, dependencies } = setup();
      const parent = await post({ ...create, routing: 'queued' });
      const child = await post({ ...create, depends_on: [parent.token] });
      store.records.delete(parent.token); // purged or expired, its children never released
      const report = await sweepTenMinutesLater({ store, queue, clock, dependencies });
      expect(report).toMatchObject({ reconciled_waiting: 1, released_dependents: 0, failed_dependents: 1 });
      expect(await store.get(child.token)).toMatchObject({
        status: 'failed',
        error: {
          code: 'DEPENDENCY_FAILED',
          retryable: false,
          details: { dependency: parent.token, dependency_status: 'missing' },
        },
      });
    });

    it('stamps each waiting child it looks at, so the next sweep reaches the ones after it', async () => {
      const { post, queue, store, clock, dependencies } = setup();
      const parent = await post({ ...create, routing: 'queued' });
      for (let i = 0; i < 3; i++) await post({ ...create, depends_on: [parent.token] });
      clock.advance(10 * 60_000);
      const once = { store, queue, clock, dependencies, staleQueuedSeconds: 120, batchSize: 2 };
      expect((await sweep(once)).reconciled_waiting).toBe(2);
      clock.advance(60_000);
      expect((await sweep(once)).reconciled_waiting).toBe(1);
      // Past the threshold since the first sweep stamped them: the first two come up again.
      clock.advance(61_000);
      expect((await sweep(once)).reconciled_waiting).toBe(2);
    });
  });
});
