/**
 * AtlassianHttpClient's 401 handling against a loopback HTTP server: renew once through the
 * provider's `invalidate`, resend once, and a 401 that renewal does not cure is a retryable
 * AUTH_FAILED.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AtlassianHttpClient,
  AuthFailedError,
  observeUpstream,
  upstreamSignalOf,
  withDeadline,
  type AuthHeaderProvider,
} from '../../../lambdas/adapters/atlassian/http-client.js';
import type { UpstreamSignal } from '../../../lambdas/core/ports/index.js';
import { upstreamFailure as failure } from '../../support/upstream-failure.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

let server: Server;
let baseUrl: string;
let seen: Seen[] = [];
/** The Authorization values the server accepts; anything else gets the gateway's 401. */
let accepted = new Set<string>();

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve(body));
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void read(req).then((body) => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      });
      if (!accepted.has(req.headers.authorization ?? '')) {
        res
          .writeHead(401, { 'Content-Type': 'application/json' })
          .end('{"code":401,"message":"Unauthorized"}');
        return;
      }
      const delay = /slow=(\d+)/.exec(req.url ?? '');
      if (delay) {
        setTimeout(
          () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}'),
          Number(delay[1]),
        );
        return;
      }
      const near = (req.url ?? '').includes('near=') ? { 'X-RateLimit-NearLimit': 'true' } : {};
      if ((req.url ?? '').includes('status=503')) {
        res.writeHead(503, { 'Content-Type': 'application/json', ...near }).end('{}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', ...near }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  accepted = new Set();
});

/** A provider that answers `Bearer <name>-<n>`, moving to the next n on invalidate. */
function rotatingProvider(name = 'tok'): AuthHeaderProvider & { invalidate: ReturnType<typeof vi.fn> } {
  let n = 1;
  return {
    header: () => Promise.resolve(`Bearer ${name}-${n}`),
    invalidate: vi.fn((rejected: string) => {
      if (rejected === `Bearer ${name}-${n}`) n++;
      return Promise.resolve();
    }),
  };
}

function client(auth: AuthHeaderProvider): AtlassianHttpClient {
  return new AtlassianHttpClient({ baseUrl, auth, timeoutMs: 2_000, service: 'jira' });
}

describe('AtlassianHttpClient', () => {
  describe('upstream signals', () => {
    it('tells the observer about X-RateLimit-NearLimit on every answer of every call inside observeUpstream', async () => {
      const auth = rotatingProvider();
      accepted.add('Bearer tok-1');
      const c = client(auth);
      const signals: UpstreamSignal[] = [];
      await observeUpstream(
        (s) => signals.push(s),
        async () => {
          await c.get('/rest/api/3/issue/MD-1');
          await c.get('/rest/api/3/issue/MD-1', { near: 1 });
          await c.get('/rest/api/3/issue/MD-1', { near: 1, status: 503 }).catch(() => undefined);
        },
      );
      expect(signals.map((s) => s.nearLimit)).toEqual([false, true, true]);
    });

    it('tells nobody outside observeUpstream, and a throwing observer does not fail the call', async () => {
      const auth = rotatingProvider();
      accepted.add('Bearer tok-1');
      const c = client(auth);
      const signals: UpstreamSignal[] = [];
      const observed = observeUpstream(
        () => {
          throw new Error('observer broke');
        },
        () => c.get('/rest/api/3/issue/MD-1', { near: 1 }),
      );
      await expect(observed).resolves.toMatchObject({ status: 200 });
      await observeUpstream(
        (s) => signals.push(s),
        async () => undefined,
      );
      await c.get('/rest/api/3/issue/MD-1', { near: 1 });
      expect(signals).toEqual([]);
    });
  });

  describe('upstreamSignalOf', () => {
    it.each<[string, Record<string, string>, boolean]>([
      ['no header', {}, false],
      ['NearLimit true', { 'X-RateLimit-NearLimit': 'true' }, true],
      ['NearLimit TRUE', { 'X-RateLimit-NearLimit': ' TRUE ' }, true],
      ['NearLimit false', { 'X-RateLimit-NearLimit': 'false' }, false],
      ['NearLimit unreadable', { 'X-RateLimit-NearLimit': 'yes' }, false],
      // r under 20 % of q is near the limit too, but the signal carries the header's word only.
      [
        'a quota nearly spent, without NearLimit',
        { 'RateLimit-Policy': '"global-app-quota";q=65000;w=3600', RateLimit: '"global-app-quota";r=5;t=60' },
        false,
      ],
      // With the quota that low the header is the quota's: the points budget paces it, not the rate.
      [
        'NearLimit with the quota nearly spent',
        {
          'X-RateLimit-NearLimit': 'true',
          'RateLimit-Policy': '"global-app-quota";q=65000;w=3600',
          RateLimit: '"global-app-quota";r=5;t=60',
        },
        false,
      ],
    ])('%s → nearLimit %s', (_, headers, near) => {
      expect(upstreamSignalOf(new Headers(headers)).nearLimit).toBe(near);
    });

    it('carries everything the headers say about the quota, for the points budget', () => {
      const signal = upstreamSignalOf(
        new Headers({
          'Beta-RateLimit-Policy': '"global-app-quota";q=65000;w=3600',
          'Beta-RateLimit': '"global-app-quota";r=900;t=120',
        }),
      );
      expect(signal.rateLimit?.policies).toEqual([
        { name: 'global-app-quota', quota: 65_000, windowSeconds: 3600, beta: true },
      ]);
      expect(signal.rateLimit?.statuses).toEqual([
        { name: 'global-app-quota', remaining: 900, resetSeconds: 120, beta: true },
      ]);
    });
  });

  describe('an operation deadline (withDeadline)', () => {
    it('cuts a call at the deadline, shorter than the client timeout, as TIMEOUT', async () => {
      accepted.add('Bearer tok-1');
      const c = client(rotatingProvider());
      const started = Date.now();
      const err = await failure(
        withDeadline(Date.now() + 200, () => c.get('/rest/api/3/issue/MD-1', { slow: 1500 })),
      );
      expect(err.code).toBe('TIMEOUT');
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('does not send a call that would start after the deadline', async () => {
      accepted.add('Bearer tok-1');
      const c = client(rotatingProvider());
      const err = await failure(
        withDeadline(Date.now() + 150, async () => {
          await c.get('/rest/api/3/issue/MD-1', { slow: 300 }).catch(() => undefined);
          return c.get('/rest/api/3/issue/MD-2');
        }),
      );
      expect(err.code).toBe('TIMEOUT');
      // Nothing was sent, so a create refused this way has a known outcome (writeOutcomeUnknown).
      expect(err.details).toMatchObject({ notSent: true });
      expect(seen.map((r) => r.url)).toEqual(['/rest/api/3/issue/MD-1?slow=300']);
    });

    it('leaves calls outside it to the client timeout', async () => {
      accepted.add('Bearer tok-1');
      const c = client(rotatingProvider());
      await withDeadline(Date.now() + 50, async () => undefined);
      await expect(c.get('/rest/api/3/issue/MD-1', { slow: 200 })).resolves.toMatchObject({ status: 200 });
      await expect(
        withDeadline(undefined, () => c.get('/rest/api/3/issue/MD-1', { slow: 100 })),
      ).resolves.toMatchObject({
        status: 200,
      });
    });
  });

  describe('a 401', () => {
    it('asks the provider to renew and resends once with the new header', async () => {
      const auth = rotatingProvider();
      accepted.add('Bearer tok-2');
      const answer = await client(auth).post('/rest/api/3/issue', { fields: { summary: 'x' } });
      expect(answer.body).toEqual({ ok: true });
      expect(auth.invalidate).toHaveBeenCalledTimes(1);
      expect(auth.invalidate).toHaveBeenCalledWith('Bearer tok-1');
      expect(seen.map((s) => s.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
      // The same request, body included, is sent again.
      expect(seen[1]).toMatchObject({ method: 'POST', url: '/rest/api/3/issue', body: seen[0]?.body });
    });

    it('is AUTH_FAILED when the renewed credentials get a 401 too, after exactly one resend', async () => {
      const auth = rotatingProvider();
      const err = await failure(client(auth).get('/rest/api/3/issue/MD-1'));
      expect(err).toBeInstanceOf(AuthFailedError);
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.retryable).toBe(true);
      expect(err.toBody()).toMatchObject({ code: 'AUTH_FAILED', retryable: true, details: { status: 401 } });
      expect(err.message).toContain('after renewing the credentials');
      expect(seen).toHaveLength(2);
      expect(auth.invalidate).toHaveBeenCalledTimes(1);
      expect(err.message).not.toContain('tok-');
    });

    it('is not resent when the provider cannot renew (fixed credentials): AUTH_FAILED at once', async () => {
      const auth: AuthHeaderProvider = { header: () => Promise.resolve('Basic Zml4ZWQ6c2VjcmV0') };
      const err = await failure(client(auth).get('/rest/api/3/issue/MD-1'));
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.retryable).toBe(true);
      expect(seen).toHaveLength(1);
      expect(err.message).not.toContain('Zml4ZWQ6c2VjcmV0');
    });

    it('does not renew on a success or on another error', async () => {
      const auth = rotatingProvider();
      accepted.add('Bearer tok-1');
      await client(auth).get('/rest/api/3/issue/MD-1');
      expect(auth.invalidate).not.toHaveBeenCalled();
      expect(seen).toHaveLength(1);
    });

    it('reports both answers of a renewed call to the observer', async () => {
      const auth = rotatingProvider();
      accepted.add('Bearer tok-2');
      const signals: UpstreamSignal[] = [];
      await observeUpstream(
        (s) => signals.push(s),
        () => client(auth).get('/rest/api/3/issue/MD-1', { near: 1 }),
      );
      // The gateway's 401 (no header here) and the resent request's 200 (with it).
      expect(signals.map((s) => s.nearLimit)).toEqual([false, true]);
    });

    it('renews once per burst: 20 concurrent requests rejected with the same header are all resent with the new one', async () => {
      const auth = rotatingProvider();
      accepted.add('Bearer tok-2');
      const c = client(auth);
      const answers = await Promise.all(Array.from({ length: 20 }, () => c.get('/rest/api/3/issue/MD-1')));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(seen.filter((s) => s.authorization === 'Bearer tok-2')).toHaveLength(20);
      expect(seen.filter((s) => s.authorization === 'Bearer tok-3')).toHaveLength(0);
    });
  });
});
