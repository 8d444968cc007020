/**
 * Priority holds under pressure (DESIGN invariant 6), end to end through the whole local stack in
 * this process (one local stack per process), with a slow Jira budget: 3 calls a second, burst 10,
 * and the default reserves (`low` must leave 30 % of the burst, 3 tokens; `high` may take the last).
 *
 * A backlog of 40 `low` reads needs at least (40 − 10) / 3 = 10 s of tokens. `high` reads submitted
 * while it drains must each complete at once, never waiting behind the lows.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import type { HttpAnswer, RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

const RATE_PER_SECOND = 3;
const BURST = 10;
const LOWS = 40;
const HIGHS = 3;

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;
/** The stack's log lines (it runs in this process): each deferral is one `request state changed`. */
const logLines: string[] = [];

beforeAll(async () => {
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logLines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  ({ stack, api, control } = await startTestStack('riqprio', {
    // Default reserves (normal 10 %, low 30 %): the mechanism under test, as shipped.
    services: { jira: { ratePerMinute: RATE_PER_SECOND * 60, burst: BURST } },
  }));
  await control.quiet();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  vi.restoreAllMocks();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function submit(priority: 'high' | 'low', issueKey: string): Promise<string> {
  const answer = await api.submit({
    operation: 'jira.get_task',
    payload: { task_id: issueKey },
    priority,
    // Always through the queues and the bucket (no cache, no DIRECT call).
    fresh: true,
    routing: 'queued',
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return String(answer.body['token']);
}

function latencyMs(answer: HttpAnswer): number {
  return Date.parse(String(answer.body['completed_at'])) - Date.parse(String(answer.body['created_at']));
}

/** The deferrals the stack logged for `token` (every deferral is logged, with its reason). */
function deferralsOf(token: string): string[] {
  return logLines
    .join('')
    .split('\n')
    .filter((line) => line.includes('"event":"deferred"') && logged(line)?.['correlation_id'] === token);
}

function logged(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function statuses(tokens: string[]): Promise<string[]> {
  return Promise.all(tokens.map(async (t) => String((await api.result(t)).body['status'])));
}

describe('priority reserves through the local stack', () => {
  it('a backlog of low requests does not delay high ones', async () => {
    const created = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'Priority reserves target', project_id: 'MD' },
      priority: 'high',
    });
    const done = await api.waitFor(String(created.body['token']));
    expect(done.body['status'], JSON.stringify(done.body)).toBe('completed');
    const issueKey = String((done.body['result'] as { key: string }).key);
    // Let the bucket fill to its burst again.
    await sleep((BURST / RATE_PER_SECOND) * 1000 + 300);

    const lows = await Promise.all(Array.from({ length: LOWS }, () => submit('low', issueKey)));
    // The lows take the burst down to their reserve and then wait for every new token.
    await sleep(1_500);

    // Removing the mechanism (reserves of 0: `low` may take the last token) leaves the bucket
    // empty under a low backlog: each high is refused and deferred (logged as a deferral), then
    // races ~40 deferred lows for 3 tokens a second.
    for (let i = 0; i < HIGHS; i++) {
      const token = await submit('high', issueKey);
      const high = await api.waitFor(token, 15_000);
      expect(high.body, JSON.stringify(high.body)).toMatchObject({ status: 'completed', attempts: 1 });
      // Not deferred even once: the reserves kept a token for it.
      expect(deferralsOf(token), `high ${i + 1} was deferred`).toEqual([]);
      const waitingLows = (await statuses(lows)).filter((s) => s !== 'completed').length;
      expect(waitingLows, `lows still waiting when high ${i + 1} completed`).toBeGreaterThanOrEqual(10);
      await sleep(1_500);
    }

    // Nothing lost, and the waiting was never an attempt.
    const lowResults = await Promise.all(lows.map((t) => api.waitFor(t, 40_000)));
    for (const r of lowResults) expect(r.body).toMatchObject({ status: 'completed', attempts: 1 });
    const lowLatencies = lowResults.map(latencyMs).sort((a, b) => a - b);
    // The backlog really was a backlog: its last request waited for many token intervals.
    expect(lowLatencies[LOWS - 1]).toBeGreaterThan(((LOWS - BURST) / RATE_PER_SECOND) * 1000 * 0.8);
  }, 75_000);
});
