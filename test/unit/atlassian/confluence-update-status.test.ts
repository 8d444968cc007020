/**
 * `confluence.update_page` on a page that is not current: Confluence's v2 `PUT /pages/{id}` with
 * `status: current` restores a trashed or deleted page and leaves its content as it was, so the
 * adapter refuses such a page before writing. Against a loopback server that answers the page's GET
 * with the status under test and records every PUT.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../model/errors.js';
import { ConfluenceAdapter } from '../../../lambdas/adapters/atlassian/confluence-adapter.js';
import { basicAuthProvider } from '../../../lambdas/adapters/atlassian/credentials.js';
import { AtlassianHttpClient } from '../../../lambdas/adapters/atlassian/http-client.js';

let server: Server;
let status = 'current';
const puts: unknown[] = [];

function page(version: number) {
  return {
    id: '98305',
    status,
    title: 'Runbook',
    spaceId: '65537',
    version: { number: version },
    _links: { base: 'http://127.0.0.1/wiki', webui: '/spaces/MD/pages/98305' },
  };
}

let adapter: ConfluenceAdapter;

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'PUT') {
        puts.push(JSON.parse(text));
        res.end(JSON.stringify(page(8)));
      } else {
        res.end(JSON.stringify(page(7)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = new AtlassianHttpClient({
    baseUrl: `http://127.0.0.1:${port}/wiki`,
    auth: basicAuthProvider({ email: 'riq@example.com', apiToken: 'tok' }),
    timeoutMs: 2_000,
    service: 'confluence',
  });
  adapter = new ConfluenceAdapter(client);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('ConfluenceAdapter.updatePage and the page status', () => {
  it.each(['trashed', 'deleted'])('refuses a %s page on payload.page_id and writes nothing', async (s) => {
    status = s;
    puts.length = 0;
    const err = await adapter
      .updatePage({ page_id: '98305', content: '<p>new</p>' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details?.['field']).toBe('payload.page_id');
    expect((err as Error).message).toContain(`page 98305 is ${s}`);
    expect(puts).toEqual([]);
  });

  it('writes a current page with the next version', async () => {
    status = 'current';
    puts.length = 0;
    const updated = await adapter.updatePage({ page_id: '98305', content: '<p>new</p>' });
    expect(updated.version).toBe(8);
    expect(puts).toEqual([
      {
        id: '98305',
        status: 'current',
        title: 'Runbook',
        body: { representation: 'storage', value: '<p>new</p>' },
        version: { number: 8 },
      },
    ]);
  });
});
