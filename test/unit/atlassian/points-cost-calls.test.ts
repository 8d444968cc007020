/**
 * The points cost model against the calls the adapters really make: each operation runs through the
 * AtlassianExecutor against the in-process simulator, every HTTP answer is counted (the executor
 * reports each one to `onUpstreamSignal`), and the count must be the calls the model settles the
 * operation at. A change to the adapters' calls that the model does not follow fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtlassianExecutor } from '../../../lambdas/adapters/atlassian/operation-executor.js';
import { actualPoints, estimatePoints } from '../../../lambdas/core/domain/points-cost.js';
import type { OperationName } from '../../../model/operations.js';
import { startAtlassianSimulator, type AtlassianSimulator } from '../../../local/atlassian-sim/server.js';

const credentials = { email: 'riq@example.com', apiToken: 'local-token' };

let sim: AtlassianSimulator;
let executor: AtlassianExecutor;
let serial = 0;

beforeAll(async () => {
  sim = await startAtlassianSimulator({ port: 0, ...credentials });
  executor = new AtlassianExecutor({
    jiraBaseUrl: sim.url,
    confluenceBaseUrl: `${sim.url}/wiki`,
    auth: credentials,
    timeoutMs: 5_000,
  });
});

afterAll(async () => {
  await sim?.stop();
});

/** Runs one operation; answers its result and the HTTP calls it made. */
async function run(
  operation: OperationName,
  payload: Record<string, unknown>,
  attempt = 1,
  token = `req_points_${++serial}`,
): Promise<{ result: unknown; calls: number }> {
  let calls = 0;
  const result = await executor.execute(operation, payload, {
    token,
    attempt,
    onUpstreamSignal: () => calls++,
  });
  return { result, calls };
}

function field(value: unknown, name: string): string {
  const v =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
  if (typeof v !== 'string') throw new Error(`no ${name} in ${JSON.stringify(value)}`);
  return v;
}

/** Runs the operation and checks its calls are the model's, and that it gives back 0 or more. */
async function expectModelled(operation: OperationName, payload: Record<string, unknown>, attempt = 1) {
  const { result, calls } = await run(operation, payload, attempt);
  const actual = actualPoints(operation, payload, result, { attempt });
  expect(calls).toBe(actual.calls);
  expect(estimatePoints(operation, payload, { attempt }).points).toBeGreaterThanOrEqual(actual.points);
  return result;
}

describe('the points cost model counts the calls the adapters make', () => {
  let issue: { key: string; id: string };
  let pageId: string;

  beforeAll(async () => {
    const created = await run('jira.create_task', { title: 'Points fixture', project_id: 'MD' });
    issue = { key: field(created.result, 'key'), id: field(created.result, 'id') };
    // The first page create of a space also looks the space up (cached after): not counted.
    const page = await run('confluence.create_page', {
      title: `Points fixture ${Date.now()}`,
      content: '<p>x</p>',
      space_id: 'MD',
    });
    pageId = field(page.result, 'id');
  });

  it('jira.create_task, first and retried (the marker search finds nothing, then the POST)', async () => {
    await expectModelled('jira.create_task', { title: 'Points create', project_id: 'MD' });
    await expectModelled('jira.create_task', { title: 'Points retried create', project_id: 'MD' }, 2);
  });

  it('jira.create_task retried after its first attempt made the issue: the search adopts it (1 + 1 issue)', async () => {
    const payload = { title: 'Points adopted', project_id: 'MD' };
    await run('jira.create_task', payload, 1, 'req_points_adopt');
    const { result, calls } = await run('jira.create_task', payload, 2, 'req_points_adopt');
    expect(calls).toBe(1);
    expect(actualPoints('jira.create_task', payload, result, { attempt: 2 }).points).toBe(calls + 1);
  });

  it('jira.get_task and jira.update_task', async () => {
    await expectModelled('jira.get_task', { task_id: issue.key });
    await expectModelled('jira.update_task', { task_id: issue.key, title: 'Points updated' });
  });

  it('jira.transition_task, moving the issue and finding it already there', async () => {
    await expectModelled('jira.transition_task', { task_id: issue.key, target_status: 'In Progress' });
    await expectModelled('jira.transition_task', { task_id: issue.key, target_status: 'In Progress' });
  });

  it('jira.add_comment on a key, on a numeric id, and retried', async () => {
    await expectModelled('jira.add_comment', { task_id: issue.key, comment: 'on the key' });
    await expectModelled('jira.add_comment', { task_id: issue.id, comment: 'on the id' });
    await expectModelled('jira.add_comment', { task_id: issue.key, comment: 'retried' }, 2);
  });

  it('jira.search_tasks', async () => {
    const result = await expectModelled('jira.search_tasks', { jql: 'project = MD' });
    expect(actualPoints('jira.search_tasks', { jql: 'project = MD' }, result).objects).toBeGreaterThan(0);
    await expectModelled('jira.search_tasks', { jql: 'project = MD', max_results: 2 });
  });

  it('confluence.create_page, first and retried (the title look-up finds nothing, then the POST)', async () => {
    await expectModelled('confluence.create_page', {
      title: `Points page ${Date.now()}`,
      content: '<p>p</p>',
      space_id: 'MD',
    });
    await expectModelled(
      'confluence.create_page',
      { title: `Points retried page ${Date.now()}`, content: '<p>p</p>', space_id: 'MD' },
      2,
    );
  });

  it('confluence.get_page, confluence.update_page and confluence.search_pages', async () => {
    await expectModelled('confluence.get_page', { page_id: pageId });
    await expectModelled('confluence.update_page', { page_id: pageId, content: '<p>new</p>' });
    await expectModelled('confluence.search_pages', { query: 'Points' });
    await expectModelled('confluence.search_pages', { query: 'Points', max_results: 100 });
  });
});
