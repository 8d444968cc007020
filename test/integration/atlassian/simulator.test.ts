/** The simulated Jira itself: Jira-like validation and shapes, auth, and the control API. */
import { describe, expect, it } from 'vitest';
import {
  STATS_AFTER_RESET,
  UNKNOWN_PROJECT,
  useAtlassianSimulator,
} from '../../support/atlassian-sim-fixture.js';

const sim = useAtlassianSimulator();
const { call } = sim;

const createBody = (fields: Record<string, unknown>) => ({
  fields: { project: { key: 'MD' }, summary: 'S', issuetype: { name: 'Task' }, ...fields },
});

describe('Atlassian simulator', () => {
  describe('auth', () => {
    it('answers 401 without or with wrong credentials, and never for /__sim/', async () => {
      expect((await call('GET', '/rest/api/3/issue/MD-1', undefined, {})).status).toBe(401);
      const wrong = `Basic ${Buffer.from(`${sim.credentials.email}:nope`).toString('base64')}`;
      const res = await call('GET', '/rest/api/3/issue/MD-1', undefined, { Authorization: wrong });
      expect(res.status).toBe(401);
      expect(res.body['errorMessages']).toHaveLength(1);
      expect((await call('GET', '/__sim/stats', undefined, {})).status).toBe(200);
    });
  });

  describe('POST /rest/api/3/issue', () => {
    it('answers 201 {id, key, self} with keys per project', async () => {
      const a = await call('POST', '/rest/api/3/issue', createBody({}));
      const b = await call('POST', '/rest/api/3/issue', createBody({ project: { key: 'RIQ' } }));
      const c = await call('POST', '/rest/api/3/issue', createBody({}));
      expect(a.status).toBe(201);
      expect(a.body).toEqual({ id: '10000', key: 'MD-1', self: `${sim.url}/rest/api/3/issue/10000` });
      expect([b.body['key'], c.body['key']]).toEqual(['RIQ-1', 'MD-2']);
    });

    it('rejects a missing or unknown project like Jira', async () => {
      for (const project of [undefined, { key: 'ZZ' }]) {
        const res = await call('POST', '/rest/api/3/issue', createBody({ project }));
        expect(res.status).toBe(400);
        expect(res.body).toEqual(UNKNOWN_PROJECT);
      }
    });

    it('names each bad field', async () => {
      const res = await call(
        'POST',
        '/rest/api/3/issue',
        createBody({ summary: '', issuetype: { name: 'Epic' }, description: 'plain text' }),
      );
      expect(res.status).toBe(400);
      expect(res.body['errors']).toEqual({
        summary: 'You must specify a summary of the issue.',
        issuetype: 'The issue type selected is invalid.',
        description: expect.stringContaining('Atlassian Document'),
      });
      expect((await sim.control.stats()).created.issues).toBe(0);
    });

    it('answers 400 for a body that is not JSON', async () => {
      expect((await call('POST', '/rest/api/3/issue', '{oops')).status).toBe(400);
    });
  });

  describe('GET /rest/api/3/issue/{issueIdOrKey}', () => {
    it('answers the Jira shape and honours ?fields=', async () => {
      const doc = { type: 'doc', version: 1, content: [] };
      await call('POST', '/rest/api/3/issue', createBody({ labels: ['x'], description: doc }));
      const full = await call('GET', '/rest/api/3/issue/MD-1');
      expect(full.body['fields']).toMatchObject({
        summary: 'S',
        status: { name: 'To Do', statusCategory: { key: 'new' } },
        project: { key: 'MD', name: expect.any(String), id: expect.any(String) },
        issuetype: { name: 'Task' },
        labels: ['x'],
        description: doc,
      });
      const some = await call('GET', '/rest/api/3/issue/MD-1?fields=summary,labels');
      expect(Object.keys(some.body['fields'] as object).sort()).toEqual(['labels', 'summary']);
    });

    it('answers Jira’s 404 for a missing issue', async () => {
      const res = await call('GET', '/rest/api/3/issue/MD-99');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      });
    });

    it('answers 404 JSON for an unknown route', async () => {
      const res = await call('GET', '/rest/api/3/nothing-here');
      expect(res.status).toBe(404);
      expect(res.body['errorMessages']).toHaveLength(1);
    });
  });

  describe('comment entity properties', () => {
    const adf = (text: string) => ({
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text }] }],
    });

    it('stores properties given on create and answers them only by POST /comment/list?expand=properties', async () => {
      const issue = await call('POST', '/rest/api/3/issue', createBody({}));
      const key = String(issue.body['key']);
      const path = `/rest/api/3/issue/${key}/comment`;
      const property = { key: 'riq.request', value: { token: 'req_x' } };
      const created = await call('POST', path, { body: adf('one'), properties: [property] });
      expect(created.status).toBe(201);
      expect(created.body['properties']).toBeUndefined();
      await call('POST', path, { body: adf('two') });

      const plain = await call('GET', path);
      expect((plain.body['comments'] as Record<string, unknown>[]).map((c) => c['properties'])).toEqual([
        undefined,
        undefined,
      ]);
      // The listing's expand takes renderedBody only, as Jira documents: no properties there.
      const expanded = await call('GET', `${path}?expand=renderedBody,properties&orderBy=-created`);
      const listed = expanded.body['comments'] as Record<string, unknown>[];
      expect(listed.map((c) => c['properties'])).toEqual([undefined, undefined]);
      const ids = listed.map((c) => Number(c['id']));
      const byId = await call('POST', '/rest/api/3/comment/list?expand=properties', {
        ids: [...ids, 999999],
      });
      expect(byId.status).toBe(200);
      expect(byId.body).toMatchObject({ startAt: 0, total: 2, isLast: true });
      expect(
        (byId.body['values'] as Record<string, unknown>[]).map((c) => [c['id'], c['properties']]),
      ).toEqual([
        [String(ids[1]), [property]],
        [String(ids[0]), []],
      ]);
      const noExpand = await call('POST', '/rest/api/3/comment/list', { ids });
      expect((noExpand.body['values'] as Record<string, unknown>[]).map((c) => c['properties'])).toEqual([
        undefined,
        undefined,
      ]);
      for (const bad of [
        {},
        { ids: 'x' },
        { ids: ['1'] },
        { ids: Array.from({ length: 1001 }, (_, i) => i) },
      ]) {
        expect(
          (await call('POST', '/rest/api/3/comment/list', bad)).status,
          JSON.stringify(bad).slice(0, 40),
        ).toBe(400);
      }
      const answered = await call('POST', `${path}?expand=properties`, {
        body: adf('three'),
        properties: [],
      });
      expect(answered.body['properties']).toEqual([]);
    });

    it('rejects malformed properties like Jira, creating nothing', async () => {
      const issue = await call('POST', '/rest/api/3/issue', createBody({}));
      const path = `/rest/api/3/issue/${String(issue.body['key'])}/comment`;
      for (const properties of [
        { key: 'k', value: 1 },
        [{ value: 1 }],
        [{ key: '', value: 1 }],
        [{ key: 'k' }],
      ]) {
        const res = await call('POST', path, { body: adf('bad'), properties });
        expect(res.status, JSON.stringify(properties)).toBe(400);
      }
      expect((await sim.control.stats()).created.comments).toBe(0);
    });
  });

  describe('control API', () => {
    it('applies a fault rule only to matching methods, count times', async () => {
      await sim.control.addFault({ method: 'POST', path: '^/rest/api/3/issue$', status: 500, count: 2 });
      expect((await call('GET', '/rest/api/3/issue/MD-1')).status).toBe(404);
      expect((await call('POST', '/rest/api/3/issue', createBody({}))).status).toBe(500);
      expect((await call('POST', '/rest/api/3/issue', createBody({}))).status).toBe(500);
      expect((await call('POST', '/rest/api/3/issue', createBody({}))).status).toBe(201);
    });

    it('answers a fault with Retry-After and a custom body', async () => {
      await sim.control.addFault({ path: '.*', status: 429, retry_after: 3, body: { message: 'slow down' } });
      const res = await call('GET', '/rest/api/3/issue/MD-1');
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(res.body).toEqual({ message: 'slow down' });
    });

    it('rejects an invalid fault rule', async () => {
      await expect(sim.control.addFault({ path: '(', status: 500 })).rejects.toThrow(/400/);
    });

    it('lists the issues with their labels, status and comments, and the pages (GET /__sim/objects)', async () => {
      const issue = await call(
        'POST',
        '/rest/api/3/issue',
        createBody({ summary: 'listed', labels: ['m-1'] }),
      );
      const key = String(issue.body['key']);
      const text = {
        type: 'doc',
        version: 1,
        content: [{ type: 'paragraph', content: [{ type: 'text', text: 'm-2' }] }],
      };
      await call('POST', `/rest/api/3/issue/${key}/comment`, { body: text });
      const space = sim.confluence.spaceByKey('MD')!;
      const page = sim.confluence.createPage({
        spaceId: space.id,
        parentId: space.homepageId,
        title: 'm-3',
        body: '<p>x</p>',
      });

      const objects = await sim.control.objects();
      expect(objects.issues.find((i) => i.key === key)).toEqual({
        key,
        summary: 'listed',
        labels: ['m-1'],
        status: 'To Do',
        comments: [JSON.stringify(text)],
      });
      expect(objects.pages).toContainEqual({ id: page.id, space_id: space.id, title: 'm-3', version: 1 });
    });

    it('counts calls, creations and 429s, and reset clears them and re-seeds', async () => {
      await call('POST', '/rest/api/3/issue', createBody({}));
      await sim.control.addFault({ path: '.*', status: 429, count: 1 });
      await call('GET', '/rest/api/3/issue/MD-1');
      const stats = await sim.control.stats();
      expect(stats.calls.map((c) => [c.method, c.path, c.status])).toEqual([
        ['POST', '/rest/api/3/issue', 201],
        ['GET', '/rest/api/3/issue/MD-1', 429],
      ]);
      expect(stats.calls[0]?.at).toEqual(expect.any(Number));
      expect(stats.created.issues).toBe(1);
      expect(stats.rate_limited).toBe(1);

      await sim.control.reset();
      expect(await sim.control.stats()).toMatchObject(STATS_AFTER_RESET);
      expect((await call('GET', '/rest/api/3/issue/MD-1')).status).toBe(404);
      expect((await call('POST', '/rest/api/3/issue', createBody({}))).body['key']).toBe('MD-1');
    });

    it('delays answers by the configured latency', async () => {
      await sim.control.setLatency(200);
      const started = Date.now();
      await call('GET', '/rest/api/3/issue/MD-1');
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      await sim.control.setLatency(0);
    });
  });
});
