/**
 * Adaptive routing under the seed's burst ("500 requests at T0: 50 → DIRECT, 450 → QUEUED"),
 * through the whole local stack in this process: the seed's Jira budget (100 a minute, burst 50)
 * and a simulator that enforces the same budget, so any call beyond it would be a 429.
 *
 * The DIRECT calls and the workers take tokens from one bucket, so the calls Atlassian sees over
 * any window of `w` seconds never exceed burst + rate × w, and none is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import { busiestWindow } from '../../bench/harness.js';
import type { HttpAnswer, RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

const RATE_PER_MINUTE = 100;
const RATE = RATE_PER_MINUTE / 60;
const BURST = 50;
const REQUESTS = 500;
/** Callers submitting at once: a burst from many services, not one client's 500 sockets. */
const IN_FLIGHT = 50;
/** How long the drain is watched after the burst (a full drain takes 450 / RATE ≈ 4.5 minutes). */
const WATCH_MS = 15_000;

const ISSUES = 5;
const issueKeys: string[] = [];

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;

beforeAll(async () => {
  ({ stack, api, control } = await startTestStack('riqburst', {
    services: { jira: { ratePerMinute: RATE_PER_MINUTE, burst: BURST } },
  }));
  await control.quiet();
  for (let i = 0; i < ISSUES; i++) {
    const created = await api.submit({
      operation: 'jira.create_task',
      payload: { title: `Burst target ${i}`, project_id: 'MD' },
      priority: 'high',
    });
    const done = await api.waitFor(String(created.body['token']));
    issueKeys.push(String((done.body['result'] as { key: string }).key));
  }
  // RIQ's bucket back to its burst, then Atlassian's side of the same budget: a call beyond it
  // would be answered 429.
  await new Promise((r) => setTimeout(r, (ISSUES / RATE) * 1000 + 500));
  await control.setLatency(50);
  await control.setRateLimit({ rate_per_second: RATE, burst: BURST });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Runs `task` for 0…n-1 with at most `limit` at once. */
async function pool<T>(n: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

describe('adaptive routing under a burst', () => {
  it('routes about a burst of requests DIRECT, queues the rest, and Atlassian never sees more than the rate', async () => {
    const started = Date.now();
    const answers = await pool(REQUESTS, IN_FLIGHT, (i) =>
      api.submit({
        operation: 'jira.get_task',
        payload: { task_id: issueKeys[i % ISSUES] },
        // Every request reaches the bucket (no answer from the read cache).
        fresh: true,
      }),
    );
    const submitSeconds = (Date.now() - started) / 1000;

    const refused = answers.filter((a: HttpAnswer) => a.status !== 200);
    expect(refused.map((a) => `${a.status} ${JSON.stringify(a.body)}`).slice(0, 5)).toEqual([]);
    const direct = answers.filter((a) => a.body['routing_path'] === 'DIRECT');
    const queued = answers.filter((a) => a.body['routing_path'] === 'QUEUED');
    expect(direct.length + queued.length).toBe(REQUESTS);
    // `normal` leaves 10 % of the burst to `high`: 45 tokens at T0, plus what refilled meanwhile.
    expect(direct.length).toBeGreaterThanOrEqual(BURST * 0.9 - 5);
    expect(direct.length).toBeLessThanOrEqual(BURST + Math.ceil(RATE * submitSeconds) + 1);
    for (const a of direct) {
      expect(a.body).toMatchObject({
        status: 'completed',
        result: expect.objectContaining({ key: expect.any(String) }),
      });
    }
    expect(queued.every((a) => a.body['status'] === 'queued')).toBe(true);
    expect(new Set(answers.map((a) => a.body['token'])).size).toBe(REQUESTS);

    // The workers drain the queued ones from the same bucket meanwhile.
    await new Promise((r) => setTimeout(r, WATCH_MS));
    const stats = await control.stats();
    const calls = stats.calls
      .filter((c) => c.at >= started)
      .map((c) => c.at)
      .sort((a, b) => a - b);
    const elapsed = (Date.now() - started) / 1000;
    expect(stats.rate_limited).toBe(0);
    // Progress, within the budget: the burst plus the refill of the whole run, no more.
    expect(calls.length).toBeGreaterThan(direct.length);
    expect(calls.length).toBeLessThanOrEqual(BURST + Math.ceil(RATE * elapsed) + 1);
    for (const windowMs of [1_000, 5_000, 10_000]) {
      expect(busiestWindow(calls, windowMs), `${windowMs} ms window`).toBeLessThanOrEqual(
        BURST + Math.ceil((RATE * windowMs) / 1000) + 1,
      );
    }
    // Nothing queued was lost: every token still answers, queued or done.
    const sample = await Promise.all(queued.slice(0, 20).map((a) => api.result(String(a.body['token']))));
    for (const r of sample) expect(['queued', 'processing', 'completed']).toContain(r.body['status']);
    console.log(
      `[direct-burst] ${direct.length} DIRECT, ${queued.length} QUEUED in ${submitSeconds.toFixed(1)} s; ` +
        `${calls.length} calls in ${elapsed.toFixed(1)} s, 429s ${stats.rate_limited}`,
    );
  }, 120_000);
});
