/**
 * The points budget counts what Atlassian counts: on an OAuth connection, a mix of first-attempt
 * writes, reads and a search, queued and DIRECT, leaves RIQ's budget (as `GET /api/queue/health`
 * shows it) lower by exactly the points the simulator charged for the calls it received. The
 * budget's pace is a point a minute, so the refill during the test is well under one point.
 * One local stack per process (the handlers read the environment once), so this file has its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../model/config/riq-config.js';
import { SimulatorControl } from '../../../local/atlassian-sim/control.js';
import { startLocalStack, type LocalStack } from '../../../local/stack.js';
import { RiqHttp } from '../../support/riq-http.js';

/** 60 points an hour, all of it available at once: a point a minute of refill. */
const QUOTA = 60;

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;

beforeAll(async () => {
  stack = await startLocalStack({
    config: resolveConfig({
      stage: 'local',
      namePrefix: 'riqpoints',
      services: { jira: { points: { quotaPerHour: QUOTA, windowSeconds: 3600, burstSeconds: 3600 } } },
    }),
    apiPort: 0,
    simulatorAuth: 'oauth',
  });
  api = new RiqHttp(stack.url);
  control = new SimulatorControl(stack.simulatorUrl!);
  // The simulator counts the same quota, in a window that starts now, so it does not reset mid-test.
  await control.setClock({ simTime: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString() });
  await control.setPointsQuota({ quota: QUOTA, window_seconds: 3600 }, 'oauth');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Submits every request at once as `high` and waits for each to complete; answers their results. */
async function submitAll(requests: ReadonlyArray<Record<string, unknown>>): Promise<unknown[]> {
  const tokens = await Promise.all(
    requests.map(async (request) => {
      const answer = await api.submit({ priority: 'high', ...request });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return String(answer.body['token']);
    }),
  );
  const results: unknown[] = [];
  for (const token of tokens) {
    const done = await api.waitFor(token, 60_000);
    expect(done.body).toMatchObject({ status: 'completed' });
    results.push(done.body['result']);
  }
  return results;
}

describe('the points budget on an OAuth connection', () => {
  it('spends what the simulator counted for the calls it received, queued and DIRECT', async () => {
    const create = (n: number) => ({
      operation: 'jira.create_task',
      payload: { title: `points ${n}`, project_id: 'MD' },
    });
    const [issue] = (await submitAll([create(0)])) as Array<{ key: string }>;
    const comment = (n: number) => ({
      operation: 'jira.add_comment',
      payload: { task_id: issue!.key, comment: `points ${n}` },
    });
    const read = { operation: 'jira.get_task', payload: { task_id: issue!.key }, fresh: true };
    const search = { operation: 'jira.search_tasks', payload: { jql: 'project = MD', max_results: 5 } };
    const queued = { routing: 'queued' };
    await submitAll([
      { ...comment(1), ...queued },
      { ...comment(2), ...queued },
      { ...create(1), ...queued },
      { ...create(2), ...queued },
      { ...read, ...queued },
      { ...search, ...queued },
    ]);
    await submitAll([comment(3), create(3), read]);

    const counted = (await control.stats()).points_quota?.jira.spent;
    const health = await api.raw('GET', '/api/queue/health');
    const points = (health.body['budgets'] as { jira: { points: { points: number; capacity: number } } }).jira
      .points;
    expect(points.capacity).toBe(QUOTA);
    // 3 comments and 4 creates (1 each), 2 reads (2 each), a search (1 + the issues it found).
    expect(counted).toBeGreaterThanOrEqual(13);
    expect(QUOTA - points.points).toBeGreaterThan(counted! - 1);
    expect(QUOTA - points.points).toBeLessThanOrEqual(counted!);
  }, 120_000);
});
