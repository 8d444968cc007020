/**
 * The simulator's run-time behaviours over raw HTTP, steered through SimulatorControl: the burst rate
 * limit and its headers, the injected fractions (errors, hangs, dropped writes) and their
 * determinism under a seed, slow answers after commit and a lagging search index, the outage window, credential expiry, the counters and reset.
 */
import { describe, expect, it } from 'vitest';
import {
  STATS_AFTER_RESET,
  useAtlassianSimulator,
  type SimAnswer as Answer,
} from '../../support/atlassian-sim-fixture.js';

const sim = useAtlassianSimulator({ randomSeed: 1234 });
const { call } = sim;

const getIssue = () => call('GET', '/rest/api/3/issue/MD-1');
const createIssue = (summary = 'S') =>
  call('POST', '/rest/api/3/issue', {
    fields: { project: { key: 'MD' }, summary, issuetype: { name: 'Task' } },
  });

/** The statuses of `n` sequential calls. */
async function statuses(n: number, send: () => Promise<Answer>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
}

function share(list: number[], status: number): number {
  return list.filter((s) => s === status).length / list.length;
}

function byLabelKeys(answer: Answer): unknown[] {
  return (answer.body['issues'] as { key: string }[]).map((i) => i.key);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('simulator behaviours', () => {
  describe('rate limit', () => {
    it('allows a burst, flags the last fifth as near the limit, then answers Jira’s 429', async () => {
      await sim.control.setRateLimit({ rate_per_second: 1, burst: 5 });
      const burst: Answer[] = [];
      for (let i = 0; i < 5; i++) burst.push(await getIssue());
      // The route's own answer (404: no MD-1) comes through while tokens last.
      expect(burst.map((a) => a.status)).toEqual([404, 404, 404, 404, 404]);
      // NearLimit only on 2xx: none of these.
      expect(burst.map((a) => a.headers.get('x-ratelimit-nearlimit'))).toEqual([
        null,
        null,
        null,
        null,
        null,
      ]);

      const started = Date.now();
      const limited = await getIssue();
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ errorMessages: ['Rate limit exceeded.'], errors: {} });
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(limited.headers.get('x-ratelimit-limit')).toBe('5');
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('ratelimit-reason')).toBe('jira-burst-based');
      const reset = Date.parse(limited.headers.get('x-ratelimit-reset') ?? '');
      expect(limited.headers.get('x-ratelimit-reset')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(reset).toBeGreaterThan(started);
      expect(reset).toBeLessThanOrEqual(started + 1_100);

      const stats = await sim.control.stats();
      expect(stats.rate_limited).toBe(1);
      expect(stats.calls.map((c) => c.status)).toEqual([404, 404, 404, 404, 404, 429]);
    });

    it('sets X-RateLimit-NearLimit on 2xx answers once under 20 % of the burst is left', async () => {
      await sim.control.setRateLimit({ rate_per_second: 0.1, burst: 10 });
      const near: (string | null)[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await createIssue(`near ${i}`);
        expect(res.status).toBe(201);
        near.push(res.headers.get('x-ratelimit-nearlimit'));
      }
      // After the 9th and 10th take fewer than 2 of 10 tokens are left.
      expect(near).toEqual([null, null, null, null, null, null, null, null, 'true', 'true']);
      expect((await createIssue()).status).toBe(429);
    });

    it('refills over time at rate_per_second', async () => {
      // 2/s: a token every 500 ms, so a few requests in a row (well under that on a loaded
      // machine) cannot earn one back between them.
      await sim.control.setRateLimit({ rate_per_second: 2, burst: 2 });
      expect(await statuses(3, getIssue)).toEqual([404, 404, 429]);
      await sleep(1_200); // 2.4 tokens at 2/s, capped at the burst of 2
      expect(await statuses(3, getIssue)).toEqual([404, 404, 429]);
      // A refused request takes no token: waiting a little over one token's time lets exactly one through.
      await sleep(600);
      expect(await statuses(2, getIssue)).toEqual([404, 429]);
    });

    it('answers the Retry-After the bucket needs, and turns off with null', async () => {
      await sim.control.setRateLimit({ rate_per_second: 0.25, burst: 1 });
      expect((await getIssue()).status).toBe(404);
      const limited = await getIssue();
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('4');
      expect((await sim.control.config()).rate_limit).toEqual({ rate_per_second: 0.25, burst: 1 });
      await sim.control.setRateLimit(null);
      expect(await statuses(3, getIssue)).toEqual([404, 404, 404]);
    });
  });

  describe('injected fractions under a seed', () => {
    it('error_rate answers about that share 503, the same ones for the same seed', async () => {
      await sim.control.configure({ error_rate: 0.3, seed: 42 });
      const first = await statuses(200, getIssue);
      expect(new Set(first)).toEqual(new Set([404, 503]));
      expect(share(first, 503)).toBeGreaterThan(0.2);
      expect(share(first, 503)).toBeLessThan(0.4);
      expect((await sim.control.stats()).errors_injected).toBe(first.filter((s) => s === 503).length);

      await sim.control.setSeed(42);
      expect(await statuses(200, getIssue)).toEqual(first);

      await sim.control.setSeed(43);
      expect(await statuses(200, getIssue)).not.toEqual(first);
    });

    it('error_rate 503s carry Retry-After on about half of them, also reproducibly', async () => {
      await sim.control.configure({ error_rate: 1, seed: 5 });
      const retryAfter = async () => {
        const values: (string | null)[] = [];
        for (let i = 0; i < 60; i++) values.push((await getIssue()).headers.get('retry-after'));
        return values;
      };
      const first = await retryAfter();
      const withHeader = first.filter((v) => v !== null);
      expect(withHeader.length / first.length).toBeGreaterThan(0.3);
      expect(withHeader.length / first.length).toBeLessThan(0.7);
      expect(new Set(withHeader)).toEqual(new Set(['1', '2', '3']));
      await sim.control.setSeed(5);
      expect(await retryAfter()).toEqual(first);
    });

    it('timeout_rate holds about that share for hang_ms, then 504, the same ones for the same seed', async () => {
      await sim.control.configure({ timeout_rate: 0.25, hang_ms: 15, seed: 9 });
      const timed = async () => {
        const out: { status: number; ms: number }[] = [];
        for (let i = 0; i < 60; i++) {
          const started = Date.now();
          const { status } = await getIssue();
          out.push({ status, ms: Date.now() - started });
        }
        return out;
      };
      const first = await timed();
      const codes = first.map((o) => o.status);
      expect(new Set(codes)).toEqual(new Set([404, 504]));
      expect(share(codes, 504)).toBeGreaterThan(0.1);
      expect(share(codes, 504)).toBeLessThan(0.4);
      for (const o of first.filter((x) => x.status === 504)) expect(o.ms).toBeGreaterThanOrEqual(14);
      expect((await sim.control.stats()).timeouts_injected).toBe(codes.filter((s) => s === 504).length);

      await sim.control.setSeed(9);
      expect((await timed()).map((o) => o.status)).toEqual(codes);
    });

    it('hang_next holds the next n requests without a draw, then the seeded draws go on as before', async () => {
      await sim.control.configure({ timeout_rate: 0.25, hang_ms: 15, seed: 9 });
      const statuses = async (n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await getIssue()).status);
        return out;
      };
      const drawn = await statuses(20);

      await sim.control.configure({ seed: 9, hang_next: 2 });
      expect((await sim.control.config()).hang_next).toBe(2);
      const held = await statuses(22);
      expect(held.slice(0, 2)).toEqual([504, 504]);
      expect(held.slice(2)).toEqual(drawn);
      expect((await sim.control.config()).hang_next).toBe(0);
    });

    it('a hang ends when the client leaves', async () => {
      await sim.control.setTimeoutRate(1, 60_000);
      const started = Date.now();
      await expect(
        fetch(`${sim.url}/rest/api/3/issue/MD-1`, {
          headers: { Authorization: sim.authHeader },
          signal: AbortSignal.timeout(100),
        }),
      ).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
      await sim.control.setTimeoutRate(0);
      expect((await getIssue()).status).toBe(404);
    });

    it('drop_after_commit drops about that share of writes after committing them, the same ones for the same seed', async () => {
      await sim.control.configure({ drop_after_commit_rate: 0.5, seed: 77 });
      const first = await statuses(60, () => createIssue());
      expect(new Set(first)).toEqual(new Set([0, 201]));
      expect(share(first, 0)).toBeGreaterThan(0.3);
      expect(share(first, 0)).toBeLessThan(0.7);
      const stats = await sim.control.stats();
      // Every write was committed, answered or not.
      expect(stats.created.issues).toBe(60);
      expect(stats.dropped_after_commit).toBe(first.filter((s) => s === 0).length);
      expect(stats.calls.map((c) => c.status)).toEqual(first);
      expect((await call('GET', '/rest/api/3/issue/MD-60')).status).toBe(200);
      // Reads are never dropped, not even Jira's search, which is a POST.
      expect(await statuses(10, getIssue)).toEqual(Array(10).fill(200));
      const search = () => call('POST', '/rest/api/3/search/jql', { jql: 'project = MD', maxResults: 1 });
      expect(await statuses(10, search)).toEqual(Array(10).fill(200));
      expect((await sim.control.stats()).dropped_after_commit).toBe(stats.dropped_after_commit);

      await sim.control.reset(); // the PRNG restarts at its seed, and the data is gone
      expect(await statuses(60, () => createIssue())).toEqual(first);
    });

    it('draws a drop for every write, also a failed one, so the sequence depends only on the requests', async () => {
      await sim.control.configure({ drop_after_commit_rate: 0.5, seed: 3 });
      const mixed = async () => {
        const out: number[] = [];
        for (let i = 0; i < 30; i++) {
          out.push(
            (await (i % 3 === 0 ? call('POST', '/rest/api/3/issue', { fields: {} }) : createIssue())).status,
          );
        }
        return out;
      };
      const first = await mixed();
      // Invalid creates are never dropped: nothing was committed.
      first.forEach((s, i) => expect(i % 3 === 0 ? s === 400 : s === 0 || s === 201).toBe(true));
      await sim.control.setSeed(3);
      expect(await mixed()).toEqual(first);
    });
  });

  describe('a slow answer after commit and a lagging search index', () => {
    /** A create whose client gives up after `timeoutMs`: 'timeout', or the status answered. */
    async function createWithin(
      timeoutMs: number,
      fields: Record<string, unknown>,
    ): Promise<number | 'timeout'> {
      try {
        const res = await fetch(`${sim.url}/rest/api/3/issue`, {
          method: 'POST',
          headers: { Authorization: sim.authHeader, 'Content-Type': 'application/json' },
          body: JSON.stringify({ fields }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.text();
        return res.status;
      } catch (err) {
        if (err instanceof Error && err.name === 'TimeoutError') return 'timeout';
        throw err;
      }
    }
    const task = (summary: string, labels: string[] = []) => ({
      project: { key: 'MD' },
      summary,
      issuetype: { name: 'Task' },
      labels,
    });
    const byLabel = (label: string, reconcileIssues?: number[]) =>
      call('POST', '/rest/api/3/search/jql', {
        jql: `labels = "${label}"`,
        fields: ['summary'],
        ...(reconcileIssues ? { reconcileIssues } : {}),
      });

    it('answer_after_commit_ms commits a write at once and answers it only after the delay', async () => {
      await sim.control.setAnswerAfterCommit(600);
      expect(await sim.control.config()).toMatchObject({ answer_after_commit_ms: 600 });

      // A client that gives up first sees a timeout, yet the issue exists.
      expect(await createWithin(150, task('Slow but done'))).toBe('timeout');
      const objects = await sim.control.objects();
      expect(objects.issues.map((i) => i.summary)).toEqual(['Slow but done']);
      expect((await getIssue()).status).toBe(200);

      // A client that waits gets the 201, no sooner than the delay.
      const started = Date.now();
      expect(await createWithin(2_000, task('Waited for'))).toBe(201);
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);

      // Reads (Jira's search POST included) and refused writes are answered at once.
      const readStarted = Date.now();
      expect((await getIssue()).status).toBe(200);
      expect((await byLabel('none')).status).toBe(200);
      expect(await createWithin(2_000, { project: { key: 'MD' } })).toBe(400);
      expect(Date.now() - readStarted).toBeLessThan(500);
      expect((await sim.control.stats()).answered_after_commit).toBe(2);

      await sim.control.quiet();
      expect(await sim.control.config()).toMatchObject({ answer_after_commit_ms: 0 });
    });

    it('search_index_lag_ms hides new issues from JQL search for that long, unless reconciled', async () => {
      await sim.control.setSearchIndexLag(700);
      await sim.control.reset(); // config stays
      expect(await sim.control.config()).toMatchObject({ search_index_lag_ms: 700 });

      const created = await createIssue('Indexed later');
      expect(created.status).toBe(201);
      await call('PUT', `/rest/api/3/issue/${String(created.body['key'])}`, {
        fields: { labels: ['lagging'] },
      });
      const id = Number(created.body['id']);

      // Not found by search yet, but there to read, and found when named in reconcileIssues.
      expect((await byLabel('lagging')).body['issues']).toEqual([]);
      expect((await call('GET', `/rest/api/3/issue/${String(created.body['key'])}`)).status).toBe(200);
      const reconciled = await byLabel('lagging', [id]);
      expect((reconciled.body['issues'] as { key: string }[]).map((i) => i.key)).toEqual([
        created.body['key'],
      ]);

      await sleep(750);
      const later = await byLabel('lagging');
      expect((later.body['issues'] as { key: string }[]).map((i) => i.key)).toEqual([created.body['key']]);

      await sim.control.quiet();
      expect(await sim.control.config()).toMatchObject({ search_index_lag_ms: 0 });
      const fresh = await createIssue('Indexed at once');
      await call('PUT', `/rest/api/3/issue/${String(fresh.body['key'])}`, { fields: { labels: ['now'] } });
      expect(byLabelKeys(await byLabel('now'))).toEqual([fresh.body['key']]);
    });

    it('refuses out-of-range values with the field named', async () => {
      for (const body of [{ answer_after_commit_ms: -1 }, { search_index_lag_ms: 600_001 }]) {
        const res = await fetch(`${sim.url}/__sim/config`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(400);
        expect(JSON.stringify(await res.json())).toContain(Object.keys(body)[0]!);
      }
    });
  });

  describe('outage', () => {
    it('starts and ends on schedule, answering 503 in between', async () => {
      const config = await sim.control.configure({ outage: { start_in_ms: 150, duration_ms: 250 } });
      expect(config.outage).toMatchObject({ mode: 'error', active: false });
      expect(Date.parse(config.outage!.ends_at) - Date.parse(config.outage!.starts_at)).toBe(250);

      expect((await getIssue()).status).toBe(404);
      await sleep(170);
      expect((await sim.control.config()).outage?.active).toBe(true);
      const during = await getIssue();
      expect(during.status).toBe(503);
      expect(during.body).toEqual({ errorMessages: ['Service unavailable (simulated outage).'], errors: {} });
      expect((await createIssue()).status).toBe(503);

      await sleep(260);
      expect((await getIssue()).status).toBe(404);
      expect((await sim.control.config()).outage).toBeNull();
      const stats = await sim.control.stats();
      expect(stats.outage_rejected).toBe(2);
      expect(stats.created.issues).toBe(0);
    });

    it('in reset mode drops every connection until ended', async () => {
      await sim.control.startOutage({ duration_ms: 60_000, mode: 'reset' });
      expect(await statuses(3, getIssue)).toEqual([0, 0, 0]);
      expect((await sim.control.stats()).outage_rejected).toBe(3);
      await sim.control.endOutage();
      expect((await getIssue()).status).toBe(404);
    });
  });

  describe('credentials', () => {
    it('expireAuth answers 401 on Jira and Confluence until renewAuth', async () => {
      expect((await getIssue()).status).toBe(404);
      expect(await sim.control.expireAuth()).toMatchObject({ api_token_expired: true });
      const jira = await getIssue();
      expect(jira.status).toBe(401);
      expect(jira.body).toEqual({
        errorMessages: ['Client must be authenticated to access this resource.'],
        errors: {},
      });
      expect((await call('GET', '/wiki/api/v2/spaces?keys=MD')).status).toBe(401);
      // The control API needs no credentials and keeps working.
      expect((await sim.control.stats()).calls.map((c) => c.status)).toEqual([404, 401, 401]);
      await sim.control.renewAuth();
      expect((await call('GET', '/wiki/api/v2/spaces?keys=MD')).status).toBe(200);
    });
  });

  describe('counters and reset', () => {
    it('counts requests per endpoint template and created objects', async () => {
      const a = await createIssue('one');
      await createIssue('two');
      await call('GET', `/rest/api/3/issue/${String(a.body['key'])}`);
      await call('GET', '/rest/api/3/issue/MD-2');
      await call('POST', `/rest/api/3/issue/${String(a.body['key'])}/comment`, {
        body: {
          type: 'doc',
          version: 1,
          content: [{ type: 'paragraph', content: [{ type: 'text', text: 'c' }] }],
        },
      });
      const spaces = await call('GET', '/wiki/api/v2/spaces?keys=MD');
      const spaceId = String((spaces.body['results'] as { id: string }[])[0]?.id);
      await call('POST', '/wiki/api/v2/pages', {
        spaceId,
        status: 'current',
        title: 'Counted',
        body: { representation: 'storage', value: '<p/>' },
      });
      await call('GET', '/nowhere');

      const stats = await sim.control.stats();
      expect(stats.endpoints).toEqual({
        'GET (unmatched)': 1,
        'GET /rest/api/3/issue/:issueIdOrKey': 2,
        'GET /wiki/api/v2/spaces': 1,
        'POST /rest/api/3/issue': 2,
        'POST /rest/api/3/issue/:issueIdOrKey/comment': 1,
        'POST /wiki/api/v2/pages': 1,
      });
      expect(stats.created).toEqual({ issues: 2, comments: 1, pages: 1 });
    });

    it('counts a request on its endpoint whatever the answer (401, 429, fault)', async () => {
      await sim.control.addFault({ method: 'GET', path: '^/rest/api/3/issue/MD-9$', status: 500, count: 1 });
      await call('GET', '/rest/api/3/issue/MD-9');
      await sim.control.setRateLimit({ rate_per_second: 0.1, burst: 1 });
      await getIssue();
      await getIssue();
      await sim.control.expireAuth();
      await getIssue();
      expect((await sim.control.stats()).endpoints).toEqual({ 'GET /rest/api/3/issue/:issueIdOrKey': 4 });
      expect((await sim.control.stats()).calls.map((c) => c.status)).toEqual([500, 404, 429, 401]);
    });

    it('reset clears data and counters, refills the bucket and restarts the PRNG; config and faults stay', async () => {
      await sim.control.configure({
        error_rate: 0.5,
        seed: 11,
        rate_limit: { rate_per_second: 0.1, burst: 20 },
      });
      const faultId = await sim.control.addFault({ path: '^/rest/api/3/issue/MD-77$', status: 403 });
      const first = await statuses(12, () => createIssue());
      await call('GET', '/rest/api/3/issue/MD-77');

      await sim.control.reset();
      expect(await sim.control.stats()).toMatchObject(STATS_AFTER_RESET);
      expect(await sim.control.config()).toMatchObject({
        error_rate: 0.5,
        seed: 11,
        rate_limit: { rate_per_second: 0.1, burst: 20 },
      });
      // Same sequence from a full bucket and the restarted PRNG, and keys numbered from 1 again.
      const again: Answer[] = [];
      for (let i = 0; i < 12; i++) again.push(await createIssue());
      expect(again.map((a) => a.status)).toEqual(first);
      expect(again.find((a) => a.status === 201)?.body['key']).toBe('MD-1');
      expect((await call('GET', '/rest/api/3/issue/MD-77')).status).toBe(403);
      await sim.control.removeFault(faultId);
    });
  });
});
