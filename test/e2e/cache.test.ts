/**
 * The read cache and fire-and-forget through the local stack's HTTP API: a read answered from the
 * cache (`status: cached`, `routing_path: CACHE`, no token, no record, no call to the simulator),
 * invalidation by a write to the same object and, for searches, by any write of the service, the
 * `fresh` bypass, and a fire-and-forget submit (202, completes). Objects are unique to this run.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { localDynamo } from '../support/aws-local.js';
import { RiqHttp, type HttpAnswer } from '../support/riq-http.js';
import { StackInspector } from '../support/stack-inspect.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const inspect = new StackInspector(stack);
const sim = new SimulatorControl(stack.simulatorUrl ?? '');

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
const label = `cache-${run}`;

/** Submits and, for a queued request, waits for its terminal state. */
async function through(body: Record<string, unknown>): Promise<HttpAnswer> {
  const sub = await api.submit(body);
  expect(sub.status, JSON.stringify(sub.body)).toBe(200);
  if (sub.body['status'] === 'cached') return sub;
  const done = await api.waitFor(String(sub.body['token']));
  expect(done.body['status'], JSON.stringify(done.body)).toBe('completed');
  return sub;
}

async function completedResult(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const sub = await api.submit(body);
  expect(sub.status, JSON.stringify(sub.body)).toBe(200);
  const done = await api.waitFor(String(sub.body['token']));
  expect(done.body['status'], JSON.stringify(done.body)).toBe('completed');
  return done.body['result'] as Record<string, unknown>;
}

/** Calls the simulator got for one path. */
async function callsTo(path: string): Promise<number> {
  return (await sim.stats()).calls.filter((c) => c.path === path).length;
}

let issue: { key: string; id: string };
const getIssue = () => ({ operation: 'jira.get_task', payload: { task_id: issue.key } });

beforeAll(async () => {
  issue = (await completedResult({
    operation: 'jira.create_task',
    payload: { title: `Cache ${run}`, project_id: 'MD', labels: [label] },
  })) as unknown as { key: string; id: string };
});

describe('read cache', () => {
  it('answers a repeated read from the cache: no token, no record, no call to Atlassian', async () => {
    const first = await through(getIssue());
    expect(['QUEUED', 'DIRECT']).toContain(first.body['routing_path']);

    const path = `/rest/api/3/issue/${issue.key}`;
    const callsBefore = await callsTo(path);
    const itemsBefore = await inspect.itemCount('all');
    const cached = await api.submit(getIssue());
    expect(cached.status).toBe(200);
    expect(cached.body).toEqual({
      status: 'cached',
      routing_path: 'CACHE',
      result: expect.objectContaining({ key: issue.key, summary: `Cache ${run}` }),
      cached_at: expect.any(String),
    });
    expect(cached.body).not.toHaveProperty('token');
    expect(cached.body).not.toHaveProperty('consistency_token');
    expect(await inspect.itemCount('all')).toBe(itemsBefore);
    expect(await callsTo(path)).toBe(callsBefore);
  });

  it('a write to the same issue invalidates its cached get', async () => {
    await through(getIssue());
    expect((await api.submit(getIssue())).body['status']).toBe('cached');

    await completedResult({
      operation: 'jira.update_task',
      payload: { task_id: issue.key, title: `Cache ${run} edited` },
    });
    const after = await through(getIssue());
    expect(after.body['routing_path']).not.toBe('CACHE');
    const again = await api.submit(getIssue());
    expect(again.body).toMatchObject({
      status: 'cached',
      result: expect.objectContaining({ summary: `Cache ${run} edited` }),
    });
  });

  it('fresh: true skips the cache, and its completion refreshes the entry', async () => {
    await through(getIssue());
    const path = `/rest/api/3/issue/${issue.key}`;
    const callsBefore = await callsTo(path);
    const fresh = await api.submit({ ...getIssue(), fresh: true });
    expect(['QUEUED', 'DIRECT']).toContain(fresh.body['routing_path']);
    const done = await api.waitFor(String(fresh.body['token']));
    expect(done.body['status']).toBe('completed');
    expect(await callsTo(path)).toBeGreaterThan(callsBefore);
    const cached = await api.submit(getIssue());
    expect(cached.body['status']).toBe('cached');
    expect(Date.parse(String(cached.body['cached_at']))).toBeGreaterThanOrEqual(
      Date.parse(String(done.body['completed_at'])) - 1000,
    );
  });

  it('any write of the service invalidates its cached searches, another service does not', async () => {
    const search = {
      operation: 'jira.search_tasks',
      payload: { jql: `labels = "${label}"`, max_results: 10 },
    };
    await through(search);
    expect((await api.submit(search)).body['status']).toBe('cached');

    // A Confluence write leaves Jira's searches alone.
    await completedResult({
      operation: 'confluence.create_page',
      payload: { title: `Cache ${run}`, content: '<p>x</p>', space_id: 'MD' },
    });
    expect((await api.submit(search)).body['status']).toBe('cached');

    // A Jira write on another issue moves Jira's search generation on.
    await completedResult({
      operation: 'jira.create_task',
      payload: { title: `Cache ${run} other`, project_id: 'MD' },
    });
    const after = await through(search);
    expect(after.body['routing_path']).not.toBe('CACHE');
  });

  it('a Confluence page update invalidates its cached get', async () => {
    const page = await completedResult({
      operation: 'confluence.create_page',
      payload: { title: `Cache page ${run}`, content: '<p>v1</p>', space_id: 'MD' },
    });
    const get = { operation: 'confluence.get_page', payload: { page_id: page['id'] } };
    await through(get);
    expect((await api.submit(get)).body['status']).toBe('cached');
    await completedResult({
      operation: 'confluence.update_page',
      payload: { page_id: page['id'], content: '<p>v2</p>' },
    });
    const after = await through(get);
    expect(after.body['routing_path']).not.toBe('CACHE');
  });
});

describe('fire_and_forget', () => {
  it('is accepted with 202 and completes', async () => {
    const sub = await api.submit({
      operation: 'jira.add_comment',
      payload: { task_id: issue.key, comment: `fire and forget ${run}` },
      fire_and_forget: true,
    });
    expect(sub.status).toBe(202);
    expect(sub.body).toMatchObject({ status: 'queued', routing_path: 'QUEUED', token: expect.any(String) });
    const done = await api.waitFor(String(sub.body['token']));
    expect(done.body['status']).toBe('completed');
    // Kept an hour after completion, not the retention period.
    const record = await inspect.record(String(sub.body['token']));
    const expiresAt = Number(record?.['expires_at']);
    expect(expiresAt - Date.now() / 1000).toBeGreaterThan(3500);
    expect(expiresAt - Date.now() / 1000).toBeLessThanOrEqual(3600);
  });
});

/** The read cache's items in the table: entries (`CACHE#…`) and search generations (`CACHEGEN#…`). */
async function cacheItems(): Promise<number> {
  const out = await localDynamo(stack.dynamoEndpoint).doc.send(
    new ScanCommand({
      TableName: stack.tableName,
      Select: 'COUNT',
      ConsistentRead: true,
      FilterExpression: 'begins_with(pk, :entry) OR begins_with(pk, :generation)',
      ExpressionAttributeValues: { ':entry': 'CACHE#', ':generation': 'CACHEGEN#' },
    }),
  );
  return out.Count ?? 0;
}

describe('read cache after a simulator reset', () => {
  // Last in this file: the reset empties the simulator (each file creates its own objects).
  it('answers no cached read of the data the reset removed', async () => {
    await through(getIssue());
    expect((await api.submit(getIssue())).body['status']).toBe('cached');
    expect(await cacheItems()).toBeGreaterThan(0);

    await sim.reset();
    expect(await cacheItems()).toBe(0);
    const after = await api.submit(getIssue());
    expect(after.body['status']).not.toBe('cached');
    expect(after.body['routing_path']).not.toBe('CACHE');
    // The simulator has no such issue any more: the read goes to it and finds nothing.
    const done = after.body['token'] ? await api.waitFor(String(after.body['token'])) : after;
    expect(done.body).toMatchObject({
      status: 'failed',
      error: expect.objectContaining({ code: 'NOT_FOUND' }),
    });
  });
});
