/**
 * The TypeScript client (client/) against the shared local stack: the ten operations through
 * `QueueClient` and through the queued adapters, the create-then-read flow, a
 * `waitForResult` that times out, and a dead request retried through the client.
 *
 * The dead request is a Confluence read answered 503 four times: 4 failures in the Confluence
 * breaker's 60 s window. The test waits for the window to be empty before (another file may have
 * left failures) and after (the next file must not inherit them).
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import {
  QueueClient,
  QueuedConfluenceAdapter,
  QueuedJiraAdapter,
  RiqApiError,
  RiqWaitTimeoutError,
  type DeadLetterEntry,
  type OperationName,
  type OperationPayload,
  type RequestView,
  type SubmitOptions,
} from '../../client/index.js';

const stack = inject('stack');
const sim = new SimulatorControl(stack.simulatorUrl ?? '');
const client = new QueueClient({ endpoint: stack.url, retryBaseDelayMs: 100 });
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
const label = `client-${run}`;

let originalLatency = 0;
beforeAll(async () => {
  originalLatency = (await sim.config()).latency_ms;
});
afterEach(async () => {
  await sim.clearFaults();
  await sim.setLatency(originalLatency);
});

/** Submits through the client and waits for the result unless the answer already carries it. */
async function finished<O extends OperationName>(
  operation: O,
  payload: OperationPayload<O>,
  options: SubmitOptions = {},
): Promise<{ view: RequestView | undefined; result: unknown; consistencyToken?: string }> {
  const answer = await client.submit(operation, payload, options);
  if (answer.status === 'cached') return { view: undefined, result: answer.result };
  expect(answer.token).toMatch(/^req_[0-9a-f]{32}$/);
  const view = await client.waitForResult(answer.token, { timeoutMs: 30_000 });
  expect(view, JSON.stringify(view.error)).toMatchObject({ status: 'completed', operation });
  return {
    view,
    result: view.result,
    ...(answer.consistency_token ? { consistencyToken: answer.consistency_token } : {}),
  };
}

/** The Confluence breaker's failures inside its window, waited to zero (at most ~65 s). */
async function confluenceBreakerQuiet(): Promise<void> {
  for (let i = 0; i < 140; i++) {
    const report = (await client.circuitBreakers()) as {
      circuit_breakers: Record<string, { state: string; failure_count: number }>;
    };
    const c = report.circuit_breakers['confluence'];
    if (c && c.state === 'closed' && c.failure_count === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the Confluence breaker did not become quiet');
}

async function allDeadLetters(service: string): Promise<DeadLetterEntry[]> {
  const all: DeadLetterEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listDeadLetters({ service, limit: 100, ...(cursor ? { cursor } : {}) });
    all.push(...page.dead_letters);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

describe('QueueClient', () => {
  it('runs every one of the ten operations', async () => {
    const created = await finished('jira.create_task', {
      title: `Client ${run}`,
      project_id: 'MD',
      labels: [label],
    });
    expect(created.consistencyToken).toMatch(/^cst_[0-9a-f]{32}$/);
    const issue = created.result as { key: string; id: string };
    expect(issue.key).toMatch(/^MD-\d+$/);

    const got = await finished('jira.get_task', { task_id: issue.key }, { fresh: true });
    expect(got.result).toMatchObject({ key: issue.key, summary: `Client ${run}` });

    const updated = await finished('jira.update_task', { task_id: issue.key, title: `Client ${run} v2` });
    expect(updated.result).toMatchObject({ key: issue.key, updated_fields: ['summary'] });

    const moved = await finished('jira.transition_task', {
      task_id: issue.key,
      target_status: 'In Progress',
    });
    expect(moved.result).toMatchObject({ key: issue.key, status: 'In Progress' });

    const comment = await finished('jira.add_comment', { task_id: issue.key, comment: 'from the client' });
    expect(comment.result).toMatchObject({ id: expect.any(String) });

    const found = await finished(
      'jira.search_tasks',
      { jql: `labels = "${label}" ORDER BY key ASC`, max_results: 10 },
      { afterConsistencyToken: updated.consistencyToken! },
    );
    expect((found.result as { issues: Array<{ key: string }> }).issues.map((i) => i.key)).toEqual([
      issue.key,
    ]);

    const page = await finished('confluence.create_page', {
      title: `Client page ${run}`,
      space_id: 'MD',
      content: '<p>first</p>',
    });
    const pageId = (page.result as { id: string }).id;
    const read = await finished('confluence.get_page', { page_id: pageId }, { fresh: true });
    expect(read.result).toMatchObject({ id: pageId, title: `Client page ${run}` });

    const edited = await finished('confluence.update_page', { page_id: pageId, content: '<p>second</p>' });
    expect(edited.result).toMatchObject({ id: pageId, version: 2 });

    const pages = await finished(
      'confluence.search_pages',
      { query: `Client page ${run}`, space_id: 'MD' },
      { fresh: true },
    );
    expect((pages.result as { pages: Array<{ id: string }> }).pages.map((p) => p.id)).toContain(pageId);
  });

  it('answers a cached read without a token, health, breakers and metrics', async () => {
    const { result } = await finished('jira.create_task', { title: `Cached ${run}`, project_id: 'MD' });
    const key = (result as { key: string }).key;
    await finished('jira.get_task', { task_id: key });
    const again = await client.submit('jira.get_task', { task_id: key });
    expect(again).toMatchObject({ status: 'cached', routing_path: 'CACHE', result: { key } });
    expect(again).not.toHaveProperty('token');
    expect(again).not.toHaveProperty('consistency_token');

    expect(await client.health()).toHaveProperty('status');
    expect(await client.circuitBreakers()).toHaveProperty('circuit_breakers');
    expect(await client.metrics()).toHaveProperty('queues');
  });

  it('answers RIQ errors as RiqApiError', async () => {
    const bad = await client
      .submit('jira.get_task', { task_id: 'not a key' } as OperationPayload<'jira.get_task'>)
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RiqApiError);
    expect(bad).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', retryable: false });
    expect((bad as RiqApiError).details).toMatchObject({ field: 'payload.task_id' });

    const missing = await client.getResult(`req_${'0'.repeat(32)}`).catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'RiqApiError', status: 404, code: 'NOT_FOUND' });
  });

  it('gives up waiting after timeoutMs with the last view (a request kept waiting on a slow parent)', async () => {
    const { result } = await finished('confluence.create_page', {
      title: `Slow parent ${run}`,
      space_id: 'MD',
      content: '<p>slow</p>',
    });
    const pageId = (result as { id: string }).id;
    await sim.setLatency(4_000);
    const parent = await client.submit(
      'confluence.get_page',
      { page_id: pageId },
      { fresh: true, routing: 'queued' },
    );
    expect(parent.status).toBe('queued');
    const child = await client.submit(
      'confluence.get_page',
      { page_id: pageId },
      { dependsOn: [(parent as { token: string }).token] },
    );
    const childToken = (child as { token: string }).token;

    const started = Date.now();
    const err = await client.waitForResult(childToken, { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RiqWaitTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((err as RiqWaitTimeoutError).lastView).toMatchObject({ token: childToken, status: 'waiting' });

    await sim.setLatency(originalLatency);
    const done = await client.waitForResult(childToken, { timeoutMs: 30_000 });
    expect(done).toMatchObject({ status: 'completed', result: { id: pageId } });
  });
});

describe('queued adapters', () => {
  const jira = new QueuedJiraAdapter(client, { wait: { timeoutMs: 30_000 }, priority: 'high' });
  const confluence = new QueuedConfluenceAdapter(client, { wait: true });

  it('Jira: create then read (read-after-write), update, transition, comment, search', async () => {
    const flow = await jira.createThenGet({
      title: `Adapter ${run}`,
      project_id: 'MD',
      labels: [`${label}-a`],
    });
    expect(flow.created.status).toBe('completed');
    expect(flow.readWith).toBe(flow.created.consistencyToken ? 'consistency_token' : 'fresh');
    expect(flow.read).toMatchObject({ key: flow.created.result.key, summary: `Adapter ${run}` });
    const key = flow.created.result.key;

    const updated = await jira.updateTask({ task_id: key, title: `Adapter ${run} v2` });
    expect(updated).toMatchObject({ status: 'completed', result: { key } });
    expect(await jira.getTask(key, { afterConsistencyToken: updated.consistencyToken! })).toMatchObject({
      summary: `Adapter ${run} v2`,
    });

    expect((await jira.transitionTask(key, 'Done')).result).toMatchObject({ status: 'Done' });
    expect((await jira.addComment(key, 'adapter comment')).result).toMatchObject({ id: expect.any(String) });
    const found = await jira.searchTasks(`labels = "${label}-a"`, { maxResults: 5, fresh: true });
    expect(found.issues.map((i) => i.key)).toEqual([key]);

    // Without `wait`: the token (and consistency token) at once.
    const quick = new QueuedJiraAdapter(client, { wait: false });
    const queued = await quick.addComment(key, 'no wait');
    expect(queued.token).toMatch(/^req_/);
    expect(queued.consistencyToken).toMatch(/^cst_/);
    expect((await client.waitForResult(queued.token, { timeoutMs: 30_000 })).status).toBe('completed');
  });

  it('Confluence: create then read, update after the create, get, search', async () => {
    const flow = await confluence.createThenGet({
      title: `Adapter page ${run}`,
      space_id: 'MD',
      content: '<p>one</p>',
    });
    const pageId = flow.created.result.id;
    expect(flow.read).toMatchObject({ id: pageId, title: `Adapter page ${run}` });

    const updated = await confluence.updatePage(
      { page_id: pageId, content: '<p>two</p>' },
      { afterConsistencyToken: flow.created.consistencyToken! },
    );
    expect(updated.result).toMatchObject({ id: pageId, version: 2 });
    expect(await confluence.getPage(pageId, { fresh: true })).toMatchObject({ id: pageId, version: 2 });
    const found = await confluence.searchPages(`Adapter page ${run}`, { spaceId: 'MD', fresh: true });
    expect(found.pages.map((p) => p.id)).toContain(pageId);
  });

  it('a read of a missing issue throws RiqRequestFailedError with the request error', async () => {
    await expect(jira.getTask('MD-999999', { fresh: true })).rejects.toMatchObject({
      name: 'RiqRequestFailedError',
      status: 'failed',
      code: 'NOT_FOUND',
    });
  });
});

describe('dead letters through the client', () => {
  afterAll(() => confluenceBreakerQuiet(), 90_000);

  it('a request dead after 4 attempts is listed, retried through the client and completes', async () => {
    const { result } = await finished('confluence.create_page', {
      title: `Dead ${run}`,
      space_id: 'MD',
      content: '<p>dead</p>',
    });
    const pageId = (result as { id: string }).id;
    await confluenceBreakerQuiet();

    await sim.addFault({ method: 'GET', path: `^/wiki/api/v2/pages/${pageId}$`, status: 503 });
    const sub = await client.submit(
      'confluence.get_page',
      { page_id: pageId },
      { fresh: true, priority: 'low' },
    );
    const token = (sub as { token: string }).token;
    const dead = await client.waitForResult(token, { timeoutMs: 45_000 });
    expect(dead).toMatchObject({ status: 'dead', attempts: 4, error: { code: 'SERVICE_UNAVAILABLE' } });

    const listed = (await allDeadLetters('confluence')).find((d) => d.token === token);
    expect(listed).toMatchObject({ operation: 'confluence.get_page', service: 'confluence', attempts: 4 });

    await sim.clearFaults();
    expect(await client.retryDeadLetter(token)).toMatchObject({ token, status: 'queued', attempts: 0 });
    const done = await client.waitForResult(token, { timeoutMs: 30_000 });
    expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { id: pageId } });
    expect((await allDeadLetters('confluence')).map((d) => d.token)).not.toContain(token);

    const again = await client.retryDeadLetter(token).catch((e: unknown) => e);
    expect(again).toMatchObject({ name: 'RiqApiError', status: 409, code: 'NOT_DEAD' });
  }, 150_000);
});
