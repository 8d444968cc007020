/**
 * The Jira adapter (through AtlassianExecutor and directly) against the simulated Jira on loopback:
 * real HTTP, real timeouts, every failure classified.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { JiraAdapter } from '../../../lambdas/adapters/atlassian/jira-adapter.js';
import type { CreatedJiraTask, JiraTask } from '../../../model/results.js';
import {
  UNKNOWN_PROJECT,
  useAtlassianSimulator,
  type SimClientOptions,
} from '../../support/atlassian-sim-fixture.js';
import { everythingShownOf, upstreamFailure as failure } from '../../support/upstream-failure.js';

const ctx = { token: 'req_test' };

const sim = useAtlassianSimulator();
const jira = (options: SimClientOptions = {}) => new JiraAdapter(sim.client('jira', options));

describe('JiraAdapter against the simulator', () => {
  describe('create then get', () => {
    it('round-trips through the executor with the documented shapes', async () => {
      const exec = sim.executor();
      const created = (await exec.execute(
        'jira.create_task',
        {
          title: 'Publish the runbook',
          project_id: 'MD',
          description: 'First line\nsecond line\n\nSecond paragraph',
          labels: ['riq', 'docs'],
        },
        ctx,
      )) as CreatedJiraTask;
      expect(created).toEqual({ id: expect.any(String), key: 'MD-1', url: `${sim.url}/browse/MD-1` });

      const task = (await exec.execute('jira.get_task', { task_id: created.key }, ctx)) as JiraTask;
      expect(task).toEqual({
        id: created.id,
        key: 'MD-1',
        url: `${sim.url}/browse/MD-1`,
        summary: 'Publish the runbook',
        status: 'To Do',
        project_key: 'MD',
        issue_type: 'Task',
        labels: ['riq', 'docs'],
        description: 'First line\nsecond line\n\nSecond paragraph',
        created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(Object.keys(task).sort()).toEqual([
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
      ]);
    });

    it('gets by numeric id too, with a null description when there is none', async () => {
      const created = await jira().createTask({
        title: 'No description',
        project_id: 'RIQ',
        issue_type: 'Bug',
      });
      expect(created.key).toBe('RIQ-1');
      const task = await jira().getTask({ task_id: created.id });
      expect(task).toMatchObject({ key: 'RIQ-1', issue_type: 'Bug', description: null, labels: [] });
    });

    it('numbers keys per project and uses the configured default issue type', async () => {
      const exec = sim.executor({ defaultIssueType: 'Story' });
      const a = (await exec.execute(
        'jira.create_task',
        { title: 'a', project_id: 'MD' },
        ctx,
      )) as CreatedJiraTask;
      const b = (await exec.execute(
        'jira.create_task',
        { title: 'b', project_id: 'MD' },
        ctx,
      )) as CreatedJiraTask;
      expect([a.key, b.key]).toEqual(['MD-1', 'MD-2']);
      expect((await jira().getTask({ task_id: 'MD-2' })).issue_type).toBe('Story');
    });
  });

  describe('failures', () => {
    it('answers VALIDATION_ERROR with the field error for an unknown project', async () => {
      const err = await failure(jira().createTask({ title: 'x', project_id: 'NOPE' }));
      expect(err).toMatchObject({
        code: 'VALIDATION_ERROR',
        retryable: false,
        details: { status: 400, ...UNKNOWN_PROJECT },
      });
      expect(err.message).toContain('project: valid project is required');
    });

    it('answers VALIDATION_ERROR naming issuetype for an unknown issue type', async () => {
      const err = await failure(jira().createTask({ title: 'x', project_id: 'MD', issue_type: 'Epic' }));
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.details?.['errors']).toHaveProperty('issuetype');
    });

    it('answers NOT_FOUND for a missing issue', async () => {
      const err = await failure(jira().getTask({ task_id: 'MD-404' }));
      expect(err).toMatchObject({ code: 'NOT_FOUND', details: { status: 404 } });
      expect(err.message).toContain('Issue does not exist');
    });

    it('answers AUTH_FAILED for wrong credentials, without leaking them', async () => {
      const wrongToken = 'wrong-token-d41d8cd9';
      const err = await failure(jira({ apiToken: wrongToken }).getTask({ task_id: 'MD-1' }));
      expect(err).toMatchObject({ code: 'AUTH_FAILED', details: { status: 401 } });
      const dump = everythingShownOf(err);
      const header = Buffer.from(`${sim.credentials.email}:${wrongToken}`).toString('base64');
      expect(dump).not.toContain(wrongToken);
      expect(dump).not.toContain(header);
    });

    it('answers SERVICE_UNAVAILABLE for an injected 503, and succeeds once the fault is used up', async () => {
      await sim.control.addFault({ method: 'GET', path: '^/rest/api/3/issue/', status: 503, count: 1 });
      const { key } = await jira().createTask({ title: 'x', project_id: 'MD' });
      const err = await failure(jira().getTask({ task_id: key }));
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true, details: { status: 503 } });
      await expect(jira().getTask({ task_id: key })).resolves.toMatchObject({ key });
    });

    it('answers RATE_LIMITED with retryAfterSeconds and the reason for an injected 429', async () => {
      await sim.control.addFault({
        path: '^/rest/api/3/issue$',
        status: 429,
        retry_after: 7,
        headers: { 'RateLimit-Reason': 'jira-burst-based' },
      });
      const err = await failure(jira().createTask({ title: 'x', project_id: 'MD' }));
      expect(err.code).toBe('RATE_LIMITED');
      expect(err.retryAfterSeconds).toBe(7);
      expect(err.details).toMatchObject({
        status: 429,
        retryAfterSeconds: 7,
        rateLimitReason: 'jira-burst-based',
      });
      const stats = await sim.control.stats();
      expect(stats.rate_limited).toBe(1);
      expect(stats.created.issues).toBe(0);
    });

    it('answers TIMEOUT when the answer comes later than timeoutMs', async () => {
      await sim.control.setLatency(1_000);
      const started = Date.now();
      const err = await failure(jira({ timeoutMs: 150 }).getTask({ task_id: 'MD-1' }));
      expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true });
      expect(err.message).toContain('timed out after 150 ms');
      expect(Date.now() - started).toBeLessThan(900);
    });

    it('answers SERVICE_UNAVAILABLE when nothing listens', async () => {
      const closed = await listen(createServer());
      const url = urlOf(closed);
      await new Promise((r) => closed.close(r));
      const err = await failure(jira({ baseUrl: url }).getTask({ task_id: 'MD-1' }));
      expect(err.code).toBe('SERVICE_UNAVAILABLE');
      expect(err.details?.['networkError']).toBe('ECONNREFUSED');
    });

    it('answers SERVICE_UNAVAILABLE when the connection drops mid-request', async () => {
      const dropping = await listen(createServer((req) => req.socket.destroy()));
      try {
        const err = await failure(jira({ baseUrl: urlOf(dropping) }).getTask({ task_id: 'MD-1' }));
        expect(err.code).toBe('SERVICE_UNAVAILABLE');
      } finally {
        await new Promise((r) => dropping.close(r));
      }
    });

    it('answers SERVICE_UNAVAILABLE for a 200 that is not the expected JSON', async () => {
      const html = await listen(
        createServer((_req, res) =>
          res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>login</html>'),
        ),
      );
      try {
        const err = await failure(jira({ baseUrl: urlOf(html) }).getTask({ task_id: 'MD-1' }));
        expect(err.code).toBe('SERVICE_UNAVAILABLE');
        expect(err.message).not.toContain('login');
      } finally {
        await new Promise((r) => html.close(r));
      }
    });
  });

  describe('requests', () => {
    it('sends Basic auth, the User-Agent, JSON and the fields it needs', async () => {
      const seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
      const recorder = await listen(
        createServer((req, res) => {
          let body = '';
          req.on('data', (c: Buffer) => (body += c.toString()));
          req.on('end', () => {
            seen.push({ method: req.method, url: req.url, headers: req.headers, body });
            res
              .writeHead(201, { 'Content-Type': 'application/json' })
              .end('{"id":"1","key":"MD-1","self":"x"}');
          });
        }),
      );
      try {
        const adapter = jira({ baseUrl: urlOf(recorder) });
        await adapter.createTask({ title: 'T', project_id: 'MD', description: 'D', labels: ['a'] });
        await adapter.getTask({ task_id: 'MD-1' }).catch(() => undefined);
      } finally {
        await new Promise((r) => recorder.close(r));
      }
      const [post, get] = seen;
      expect(post?.method).toBe('POST');
      expect(post?.url).toBe('/rest/api/3/issue');
      expect(post?.headers['authorization']).toBe(
        `Basic ${Buffer.from(`${sim.credentials.email}:${sim.credentials.apiToken}`).toString('base64')}`,
      );
      expect(post?.headers['user-agent']).toBe('riq/0.1');
      expect(post?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(post?.body ?? '')).toEqual({
        fields: {
          project: { key: 'MD' },
          summary: 'T',
          issuetype: { name: 'Task' },
          description: {
            type: 'doc',
            version: 1,
            content: [{ type: 'paragraph', content: [{ type: 'text', text: 'D' }] }],
          },
          labels: ['a'],
        },
      });
      expect(get?.method).toBe('GET');
      const url = new URL(get?.url ?? '', 'http://x');
      expect(url.pathname).toBe('/rest/api/3/issue/MD-1');
      expect(url.searchParams.get('fields')).toBe(
        'summary,status,project,issuetype,labels,description,created,updated',
      );
    });
  });
});

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
