import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_FUNCTIONS, type ApiFunctionName } from '../../../model/config/routes.js';
import { startApiServer, type ApiHandler, type RunningApi } from '../../../local/api-server.js';
import type { ApiEvent } from '../../../lambdas/api/http.js';
import { consolePageListener } from '../../../client/console/server.js';

/** Each handler answers the path parameters it was given. */
const echo: ApiHandler = async (event) => ({ statusCode: 200, body: JSON.stringify(event.pathParameters) });
/** Answers 200 after `ms`. */
const sleeping =
  (ms: number): ApiHandler =>
  async () => {
    await new Promise((r) => setTimeout(r, ms));
    return { statusCode: 200, body: '{}' };
  };
const throwing: ApiHandler = async () => {
  throw new Error('function error');
};
const each = <T>(v: T) => Object.fromEntries(API_FUNCTIONS.map((f) => [f, v])) as Record<ApiFunctionName, T>;
let api: RunningApi;

beforeAll(async () => {
  api = await startApiServer({ port: 0, handlers: each(echo), timeouts: each(10) });
});
afterAll(() => api.stop());

describe('local API server', () => {
  it('passes a path parameter with a malformed escape on as it came (it was a 500)', async () => {
    const res = await fetch(`${api.url}/api/queue/result/%E0%A4%A`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ token: '%E0%A4%A' });
    expect(await (await fetch(`${api.url}/api/queue/result/req%5Fx`)).json()).toEqual({ token: 'req_x' });
  });

  it('builds payload format 2.0 events: route key, IAM caller, joined query values, $default', async () => {
    const seen: ApiEvent[] = [];
    const recording: ApiHandler = async (event) => {
      seen.push(event);
      return { statusCode: 200, body: '{}' };
    };
    const rec = await startApiServer({ port: 0, handlers: each(recording), timeouts: each(10) });
    try {
      await fetch(`${rec.url}/api/queue/dead-letters/req_1?x=1&x=2`, {
        method: 'DELETE',
        headers: { 'X-Riq-Caller': 'arn:aws:iam::000000000000:user/someone', Accept: 'text/plain' },
      });
      await fetch(`${rec.url}/api/queue/nowhere`, { method: 'PUT', body: 'hi' });
    } finally {
      await rec.stop();
    }
    expect(seen[0]).toMatchObject({
      version: '2.0',
      routeKey: 'DELETE /api/queue/dead-letters/{token}',
      rawPath: '/api/queue/dead-letters/req_1',
      rawQueryString: 'x=1&x=2',
      queryStringParameters: { x: '1,2' },
      pathParameters: { token: 'req_1' },
      headers: { accept: 'text/plain' },
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'DELETE', path: '/api/queue/dead-letters/req_1' },
        authorizer: { iam: { userArn: 'arn:aws:iam::000000000000:user/someone' } },
        stage: '$default',
      },
    });
    expect(seen[0]).not.toHaveProperty('body');
    expect(seen[1]).toMatchObject({ routeKey: '$default', rawPath: '/api/queue/nowhere', body: 'hi' });
    expect(seen[1]).not.toHaveProperty('pathParameters');
  });

  it('sends what no route names to the notFound function, as the $default route does', async () => {
    const marked = await startApiServer({
      port: 0,
      handlers: { ...each(echo), notFound: async () => ({ statusCode: 404, body: '{"not":"found"}' }) },
      timeouts: each(10),
    });
    try {
      for (const [method, path] of [
        ['GET', '/api/queue/admin'],
        ['PUT', '/api/queue/submit'],
        ['GET', '/api/queue/health/'],
      ] as const) {
        const res = await fetch(`${marked.url}${path}`, { method });
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual({ not: 'found' });
      }
    } finally {
      await marked.stop();
    }
  });

  it("answers a function that outlives its timeout as the HTTP API does: 500 in the gateway's shape", async () => {
    const failures: unknown[] = [];
    const slow = await startApiServer({
      port: 0,
      handlers: { ...each(echo), submit: sleeping(500), health: throwing },
      timeouts: { ...each(10), submit: 0.1 },
      onFunctionError: (err) => failures.push(err),
    });
    try {
      const started = Date.now();
      const res = await fetch(`${slow.url}/api/queue/submit`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(500);
      expect(Date.now() - started).toBeLessThan(450);
      expect(await res.json()).toEqual({ message: 'Internal Server Error' });
      expect(String(failures[0])).toContain('riq-submit: Task timed out after 0.1 seconds');
      // A function that throws is a function error too.
      const thrown = await fetch(`${slow.url}/api/queue/health`);
      expect(thrown.status).toBe(500);
      expect(await thrown.json()).toEqual({ message: 'Internal Server Error' });
    } finally {
      await slow.stop();
    }
  });

  it('answers 503 when the integration timeout, shorter than the function timeout, runs out first', async () => {
    const slow = await startApiServer({
      port: 0,
      handlers: { ...each(echo), deadLetters: sleeping(500) },
      timeouts: { ...each(10), deadLetters: 1 },
      integrationTimeoutSeconds: 0.1,
    });
    try {
      const res = await fetch(`${slow.url}/api/queue/dead-letters`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ message: 'Service Unavailable' });
    } finally {
      await slow.stop();
    }
  });

  it("answers a body over the HTTP API's 10 MiB limit as the HTTP API does: 413, its own shape", async () => {
    const res = await fetch(`${api.url}/api/queue/submit`, {
      method: 'POST',
      body: 'x'.repeat(11 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
  });

  it('lets a client that writes a whole 40 MiB body at once read the 413, with no broken pipe', async () => {
    // Far more than a socket's buffers hold past the limit: the client is still writing at 10 MiB.
    const body = Buffer.alloc(40 * 1024 * 1024, 'x');
    const { port } = new URL(api.url);
    for (let i = 0; i < 2; i++) {
      // The whole exchange, until the client's socket closes: an error after the answer counts too.
      const answer = await new Promise<{ status: number; text: string; error?: string }>((resolve) => {
        let got: { status: number; text: string } | undefined;
        let error: string | undefined;
        const out = httpRequest(
          { host: '127.0.0.1', port, method: 'POST', path: '/api/queue/submit', agent: false },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on(
              'end',
              () => (got = { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
            );
          },
        );
        out.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
        out.on('close', () => resolve({ ...(got ?? { status: 0, text: '' }), ...(error && { error }) }));
        out.end(body);
      });
      expect(answer).toEqual({ status: 413, text: '{"message":"Request Entity Too Large"}' });
    }
  });
});

describe('local API server with the console page (npm start)', () => {
  it('serves the console at / and its assets; other methods and paths still reach the routes', async () => {
    const seen: string[] = [];
    const recording: ApiHandler = async (event) => {
      seen.push(`${event.requestContext.http.method} ${event.rawPath} ${event.routeKey}`);
      return { statusCode: 404, body: '{"error":{"code":"NOT_FOUND"}}' };
    };
    const withPages = await startApiServer({
      port: 0,
      handlers: each(recording),
      timeouts: each(10),
      pages: consolePageListener(),
    });
    try {
      const page = await fetch(`${withPages.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('/console/app.js');
      expect((await fetch(`${withPages.url}/console/app.js`)).headers.get('content-type')).toMatch(
        /^text\/javascript/,
      );
      expect(seen).toEqual([]);
      expect((await fetch(`${withPages.url}/`, { method: 'POST', body: '{}' })).status).toBe(404);
      expect((await fetch(`${withPages.url}/console/other.js`)).status).toBe(404);
      expect(seen).toEqual(['POST / $default', 'GET /console/other.js $default']);
    } finally {
      await withPages.stop();
    }
  });

  it('without it, / goes to the $default route as on AWS', async () => {
    const seen: string[] = [];
    const recording: ApiHandler = async (event) => {
      seen.push(event.routeKey);
      return { statusCode: 404, body: '{}' };
    };
    const plain = await startApiServer({ port: 0, handlers: each(recording), timeouts: each(10) });
    try {
      expect((await fetch(`${plain.url}/`)).status).toBe(404);
      expect(seen).toEqual(['$default']);
    } finally {
      await plain.stop();
    }
  });
});
