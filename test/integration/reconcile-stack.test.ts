/**
 * Done once (DESIGN invariant 2) for a create that Atlassian commits but answers too late, through
 * the whole local stack: the simulator stores the issue at once and answers only after the caller's
 * deadline (the DIRECT path's, or the worker's timeout), and its JQL search shows a new issue only a
 * few seconds later. The retry must not come before the search can find the issue by its marker
 * label: the create's failure waits out `upstream.reconcileWindowSeconds`, so exactly one issue is
 * made and the request completes with it.
 *
 * Without the window the retry comes after the plain backoff (1–2 s), its search misses the issue,
 * and it creates a second one (and, answered late again, maybe a third).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimCall, SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

/** The reconcile window: search lags a little less than it. */
const WINDOW_SECONDS = 6;
const SEARCH_LAG_MS = 5_000;
const DIRECT_TIMEOUT_MS = 500;
const UPSTREAM_TIMEOUT_MS = 1_000;
/** Longer than both deadlines: every create times out although it is committed. */
const ANSWER_AFTER_COMMIT_MS = 1_500;

const run = Math.random().toString(36).slice(2, 8);

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;

beforeAll(async () => {
  ({ stack, api, control } = await startTestStack('riqrec', {
    upstream: { timeoutMs: UPSTREAM_TIMEOUT_MS, reconcileWindowSeconds: WINDOW_SECONDS },
    routing: { direct: true, directTimeoutMs: DIRECT_TIMEOUT_MS },
    retry: { maxAttempts: 4, baseDelaySeconds: 1, maxDelaySeconds: 2 },
    // The timeouts these tests cause on purpose must not open the breaker.
    breaker: { failureThreshold: 50, windowSeconds: 60, recoverySeconds: 5 },
  }));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await control.quiet();
  await control.configure({
    answer_after_commit_ms: ANSWER_AFTER_COMMIT_MS,
    search_index_lag_ms: SEARCH_LAG_MS,
  });
});

afterEach(async () => {
  await control.quiet();
});

async function issuesWithSummary(summary: string): Promise<{ key: string; labels: string[] }[]> {
  return (await control.objects()).issues.filter((i) => i.summary === summary);
}

async function createCalls(): Promise<SimCall[]> {
  return (await control.stats()).calls.filter((c) => c.method === 'POST' && c.path === '/rest/api/3/issue');
}

describe('a create committed but answered after the deadline, with a lagging search', () => {
  it('DIRECT: the timed-out create is queued for after the window and completes with exactly one issue', async () => {
    const summary = `Direct once ${run}`;
    const createsBefore = (await createCalls()).length;
    const submitted = await api.submit({
      operation: 'jira.create_task',
      payload: { title: summary, project_id: 'MD' },
      priority: 'high',
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    const token = String(submitted.body['token']);
    // The DIRECT attempt was made and timed out: the request waits in the queue for its retry.
    expect(submitted.body).toMatchObject({ status: 'queued' });
    expect(await issuesWithSummary(summary)).toHaveLength(1);
    const pending = await api.result(token);

    const done = await api.waitFor(token, 30_000);
    expect(done.body, JSON.stringify(done.body)).toMatchObject({ status: 'completed' });
    const issues = await issuesWithSummary(summary);
    expect(issues, JSON.stringify(issues)).toHaveLength(1);
    expect(issues[0]!.key).toBe((done.body['result'] as { key: string }).key);
    expect(issues[0]!.labels).toContain(`riq-${token}`);
    expect((await createCalls()).length - createsBefore).toBe(1);
    expect(done.body['attempts']).toBe(2);
    // Between the two: the DIRECT attempt's failure said the outcome was unknown and when to retry.
    expect(pending.body, JSON.stringify(pending.body)).toMatchObject({
      attempts: 1,
      error: { code: 'TIMEOUT', details: { outcomeUnknown: true, retryAfterSeconds: WINDOW_SECONDS } },
    });
  }, 60_000);

  it('worker: the timed-out create is retried after the window and completes with exactly one issue', async () => {
    const summary = `Worker once ${run}`;
    const createsBefore = (await createCalls()).length;
    const submitted = await api.submit({
      operation: 'jira.create_task',
      payload: { title: summary, project_id: 'MD' },
      priority: 'low',
      routing: 'queued',
    });
    expect(submitted.body, JSON.stringify(submitted.body)).toMatchObject({ routing_path: 'QUEUED' });
    const token = String(submitted.body['token']);

    const done = await api.waitFor(token, 30_000);
    expect(done.body, JSON.stringify(done.body)).toMatchObject({ status: 'completed' });
    const issues = await issuesWithSummary(summary);
    expect(issues, JSON.stringify(issues)).toHaveLength(1);
    expect(issues[0]!.key).toBe((done.body['result'] as { key: string }).key);
    expect((await createCalls()).length - createsBefore).toBe(1);
    expect(done.body['attempts']).toBe(2);
  }, 60_000);
});
