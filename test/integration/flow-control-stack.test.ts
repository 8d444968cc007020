/**
 * Flow control through the whole local stack, in this process with its own tuning (one local stack
 * per process): the circuit breaker keeps calls off a failing service, the shared token bucket paces
 * every worker, a 429 pauses all of them, a points quota Atlassian announces paces them all, and
 * waiting never counts as an attempt. The simulator's
 * recorded calls (method, path, status, time) are the evidence.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimCall, SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

const THRESHOLD = 3;
const RECOVERY_SECONDS = 3;
const CONFLUENCE_RATE_PER_SECOND = 2;
const POINTS_BURST_SECONDS = 2;

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;

beforeAll(async () => {
  ({ stack, api, control } = await startTestStack('riqflow', {
    breaker: { failureThreshold: THRESHOLD, windowSeconds: 60, recoverySeconds: RECOVERY_SECONDS },
    retry: { maxAttempts: 4, baseDelaySeconds: 1, maxDelaySeconds: 2 },
    services: {
      confluence: {
        ratePerMinute: CONFLUENCE_RATE_PER_SECOND * 60,
        burst: 1,
        // Once a quota is announced, 2 s of its pace may be spent at once.
        points: { burstSeconds: POINTS_BURST_SECONDS },
      },
    },
  }));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await control.clearFaults();
  await control.quiet();
});

async function submit(operation: string, payload: Record<string, unknown>): Promise<string> {
  // fresh: repeated reads of one object go through the queue and the gate, not the read cache;
  // routing queued: the workers' flow control is under test, not the DIRECT path's.
  const answer = await api.submit({ operation, payload, fresh: true, routing: 'queued' });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return String(answer.body['token']);
}

async function callsTo(pattern: RegExp, since: number): Promise<SimCall[]> {
  return (await control.stats()).calls.filter((c) => pattern.test(c.path) && c.at >= since);
}

describe('flow control across the workers of the local stack', () => {
  it('the breaker opens at the threshold, keeps calls off the failing service, and one probe closes it again', async () => {
    const failing = /^\/rest\/api\/3\/issue\/MD-7\d\d$/;
    const faultId = await control.addFault({ method: 'GET', path: failing.source, status: 503 });
    const started = Date.now();
    const tokens = await Promise.all(
      Array.from({ length: 6 }, (_, i) => submit('jira.get_task', { task_id: `MD-70${i + 1}` })),
    );
    // Six requests with four attempts each could make 24 calls; let the outage run a while.
    await new Promise((r) => setTimeout(r, (RECOVERY_SECONDS + 1) * 1000));
    const duringOutage = await callsTo(failing, started);
    const elapsedSeconds = (Date.now() - started) / 1000;
    const probesAllowed = Math.ceil(elapsedSeconds / RECOVERY_SECONDS);
    expect(duringOutage.length).toBeGreaterThanOrEqual(THRESHOLD);
    expect(duringOutage.length).toBeLessThanOrEqual(THRESHOLD + probesAllowed);

    await control.removeFault(faultId);
    // The issues do not exist: once the breaker lets calls through again, each ends NOT_FOUND.
    const results = await Promise.all(tokens.map((t) => api.waitFor(t, 60_000)));
    for (const r of results) {
      expect(r.body).toMatchObject({ status: 'failed', error: { code: 'NOT_FOUND' } });
    }
    const breakers = await fetch(`${stack.url}/api/queue/circuit-breakers`).catch(() => undefined);
    if (breakers?.ok) {
      const body = (await breakers.json()) as { circuit_breakers: { jira: { state: string } } };
      expect(body.circuit_breakers.jira.state).toBe('closed');
    }
  }, 90_000);

  it('paces every worker with one shared bucket, and waiting for a token is not an attempt', async () => {
    const started = Date.now();
    const n = 6;
    const tokens = await Promise.all(
      Array.from({ length: n }, () => submit('confluence.get_page', { page_id: '196609' })),
    );
    const results = await Promise.all(tokens.map((t) => api.waitFor(t, 60_000)));
    for (const r of results) expect(r.body).toMatchObject({ status: 'completed', attempts: 1 });

    const calls = (await callsTo(/^\/wiki\/api\/v2\/pages\//, started)).map((c) => c.at).sort();
    expect(calls).toHaveLength(n);
    // Burst 1 at 2/s: n calls need at least (n − 1) / 2 seconds, however many workers poll.
    const spreadSeconds = (calls[n - 1]! - calls[0]!) / 1000;
    expect(spreadSeconds).toBeGreaterThanOrEqual(((n - 1) / CONFLUENCE_RATE_PER_SECOND) * 0.9);
  }, 90_000);

  it('a 429 with Retry-After pauses every worker of the service, and the request completes after it', async () => {
    const retryAfter = 2;
    await control.addFault({ path: '^/wiki/api/v2/pages/', status: 429, count: 1, retry_after: retryAfter });
    const started = Date.now();
    const first = await submit('confluence.get_page', { page_id: '196609' });
    // Wait for the 429 to be answered, then send more work while the pause runs.
    for (let i = 0; i < 50 && (await callsTo(/^\/wiki\/api\/v2\/pages\//, started)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const more = await Promise.all(
      Array.from({ length: 3 }, () => submit('confluence.get_page', { page_id: '196609' })),
    );
    const all = await Promise.all([first, ...more].map((t) => api.waitFor(t, 60_000)));
    for (const r of all) expect(r.body).toMatchObject({ status: 'completed' });

    const calls = await callsTo(/^\/wiki\/api\/v2\/pages\//, started);
    const limited = calls.find((c) => c.status === 429);
    expect(limited).toBeDefined();
    const afterLimit = calls.filter((c) => c.status !== 429);
    // No worker called while the pause ran.
    for (const c of afterLimit) expect(c.at - limited!.at).toBeGreaterThanOrEqual(retryAfter * 1000 - 50);
    expect((await control.stats()).rate_limited).toBe(1);
  }, 90_000);

  // Last: the quota it announces stays in the service's points budget.
  it('paces every worker by the points quota Atlassian announces, even on an API-token connection', async () => {
    // 3,600 points an hour is one a second; with 2 s of burst the budget holds 2 points, and a page
    // read costs 2 (1 call + 1 page): one read every 2 s, whatever the token bucket allows.
    await control.addFault({
      path: '^/wiki/api/v2/pages/',
      status: 429,
      count: 1,
      retry_after: 1,
      headers: { 'Beta-RateLimit-Policy': '"global-app-quota";q=3600;w=3600' },
    });
    const started = Date.now();
    const first = await submit('confluence.get_page', { page_id: '196609' });
    for (let i = 0; i < 50 && (await callsTo(/^\/wiki\/api\/v2\/pages\//, started)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const more = await Promise.all(
      Array.from({ length: 3 }, () => submit('confluence.get_page', { page_id: '196609' })),
    );
    const all = await Promise.all([first, ...more].map((t) => api.waitFor(t, 60_000)));
    for (const r of all) expect(r.body).toMatchObject({ status: 'completed' });
    // Waiting for points is not an attempt: only the request that met the 429 took a second one.
    expect(all.map((r) => r.body['attempts']).sort()).toEqual([1, 1, 1, 2]);

    const answered = (await callsTo(/^\/wiki\/api\/v2\/pages\//, started))
      .filter((c) => c.status === 200)
      .map((c) => c.at)
      .sort();
    expect(answered).toHaveLength(4);
    for (let i = 1; i < answered.length; i++) {
      expect(answered[i]! - answered[i - 1]!).toBeGreaterThanOrEqual(POINTS_BURST_SECONDS * 1000 * 0.9);
    }
  }, 90_000);
});
