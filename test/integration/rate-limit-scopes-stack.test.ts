/**
 * How far each Atlassian 429 reaches (`RateLimit-Reason`, token-bucket.ts `pauseScopeOf`), through
 * the whole local stack in this process (one local stack per process): requests submitted over HTTP,
 * workers running, the simulator answering one call 429 with the reason under test. The simulator's
 * recorded calls (method, path, status, time) show what waited and what kept going:
 * - `jira-burst-based`: that endpoint family waits `Retry-After`; other endpoints keep going;
 * - `jira-per-issue-on-write`: writes to that issue wait; writes to others and reads of it go on;
 *   and many writes to one issue, paced by its write window, never meet it;
 * - `jira-quota-global-based`: every Jira call waits until `X-RateLimit-Reset`; Confluence goes on;
 * - a reason RIQ does not know (`jira-cost-based`): every Jira call waits `Retry-After`, and the
 *   retry's log line names the reason;
 * - a 429 with `Beta-Retry-After` alone (a limit announced, not enforced yet): retried after the
 *   retry backoff, never after the announced wait.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SimCall, SimulatorControl } from '../../local/atlassian-sim/control.js';
import { SIMULATOR_CREDENTIALS, type LocalStack } from '../../local/stack.js';
import type { HttpAnswer, RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

/** 20 calls a second: the token bucket never holds a call back here unless a 429 emptied it. */
const JIRA_RATE_PER_SECOND = 20;
/**
 * Writes one issue takes in any span, in RIQ's config and the simulator's per-issue limit alike:
 * much tighter than Jira's 20 per 2 s, so the writes to one issue that one worker after another
 * takes (about two a second here) meet it unless paced; RIQ then takes one a second.
 */
const ISSUE_WRITE_WINDOW = { writes: 2, seconds: 1 };
/** A call recorded by the simulator and the pause RIQ computes from its answer differ by its report. */
const CLOCK_SLACK_MS = 50;

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;
/** The stack's log lines (it runs in this process). */
const logLines: string[] = [];

beforeAll(async () => {
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logLines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  ({ stack, api, control } = await startTestStack('riqscope', {
    retry: { maxAttempts: 4, baseDelaySeconds: 1, maxDelaySeconds: 2 },
    services: {
      jira: {
        ratePerMinute: JIRA_RATE_PER_SECOND * 60,
        burst: 20,
        objectWriteWindows: [ISSUE_WRITE_WINDOW],
      },
    },
  }));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  vi.restoreAllMocks();
});

beforeEach(async () => {
  await control.clearFaults();
  await control.quiet();
  await control.reset();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates an issue straight through the simulator's REST API (set-up, not under test). */
async function seedIssue(summary: string): Promise<string> {
  const auth = Buffer.from(`${SIMULATOR_CREDENTIALS.email}:${SIMULATOR_CREDENTIALS.apiToken}`).toString(
    'base64',
  );
  const res = await fetch(`${stack.simulatorUrl!}/rest/api/3/issue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${auth}` },
    body: JSON.stringify({ fields: { project: { key: 'RIQ' }, summary, issuetype: { name: 'Task' } } }),
  });
  const body = (await res.json()) as { key?: string };
  if (!res.ok || !body.key) throw new Error(`seeding an issue: ${res.status} ${JSON.stringify(body)}`);
  return body.key;
}

async function submit(operation: string, payload: Record<string, unknown>): Promise<string> {
  // fresh and queued: every request goes through a worker and the shared bucket.
  const answer = await api.submit({ operation, payload, fresh: true, routing: 'queued' });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return String(answer.body['token']);
}

async function callsSince(since: number): Promise<SimCall[]> {
  return (await control.stats()).calls.filter((c) => c.at >= since && !c.path.startsWith('/__sim'));
}

/** The first 429 the simulator answered since `since`, waiting up to 5 s for it. */
async function firstLimited(since: number): Promise<SimCall> {
  for (let i = 0; i < 100; i++) {
    const limited = (await callsSince(since)).find((c) => c.status === 429);
    if (limited) return limited;
    await sleep(50);
  }
  throw new Error('the simulator answered no 429');
}

async function allCompleted(tokens: string[]): Promise<HttpAnswer[]> {
  const results = await Promise.all(tokens.map((t) => api.waitFor(t, 20_000)));
  for (const r of results) expect(r.body, JSON.stringify(r.body)).toMatchObject({ status: 'completed' });
  return results;
}

function attemptsOf(results: HttpAnswer[]): number[] {
  return results.map((r) => Number(r.body['attempts']));
}

const ISSUE_PATH = (key: string) => new RegExp(`^/rest/api/3/issue/${key}$`);
const SEARCH_PATH = /^\/rest\/api\/3\/search\/jql$/;
const CREATE_PATH = /^\/rest\/api\/3\/issue$/;
const CONFLUENCE_PATH = /^\/wiki\//;
const JIRA_PATH = /^\/rest\//;

function matching(calls: SimCall[], pattern: RegExp, method?: string): SimCall[] {
  return calls.filter((c) => pattern.test(c.path) && (method === undefined || c.method === method));
}

describe('the scope of each RateLimit-Reason, through the local stack', () => {
  it('jira-burst-based: the paused endpoint waits Retry-After, other endpoints keep going', async () => {
    // Long enough that the other calls fit inside the pause on a loaded 2-CPU machine.
    const retryAfter = 6;
    const key = await seedIssue('burst scope');
    await control.injectRateLimitReason({
      reason: 'jira-burst-based',
      retryAfter,
      count: 1,
      method: 'GET',
      path: ISSUE_PATH(key).source,
    });
    const started = Date.now();
    const first = await submit('jira.get_task', { task_id: key });
    const limited = await firstLimited(started);
    const pauseEnds = limited.at + retryAfter * 1000;

    const sameEndpoint = await Promise.all([1, 2].map(() => submit('jira.get_task', { task_id: key })));
    const otherEndpoints = await Promise.all([
      submit('jira.search_tasks', { jql: 'project = RIQ', max_results: 1 }),
      submit('jira.search_tasks', { jql: 'project = RIQ', max_results: 1 }),
      submit('jira.create_task', { title: 'created during a burst pause', project_id: 'RIQ' }),
    ]);
    const results = await allCompleted([first, ...sameEndpoint, ...otherEndpoints]);
    expect(attemptsOf(results)).toEqual([2, 1, 1, 1, 1, 1]);

    const calls = await callsSince(started);
    const gets = matching(calls, ISSUE_PATH(key), 'GET').filter((c) => c.status !== 429);
    expect(gets).toHaveLength(3);
    for (const c of gets) expect(c.at).toBeGreaterThanOrEqual(pauseEnds - CLOCK_SLACK_MS);
    const others = [...matching(calls, SEARCH_PATH, 'POST'), ...matching(calls, CREATE_PATH, 'POST')];
    expect(others).toHaveLength(3);
    for (const c of others) expect(c.at).toBeLessThan(pauseEnds);
    expect((await control.stats()).rate_limited_by_reason).toEqual({ 'jira-burst-based': 1 });
  }, 30_000);

  it('jira-per-issue-on-write: writes to that issue wait, writes to another and reads of it keep going', async () => {
    // Long enough that the other calls fit inside the pause on a loaded 2-CPU machine.
    const retryAfter = 6;
    const a = await seedIssue('per-issue scope A');
    const b = await seedIssue('per-issue scope B');
    await control.injectRateLimitReason({
      reason: 'jira-per-issue-on-write',
      retryAfter,
      count: 1,
      method: 'PUT',
      path: ISSUE_PATH(a).source,
    });
    const started = Date.now();
    const first = await submit('jira.update_task', { task_id: a, title: 'A, first write' });
    const limited = await firstLimited(started);
    const pauseEnds = limited.at + retryAfter * 1000;

    const writesToA = await Promise.all(
      [2, 3].map((n) => submit('jira.update_task', { task_id: a, title: `A, write ${n}` })),
    );
    const goingOn = await Promise.all([
      submit('jira.update_task', { task_id: b, title: 'B, write 1' }),
      submit('jira.update_task', { task_id: b, title: 'B, write 2' }),
      submit('jira.get_task', { task_id: a }),
      submit('jira.get_task', { task_id: a }),
    ]);
    const results = await allCompleted([first, ...writesToA, ...goingOn]);
    expect(attemptsOf(results)).toEqual([2, 1, 1, 1, 1, 1, 1]);

    const calls = await callsSince(started);
    const putsToA = matching(calls, ISSUE_PATH(a), 'PUT').filter((c) => c.status !== 429);
    expect(putsToA).toHaveLength(3);
    for (const c of putsToA) expect(c.at).toBeGreaterThanOrEqual(pauseEnds - CLOCK_SLACK_MS);
    const others = [...matching(calls, ISSUE_PATH(b), 'PUT'), ...matching(calls, ISSUE_PATH(a), 'GET')];
    expect(others).toHaveLength(4);
    for (const c of others) expect(c.at).toBeLessThan(pauseEnds);
    expect((await control.stats()).rate_limited_by_reason).toEqual({ 'jira-per-issue-on-write': 1 });
  }, 30_000);

  it('jira-per-issue-on-write is never met: writes to one issue keep inside its write window', async () => {
    // The simulator counts writes per issue as Jira does, in the window RIQ is configured with; the
    // writes come as fast as the workers take them.
    await control.setPerIssueWriteLimit({ windows: [ISSUE_WRITE_WINDOW] });
    const key = await seedIssue('per-issue write window');
    const started = Date.now();
    const tokens = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        submit('jira.add_comment', { task_id: key, comment: `write ${i}` }),
      ),
    );
    const results = await Promise.all(tokens.map((t) => api.waitFor(t, 50_000)));
    for (const r of results) expect(r.body, JSON.stringify(r.body)).toMatchObject({ status: 'completed' });
    expect(attemptsOf(results)).toEqual(tokens.map(() => 1));

    const comments = matching(
      await callsSince(started),
      new RegExp(`^/rest/api/3/issue/${key}/comment$`),
      'POST',
    );
    expect(comments.map((c) => c.status)).toEqual(tokens.map(() => 201));
    expect((await control.stats()).rate_limited_by_reason).toEqual({});
  }, 60_000);

  it('jira-quota-global-based: every Jira call waits until X-RateLimit-Reset, past Retry-After; Confluence goes on', async () => {
    const key = await seedIssue('quota scope');
    // Retry-After says 1 s, the reset is 3 s away: the quota is spent until the reset.
    const resetAt = Date.now() + 3_000;
    await control.addFault({
      method: 'GET',
      path: ISSUE_PATH(key).source,
      status: 429,
      count: 1,
      retry_after: 1,
      headers: {
        'RateLimit-Reason': 'jira-quota-global-based',
        'X-RateLimit-Reset': new Date(resetAt).toISOString(),
      },
    });
    const started = Date.now();
    const first = await submit('jira.get_task', { task_id: key });
    const limited = await firstLimited(started);
    expect(resetAt - limited.at).toBeGreaterThan(1_500);

    const jira = await Promise.all([
      submit('jira.get_task', { task_id: key }),
      submit('jira.search_tasks', { jql: 'project = RIQ', max_results: 1 }),
      submit('jira.create_task', { title: 'created during a quota pause', project_id: 'RIQ' }),
    ]);
    const confluence = await Promise.all(
      [1, 2].map(() => submit('confluence.get_page', { page_id: '196609' })),
    );
    const results = await allCompleted([first, ...jira, ...confluence]);
    expect(attemptsOf(results)).toEqual([2, 1, 1, 1, 1, 1]);

    const calls = await callsSince(started);
    const jiraCalls = matching(calls, JIRA_PATH).filter((c) => c.status !== 429);
    expect(jiraCalls).toHaveLength(4);
    for (const c of jiraCalls) expect(c.at).toBeGreaterThanOrEqual(resetAt - CLOCK_SLACK_MS);
    const confluenceCalls = matching(calls, CONFLUENCE_PATH);
    expect(confluenceCalls).toHaveLength(2);
    for (const c of confluenceCalls) expect(c.at).toBeLessThan(resetAt);
    expect((await control.stats()).rate_limited_by_reason).toEqual({ 'jira-quota-global-based': 1 });
  }, 30_000);

  it('a 429 with Beta-Retry-After alone is retried after the backoff, not after the shadow limit’s wait', async () => {
    const key = await seedIssue('shadow limit');
    await control.addFault({
      path: ISSUE_PATH(key).source,
      method: 'GET',
      status: 429,
      count: 1,
      headers: { 'Beta-Retry-After': '1800' },
    });
    const started = Date.now();
    const token = await submit('jira.get_task', { task_id: key });
    expect(attemptsOf(await allCompleted([token]))).toEqual([2]);
    const calls = matching(await callsSince(started), ISSUE_PATH(key), 'GET');
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    // The retry backoff here is 1–2 s; the shadow limit would have said 30 minutes.
    expect(calls[1]!.at - calls[0]!.at).toBeLessThan(10_000);
  }, 30_000);

  it('an unknown reason (jira-cost-based): every Jira call waits Retry-After, Confluence goes on, and the reason is logged', async () => {
    const retryAfter = 2;
    const key = await seedIssue('unknown reason scope');
    await control.injectRateLimitReason({
      reason: 'jira-cost-based',
      retryAfter,
      count: 1,
      method: 'GET',
      path: ISSUE_PATH(key).source,
    });
    const started = Date.now();
    const first = await submit('jira.get_task', { task_id: key });
    const limited = await firstLimited(started);
    const pauseEnds = limited.at + retryAfter * 1000;

    const jira = await Promise.all([
      submit('jira.search_tasks', { jql: 'project = RIQ', max_results: 1 }),
      submit('jira.create_task', { title: 'created during an unknown pause', project_id: 'RIQ' }),
    ]);
    const confluence = await Promise.all(
      [1, 2].map(() => submit('confluence.get_page', { page_id: '196609' })),
    );
    const results = await allCompleted([first, ...jira, ...confluence]);
    expect(attemptsOf(results)).toEqual([2, 1, 1, 1, 1]);

    const calls = await callsSince(started);
    const jiraCalls = matching(calls, JIRA_PATH).filter((c) => c.status !== 429);
    expect(jiraCalls).toHaveLength(3);
    for (const c of jiraCalls) expect(c.at).toBeGreaterThanOrEqual(pauseEnds - CLOCK_SLACK_MS);
    const confluenceCalls = matching(calls, CONFLUENCE_PATH);
    expect(confluenceCalls).toHaveLength(2);
    for (const c of confluenceCalls) expect(c.at).toBeLessThan(pauseEnds);
    expect((await control.stats()).rate_limited_by_reason).toEqual({ 'jira-cost-based': 1 });

    const retryLines = logLines
      .join('')
      .split('\n')
      .filter((line) => line.includes(first) && line.includes('"event":"retry"'));
    expect(retryLines).toHaveLength(1);
    expect(JSON.parse(retryLines[0]!)).toMatchObject({
      error_code: 'RATE_LIMITED',
      rate_limit_reason: 'jira-cost-based',
    });
  }, 30_000);
});
