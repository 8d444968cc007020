/**
 * Atlassian's rate-limit model in the simulator, over raw HTTP: the hourly points quota (what each
 * call costs, the refusal until the top of the hour on the compressed clock, the structured
 * headers, OAuth traffic only unless told otherwise), the per-endpoint burst buckets, the per-issue
 * write windows and 429s with any reason injected through fault rules.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIM_OAUTH } from '../../../local/atlassian-sim/oauth-routes.js';
import { useAtlassianSimulator, type SimAnswer as Answer } from '../../support/atlassian-sim-fixture.js';

const sim = useAtlassianSimulator({ randomSeed: 4321 });
const { call } = sim;

const GATEWAY = `/ex/jira/${DEFAULT_SIM_OAUTH.cloudId}`;
let bearer: Record<string, string>;

beforeAll(async () => {
  const token = await call('POST', '/oauth/token', {
    grant_type: 'refresh_token',
    client_id: DEFAULT_SIM_OAUTH.clientId,
    client_secret: DEFAULT_SIM_OAUTH.clientSecret,
    refresh_token: DEFAULT_SIM_OAUTH.refreshToken,
  });
  bearer = { Authorization: `Bearer ${String(token.body['access_token'])}` };
});

const createIssue = (summary = 'S') =>
  call('POST', '/rest/api/3/issue', {
    fields: { project: { key: 'MD' }, summary, issuetype: { name: 'Task' } },
  });
const editIssue = (key: string) => call('PUT', `/rest/api/3/issue/${key}`, { fields: { summary: 'E' } });
const ADF = {
  type: 'doc',
  version: 1,
  content: [{ type: 'paragraph', content: [{ type: 'text', text: 'c' }] }],
};
const getSpaces = () => call('GET', '/wiki/api/v2/spaces?keys=MD');

async function createIssues(n: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(String((await createIssue(`issue ${i}`)).body['key']));
  return keys;
}

async function spent(product: 'jira' | 'confluence' = 'jira'): Promise<number> {
  const quota = (await sim.control.stats()).points_quota;
  if (!quota) throw new Error('the points quota is off');
  return quota[product].spent;
}

/** The points `send` is charged on Jira's quota. */
async function cost(send: () => Promise<Answer>): Promise<{ points: number; answer: Answer }> {
  const before = await spent();
  const answer = await send();
  return { points: (await spent()) - before, answer };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function reason(answer: Answer): string | null {
  return answer.headers.get('RateLimit-Reason');
}

describe('simulator rate-limit model', () => {
  describe('points quota', () => {
    it('charges 1 per call plus 1 per issue, page or comment returned, and a flat 1 per write', async () => {
      const [key] = await createIssues(3);
      await sim.control.setPointsQuota({ quota: 10_000 }, 'all');
      const issue = `/rest/api/3/issue/${String(key)}`;

      expect((await cost(() => call('GET', issue))).points).toBe(2);
      expect((await cost(() => call('GET', '/rest/api/3/issue/MD-404'))).points).toBe(1);
      const search = await cost(() =>
        call('POST', '/rest/api/3/search/jql', { jql: 'project = MD', maxResults: 2 }),
      );
      expect(search.answer.body['issues']).toHaveLength(2);
      expect(search.points).toBe(3);
      expect((await cost(() => call('GET', '/rest/api/3/search/jql?jql=project%3DMD'))).points).toBe(4);
      const transitions = await cost(() => call('GET', `${issue}/transitions`));
      expect(transitions.points).toBe(1);
      const transitionId = (transitions.answer.body['transitions'] as { id: string }[])[0]?.id;
      expect(
        (await cost(() => call('POST', `${issue}/transitions`, { transition: { id: transitionId } }))).points,
      ).toBe(1);
      expect((await cost(() => editIssue(String(key)))).points).toBe(1);
      expect((await cost(() => createIssue())).points).toBe(1);
      const comment = { body: ADF };
      expect((await call('POST', `${issue}/comment`, comment)).status).toBe(201);
      expect((await cost(() => call('POST', `${issue}/comment`, comment))).points).toBe(1);
      expect((await cost(() => call('GET', `${issue}/comment`))).points).toBe(3);

      // Confluence keeps its own quota: a space list (no core objects) 1, a page 2.
      const spaces = await getSpaces();
      const homepage = String((spaces.body['results'] as { homepageId: string }[])[0]?.homepageId);
      await call('GET', `/wiki/api/v2/pages/${homepage}`);
      expect(await spent('confluence')).toBe(3);

      await sim.control.reset();
      expect(await spent()).toBe(0);
    });

    it('refuses every call of the product once spent, until the (compressed) top of the hour', async () => {
      const [key] = await createIssues(1);
      const issue = `/rest/api/3/issue/${String(key)}`;
      // A simulated minute before the hour at 60×: the reset comes a real second from now.
      await sim.control.setClock({ timeScale: 60, simTime: '2026-03-02T10:59:00Z' });
      await sim.control.setPointsQuota({ quota: 4 }, 'all');
      expect((await call('GET', issue)).status).toBe(200);
      expect((await call('GET', issue)).status).toBe(200);

      const sentAt = Date.now();
      const refused = await call('GET', issue);
      expect(refused.status).toBe(429);
      expect(reason(refused)).toBe('jira-quota-global-based');
      expect(refused.headers.get('Retry-After')).toBe('1');
      const resetAt = Date.parse(refused.headers.get('X-RateLimit-Reset') ?? '');
      expect(resetAt).toBeGreaterThan(sentAt);
      expect(resetAt).toBeLessThanOrEqual(sentAt + 1_000);
      expect((await createIssue()).status).toBe(429);
      expect((await getSpaces()).status).toBe(200);
      const stats = await sim.control.stats();
      expect(stats.rate_limited_by_reason).toEqual({ 'jira-quota-global-based': 2 });
      expect(stats.points_quota?.jira).toEqual({
        spent: 4,
        remaining: 0,
        resets_at: '2026-03-02T11:00:00.000Z',
      });

      await sleep(resetAt - Date.now() + 50);
      expect((await call('GET', issue)).status).toBe(200);
      expect((await sim.control.stats()).points_quota?.jira).toEqual({
        spent: 2,
        remaining: 2,
        resets_at: '2026-03-02T12:00:00.000Z',
      });
    });

    it('lets the call that finds the quota unspent overdraw it, and refuses the next', async () => {
      await createIssues(5);
      await sim.control.setPointsQuota({ quota: 3 }, 'all');
      const search = await call('POST', '/rest/api/3/search/jql', { jql: 'project = MD' });
      expect(search.status).toBe(200);
      expect(await spent()).toBe(6);
      expect((await sim.control.stats()).points_quota?.jira.remaining).toBe(0);
      expect((await call('GET', '/rest/api/3/issue/MD-1')).status).toBe(429);
    });

    it('answers the tenant reason at tier 2, and the Confluence reason on Confluence routes', async () => {
      await sim.control.setPointsQuota({ quota: 1, tier: 2 }, 'all');
      expect((await getSpaces()).status).toBe(200);
      const refused = await getSpaces();
      expect(refused.status).toBe(429);
      expect(reason(refused)).toBe('confluence-quota-tenant-based');
      expect((await createIssue()).status).toBe(201);
      expect(reason(await createIssue())).toBe('jira-quota-tenant-based');
    });

    it('sends the policy in the Beta, plain or both forms', async () => {
      await sim.control.setPointsQuota({ quota: 10 }, 'all');
      let answer = await getSpaces();
      expect(answer.headers.get('Beta-RateLimit-Policy')).toBe('"global-app-quota";q=10;w=3600');
      expect(answer.headers.get('RateLimit-Policy')).toBeNull();

      await sim.control.setPointsQuota({ quota: 10, window_seconds: 600, headers: 'plain' }, 'all');
      answer = await getSpaces();
      expect(answer.headers.get('RateLimit-Policy')).toBe('"global-app-quota";q=10;w=600');
      expect(answer.headers.get('Beta-RateLimit-Policy')).toBeNull();

      await sim.control.setPointsQuota({ quota: 10, headers: 'both', policy_name: 'tenant-quota' }, 'all');
      answer = await getSpaces();
      expect(answer.headers.get('RateLimit-Policy')).toBe('"tenant-quota";q=10;w=3600');
      expect(answer.headers.get('Beta-RateLimit-Policy')).toBe('"tenant-quota";q=10;w=3600');
    });

    it('sends r from 80 % spent, with t in real seconds, and NearLimit under 20 % left', async () => {
      // Half an hour before the reset at 60×: 30 real seconds.
      await sim.control.setClock({ timeScale: 60, simTime: '2026-03-02T10:30:00Z' });
      await sim.control.setPointsQuota({ quota: 10, headers: 'both' }, 'all');
      const answers: Answer[] = [];
      for (let i = 0; i < 10; i++) answers.push(await getSpaces());
      const remaining = answers.map((a) => a.headers.get('Beta-RateLimit'));
      expect(remaining.slice(0, 7)).toEqual(Array(7).fill(null));
      expect(remaining.slice(7).map((r) => r?.replace(/;t=\d+$/, ''))).toEqual([
        '"global-app-quota";r=2',
        '"global-app-quota";r=1',
        '"global-app-quota";r=0',
      ]);
      expect(answers[7]?.headers.get('RateLimit')).toBe(remaining[7]);
      const t = Number(/;t=(\d+)$/.exec(remaining[7] ?? '')?.[1]);
      expect(t).toBeGreaterThanOrEqual(29);
      expect(t).toBeLessThanOrEqual(30);
      expect(answers.map((a) => a.headers.get('X-RateLimit-NearLimit'))).toEqual([
        ...Array(8).fill(null),
        'true',
        'true',
      ]);
    });

    it('can leave NearLimit out, so that only r tells how much is left', async () => {
      await sim.control.setPointsQuota({ quota: 2, near_limit_header: false }, 'all');
      await getSpaces();
      const last = await getSpaces();
      expect(last.headers.get('Beta-RateLimit')).toMatch(/^"global-app-quota";r=0;t=\d+$/);
      expect(last.headers.get('X-RateLimit-NearLimit')).toBeNull();
    });

    it('counts OAuth calls only, unless quota_applies_to is all', async () => {
      await createIssues(1);
      await sim.control.setPointsQuota({ quota: 2 });
      const basic = await call('GET', '/rest/api/3/issue/MD-1');
      expect(basic.status).toBe(200);
      expect(basic.headers.get('Beta-RateLimit-Policy')).toBeNull();
      expect(await spent()).toBe(0);

      const oauth = await call('GET', `${GATEWAY}/rest/api/3/issue/MD-1`, undefined, bearer);
      expect(oauth.status).toBe(200);
      expect(oauth.headers.get('Beta-RateLimit-Policy')).toBe('"global-app-quota";q=2;w=3600');
      expect(await spent()).toBe(2);
      expect(reason(await call('GET', `${GATEWAY}/rest/api/3/issue/MD-1`, undefined, bearer))).toBe(
        'jira-quota-global-based',
      );
      // API-token calls, on the site or through the gateway, still answer.
      expect((await call('GET', '/rest/api/3/issue/MD-1')).status).toBe(200);
      expect((await call('GET', `${GATEWAY}/rest/api/3/issue/MD-1`)).status).toBe(200);

      await sim.control.configure({ quota_applies_to: 'all' });
      expect(reason(await call('GET', '/rest/api/3/issue/MD-1'))).toBe('jira-quota-global-based');
    });

    it('is off by default and refuses invalid settings with the field named', async () => {
      expect((await sim.control.config()).points_quota).toBeNull();
      expect((await sim.control.stats()).points_quota).toBeNull();
      expect((await getSpaces()).headers.get('Beta-RateLimit-Policy')).toBeNull();
      const invalid = await fetch(`${sim.url}/__sim/config`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ points_quota: { quota: 10, headers: 'loud' } }),
      });
      expect(invalid.status).toBe(400);
      expect(JSON.stringify(await invalid.json())).toContain('points_quota.headers');
    });
  });

  describe('per-endpoint burst buckets', () => {
    it('has a smaller bucket for PUT than for GET, per endpoint', async () => {
      const [key] = await createIssues(1);
      await sim.control.setBurstLimits({ per_second: { GET: 6, PUT: 3 } });
      const puts: Answer[] = [];
      for (let i = 0; i < 4; i++) puts.push(await editIssue(String(key)));
      expect(puts.map((a) => a.status)).toEqual([204, 204, 204, 429]);
      expect(reason(puts[3] as Answer)).toBe('jira-burst-based');
      expect(puts[3]?.headers.get('Retry-After')).toBe('1');
      const gets: number[] = [];
      for (let i = 0; i < 6; i++) gets.push((await call('GET', `/rest/api/3/issue/${String(key)}`)).status);
      expect(gets).toEqual(Array(6).fill(200));
      expect((await sim.control.stats()).rate_limited_by_reason).toEqual({ 'jira-burst-based': 1 });
    });

    it('limits one endpoint on its own override while another endpoint answers', async () => {
      await createIssues(2);
      await sim.control.setBurstLimits({ endpoints: { 'GET /rest/api/3/issue/:issueIdOrKey': 2 } });
      expect((await call('GET', '/rest/api/3/issue/MD-1')).status).toBe(200);
      expect((await call('GET', '/rest/api/3/issue/MD-2')).status).toBe(200);
      expect((await call('GET', '/rest/api/3/issue/MD-1')).status).toBe(429);
      expect((await call('GET', '/rest/api/3/issue/MD-1/transitions')).status).toBe(200);
      const confluence = await getSpaces();
      expect(confluence.status).toBe(200);
      expect((await sim.control.config()).burst_limits).toEqual({
        per_second: { GET: 100, POST: 100, PUT: 50, DELETE: 50 },
        endpoints: { 'GET /rest/api/3/issue/:issueIdOrKey': 2 },
      });
    });

    it('answers the Confluence reason on Confluence routes', async () => {
      await sim.control.setBurstLimits({ endpoints: { 'GET /wiki/api/v2/spaces': 1 } });
      await getSpaces();
      expect(reason(await getSpaces())).toBe('confluence-burst-based');
    });
  });

  describe('per-issue write limit', () => {
    it('refuses the 21st write to one issue in 2 s while another issue takes writes', async () => {
      const [first, second] = await createIssues(2);
      await sim.control.setPerIssueWriteLimit({});
      const started = Date.now();
      for (let i = 0; i < 20; i++) expect((await editIssue(String(first))).status).toBe(204);
      const refused = await editIssue(String(first));
      // Meaningful only if the 21 writes fitted in the 2-second window.
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(refused.status).toBe(429);
      expect(reason(refused)).toBe('jira-per-issue-on-write');
      expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('Retry-After'))).toBeLessThanOrEqual(2);
      expect((await editIssue(String(second))).status).toBe(204);
      // The same issue by id, and a comment on it, are writes to it; reading it is not.
      const id = String((await call('GET', `/rest/api/3/issue/${String(first)}`)).body['id']);
      expect(reason(await editIssue(id))).toBe('jira-per-issue-on-write');
      const comment = { body: ADF };
      expect(reason(await call('POST', `/rest/api/3/issue/${String(first)}/comment`, comment))).toBe(
        'jira-per-issue-on-write',
      );
    });

    it('applies every window, answering the wait of the one that is full', async () => {
      const [key] = await createIssues(1);
      await sim.control.setPerIssueWriteLimit({
        windows: [
          { writes: 2, seconds: 0.3 },
          { writes: 3, seconds: 30 },
        ],
      });
      expect((await editIssue(String(key))).status).toBe(204);
      expect((await editIssue(String(key))).status).toBe(204);
      const short = await editIssue(String(key));
      expect(short.status).toBe(429);
      expect(short.headers.get('Retry-After')).toBe('1');
      await sleep(350);
      expect((await editIssue(String(key))).status).toBe(204);
      const long = await editIssue(String(key));
      expect(long.status).toBe(429);
      expect(Number(long.headers.get('Retry-After'))).toBeGreaterThanOrEqual(29);
    });

    it('limits Confluence page writes only when asked', async () => {
      const spaces = await getSpaces();
      const homepage = String((spaces.body['results'] as { homepageId: string }[])[0]?.homepageId);
      // Not a valid update (400): the limit counts writes before the route sees them.
      const putPage = () => call('PUT', `/wiki/api/v2/pages/${homepage}`, {});
      const windows = [{ writes: 1, seconds: 5 }];
      await sim.control.setPerIssueWriteLimit({ windows });
      expect((await putPage()).status).toBe(400);
      expect((await putPage()).status).toBe(400);

      await sim.control.setPerIssueWriteLimit({ windows, confluence_pages: true });
      expect((await putPage()).status).toBe(400);
      const refused = await putPage();
      expect(refused.status).toBe(429);
      expect(reason(refused)).toBe('confluence-per-page-on-write');
    });
  });

  describe('injected rate-limit reasons', () => {
    it('answers the next n calls 429 with any reason and Retry-After, counted by reason', async () => {
      await sim.control.injectRateLimitReason({ reason: 'jira-cost-based', retryAfter: 7, count: 2 });
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i++) answers.push(await getSpaces());
      expect(answers.map((a) => [a.status, reason(a), a.headers.get('Retry-After')])).toEqual([
        [429, 'jira-cost-based', '7'],
        [429, 'jira-cost-based', '7'],
        [200, null, null],
      ]);
      expect((await sim.control.stats()).rate_limited_by_reason).toEqual({ 'jira-cost-based': 2 });
      await sim.control.reset();
      expect((await sim.control.stats()).rate_limited_by_reason).toEqual({});
    });

    it('answers a share of the calls, the same ones for the same seed', async () => {
      await sim.control.setSeed(99);
      await sim.control.injectRateLimitReason({ reason: 'mystery-based', retryAfter: 1, share: 0.5 });
      const run = async () => {
        const out: number[] = [];
        for (let i = 0; i < 40; i++) out.push((await getSpaces()).status);
        return out;
      };
      const first = await run();
      const limited = first.filter((s) => s === 429).length;
      expect(limited).toBeGreaterThan(10);
      expect(limited).toBeLessThan(30);
      expect(first.filter((s) => s !== 429).every((s) => s === 200)).toBe(true);
      await sim.control.reset();
      expect(await run()).toEqual(first);
    });
  });
});
