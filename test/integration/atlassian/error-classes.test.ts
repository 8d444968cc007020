/**
 * Every error class RIQ's workers see, produced by the real simulator (fault rules and run-time
 * behaviours) and classified by AtlassianExecutor: the thrown code, the retryable flag and the
 * details the worker and the bucket read (status, Retry-After, RateLimit-Reason, Atlassian's messages).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_SECONDS } from '../../../lambdas/adapters/atlassian/classify-error.js';
import { MAX_UPDATE_ATTEMPTS } from '../../../lambdas/adapters/atlassian/confluence-adapter.js';
import type { AtlassianExecutor } from '../../../lambdas/adapters/atlassian/operation-executor.js';
import type { UpstreamError } from '../../../model/errors.js';
import type { OperationName } from '../../../model/operations.js';
import { DUPLICATE_TITLE_MESSAGE } from '../../../local/atlassian-sim/confluence-routes.js';
import type { CreatedJiraTask } from '../../../model/results.js';
import type { CreatedConfluencePage, UpdatedConfluencePage } from '../../../model/results.js';
import { UNKNOWN_PROJECT, useAtlassianSimulator } from '../../support/atlassian-sim-fixture.js';
import { upstreamFailure } from '../../support/upstream-failure.js';

const TIMEOUT_MS = 300;

const sim = useAtlassianSimulator({ randomSeed: 7 });
let exec: AtlassianExecutor;

beforeAll(() => {
  exec = sim.executor({ timeoutMs: TIMEOUT_MS });
});

function run<T = unknown>(operation: OperationName, payload: Record<string, unknown>): Promise<T> {
  return exec.execute(operation, payload, { token: 'req_errors' }) as Promise<T>;
}

/** An operation and its payload. */
type Call = [OperationName, Record<string, unknown>];

/** The UpstreamError the operation throws; fails the test when it succeeds or throws anything else. */
function failure(operation: OperationName, payload: Record<string, unknown>): Promise<UpstreamError> {
  return upstreamFailure(run(operation, payload), operation);
}

/** What the worker and the bucket read of an error: its code, whether it is retried, its details. */
function classOf({ code, retryable, details }: UpstreamError) {
  return { code, retryable, details };
}

function createTask(title = 'Error classes'): Promise<CreatedJiraTask> {
  return run<CreatedJiraTask>('jira.create_task', { title, project_id: 'MD' });
}

function createPage(title = 'Error classes page'): Promise<CreatedConfluencePage> {
  return run<CreatedConfluencePage>('confluence.create_page', {
    title,
    space_id: 'MD',
    content: '<p>v1</p>',
  });
}

describe('error classes produced by the simulator, as AtlassianExecutor throws them', () => {
  describe('RATE_LIMITED (429)', () => {
    it('from the burst limit: Retry-After, RateLimit-Reason and X-RateLimit-Reset in the details', async () => {
      await sim.control.setRateLimit({ rate_per_second: 0.5, burst: 2 });
      await run('jira.search_tasks', { jql: 'project = MD' });
      await run('jira.search_tasks', { jql: 'project = MD' });
      const before = Date.now();
      const err = await failure('jira.search_tasks', { jql: 'project = MD' });
      expect(classOf(err)).toEqual({
        code: 'RATE_LIMITED',
        retryable: true,
        details: {
          status: 429,
          errorMessages: ['Rate limit exceeded.'],
          errors: {},
          retryAfterSeconds: 2,
          rateLimitReason: 'jira-burst-based',
          rateLimitReset: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        },
      });
      expect(err.retryAfterSeconds).toBe(2);
      const reset = Date.parse(String(err.details?.['rateLimitReset']));
      expect(reset).toBeGreaterThan(before);
      expect(reset).toBeLessThanOrEqual(before + 2_500);
      expect(err.message).toBe('Jira POST /rest/api/3/search/jql answered 429: Rate limit exceeded.');
      expect((await sim.control.stats()).rate_limited).toBe(1);
    });

    it('from Confluence too, where the reason is whatever the upstream sends', async () => {
      await sim.control.addFault({
        path: '^/wiki/api/v2/pages/',
        status: 429,
        retry_after: 12,
        headers: { 'RateLimit-Reason': 'confluence-quota-tenant-based', 'X-RateLimit-NearLimit': 'true' },
      });
      const err = await failure('confluence.get_page', { page_id: '196609' });
      expect(err).toMatchObject({
        code: 'RATE_LIMITED',
        details: {
          status: 429,
          retryAfterSeconds: 12,
          rateLimitReason: 'confluence-quota-tenant-based',
          nearLimit: true,
        },
      });
    });

    it('with an HTTP-date Retry-After: the seconds until that date', async () => {
      const at = new Date(Date.now() + 45_000);
      await sim.control.addFault({
        method: 'GET',
        path: '^/rest/api/3/issue/MD-1$',
        status: 429,
        count: 1,
        headers: { 'Retry-After': at.toUTCString(), 'RateLimit-Reason': 'jira-per-issue-on-write' },
      });
      const err = await failure('jira.get_task', { task_id: 'MD-1' });
      expect(err).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
      // toUTCString drops the milliseconds: 44 or 45 s, depending on the clock between the two.
      expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(44);
      expect(err.retryAfterSeconds).toBeLessThanOrEqual(45);
      expect(err.details?.['rateLimitReason']).toBe('jira-per-issue-on-write');
    });

    it('caps an absurd Retry-After', async () => {
      const absurd = { 'Retry-After': '9223372036854775807' };
      await sim.control.addFault({ path: '^/rest/api/3/issue/', status: 429, count: 1, headers: absurd });
      const err = await failure('jira.get_task', { task_id: 'MD-1' });
      expect(err.retryAfterSeconds).toBe(MAX_RETRY_AFTER_SECONDS);
    });
  });

  describe('AUTH_FAILED (401)', () => {
    it('when the API token has expired, and no longer once it is renewed', async () => {
      const { key } = await createTask();
      await sim.control.expireAuth();
      const err = await failure('jira.get_task', { task_id: key });
      expect(err.code).toBe('AUTH_FAILED');
      // The client renews credentials once on a 401; one it cannot cure backs off and, if it stays,
      // ends in the DLQ for a redrive once the credentials are fixed.
      expect(err.retryable).toBe(true);
      expect(err.details).toMatchObject({ status: 401 });
      const page = await failure('confluence.get_page', { page_id: '196609' });
      expect(page.code).toBe('AUTH_FAILED');

      await sim.control.renewAuth();
      await expect(run('jira.get_task', { task_id: key })).resolves.toMatchObject({ key });
    });
  });

  describe('PERMISSION_DENIED (403)', () => {
    it('is not retryable and carries Jira’s message', async () => {
      const body = {
        errorMessages: ['You do not have permission to create issues in this project.'],
        errors: {},
      };
      await sim.control.addFault({ method: 'POST', path: '^/rest/api/3/issue$', status: 403, body });
      const err = await failure('jira.create_task', { title: 'x', project_id: 'MD' });
      expect(classOf(err)).toEqual({
        code: 'PERMISSION_DENIED',
        retryable: false,
        details: { status: 403, ...body },
      });
      expect((await sim.control.stats()).created.issues).toBe(0);
    });
  });

  describe('NOT_FOUND (404)', () => {
    it.each([
      {
        missing: 'Jira issue',
        answer: 'Jira’s message',
        call: ['jira.get_task', { task_id: 'MD-4040' }],
        details: {
          status: 404,
          errorMessages: ['Issue does not exist or you do not have permission to see it.'],
          errors: {},
        },
        others: [
          ['jira.update_task', { task_id: 'MD-4040', title: 't' }],
          ['jira.transition_task', { task_id: 'MD-4040', target_status: 'Done' }],
          ['jira.add_comment', { task_id: 'MD-4040', comment: 'c' }],
        ],
      },
      {
        missing: 'Confluence page',
        answer: 'v2’s errors[]',
        call: ['confluence.get_page', { page_id: '404404' }],
        details: { status: 404, errors: [{ status: 404, code: 'NOT_FOUND', title: 'Not Found' }] },
        others: [['confluence.update_page', { page_id: '404404', content: '<p/>' }]],
      },
    ] satisfies { call: Call; others: Call[]; [k: string]: unknown }[])(
      'for a missing $missing, with $answer',
      async ({ call: [operation, payload], details, others }) => {
        const err = await failure(operation, payload);
        expect(classOf(err)).toEqual({ code: 'NOT_FOUND', retryable: false, details });
        for (const [other, otherPayload] of others) {
          expect((await failure(other, otherPayload)).code, other).toBe('NOT_FOUND');
        }
      },
    );
  });

  describe('VALIDATION_ERROR (400)', () => {
    it('Jira: create_task in an unknown project, with errorMessages and errors', async () => {
      const err = await failure('jira.create_task', { title: 'x', project_id: 'NOPE' });
      expect(classOf(err)).toEqual({
        code: 'VALIDATION_ERROR',
        retryable: false,
        details: { status: 400, ...UNKNOWN_PROJECT },
      });
      expect(err.message).toBe(
        'Jira POST /rest/api/3/issue answered 400: project: valid project is required',
      );
    });

    it('Jira: a JQL error names the problem in errorMessages', async () => {
      const err = await failure('jira.search_tasks', { jql: 'project = NOPE' });
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.details?.['errorMessages']).toEqual([
        "The value 'NOPE' does not exist for the field 'project'.",
      ]);
    });

    it('Confluence: create_page with a title already used in the space, with v2’s errors[]', async () => {
      await createPage('Taken title');
      const err = await failure('confluence.create_page', {
        title: 'Taken title',
        space_id: 'MD',
        content: '<p>again</p>',
      });
      expect(classOf(err)).toEqual({
        code: 'VALIDATION_ERROR',
        retryable: false,
        details: {
          status: 400,
          errors: [{ status: 400, code: 'BAD_REQUEST', title: DUPLICATE_TITLE_MESSAGE }],
        },
      });
      expect(err.message).toContain(DUPLICATE_TITLE_MESSAGE);
      expect((await sim.control.stats()).created.pages).toBe(1);
    });
  });

  describe('version conflict (409) on confluence.update_page', () => {
    /**
     * The next `count` reads of the page (all, when absent) answer it one version behind, like a
     * replica that has not seen the last write: the adapter's PUT then sends a version Confluence
     * already has, and the simulator's own version check answers 409.
     */
    async function staleReads(id: string, count?: number): Promise<number> {
      const current = await sim.call('GET', `/wiki/api/v2/pages/${id}`);
      const version = current.body['version'] as { number: number };
      await sim.control.addFault({
        method: 'GET',
        path: `^/wiki/api/v2/pages/${id}$`,
        status: 200,
        body: { ...current.body, version: { ...version, number: version.number - 1 } },
        ...(count !== undefined ? { count } : {}),
      });
      return version.number;
    }

    async function pageCalls(id: string): Promise<string[]> {
      const { calls } = await sim.control.stats();
      return calls.filter((c) => c.path === `/wiki/api/v2/pages/${id}`).map((c) => `${c.method} ${c.status}`);
    }

    it('a transient conflict is re-read and retried, and the update lands', async () => {
      const page = await createPage();
      await run('confluence.update_page', { page_id: page.id, content: '<p>v2</p>' });
      expect(await staleReads(page.id, 1)).toBe(2);
      const before = (await pageCalls(page.id)).length;

      const updated = await run<UpdatedConfluencePage>('confluence.update_page', {
        page_id: page.id,
        content: '<p>v3</p>',
      });
      expect(updated).toMatchObject({ id: page.id, version: 3 });
      expect((await pageCalls(page.id)).slice(before)).toEqual(['GET 200', 'PUT 409', 'GET 200', 'PUT 200']);
      const now = await sim.call('GET', `/wiki/api/v2/pages/${page.id}?body-format=storage`);
      expect(now.body).toMatchObject({ version: { number: 3 }, body: { storage: { value: '<p>v3</p>' } } });
    });

    it('a persistent conflict fails after MAX_UPDATE_ATTEMPTS with a retryable 409', async () => {
      const page = await createPage();
      await run('confluence.update_page', { page_id: page.id, content: '<p>v2</p>' });
      const version = await staleReads(page.id);
      const before = (await pageCalls(page.id)).length;

      const err = await failure('confluence.update_page', { page_id: page.id, content: '<p>never</p>' });
      expect(classOf(err)).toEqual({
        code: 'SERVICE_UNAVAILABLE',
        retryable: true,
        details: {
          status: 409,
          conflict: true,
          errors: [
            {
              status: 409,
              code: 'CONFLICT',
              title: `Version must be incremented on update. Current version is: ${version}`,
              detail: `version.number was ${version}; expected ${version + 1}.`,
            },
          ],
        },
      });
      const made = (await pageCalls(page.id)).slice(before);
      expect(made).toEqual(Array.from({ length: MAX_UPDATE_ATTEMPTS }, () => ['GET 200', 'PUT 409']).flat());
      await sim.control.clearFaults();
      const after = await sim.call('GET', `/wiki/api/v2/pages/${page.id}`);
      expect(after.body['version']).toMatchObject({ number: version });
    });
  });

  describe('SERVICE_UNAVAILABLE (5xx, resets, dropped answers)', () => {
    it.each([500, 502, 503])('an injected %i is retryable with its status', async (status) => {
      await sim.control.addFault({ method: 'POST', path: '^/wiki/api/v2/pages$', status, count: 1 });
      const err = await failure('confluence.create_page', { title: 't', space_id: 'MD', content: '' });
      expect(err).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        retryable: true,
        details: {
          status,
          errorMessages: [`Simulated upstream failure (${status}).`],
        },
      });
      expect((await sim.control.stats()).created.pages).toBe(0);
    });

    it('a 503 from error_rate keeps its Retry-After when it has one', async () => {
      await sim.control.configure({ error_rate: 1, seed: 1 });
      const seen: (number | undefined)[] = [];
      for (let i = 0; i < 8; i++) {
        const err = await failure('jira.get_task', { task_id: 'MD-1' });
        expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { status: 503 } });
        seen.push(err.retryAfterSeconds);
      }
      // About half of the injected 503s carry Retry-After (1–3 s).
      expect(seen.some((s) => s === undefined)).toBe(true);
      expect(seen.filter((s) => s !== undefined).every((s) => s! >= 1 && s! <= 3)).toBe(true);
      expect(seen.some((s) => s !== undefined)).toBe(true);
      expect((await sim.control.stats()).errors_injected).toBe(8);
    });

    it('an outage in error mode answers 503 until it ends', async () => {
      await sim.control.startOutage({ duration_ms: 60_000 });
      const err = await failure('confluence.search_pages', { query: 'anything' });
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { status: 503 } });
      await sim.control.endOutage();
      await expect(run('confluence.search_pages', { query: 'anything' })).resolves.toMatchObject({
        pages: [],
      });
    });

    it('an outage in reset mode drops the connection: a network error, not a status', async () => {
      await sim.control.startOutage({ duration_ms: 60_000, mode: 'reset' });
      const err = await failure('jira.get_task', { task_id: 'MD-1' });
      expect(classOf(err)).toEqual({
        code: 'SERVICE_UNAVAILABLE',
        retryable: true,
        details: { networkError: expect.any(String) },
      });
      expect(err.details).not.toHaveProperty('status');
      expect((await sim.control.stats()).outage_rejected).toBe(1);
    });

    it('drop_after_commit: the write is committed but the caller sees SERVICE_UNAVAILABLE', async () => {
      await sim.control.setDropAfterCommitRate(1);
      const err = await failure('jira.create_task', { title: 'Dropped answer', project_id: 'MD' });
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
      // The create may have been made: its retry waits out the reconcile window (default 30 s).
      expect(err.details).toEqual({
        networkError: expect.any(String),
        outcomeUnknown: true,
        retryAfterSeconds: 30,
      });

      const page = await failure('confluence.create_page', {
        title: 'Dropped page',
        space_id: 'MD',
        content: '<p>x</p>',
      });
      expect(page).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        details: { outcomeUnknown: true, retryAfterSeconds: 30 },
      });

      const stats = await sim.control.stats();
      expect(stats.dropped_after_commit).toBe(2);
      expect(stats.created).toMatchObject({ issues: 1, pages: 1 });
      expect(stats.calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.status])).toEqual([
        ['/rest/api/3/issue', 0],
        ['/wiki/api/v2/pages', 0],
      ]);
      // The committed issue is there for a reconciling read.
      await sim.control.setDropAfterCommitRate(0);
      await expect(run('jira.get_task', { task_id: 'MD-1' })).resolves.toMatchObject({
        key: 'MD-1',
        summary: 'Dropped answer',
      });
    });
  });

  describe('TIMEOUT', () => {
    it('timeout_rate with hang_ms above timeoutMs: TIMEOUT after timeoutMs, not after the hang', async () => {
      await sim.control.setTimeoutRate(1, 5_000);
      const started = Date.now();
      const err = await failure('jira.get_task', { task_id: 'MD-1' });
      const elapsed = Date.now() - started;
      expect(classOf(err)).toEqual({ code: 'TIMEOUT', retryable: true, details: { timeoutMs: TIMEOUT_MS } });
      expect(err.message).toBe(`Jira GET /rest/api/3/issue/MD-1 timed out after ${TIMEOUT_MS} ms`);
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(elapsed).toBeLessThan(2_000);
      expect((await sim.control.stats()).timeouts_injected).toBe(1);
    });

    it('a hang shorter than timeoutMs ends in the simulator’s 504, which is SERVICE_UNAVAILABLE', async () => {
      await sim.control.setTimeoutRate(1, 50);
      const err = await failure('confluence.get_page', { page_id: '196609' });
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { status: 504 } });
    });
  });
});
