import { describe, expect, it } from 'vitest';
import { RiqError } from '../../../model/errors.js';
import type { SendOptions, WorkQueue } from '../../../lambdas/core/ports/index.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { submitRequest, type SubmitDeps } from '../../../lambdas/core/use-cases/submit.js';
import type { DirectRoute } from '../../../lambdas/core/use-cases/direct-route.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

class RecordingQueue implements Pick<WorkQueue, 'send'> {
  sent: Array<{ queue: string; token: string }> = [];
  options: Array<SendOptions | undefined> = [];
  failNext = false;
  async send(queue: string, token: string, options?: SendOptions) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('SQS unavailable');
    }
    this.sent.push({ queue, token });
    this.options.push(options);
  }
}

function setup() {
  const store = new InMemoryStore();
  const queue = new RecordingQueue();
  let n = 0;
  const failures: string[] = [];
  const deps: SubmitDeps = {
    store,
    queue: queue as unknown as WorkQueue,
    clock: new FakeClock(),
    config: { retentionDays: 7 },
    newToken: () => `req_${String(++n).padStart(32, '0')}`,
    onEnqueueFailure: (token) => failures.push(token),
  };
  return { store, queue, deps, failures };
}
const cmd = (body: object) => parseSubmitBody(JSON.stringify(body), 10_000);
const OWNER = 'arn:aws:iam::1:user/a';

describe('submitRequest', () => {
  it('stores the record queued, then sends its token to the service × priority queue', async () => {
    const { store, queue, deps } = setup();
    const res = await submitRequest(
      deps,
      cmd({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, priority: 'high' }),
      OWNER,
    );
    expect(res).toEqual({
      token: res.token,
      status: 'queued',
      poll_url: `/api/queue/result/${res.token}`,
      routing_path: 'QUEUED',
    });
    expect((await store.get(res.token))?.status).toBe('queued');
    expect(queue.sent).toEqual([{ queue: 'jira-high', token: res.token }]);
  });

  it('queues a request its DIRECT refusal gave a slot to come back at most slotEarlyMs before it', async () => {
    const { queue, deps } = setup();
    const slotAt = deps.clock.now() + 3_400;
    const direct: SubmitDeps = {
      ...deps,
      slotEarlyMs: 1_000,
      direct: refusedWith(slotAt),
    };
    const res = await submitRequest(
      direct,
      cmd({ operation: 'jira.get_task', payload: { task_id: 'MD-1' } }),
      OWNER,
    );
    expect(res.routing_path).toBe('QUEUED');
    // 3 s: back 400 ms before the slot, which the worker waits for; rounded up it would be 600 ms late.
    expect(queue.options).toEqual([{ delaySeconds: 3, slotAt }]);
    const { queue: q2, deps: d2 } = setup();
    await submitRequest(
      {
        ...d2,
        direct: refusedWith(d2.clock.now() + 3_400),
      },
      cmd({ operation: 'jira.get_task', payload: { task_id: 'MD-1' } }),
      OWNER,
    );
    expect(q2.options[0]?.delaySeconds).toBe(4);
  });

  it('gives writes a consistency token and reads none', async () => {
    const { deps } = setup();
    const write = await submitRequest(
      deps,
      cmd({ operation: 'jira.create_task', payload: { title: 'T', project_id: 'MD' } }),
      OWNER,
    );
    const read = await submitRequest(
      deps,
      cmd({ operation: 'jira.get_task', payload: { task_id: 'MD-1' } }),
      OWNER,
    );
    expect(write.consistency_token).toMatch(/^cst_[0-9a-f]{32}$/);
    expect(read.consistency_token).toBeUndefined();
  });

  it('answers a repeated idempotency key with the first token and stores nothing new', async () => {
    const { store, queue, deps } = setup();
    const body = {
      operation: 'jira.create_task',
      payload: { title: 'T', project_id: 'MD' },
      idempotency_key: 'k1',
    };
    const first = await submitRequest(deps, cmd(body), OWNER);
    const second = await submitRequest(deps, cmd(body), OWNER);
    expect(second.token).toBe(first.token);
    expect(second.duplicate).toBe(true);
    expect(store.records.size).toBe(1);
    expect(queue.sent).toHaveLength(1);
  });

  it('scopes idempotency keys by caller', async () => {
    const { store, deps } = setup();
    const body = { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: 'k1' };
    const a = await submitRequest(deps, cmd(body), OWNER);
    const b = await submitRequest(deps, cmd(body), 'arn:aws:iam::1:user/b');
    expect(a.token).not.toBe(b.token);
    expect(store.records.size).toBe(2);
  });

  it('rejects the same key with another payload as IDEMPOTENCY_CONFLICT', async () => {
    const { store, deps } = setup();
    await submitRequest(
      deps,
      cmd({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: 'k' }),
      OWNER,
    );
    const err = await submitRequest(
      deps,
      cmd({ operation: 'jira.get_task', payload: { task_id: 'MD-2' }, idempotency_key: 'k' }),
      OWNER,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RiqError);
    expect((err as RiqError).code).toBe('IDEMPOTENCY_CONFLICT');
    expect(store.records.size).toBe(1);
  });

  it.each([
    ['priority', { priority: 'high' }],
    ['fire_and_forget', { fire_and_forget: true }],
  ])('rejects the same key and payload with another %s as IDEMPOTENCY_CONFLICT', async (_, change) => {
    const { store, deps } = setup();
    const body = { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: 'k' };
    const first = await submitRequest(deps, cmd(body), OWNER);
    const err = await submitRequest(deps, cmd({ ...body, ...change }), OWNER).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', details: { token: first.token } });
    expect(store.records.size).toBe(1);
    // The same request again is still the first one.
    expect((await submitRequest(deps, cmd(body), OWNER)).token).toBe(first.token);
  });

  it('keeps the stored record and answers 2xx when the queue send fails (the sweeper repairs it)', async () => {
    const { store, queue, deps, failures } = setup();
    queue.failNext = true;
    const res = await submitRequest(
      deps,
      cmd({ operation: 'jira.get_task', payload: { task_id: 'MD-1' } }),
      OWNER,
    );
    expect((await store.get(res.token))?.status).toBe('queued');
    expect(failures).toEqual([res.token]);
  });
});

/** A DIRECT path whose gate refuses every request for want of a token, giving it `slotAt`. */
function refusedWith(slotAt: number): DirectRoute {
  return {
    admit: async () => ({ kind: 'not_admitted', reason: 'no_token', slotAt }),
    call: async () => {
      throw new Error('a refused request is never called');
    },
  };
}
