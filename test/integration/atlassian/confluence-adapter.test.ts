/**
 * The Confluence adapter against the simulated Confluence on loopback: space resolution and its
 * cache, parents, updates by version, and CQL search with escaping and cursor paging.
 */
import { describe, expect, it } from 'vitest';
import {
  ConfluenceAdapter,
  MAX_SEARCH_REQUESTS,
} from '../../../lambdas/adapters/atlassian/confluence-adapter.js';
import { ValidationError } from '../../../model/errors.js';
import type { CreatedConfluencePage } from '../../../model/results.js';
import { useAtlassianSimulator } from '../../support/atlassian-sim-fixture.js';

const sim = useAtlassianSimulator();

function confluence(options: { searchPageSize?: number } = {}): ConfluenceAdapter {
  return new ConfluenceAdapter(sim.client('confluence'), options);
}

async function calls(method: string, path: string): Promise<number> {
  const { calls: all } = await sim.control.stats();
  return all.filter((c) => c.method === method && c.path === path).length;
}

describe('ConfluenceAdapter against the simulator', () => {
  describe('create_page', () => {
    it('resolves the space key once per adapter and puts the page under the home page by default', async () => {
      const adapter = confluence();
      const a = await adapter.createPage({ title: 'A', space_id: 'MD', content: '<p>a</p>' });
      const b = await adapter.createPage({ title: 'B', space_id: 'MD', content: '<p>b</p>' });
      expect(await calls('GET', '/wiki/api/v2/spaces')).toBe(1);
      const space = [...sim.confluence.spaces.values()].find((s) => s.key === 'MD');
      expect(a).toEqual({
        id: expect.stringMatching(/^\d+$/),
        title: 'A',
        space_id: space?.id,
        space_key: 'MD',
        parent_id: space?.homepageId,
        version: 1,
        url: `${sim.url}/wiki/spaces/MD/pages/${a.id}/A`,
      });
      expect(b.parent_id).toBe(space?.homepageId);
    });

    it('creates under the given parent', async () => {
      const adapter = confluence();
      const parent = await adapter.createPage({ title: 'Parent', space_id: 'RIQ', content: '' });
      const child = await adapter.createPage({
        title: 'Child',
        space_id: 'RIQ',
        content: '<p>c</p>',
        parent_id: parent.id,
      });
      expect(child.parent_id).toBe(parent.id);
      expect((await adapter.getPage({ page_id: child.id })).parent_id).toBe(parent.id);
    });

    it('an unknown space key is the caller’s VALIDATION_ERROR and writes nothing', async () => {
      const err = await confluence()
        .createPage({ title: 'x', space_id: 'NOSUCH', content: '' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).details).toMatchObject({ field: 'payload.space_id' });
      expect(await calls('POST', '/wiki/api/v2/pages')).toBe(0);
    });

    it('does not cache a failed space lookup', async () => {
      await sim.control.addFault({ path: '^/wiki/api/v2/spaces$', status: 503, count: 1 });
      const adapter = confluence();
      await expect(adapter.createPage({ title: 'x', space_id: 'MD', content: '' })).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
      });
      await expect(adapter.createPage({ title: 'x', space_id: 'MD', content: '' })).resolves.toMatchObject({
        version: 1,
      });
    });
  });

  describe('update_page', () => {
    it('sends the current version + 1, keeps the title unless given, and a root page keeps parent null', async () => {
      const adapter = confluence();
      const home = [...sim.confluence.spaces.values()][0]!.homepageId;
      const first = await adapter.updatePage({ page_id: home, content: '<p>one</p>' });
      const second = await adapter.updatePage({
        page_id: home,
        content: '<p>two</p>',
        title: 'Renamed home',
      });
      expect(first).toMatchObject({ id: home, version: 2, title: 'Managed Docs Home' });
      expect(second).toMatchObject({ id: home, version: 3, title: 'Renamed home' });
      expect(await adapter.getPage({ page_id: home })).toMatchObject({
        version: 3,
        title: 'Renamed home',
        body: '<p>two</p>',
        parent_id: null,
      });
    });

    it('a title another page in the space has is Confluence’s 400', async () => {
      const adapter = confluence();
      await adapter.createPage({ title: 'Taken', space_id: 'MD', content: '' });
      const other = await adapter.createPage({ title: 'Other', space_id: 'MD', content: '' });
      await expect(
        adapter.updatePage({ page_id: other.id, title: 'taken', content: '' }),
      ).rejects.toMatchObject({ code: 'VALIDATION_ERROR', details: { status: 400 } });
      // Not a version conflict: not retried.
      expect(await calls('PUT', `/wiki/api/v2/pages/${other.id}`)).toBe(1);
    });
  });

  describe('search_pages', () => {
    async function seed(n: number, title: (i: number) => string): Promise<CreatedConfluencePage[]> {
      const adapter = confluence();
      const pages: CreatedConfluencePage[] = [];
      for (let i = 0; i < n; i++) {
        pages.push(
          await adapter.createPage({ title: title(i), space_id: 'MD', content: `<p>needle ${i}</p>` }),
        );
      }
      return pages;
    }

    it('follows cursors past Confluence’s per-call cap without repeating a page', async () => {
      const pages = await seed(70, (i) => `Paged ${i}`);
      const found = await confluence().searchPages({ query: 'needle', max_results: 60 });
      expect(found.pages.map((p) => p.id)).toEqual(pages.slice(0, 60).map((p) => p.id));
      expect(found.next_cursor).toEqual(expect.any(String));
      expect(found.truncated).toBe(true); // ten more match beyond max_results

      const all = await confluence().searchPages({ query: 'needle', max_results: 100 });
      expect(all.pages).toHaveLength(70);
      expect(all.next_cursor).toBeNull();
      expect(all.truncated).toBe(false);
    });

    it('stops after MAX_SEARCH_REQUESTS calls and says the result is truncated', async () => {
      await seed(12, (i) => `Bounded ${i}`);
      const found = await confluence({ searchPageSize: 2 }).searchPages({ query: 'needle', max_results: 12 });
      expect(found.pages).toHaveLength(2 * MAX_SEARCH_REQUESTS);
      expect(found.truncated).toBe(true);
      expect(found.next_cursor).toEqual(expect.any(String));
      expect(await calls('GET', '/wiki/rest/api/search')).toBe(MAX_SEARCH_REQUESTS);
    });

    it('quotes and escapes the user’s text, and scopes by space', async () => {
      const [quoted] = await seed(1, () => 'He said "ship it" \\ twice');
      await confluence().createPage({ title: 'He said "ship it" elsewhere', space_id: 'RIQ', content: '' });
      const found = await confluence().searchPages({ query: '"ship it" \\', space_id: 'MD' });
      expect(found.pages).toEqual([
        {
          id: quoted!.id,
          title: 'He said "ship it" \\ twice',
          space_key: 'MD',
          url: quoted!.url,
          excerpt: 'needle 0',
        },
      ]);
      const everywhere = await confluence().searchPages({ query: 'ship it' });
      expect(everywhere.pages.map((p) => p.space_key).sort()).toEqual(['MD', 'RIQ']);
    });
  });
});
