/**
 * Contract tests: every request the Atlassian adapters put on the wire (method, path, query, body) is
 * checked against Atlassian's own OpenAPI specs (shared/atlassian/specs), so the adapters and the
 * simulator cannot drift from the real API together. The executor talks to the in-process simulator
 * through a recording proxy; each recorded request must validate with zero problems.

 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtlassianExecutor } from '../../lambdas/adapters/atlassian/operation-executor.js';
import { OPERATIONS, type OperationName } from '../../model/operations.js';
import { startAtlassianSimulator, type AtlassianSimulator } from '../../local/atlassian-sim/server.js';
import {
  startRecordingProxy,
  type RecordedExchange,
  type RecordingProxy,
} from '../support/openapi/recording-proxy.js';
import { checkRequest, validateRequest } from '../support/openapi/validate-request.js';

const credentials = { email: 'riq@example.com', apiToken: 'local-token' };
const authorization = `Basic ${Buffer.from(`${credentials.email}:${credentials.apiToken}`).toString('base64')}`;
const context = { token: 'req_contract' };

let sim: AtlassianSimulator;
let proxy: RecordingProxy;
let executor: AtlassianExecutor;

/** Every exchange recorded by an operation test, for the route checks at the end. */
const recordedByOperation = new Map<string, RecordedExchange[]>();

/** Objects the later operations need, made by the create operations (or directly, until those land). */
const made: { issueKey?: string; pageId?: string } = {};

beforeAll(async () => {
  sim = await startAtlassianSimulator({ port: 0, ...credentials });
  proxy = await startRecordingProxy(sim.url);
  executor = new AtlassianExecutor({
    jiraBaseUrl: proxy.url,
    confluenceBaseUrl: `${proxy.url}/wiki`,
    auth: credentials,
    timeoutMs: 5_000,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await sim?.stop();
});

/** A call straight to the simulator (not recorded), for fixtures and route probes. */
async function simCall(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      Authorization: authorization,
      Accept: 'application/json',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.trim() === '' ? undefined : (JSON.parse(text) as unknown) };
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

async function issueKey(): Promise<string> {
  if (made.issueKey === undefined) {
    const created = await simCall('POST', '/rest/api/3/issue', {
      fields: { project: { key: 'MD' }, summary: 'Contract fixture', issuetype: { name: 'Task' } },
    });
    expect(created.status).toBe(201);
    made.issueKey = String(field(created.body, 'key'));
  }
  return made.issueKey;
}

async function spaceId(key: string): Promise<string> {
  const spaces = await simCall('GET', `/wiki/api/v2/spaces?keys=${encodeURIComponent(key)}`);
  expect(spaces.status).toBe(200);
  const results = field(spaces.body, 'results');
  const id = Array.isArray(results) ? field(results[0], 'id') : undefined;
  if (typeof id !== 'string') throw new Error(`simulator has no space ${key}`);
  return id;
}

async function pageId(): Promise<string> {
  if (made.pageId === undefined) {
    const created = await simCall('POST', '/wiki/api/v2/pages', {
      spaceId: await spaceId('MD'),
      status: 'current',
      title: `Contract fixture ${Date.now()}`,
      body: { representation: 'storage', value: '<p>fixture</p>' },
    });
    expect(created.status).toBe(200);
    made.pageId = String(field(created.body, 'id'));
  }
  return made.pageId;
}

interface Case {
  name: string;
  op: OperationName;
  payload: () => Promise<Record<string, unknown>>;
  /** Keeps what later cases need from the result. */
  keep?: (result: unknown) => void;
  /** The attempt number: above 1, creates first look for what an earlier attempt made. */
  attempt?: number;
}

/** In order: the creates first, so the later cases work on what they made. */
const CASES: Case[] = [
  {
    name: 'all fields',
    op: 'jira.create_task',
    payload: async () => ({
      title: 'Contract: create with everything',
      project_id: 'MD',
      description: 'First line.\n\nSecond paragraph.',
      issue_type: 'Bug',
      labels: ['contract', 'riq'],
    }),
    keep: (result) => {
      made.issueKey = String(field(result, 'key'));
    },
  },
  {
    name: 'required fields only',
    op: 'jira.create_task',
    payload: async () => ({ title: 'Contract: minimal create', project_id: 'MD' }),
  },
  {
    name: 'a retry, which first searches for the marker label',
    op: 'jira.create_task',
    attempt: 2,
    payload: async () => ({ title: 'Contract: retried create', project_id: 'MD' }),
  },
  {
    name: 'a retry, which first looks the title up in the space',
    op: 'confluence.create_page',
    attempt: 2,
    payload: async () => ({
      title: `Contract retried page ${Date.now()}`,
      content: '<p>r</p>',
      space_id: 'MD',
    }),
  },
  { name: 'by key', op: 'jira.get_task', payload: async () => ({ task_id: await issueKey() }) },
  {
    name: 'title, description and labels',
    op: 'jira.update_task',
    payload: async () => ({
      task_id: await issueKey(),
      title: 'Contract: updated',
      description: 'Updated description.',
      labels: ['contract', 'updated'],
    }),
  },
  {
    name: 'title only',
    op: 'jira.update_task',
    payload: async () => ({ task_id: await issueKey(), title: 'Contract: title only' }),
  },
  {
    name: 'to In Progress',
    op: 'jira.transition_task',
    payload: async () => ({ task_id: await issueKey(), target_status: 'In Progress' }),
  },
  {
    name: 'plain text',
    op: 'jira.add_comment',
    payload: async () => ({ task_id: await issueKey(), comment: 'A comment.\n\nWith two paragraphs.' }),
  },
  {
    name: 'a retry, which first lists the comments and reads their properties',
    op: 'jira.add_comment',
    attempt: 2,
    payload: async () => ({ task_id: await issueKey(), comment: 'A retried comment.' }),
  },
  {
    name: 'with max_results',
    op: 'jira.search_tasks',
    payload: async () => ({ jql: 'project = MD ORDER BY created DESC', max_results: 10 }),
  },
  { name: 'jql only', op: 'jira.search_tasks', payload: async () => ({ jql: 'project = MD' }) },
  {
    name: 'top level',
    op: 'confluence.create_page',
    payload: async () => ({
      title: `Contract page ${Date.now()}`,
      content: '<p>Hello from the contract test.</p>',
      space_id: 'MD',
    }),
    keep: (result) => {
      made.pageId = String(field(result, 'id') ?? field(result, 'page_id'));
    },
  },
  {
    name: 'under a parent',
    op: 'confluence.create_page',
    payload: async () => ({
      title: `Contract child ${Date.now()}`,
      content: '<p>Child.</p>',
      space_id: 'MD',
      parent_id: await pageId(),
    }),
  },
  { name: 'by id', op: 'confluence.get_page', payload: async () => ({ page_id: await pageId() }) },
  {
    name: 'content and title',
    op: 'confluence.update_page',
    payload: async () => ({
      page_id: await pageId(),
      content: '<p>Updated.</p>',
      title: `Contract page updated ${Date.now()}`,
    }),
  },
  {
    name: 'content only',
    op: 'confluence.update_page',
    payload: async () => ({ page_id: await pageId(), content: '<p>Updated again.</p>' }),
  },
  {
    name: 'in a space',
    op: 'confluence.search_pages',
    payload: async () => ({ query: 'Contract "quoted"', space_id: 'MD', max_results: 10 }),
  },
  { name: 'everywhere', op: 'confluence.search_pages', payload: async () => ({ query: 'Contract' }) },
];

describe('every request the adapters send follows the OpenAPI specs', () => {
  it('the table covers all ten operations', () => {
    expect(new Set(CASES.map((c) => c.op))).toEqual(new Set(OPERATIONS));
  });

  for (const c of CASES) {
    const title = `${c.op} (${c.name})`;
    it(title, async () => {
      const payload = await c.payload();
      proxy.clear();
      const result = await executor.execute(c.op, payload, {
        ...context,
        ...(c.attempt !== undefined ? { attempt: c.attempt } : {}),
      });
      const sent = [...proxy.requests];
      recordedByOperation.set(title, sent);
      c.keep?.(result);

      expect(sent.length, `${c.op} sent no request`).toBeGreaterThan(0);
      const problems = sent.flatMap((r) => validateRequest(r));
      expect(problems, `requests sent:\n${sent.map(describeExchange).join('\n')}`).toEqual([]);
    });
  }
});

describe('the simulator answers the routes the adapters use', () => {
  it('no recorded adapter request was answered 404 or 405', () => {
    const all = [...recordedByOperation.values()].flat();
    const unanswered = all.filter((r) => r.status === 404 || r.status === 405).map(describeExchange);
    expect(unanswered).toEqual([]);
  });

  /**
   * The Atlassian calls of each operation (shared/atlassian/README.md), sent straight to the
   * simulator: each must be a spec operation and must not be answered 404/405. `run` answers the
   * requests it sent with their statuses.
   */
  const ROUTES: {
    op: OperationName;
    run: () => Promise<{ method: string; url: string; body?: unknown; status: number }[]>;
  }[] = [
    {
      op: 'jira.get_task',
      run: async () => [await send('GET', `/rest/api/3/issue/${await issueKey()}?fields=summary,status`)],
    },
    {
      op: 'jira.create_task',
      run: async () => [
        await send('POST', '/rest/api/3/issue', {
          fields: { project: { key: 'MD' }, summary: 'Route probe', issuetype: { name: 'Task' } },
        }),
      ],
    },
    {
      op: 'jira.update_task',
      run: async () => [
        await send('PUT', `/rest/api/3/issue/${await issueKey()}`, { fields: { summary: 'Route probe' } }),
      ],
    },
    {
      op: 'jira.transition_task',
      run: async () => {
        const key = await issueKey();
        const list = await send('GET', `/rest/api/3/issue/${key}/transitions`);
        const transitions = field(list.response, 'transitions');
        const id = Array.isArray(transitions) ? field(transitions[0], 'id') : undefined;
        return [
          list,
          await send('POST', `/rest/api/3/issue/${key}/transitions`, { transition: { id: String(id) } }),
        ];
      },
    },
    {
      op: 'jira.add_comment',
      run: async () => {
        const posted = await send('POST', `/rest/api/3/issue/${await issueKey()}/comment`, {
          body: {
            type: 'doc',
            version: 1,
            content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Route probe' }] }],
          },
          properties: [{ key: 'riq.request', value: { token: 'req_probe' } }],
        });
        // A retried comment first looks for the earlier attempt's among the newest: their ids,
        // then their properties.
        const listed = await send(
          'GET',
          `/rest/api/3/issue/${await issueKey()}/comment?orderBy=-created&startAt=0&maxResults=100`,
        );
        const comments = field(listed.response, 'comments');
        const ids = Array.isArray(comments) ? comments.map((c) => Number(field(c, 'id'))) : [];
        const byId = await send('POST', '/rest/api/3/comment/list?expand=properties', { ids });
        const values = field(byId.response, 'values');
        expect(
          Array.isArray(values) &&
            values.some((v) => JSON.stringify(field(v, 'properties')).includes('req_probe')),
        ).toBe(true);
        return [posted, listed, byId];
      },
    },
    {
      op: 'jira.search_tasks',
      run: async () => [await send('POST', '/rest/api/3/search/jql', { jql: 'project = MD', maxResults: 5 })],
    },
    {
      op: 'confluence.get_page',
      run: async () => [await send('GET', `/wiki/api/v2/pages/${await pageId()}?body-format=storage`)],
    },
    {
      op: 'confluence.create_page',
      run: async () => [
        await send('GET', '/wiki/api/v2/spaces?keys=MD'),
        await send('POST', '/wiki/api/v2/pages', {
          spaceId: await spaceId('MD'),
          status: 'current',
          title: `Route probe ${Date.now()}`,
          body: { representation: 'storage', value: '<p>probe</p>' },
        }),
      ],
    },
    {
      op: 'confluence.update_page',
      run: async () => {
        const id = await pageId();
        const current = await send('GET', `/wiki/api/v2/pages/${id}?body-format=storage`);
        const version = Number(field(field(current.response, 'version'), 'number'));
        return [
          current,
          await send('PUT', `/wiki/api/v2/pages/${id}`, {
            id,
            status: 'current',
            title: `Route probe ${Date.now()}`,
            body: { representation: 'storage', value: '<p>probe</p>' },
            version: { number: version + 1 },
          }),
        ];
      },
    },
    {
      op: 'confluence.search_pages',
      run: async () => [
        await send('GET', `/wiki/rest/api/search?cql=${encodeURIComponent('type=page AND space="MD"')}`),
      ],
    },
  ];

  async function send(method: string, url: string, body?: unknown) {
    const answer = await simCall(method, url, body);
    return { method, url, body, status: answer.status, response: answer.body };
  }

  it('the route table covers all ten operations', () => {
    expect(new Set(ROUTES.map((r) => r.op))).toEqual(new Set(OPERATIONS));
  });

  for (const route of ROUTES) {
    it(`${route.op}: every call is a spec operation the simulator answers`, async () => {
      const calls = await route.run();
      for (const call of calls) {
        const label = `${call.method} ${call.url} → ${call.status}`;
        expect(checkRequest({ method: call.method, url: call.url, body: call.body }).problems, label).toEqual(
          [],
        );
        expect([404, 405], label).not.toContain(call.status);
      }
    });
  }
});

function describeExchange(r: RecordedExchange): string {
  return `  ${r.method} ${r.url} → ${r.status ?? '?'}${r.rawBody !== undefined ? ` ${r.rawBody.slice(0, 300)}` : ''}`;
}
