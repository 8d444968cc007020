import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { RiqHttp } from '../support/riq-http.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const sim = new SimulatorControl(stack.simulatorUrl ?? '');

let key = '';

beforeAll(async () => {
  const created = await api.submit({
    operation: 'jira.create_task',
    payload: { title: 'Priority target', project_id: 'MD' },
  });
  key = String(((await api.waitFor(String(created.body['token']))).body['result'] as { key: string }).key);
});

afterEach(() => sim.setLatency(0));

describe('priorities', () => {
  it('a high request submitted behind a low backlog completes before the backlog drains', async () => {
    await sim.setLatency(150);
    const lows = await Promise.all(
      Array.from({ length: 24 }, () =>
        // Through the queues: a DIRECT call would skip the backlog this test builds.
        api.submit({
          operation: 'jira.get_task',
          payload: { task_id: key },
          priority: 'low',
          fresh: true,
          routing: 'queued',
        }),
      ),
    );
    const high = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: key },
      priority: 'high',
      fresh: true,
      routing: 'queued',
    });

    const highDone = await api.waitFor(String(high.body['token']));
    expect(highDone.body['status']).toBe('completed');
    const highAt = Date.parse(String(highDone.body['completed_at']));

    const lowDone = await Promise.all(lows.map((l) => api.waitFor(String(l.body['token']), 45_000)));
    const lowTimes = lowDone.map((l) => Date.parse(String(l.body['completed_at'])));
    expect(lowDone.every((l) => l.body['status'] === 'completed')).toBe(true);
    const lowsAfterHigh = lowTimes.filter((t) => t > highAt).length;
    // The low queue has 2 pollers × batches of 5 at 150 ms a call: the backlog takes ~1.8 s or more;
    // the high queue's own pollers take the high request at once.
    expect(lowsAfterHigh).toBeGreaterThanOrEqual(12);
  });
});
