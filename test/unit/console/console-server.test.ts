/**
 * The console server over loopback: its page, the proxy of RIQ's routes to an upstream that records
 * what reaches it, the guards that refuse a foreign Host or Origin, a call without the console's
 * header and any other path, and SigV4 signing with the operator's credentials.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../../client/sigv4.js';
import { startConsole, type RunningConsole } from '../../../client/console/server.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP server standing in for RIQ's API: answers 200 `{"ok": true, path}` and records each call. */
async function fakeRiq(): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(req.url?.startsWith('/api/queue/result/') ? 404 : 200, {
        'content-type': 'application/json',
        'set-cookie': 'upstream=1',
      });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP call, so the test chooses the Host header (fetch does not let it). */
function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  host = '127.0.0.1',
): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = request({ host, port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', fail);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const CONSOLE = { 'x-riq-console': '1' };
const codeOf = (a: Answer) => (JSON.parse(a.body) as { error: { code: string } }).error.code;

describe('riq console server', () => {
  let riq: Awaited<ReturnType<typeof fakeRiq>>;
  let consoleServer: RunningConsole;

  beforeAll(async () => {
    riq = await fakeRiq();
    consoleServer = await startConsole({ endpoint: riq.url, port: 0 });
  });
  afterAll(async () => {
    await consoleServer.stop();
    await new Promise((ok) => riq.server.close(ok));
  });
  afterEach(() => {
    riq.seen.length = 0;
  });

  describe('the page', () => {
    it('serves the page, its script and its styles from its own origin, never framed', async () => {
      const page = await call(consoleServer.port, 'GET', '/');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<script type="module" src="/console/app.js">');
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['x-frame-options']).toBe('DENY');
      const js = await call(consoleServer.port, 'GET', '/console/app.js');
      expect(js.status).toBe(200);
      expect(js.headers['content-type']).toMatch(/^text\/javascript/);
      // Preact and uPlot are in the bundle: nothing is fetched from elsewhere.
      expect(js.body).not.toMatch(/from\s*["']https?:/);
      expect(js.body.length).toBeGreaterThan(20_000);
      const css = await call(consoleServer.port, 'GET', '/console/app.css');
      expect(css.status).toBe(200);
      expect(css.body).toContain('.uplot');
    });

    it('listens on 127.0.0.1 only', async () => {
      expect(consoleServer.url).toBe(`http://127.0.0.1:${consoleServer.port}`);
      await expect(call(consoleServer.port, 'GET', '/', {}, undefined, '::1')).rejects.toThrow(
        /ECONNREFUSED/,
      );
    });
  });

  describe('the proxy', () => {
    it('forwards a RIQ route with its query, and answers what RIQ answered', async () => {
      const answer = await call(consoleServer.port, 'GET', '/api/queue/dead-letters?service=jira&limit=5', {
        ...CONSOLE,
        cookie: 'session=secret',
        'x-riq-caller': 'arn:aws:iam::1:user/someone-else',
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({
        ok: true,
        path: '/api/queue/dead-letters?service=jira&limit=5',
      });
      expect(riq.seen).toHaveLength(1);
      // The browser's own headers stay behind; the upstream's cookie does not come back.
      expect(riq.seen[0]!.headers['cookie']).toBeUndefined();
      expect(riq.seen[0]!.headers['x-riq-caller']).toBeUndefined();
      expect(riq.seen[0]!.headers['x-riq-console']).toBeUndefined();
      expect(answer.headers['set-cookie']).toBeUndefined();
    });

    it('forwards a POST body and the answer status', async () => {
      const redrive = await call(
        consoleServer.port,
        'POST',
        '/api/queue/dead-letters/redrive',
        { ...CONSOLE, 'content-type': 'application/json' },
        '{"service":"jira"}',
      );
      expect(redrive.status).toBe(200);
      expect(riq.seen[0]).toMatchObject({ method: 'POST', body: '{"service":"jira"}' });
      expect(riq.seen[0]!.headers['content-type']).toBe('application/json');
      const missing = await call(consoleServer.port, 'GET', '/api/queue/result/req_x', CONSOLE);
      expect(missing.status).toBe(404);
    });

    it('answers to localhost:<port> as well as 127.0.0.1:<port>', async () => {
      const answer = await call(consoleServer.port, 'GET', '/api/queue/health', {
        ...CONSOLE,
        host: `localhost:${consoleServer.port}`,
      });
      expect(answer.status).toBe(200);
    });
  });

  describe('the guards', () => {
    it('refuses a Host that is not its own address (DNS rebinding), page and API alike', async () => {
      for (const host of [`rebind.example:${consoleServer.port}`, '127.0.0.1:1', 'localhost']) {
        for (const path of ['/', '/api/queue/health']) {
          const answer = await call(consoleServer.port, 'GET', path, { ...CONSOLE, host });
          expect(answer.status, `${host} ${path}`).toBe(403);
          expect(codeOf(answer)).toBe('CONSOLE_FOREIGN_HOST');
        }
      }
      expect(riq.seen).toEqual([]);
    });

    it('refuses a call from another origin', async () => {
      const answer = await call(consoleServer.port, 'POST', '/api/queue/dead-letters/redrive', {
        ...CONSOLE,
        origin: 'https://evil.example',
      });
      expect(answer.status).toBe(403);
      expect(codeOf(answer)).toBe('CONSOLE_FOREIGN_ORIGIN');
      const same = await call(consoleServer.port, 'POST', '/api/queue/dead-letters/redrive', {
        ...CONSOLE,
        origin: `http://127.0.0.1:${consoleServer.port}`,
      });
      expect(same.status).toBe(200);
      expect(riq.seen).toHaveLength(1);
    });

    it('refuses a proxied call without X-Riq-Console: 1, as a cross-site form post would send it', async () => {
      for (const headers of [{}, { 'x-riq-console': '0' }] as Array<Record<string, string>>) {
        const answer = await call(
          consoleServer.port,
          'POST',
          '/api/queue/dead-letters/req_abc/retry',
          { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
          'a=1',
        );
        expect(answer.status).toBe(403);
        expect(codeOf(answer)).toBe('CONSOLE_HEADER_REQUIRED');
      }
      expect(riq.seen).toEqual([]);
    });

    it('forwards only RIQ routes: another path is 404, a route with another method 405', async () => {
      for (const path of [
        '/api/queue/nope',
        '/api/queue/result',
        '/api/other',
        '/api/queue/result/../../__sim/faults',
      ]) {
        const answer = await call(consoleServer.port, 'GET', path, CONSOLE);
        expect(answer.status, path).toBe(404);
        expect(codeOf(answer)).toBe('CONSOLE_UNKNOWN_ROUTE');
      }
      const wrong = await call(consoleServer.port, 'DELETE', '/api/queue/health', CONSOLE);
      expect(wrong.status).toBe(405);
      expect(wrong.headers['allow']).toBe('GET');
      expect(codeOf(wrong)).toBe('METHOD_NOT_ALLOWED');
      expect(riq.seen).toEqual([]);
    });

    it('refuses a body over 64 KiB', async () => {
      const answer = await call(
        consoleServer.port,
        'POST',
        '/api/queue/dead-letters/redrive',
        { ...CONSOLE, 'content-type': 'application/json' },
        JSON.stringify({ service: 'x'.repeat(70_000) }),
      );
      expect(answer.status).toBe(413);
      expect(codeOf(answer)).toBe('CONSOLE_BODY_TOO_LARGE');
      expect(riq.seen).toEqual([]);
    });
  });

  it('answers 502 CONSOLE_UPSTREAM_UNREACHABLE when RIQ does not answer', async () => {
    const closed = await fakeRiq();
    await new Promise((ok) => closed.server.close(ok));
    const lonely = await startConsole({ endpoint: closed.url, port: 0 });
    try {
      const answer = await call(lonely.port, 'GET', '/api/queue/health', CONSOLE);
      expect(answer.status).toBe(502);
      expect(codeOf(answer)).toBe('CONSOLE_UPSTREAM_UNREACHABLE');
    } finally {
      await lonely.stop();
    }
  });
});

describe('riq console against AWS', () => {
  const credentials = {
    accessKeyId: 'AKIDOPERATOR',
    secretAccessKey: 'operator-secret',
    sessionToken: 'tok',
  };

  it('signs each forwarded call with SigV4 for execute-api with the operator credentials', async () => {
    const riq = await fakeRiq();
    const signed = await startConsole({ endpoint: riq.url, port: 0, region: 'eu-west-1', credentials });
    try {
      expect(signed.signingRegion).toBe('eu-west-1');
      const answer = await call(
        signed.port,
        'POST',
        '/api/queue/dead-letters/redrive?x=1',
        { ...CONSOLE, 'content-type': 'application/json' },
        '{"service":"confluence"}',
      );
      expect(answer.status).toBe(200);
      const seen = riq.seen[0]!;
      const authorization = String(seen.headers['authorization']);
      expect(authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDOPERATOR\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /,
      );
      expect(seen.headers['x-amz-security-token']).toBe('tok');
      // The same request signed again at the same instant gives the same signature: the body, the
      // query and the host were what was signed.
      const amzDate = String(seen.headers['x-amz-date']);
      const signingDate = new Date(
        `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
      );
      const expected = await signRequest(
        {
          method: 'POST',
          url: `${riq.url}/api/queue/dead-letters/redrive?x=1`,
          headers: { accept: 'application/json', 'content-type': 'application/json' },
          body: '{"service":"confluence"}',
        },
        { region: 'eu-west-1', credentials, signingDate },
      );
      expect(authorization).toBe(expected['authorization']);
    } finally {
      await signed.stop();
      await new Promise((ok) => riq.server.close(ok));
    }
  });

  it('a call the operator credentials cannot sign is 502 CONSOLE_SIGNING_FAILED, and nothing is sent', async () => {
    const riq = await fakeRiq();
    const broken = await startConsole({
      endpoint: riq.url,
      port: 0,
      region: 'eu-west-1',
      credentials: () => Promise.reject(new Error('the SSO session has expired')),
    });
    try {
      const answer = await call(broken.port, 'GET', '/api/queue/health', CONSOLE);
      expect(answer.status).toBe(502);
      expect(codeOf(answer)).toBe('CONSOLE_SIGNING_FAILED');
      expect(JSON.parse(answer.body).error.message).toContain('the SSO session has expired');
      expect(riq.seen).toEqual([]);
    } finally {
      await broken.stop();
      await new Promise((ok) => riq.server.close(ok));
    }
  });
});
