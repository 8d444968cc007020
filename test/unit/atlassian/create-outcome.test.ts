/**
 * The create adapters (Jira `POST /issue`, Confluence `POST /pages`) against a loopback HTTP server:
 * a create whose outcome is unknown (no answer in time, a connection lost after sending, a 5xx, an
 * unreadable 2xx) fails with `retryAfterSeconds` of at least the reconcile window and
 * `outcomeUnknown`, so its retry, which looks the object up before creating, comes once Atlassian's
 * search can show it. A refusal (4xx) and a request never sent keep their own error.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfluenceAdapter } from '../../../lambdas/adapters/atlassian/confluence-adapter.js';
import { AtlassianHttpClient, withDeadline } from '../../../lambdas/adapters/atlassian/http-client.js';
import { JiraAdapter } from '../../../lambdas/adapters/atlassian/jira-adapter.js';
import { UpstreamError } from '../../../model/errors.js';

/** How the server answers the next creates. */
type Mode = 'hang' | 'reset' | '503' | '503-long' | 'garbage' | '400' | '429' | 'created';

let server: Server;
let baseUrl: string;
let mode: Mode = 'created';
let creates = 0;
const held: ServerResponse[] = [];

const WINDOW = 7;
const CREATE_PATHS = new Set(['/rest/api/3/issue', '/wiki/api/v2/pages']);

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'GET' && path === '/wiki/api/v2/spaces') {
        return answer(res, 200, { results: [{ id: '42', key: 'MD' }] });
      }
      if (req.method !== 'POST' || !CREATE_PATHS.has(path)) return answer(res, 404, {});
      creates++;
      const page = { id: '7', status: 'current', title: 'T', spaceId: '42', version: { number: 1 } };
      const created = path === '/rest/api/3/issue' ? { id: '10000', key: 'MD-1' } : page;
      switch (mode) {
        case 'hang':
          held.push(res);
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case '503':
          return answer(res, 503, { errorMessages: ['down'] }, { 'Retry-After': '2' });
        case '503-long':
          return answer(res, 503, { errorMessages: ['down'] }, { 'Retry-After': '60' });
        case 'garbage':
          res.writeHead(201, { 'Content-Type': 'text/html' }).end('<html>created</html>');
          return;
        case '400':
          return answer(res, 400, { errorMessages: [], errors: { summary: 'required' } });
        case '429':
          return answer(res, 429, { message: 'slow down' }, { 'Retry-After': '3' });
        case 'created':
          return answer(res, path === '/rest/api/3/issue' ? 201 : 200, created);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  mode = 'created';
  creates = 0;
});

const auth = { header: () => Promise.resolve('Basic eDp5') };

function jira(): JiraAdapter {
  const client = new AtlassianHttpClient({ baseUrl, auth, timeoutMs: 1_000, service: 'jira' });
  return new JiraAdapter(client, { reconcileWindowSeconds: WINDOW });
}

function confluence(): ConfluenceAdapter {
  const client = new AtlassianHttpClient({
    baseUrl: `${baseUrl}/wiki`,
    auth,
    timeoutMs: 1_000,
    service: 'confluence',
  });
  return new ConfluenceAdapter(client, { reconcileWindowSeconds: WINDOW });
}

const createTask = (): Promise<unknown> =>
  jira().createTask({ title: 'T', project_id: 'MD' }, { token: `req_${'a'.repeat(32)}` });
const createPage = (): Promise<unknown> =>
  confluence().createPage({ title: 'T', space_id: 'MD', content: '<p>x</p>' });

async function failure(run: () => Promise<unknown>): Promise<UpstreamError> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

describe.each([
  ['jira.create_task', createTask],
  ['confluence.create_page', createPage],
])('%s whose outcome is unknown', (_name, create) => {
  it('no answer in time: TIMEOUT that waits out the reconcile window', async () => {
    mode = 'hang';
    const err = await failure(create);
    expect(err.code).toBe('TIMEOUT');
    expect(err.details).toMatchObject({ outcomeUnknown: true, retryAfterSeconds: WINDOW });
    expect(creates).toBe(1);
  });

  it('the connection lost after sending: waits out the window', async () => {
    mode = 'reset';
    const err = await failure(create);
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.details).toMatchObject({ outcomeUnknown: true, retryAfterSeconds: WINDOW });
  });

  it('a 5xx: waits out the window, or its own Retry-After when longer', async () => {
    mode = '503';
    expect((await failure(create)).details).toMatchObject({
      status: 503,
      outcomeUnknown: true,
      retryAfterSeconds: WINDOW,
    });
    mode = '503-long';
    expect((await failure(create)).details).toMatchObject({ outcomeUnknown: true, retryAfterSeconds: 60 });
  });

  it('a 2xx whose body cannot be read: the object exists, so the retry must find it', async () => {
    mode = 'garbage';
    const err = await failure(create);
    expect(err.details).toMatchObject({ status: 201, outcomeUnknown: true, retryAfterSeconds: WINDOW });
  });
});

describe.each([
  ['jira.create_task', createTask],
  ['confluence.create_page', createPage],
])('%s whose outcome is known', (_name, create) => {
  it('a 400 fails for good, with no window', async () => {
    mode = '400';
    const err = await failure(create);
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details?.['outcomeUnknown']).toBeUndefined();
    expect(err.retryAfterSeconds).toBeUndefined();
  });

  it('a 429 keeps its own Retry-After: Atlassian did not do it', async () => {
    mode = '429';
    const err = await failure(create);
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.details?.['outcomeUnknown']).toBeUndefined();
    expect(err.retryAfterSeconds).toBe(3);
  });

  it('a create refused before sending (the operation deadline passed) has no window', async () => {
    mode = 'created';
    const err = await failure(() => withDeadline(Date.now() - 1, create));
    expect(err.code).toBe('TIMEOUT');
    expect(err.details).toMatchObject({ notSent: true });
    expect(err.details?.['outcomeUnknown']).toBeUndefined();
    expect(creates).toBe(0);
  });

  it('succeeds as before', async () => {
    await expect(create()).resolves.toMatchObject({ id: expect.any(String) });
  });
});
