/**
 * Consistency tokens through the local stack's HTTP API: a read submitted with the token of a
 * write waits for the write and reads fresh, even while a stale cache entry for the object is live;
 * a malformed token is a 400 that writes nothing; an unknown (expired) token counts as satisfied.
 * Objects are unique to this run; the shared simulator is never reset.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { RiqHttp } from '../support/riq-http.js';
import { StackInspector } from '../support/stack-inspect.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const inspect = new StackInspector(stack);

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;

async function completedResult(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const sub = await api.submit(body);
  expect(sub.status, JSON.stringify(sub.body)).toBe(200);
  const done = await api.waitFor(String(sub.body['token']), 60_000);
  expect(done.body['status'], JSON.stringify(done.body)).toBe('completed');
  return done.body['result'] as Record<string, unknown>;
}

let issue: { key: string; id: string };
const getIssue = () => ({ operation: 'jira.get_task', payload: { task_id: issue.key } });

beforeAll(async () => {
  issue = (await completedResult({
    operation: 'jira.create_task',
    payload: { title: `Consistency ${run}`, project_id: 'MD' },
  })) as unknown as { key: string; id: string };
});

describe('after_consistency_token through the local stack', () => {
  it('reads the written value after the write, never the stale cached one', async () => {
    await completedResult(getIssue());
    const cached = await api.submit(getIssue());
    expect(cached.body).toMatchObject({ status: 'cached', result: { summary: `Consistency ${run}` } });

    const write = await api.submit({
      operation: 'jira.update_task',
      payload: { task_id: issue.key, title: `Updated ${run}` },
    });
    expect(write.status, JSON.stringify(write.body)).toBe(200);
    const token = String(write.body['consistency_token']);
    expect(token).toMatch(/^cst_[0-9a-f]{32}$/);

    const read = await api.submit({ ...getIssue(), after_consistency_token: token });
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body['status']).not.toBe('cached');
    expect(read.body['routing_path']).toBe('QUEUED');
    const done = await api.waitFor(String(read.body['token']), 60_000);
    expect(done.body).toMatchObject({ status: 'completed', result: { summary: `Updated ${run}` } });
    const writeDone = await api.waitFor(String(write.body['token']), 60_000);
    expect(writeDone.body['status']).toBe('completed');
    expect(Date.parse(String(done.body['completed_at']))).toBeGreaterThanOrEqual(
      Date.parse(String(writeDone.body['completed_at'])),
    );
  });

  it.each(['nope', `req_${'a'.repeat(32)}`, `cst_${'A'.repeat(32)}`])(
    'refuses the malformed token %j with 400 VALIDATION_ERROR and writes nothing',
    async (token) => {
      const before = await inspect.itemCount('all');
      const answer = await api.submit({ ...getIssue(), after_consistency_token: token });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        error: { code: 'VALIDATION_ERROR', details: { field: 'after_consistency_token' } },
      });
      expect(await inspect.itemCount('all')).toBe(before);
    },
  );

  it('treats an unknown (expired or never issued) token as satisfied: the read completes', async () => {
    const answer = await api.submit({ ...getIssue(), after_consistency_token: `cst_${'0'.repeat(32)}` });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    // Nothing to wait for: queued, or answered by a DIRECT call at once.
    expect(['queued', 'completed']).toContain(answer.body['status']);
    const done = await api.waitFor(String(answer.body['token']), 60_000);
    expect(done.body['status']).toBe('completed');
  });
});
