/**
 * `depends_on` through the local stack's HTTP API: a chain whose steps use their parents' results,
 * the DEPENDENCY_FAILED cascade, and the 4xx answers that write nothing. The simulator is shared by
 * every e2e file: this file uses titles unique to its run and never resets it.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { SIMULATOR_CREDENTIALS } from '../../local/stack.js';
import { RiqHttp } from '../support/riq-http.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const simUrl = stack.simulatorUrl ?? '';
const sim = new SimulatorControl(simUrl);

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;

async function submitted(body: Record<string, unknown>): Promise<{ token: string; status: string }> {
  const answer = await api.submit(body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { token: String(answer.body['token']), status: String(answer.body['status']) };
}

interface Finished {
  status: string;
  completed_at?: string;
  result?: Record<string, unknown>;
  error?: { code: string; message: string; retryable: boolean; details?: Record<string, unknown> };
}

async function finished(token: string): Promise<Finished> {
  return (await api.waitFor(token, 60_000)).body as unknown as Finished;
}

beforeAll(async () => {
  await sim.clearFaults();
  await sim.quiet();
});

describe('depends_on through the local stack', () => {
  it(
    'runs create → comment → transition submitted at once, in order, each using the created key',
    { timeout: 120_000 },
    async () => {
      const created = await submitted({
        operation: 'jira.create_task',
        payload: { title: `Chain ${run}`, project_id: 'RIQ' },
      });
      const comment = await submitted({
        operation: 'jira.add_comment',
        payload: { task_id: `{{${created.token}.key}}`, comment: `Chained comment ${run}` },
        depends_on: [created.token],
      });
      const transition = await submitted({
        operation: 'jira.transition_task',
        payload: { task_id: `{{${created.token}.key}}`, target_status: 'In Progress' },
        depends_on: [comment.token, created.token],
      });
      // Visible while its parents run (a fast parent may already have released it).
      expect(['waiting', 'queued', 'processing', 'completed']).toContain(transition.status);

      const [c, m, t] = [
        await finished(created.token),
        await finished(comment.token),
        await finished(transition.token),
      ];
      expect(c.status, JSON.stringify(c.error)).toBe('completed');
      expect(m.status, JSON.stringify(m.error)).toBe('completed');
      expect(t.status, JSON.stringify(t.error)).toBe('completed');
      const key = String(c.result?.['key']);
      expect(key).toMatch(/^RIQ-\d+$/);
      expect(m.result?.['issue_key']).toBe(key);
      expect(t.result).toMatchObject({
        key,
        status: 'In Progress',
        previous_status: 'To Do',
        transitioned: true,
      });
      // In order: each finished after its parent.
      expect(Date.parse(m.completed_at ?? '')).toBeGreaterThanOrEqual(Date.parse(c.completed_at ?? ''));
      expect(Date.parse(t.completed_at ?? '')).toBeGreaterThanOrEqual(Date.parse(m.completed_at ?? ''));

      // The side effects, read straight from the simulated Jira.
      const { email, apiToken } = SIMULATOR_CREDENTIALS;
      const auth = { Authorization: `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}` };
      const comments = (await (
        await fetch(`${simUrl}/rest/api/3/issue/${key}/comment`, { headers: auth })
      ).json()) as { comments: { id: string }[] };
      expect(comments.comments.map((x) => x.id)).toContain(m.result?.['id']);
      const issue = (await (await fetch(`${simUrl}/rest/api/3/issue/${key}`, { headers: auth })).json()) as {
        fields: { status: { name: string } };
      };
      expect(issue.fields.status.name).toBe('In Progress');
    },
  );

  it('fails the whole chain with DEPENDENCY_FAILED naming the parent when the first step fails', async () => {
    const missing = await submitted({
      operation: 'jira.get_task',
      payload: { task_id: 'RIQ-987654321' },
      fresh: true,
    });
    const child = await submitted({
      operation: 'jira.create_task',
      payload: { title: `Never ${run}`, project_id: 'RIQ' },
      depends_on: [missing.token],
    });
    const grandchild = await submitted({
      operation: 'jira.add_comment',
      payload: { task_id: `{{${child.token}.key}}`, comment: 'never' },
      depends_on: [child.token],
    });
    const parent = await finished(missing.token);
    expect(parent.status).toBe('failed');
    expect(parent.error?.code).toBe('NOT_FOUND');
    const c = await finished(child.token);
    expect(c.status).toBe('failed');
    expect(c.error).toMatchObject({
      code: 'DEPENDENCY_FAILED',
      retryable: false,
      details: { dependency: missing.token, dependency_status: 'failed' },
    });
    const g = await finished(grandchild.token);
    expect(g.status).toBe('failed');
    expect(g.error).toMatchObject({ code: 'DEPENDENCY_FAILED', details: { dependency: child.token } });
  });

  it('answers 404 for an unknown or foreign dependency and writes nothing', async () => {
    const key = `dep-unknown-${run}`;
    const unknown = `req_${'0'.repeat(31)}1`;
    const refused = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: 'RIQ-1' },
      depends_on: [unknown],
      idempotency_key: key,
    });
    expect(refused.status).toBe(404);
    expect(refused.body['error']).toMatchObject({ code: 'NOT_FOUND', details: { field: 'depends_on.0' } });
    // Nothing written: the idempotency key is still free for another payload.
    const later = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: 'RIQ-2' },
      idempotency_key: key,
    });
    expect(later.status, JSON.stringify(later.body)).toBe(200);

    const mine = String(later.body['token']);
    const foreign = await api.as(`arn:aws:iam::000000000000:user/other-${run}`).submit({
      operation: 'jira.get_task',
      payload: { task_id: 'RIQ-1' },
      depends_on: [mine],
    });
    expect(foreign.status).toBe(404);
  });

  it('answers 400 for a template token that is not in depends_on', async () => {
    const parent = await submitted({
      operation: 'jira.get_task',
      payload: { task_id: 'RIQ-1' },
      fresh: true,
    });
    const stranger = `req_${'a'.repeat(32)}`;
    const refused = await api.submit({
      operation: 'jira.add_comment',
      payload: { task_id: `{{${stranger}.key}}`, comment: 'x' },
      depends_on: [parent.token],
    });
    expect(refused.status).toBe(400);
    expect(refused.body['error']).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'payload.task_id' },
    });
  });
});
