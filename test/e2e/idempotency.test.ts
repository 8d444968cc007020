import { describe, expect, inject, it } from 'vitest';
import { RiqHttp } from '../support/riq-http.js';
import { StackInspector } from '../support/stack-inspect.js';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const inspect = new StackInspector(stack);
const sim = new SimulatorControl(stack.simulatorUrl ?? '');

describe('idempotent submit', () => {
  it('ten concurrent submits with one key get one token, one record and one Jira issue', async () => {
    const key = `race-${Date.now()}`;
    const body = {
      operation: 'jira.create_task',
      payload: { title: `Idempotent ${key}`, project_id: 'RIQ' },
      idempotency_key: key,
    };
    const before = await inspect.itemCount();
    const issuesBefore = (await sim.stats()).created.issues;
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.submit(body)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const tokens = new Set(answers.map((a) => a.body['token']));
    expect(tokens.size).toBe(1);
    // One request record plus its idempotency key item.
    expect(await inspect.itemCount()).toBe(before + 2);
    const done = await api.waitFor(String([...tokens][0]));
    expect(done.body['status']).toBe('completed');
    expect((await sim.stats()).created.issues).toBe(issuesBefore + 1);
  });

  it('the same key with another payload is a 409 IDEMPOTENCY_CONFLICT', async () => {
    const key = `conflict-${Date.now()}`;
    const first = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1' },
      idempotency_key: key,
    });
    expect(first.status).toBe(200);
    // Let the first request finish, so its call and read-cache items are not counted in between.
    await api.waitFor(String(first.body['token']));
    const before = await inspect.itemCount();
    const second = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-2' },
      idempotency_key: key,
    });
    expect(second.status).toBe(409);
    expect(second.body['error']).toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
      details: { token: first.body['token'] },
    });
    expect(await inspect.itemCount()).toBe(before);
  });

  it('the same key and payload with another priority is a 409 IDEMPOTENCY_CONFLICT', async () => {
    const key = `priority-${Date.now()}`;
    const body = { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: key };
    const first = await api.submit(body);
    expect(first.status).toBe(200);
    await api.waitFor(String(first.body['token']));
    const before = await inspect.itemCount();
    const second = await api.submit({ ...body, priority: 'high' });
    expect(second.status).toBe(409);
    expect(second.body['error']).toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
      details: { token: first.body['token'] },
    });
    expect(await inspect.itemCount()).toBe(before);
    // The first request, repeated as it was, is answered as before.
    const again = await api.submit(body);
    expect(again.status).toBe(200);
    expect(again.body['token']).toBe(first.body['token']);
  });
});
