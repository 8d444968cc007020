/**
 * Every one of the ten operations through the local stack's HTTP API (submit → queue → worker →
 * simulated Atlassian → result), asserting the documented result shapes key by key and that the ids
 * one operation answers work in the next. The simulator is shared by every e2e file, so this file
 * uses titles and labels unique to its run and never resets it.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { SIMULATOR_CREDENTIALS } from '../../local/stack.js';
import { RiqHttp } from '../support/riq-http.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const simUrl = stack.simulatorUrl ?? '';
const sim = new SimulatorControl(simUrl);
const wiki = `${simUrl}/wiki`;

/** Unique to this run: the simulator keeps data from other files and earlier runs of this one. */
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
const label = `ops-${run}`;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/;
const NUMERIC = /^[1-9]\d*$/;

interface Finished {
  status: string;
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string; retryable: boolean; details?: Record<string, unknown> };
}

/** Submits one operation and long-polls it to a terminal state. */
async function execute(
  operation: string,
  payload: Record<string, unknown>,
  fresh = false,
): Promise<Finished> {
  const submitted = await api.submit({ operation, payload, ...(fresh ? { fresh: true } : {}) });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
  const done = await api.waitFor(String(submitted.body['token']));
  expect(done.body['operation']).toBe(operation);
  return done.body as unknown as Finished;
}

/** The result of an operation that must complete. */
async function completed<T>(operation: string, payload: Record<string, unknown>): Promise<T> {
  // Reads skip RIQ's read cache: they check what the writes before them did.
  const done = await execute(operation, payload, !isWrite(operation));
  expect(done.status, JSON.stringify(done.error)).toBe('completed');
  expect(done.attempts).toBe(1);
  return done.result as T;
}

function isWrite(operation: string): boolean {
  return !/\.(get|search)_/.test(operation);
}

/** The exact key set of a result object: no documented key missing, nothing undocumented added. */
function keysOf(value: unknown): string[] {
  return Object.keys(value as object).sort();
}

const JIRA_TASK_KEYS = [
  'created',
  'description',
  'id',
  'issue_type',
  'key',
  'labels',
  'project_key',
  'status',
  'summary',
  'updated',
  'url',
];

interface TaskRef {
  id: string;
  key: string;
  url: string;
}

beforeAll(async () => {
  // Earlier files may leave faults or behaviours behind; this file needs a quiet simulator.
  await sim.clearFaults();
  await sim.quiet();
});

describe('the ten operations through the local stack', () => {
  describe('Jira', () => {
    let task: TaskRef;
    const title = `Ops ${run} task`;

    it('jira.create_task answers {id, key, url} and the issue exists in the simulator', async () => {
      const before = (await sim.stats()).created.issues;
      task = await completed<TaskRef>('jira.create_task', {
        title,
        project_id: 'RIQ',
        description: 'First line\nsecond line\n\nSecond paragraph',
        labels: [label, 'e2e'],
        issue_type: 'Story',
      });
      expect(keysOf(task)).toEqual(['id', 'key', 'url']);
      expect(task.id).toMatch(NUMERIC);
      expect(task.key).toMatch(/^RIQ-\d+$/);
      expect(task.url).toBe(`${simUrl}/browse/${task.key}`);
      expect((await sim.stats()).created.issues).toBe(before + 1);
    });

    it('jira.get_task answers the whole JiraTask, by key and by numeric id', async () => {
      const got = await completed<Record<string, unknown>>('jira.get_task', { task_id: task.key });
      expect(keysOf(got)).toEqual(JIRA_TASK_KEYS);
      expect(got).toEqual({
        id: task.id,
        key: task.key,
        url: task.url,
        summary: title,
        status: 'To Do',
        project_key: 'RIQ',
        issue_type: 'Story',
        labels: [label, 'e2e'],
        description: 'First line\nsecond line\n\nSecond paragraph',
        created: expect.stringMatching(ISO),
        updated: expect.stringMatching(ISO),
      });
      const byId = await completed<Record<string, unknown>>('jira.get_task', { task_id: task.id });
      expect(byId).toEqual(got);
    });

    it('jira.update_task answers the fields it set, and the edit is visible on a get', async () => {
      const updated = await completed<Record<string, unknown>>('jira.update_task', {
        task_id: task.key,
        title: `${title} (edited)`,
        labels: [label, 'edited'],
      });
      expect(keysOf(updated)).toEqual(['id', 'key', 'updated_fields', 'url']);
      expect(updated).toEqual({ ...task, updated_fields: ['summary', 'labels'] });

      const got = await completed<Record<string, unknown>>('jira.get_task', { task_id: task.key });
      expect(got).toMatchObject({
        summary: `${title} (edited)`,
        labels: [label, 'edited'],
        // Not in the edit: unchanged.
        description: 'First line\nsecond line\n\nSecond paragraph',
      });

      const cleared = await completed<Record<string, unknown>>('jira.update_task', {
        task_id: task.id,
        description: '   ',
      });
      expect(cleared).toEqual({ ...task, updated_fields: ['description'] });
      const after = await completed<Record<string, unknown>>('jira.get_task', { task_id: task.key });
      expect(after['description']).toBeNull();
    });

    it('jira.transition_task moves the issue by target status name, and says when nothing was needed', async () => {
      const moved = await completed<Record<string, unknown>>('jira.transition_task', {
        task_id: task.key,
        target_status: 'in progress',
      });
      expect(keysOf(moved)).toEqual([
        'id',
        'key',
        'previous_status',
        'status',
        'transition_id',
        'transitioned',
        'url',
      ]);
      expect(moved).toEqual({
        ...task,
        status: 'In Progress',
        previous_status: 'To Do',
        transition_id: '11',
        transitioned: true,
      });

      const again = await completed<Record<string, unknown>>('jira.transition_task', {
        task_id: task.key,
        target_status: 'In Progress',
      });
      expect(again).toEqual({
        ...task,
        status: 'In Progress',
        previous_status: 'In Progress',
        transition_id: null,
        transitioned: false,
      });
      const got = await completed<Record<string, unknown>>('jira.get_task', { task_id: task.key });
      expect(got['status']).toBe('In Progress');
    });

    it('jira.transition_task to a status no transition reaches fails VALIDATION_ERROR naming the reachable ones', async () => {
      const posts = async () =>
        (await sim.stats()).calls.filter(
          (c) => c.method === 'POST' && c.path === `/rest/api/3/issue/${task.key}/transitions`,
        ).length;
      const before = await posts();
      const done = await execute('jira.transition_task', { task_id: task.key, target_status: 'Shipped' });
      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(1);
      expect(done.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        retryable: false,
        details: { field: 'payload.target_status' },
      });
      // From In Progress the simulated workflow reaches Done and To Do.
      expect(done.error?.message).toMatch(/available target statuses: Done, To Do$/);
      expect(done.error?.message).toContain(`${task.key} cannot be moved from 'In Progress' to 'Shipped'`);
      expect(await posts()).toBe(before);
    });

    it('jira.add_comment answers {id, issue_key, url, created} and the comment is stored as ADF', async () => {
      const before = (await sim.stats()).created.comments;
      const comment = await completed<Record<string, unknown>>('jira.add_comment', {
        task_id: task.id,
        comment: `Reviewed in run ${run}.\nLooks good.`,
      });
      expect(keysOf(comment)).toEqual(['created', 'id', 'issue_key', 'url']);
      expect(comment).toEqual({
        id: expect.stringMatching(NUMERIC),
        issue_key: task.key,
        url: `${task.url}?focusedCommentId=${String(comment['id'])}`,
        created: expect.stringMatching(ISO),
      });
      expect((await sim.stats()).created.comments).toBe(before + 1);

      // The side effect, read straight from the simulated Jira.
      const { email, apiToken } = SIMULATOR_CREDENTIALS;
      const res = await fetch(`${simUrl}/rest/api/3/issue/${task.key}/comment`, {
        headers: { Authorization: `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}` },
      });
      expect(res.status).toBe(200);
      const listed = (await res.json()) as { comments: { id: string; body: unknown }[] };
      const stored = listed.comments.find((c) => c.id === comment['id']);
      expect(stored?.body).toEqual({
        type: 'doc',
        version: 1,
        content: [
          {
            type: 'paragraph',
            content: [
              { type: 'text', text: `Reviewed in run ${run}.` },
              { type: 'hardBreak' },
              { type: 'text', text: 'Looks good.' },
            ],
          },
        ],
      });
    });

    it('jira.search_tasks finds the issue by its label with the whole JiraTask per hit', async () => {
      const second = await completed<TaskRef>('jira.create_task', {
        title: `Ops ${run} second`,
        project_id: 'RIQ',
        labels: [label],
      });
      const found = await completed<Record<string, unknown>>('jira.search_tasks', {
        jql: `project = RIQ AND labels = "${label}" ORDER BY key ASC`,
        max_results: 10,
      });
      expect(keysOf(found)).toEqual(['issues', 'next_page_token', 'truncated']);
      expect(found['next_page_token']).toBeNull();
      expect(found['truncated']).toBe(false);
      const issues = found['issues'] as Record<string, unknown>[];
      expect(issues.map((i) => i['key'])).toEqual([task.key, second.key]);
      for (const issue of issues) expect(keysOf(issue)).toEqual(JIRA_TASK_KEYS);
      expect(issues[0]).toMatchObject({
        id: task.id,
        url: task.url,
        summary: `${title} (edited)`,
        status: 'In Progress',
        labels: [label, 'edited'],
        description: null,
      });

      const limited = await completed<Record<string, unknown>>('jira.search_tasks', {
        jql: `labels = "${label}" ORDER BY key ASC`,
        max_results: 1,
      });
      expect((limited['issues'] as { key: string }[]).map((i) => i.key)).toEqual([task.key]);
      expect(limited['truncated']).toBe(true);
      expect(limited['next_page_token']).toEqual(expect.any(String));
    });

    it('jira.get_task of a missing issue fails NOT_FOUND after one attempt', async () => {
      const done = await execute('jira.get_task', { task_id: 'RIQ-987654' });
      expect(done).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'NOT_FOUND', retryable: false, details: { status: 404 } },
      });
      expect(done.error?.message).toContain('Issue does not exist');
    });
  });

  describe('Confluence', () => {
    let page: Record<string, unknown>;
    const title = `Ops ${run} runbook`;

    it('confluence.create_page answers the CreatedConfluencePage and the page exists in the simulator', async () => {
      const before = (await sim.stats()).created.pages;
      page = await completed<Record<string, unknown>>('confluence.create_page', {
        title,
        space_id: 'MD',
        content: `<p>Runbook for run ${run}.</p>`,
      });
      expect(keysOf(page)).toEqual(['id', 'parent_id', 'space_id', 'space_key', 'title', 'url', 'version']);
      expect(page).toEqual({
        id: expect.stringMatching(NUMERIC),
        title,
        space_id: expect.stringMatching(NUMERIC),
        space_key: 'MD',
        // No parent asked for: the space's home page.
        parent_id: expect.stringMatching(NUMERIC),
        version: 1,
        url: `${wiki}/spaces/MD/pages/${String(page['id'])}/${encodeURIComponent(title).replace(/%20/g, '+')}`,
      });
      expect((await sim.stats()).created.pages).toBe(before + 1);
    });

    it('confluence.get_page answers the whole ConfluencePage', async () => {
      const got = await completed<Record<string, unknown>>('confluence.get_page', { page_id: page['id'] });
      expect(keysOf(got)).toEqual([
        'body',
        'created_at',
        'id',
        'parent_id',
        'space_id',
        'status',
        'title',
        'url',
        'version',
      ]);
      expect(got).toEqual({
        id: page['id'],
        title,
        space_id: page['space_id'],
        status: 'current',
        version: 1,
        body: `<p>Runbook for run ${run}.</p>`,
        parent_id: page['parent_id'],
        url: page['url'],
        created_at: expect.stringMatching(ISO),
      });
    });

    it('confluence.update_page writes version 2, and a get sees it', async () => {
      const updated = await completed<Record<string, unknown>>('confluence.update_page', {
        page_id: page['id'],
        content: `<p>Runbook for run ${run}, revised.</p>`,
      });
      expect(keysOf(updated)).toEqual(['id', 'title', 'url', 'version']);
      expect(updated).toEqual({ id: page['id'], title, version: 2, url: page['url'] });

      const got = await completed<Record<string, unknown>>('confluence.get_page', { page_id: page['id'] });
      expect(got).toMatchObject({ version: 2, title, body: `<p>Runbook for run ${run}, revised.</p>` });

      const renamed = await completed<Record<string, unknown>>('confluence.update_page', {
        page_id: page['id'],
        title: `${title} v3`,
        content: '<p>Third version.</p>',
      });
      expect(renamed).toMatchObject({ id: page['id'], title: `${title} v3`, version: 3 });
    });

    it('confluence.search_pages finds the page by title text, with hits of the documented shape', async () => {
      const found = await completed<Record<string, unknown>>('confluence.search_pages', {
        query: `Ops ${run}`,
        space_id: 'MD',
        max_results: 5,
      });
      expect(keysOf(found)).toEqual(['next_cursor', 'pages', 'truncated']);
      expect(found['next_cursor']).toBeNull();
      expect(found['truncated']).toBe(false);
      const pages = found['pages'] as Record<string, unknown>[];
      expect(pages).toHaveLength(1);
      expect(keysOf(pages[0])).toEqual(['excerpt', 'id', 'space_key', 'title', 'url']);
      expect(pages[0]).toEqual({
        id: page['id'],
        title: `${title} v3`,
        space_key: 'MD',
        url: expect.stringMatching(new RegExp(`^${wiki}/spaces/MD/pages/${String(page['id'])}/`)),
        excerpt: 'Third version.',
      });

      const byBody = await completed<Record<string, unknown>>('confluence.search_pages', {
        query: 'Third version',
      });
      expect((byBody['pages'] as { id: string }[]).map((p) => p.id)).toContain(page['id']);
    });

    it('confluence.get_page of a missing page fails NOT_FOUND', async () => {
      const done = await execute('confluence.get_page', { page_id: '987654321' });
      expect(done).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'NOT_FOUND', retryable: false, details: { status: 404 } },
      });
    });

    it('confluence.create_page with a title already in the space fails VALIDATION_ERROR with Confluence’s errors[]', async () => {
      const before = (await sim.stats()).created.pages;
      const done = await execute('confluence.create_page', {
        title: `${title} v3`,
        space_id: 'MD',
        content: '<p>duplicate</p>',
      });
      expect(done).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: {
          code: 'VALIDATION_ERROR',
          retryable: false,
          details: { status: 400, errors: [{ status: 400, code: 'BAD_REQUEST' }] },
        },
      });
      expect(done.error?.message).toContain('A page with this title already exists');
      expect((await sim.stats()).created.pages).toBe(before);
    });
  });
});
