import { afterEach, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { RiqHttp } from '../support/riq-http.js';
import { StackInspector } from '../support/stack-inspect.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const inspect = new StackInspector(stack);
const sim = new SimulatorControl(stack.simulatorUrl ?? '');

afterEach(() => sim.clearFaults());

async function callTimes(path: string): Promise<number[]> {
  const { calls } = await sim.stats();
  return calls.filter((c) => c.path === path).map((c) => c.at);
}

describe('failures', () => {
  it('a retryable failure is retried with growing delays, then dead with its message in the DLQ', async () => {
    const key = `MD-${900_000 + Math.floor(Math.random() * 99_999)}`;
    const path = `/rest/api/3/issue/${key}`;
    await sim.addFault({ method: 'GET', path: `^${path}$`, status: 503 });

    const sub = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: key },
      priority: 'low',
      fresh: true,
    });
    const token = String(sub.body['token']);
    const dead = await api.waitFor(token, 45_000);

    expect(dead.body).toMatchObject({
      status: 'dead',
      attempts: 4,
      error: { code: 'SERVICE_UNAVAILABLE', retryable: true, details: { attempt: 4 } },
    });
    const times = await callTimes(path);
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Backoff after attempts 1, 2, 3 is 1–2 s, 2–4 s, 4–8 s.
    expect(gaps[0]!).toBeGreaterThanOrEqual(900);
    expect(gaps[1]!).toBeGreaterThanOrEqual(1_900);
    expect(gaps[2]!).toBeGreaterThanOrEqual(3_900);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!);

    // SQS's redrive moves the released message on its next receive.
    let inDlq: string[] = [];
    for (let i = 0; i < 20 && !inDlq.includes(token); i++) {
      await new Promise((r) => setTimeout(r, 250));
      inDlq = await inspect.deadLetterTokens('jira-low');
    }
    expect(inDlq).toContain(token);
    expect(await callTimes(path)).toHaveLength(4);
  });

  it('a non-retryable failure ends failed at once and never reaches the DLQ', async () => {
    const sub = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-424242' },
      priority: 'normal',
    });
    const token = String(sub.body['token']);
    const failed = await api.waitFor(token);
    expect(failed.body).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'NOT_FOUND', retryable: false },
    });
    expect(await callTimes('/rest/api/3/issue/MD-424242')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await inspect.deadLetterTokens('jira-normal')).not.toContain(token);
  });

  it('Atlassian’s validation error on create is returned with its field', async () => {
    const sub = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'x', project_id: 'NOPE' },
    });
    const failed = await api.waitFor(String(sub.body['token']));
    expect(failed.body['status']).toBe('failed');
    expect(failed.body['error']).toMatchObject({ code: 'VALIDATION_ERROR', retryable: false });
    expect(JSON.stringify(failed.body['error'])).toContain('project');
  });
});
