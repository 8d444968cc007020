import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { RiqError, UpstreamError } from '../../../model/errors.js';
import { AuthFailedError } from '../../../lambdas/adapters/atlassian/http-client.js';
import { InMemoryTokenStore } from '../../../lambdas/adapters/atlassian/oauth-token-store.js';
import {
  ATLASSIAN_TOKEN_URL,
  OAuthTokenManager,
  type OAuthTokenManagerOptions,
} from '../../../lambdas/adapters/atlassian/token-manager.js';
import type { OAuthTokenSet, OAuthTokenStore } from '../../../lambdas/core/ports/credentials.js';

const CLIENT = { clientId: 'client-id-1', clientSecret: 'client-secret-do-not-leak' };
const FIRST_REFRESH = 'refresh-token-do-not-leak';
const HOUR_S = 3600;
const MINUTE = 60_000;

interface RefreshCall {
  url: string;
  body: Record<string, unknown>;
}

/**
 * A fake authorization server behind an injected fetch: rotating refresh tokens as Atlassian does
 * them (the one sent stops working), an optional gate to hold answers, and overrides for failures.
 */
function fakeAuthServer(options: { lifetimeSeconds?: number; liveRefreshToken?: string } = {}) {
  const state = {
    live: options.liveRefreshToken ?? FIRST_REFRESH,
    issued: 0,
    calls: [] as RefreshCall[],
    gate: undefined as Promise<void> | undefined,
    answer: undefined as ((body: Record<string, unknown>) => Response | Promise<Response>) | undefined,
  };
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
    state.calls.push({ url: String(input), body });
    if (state.gate) await state.gate;
    if (state.answer) return state.answer(body);
    if (body['refresh_token'] !== state.live) {
      return json(403, { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' });
    }
    const n = ++state.issued;
    state.live = `rotated-refresh-${n}`;
    return json(200, {
      access_token: `access-${n}`,
      refresh_token: state.live,
      expires_in: options.lifetimeSeconds ?? HOUR_S,
      scope: 'read:jira-work offline_access',
      token_type: 'Bearer',
    });
  };
  return { state, fetch };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function fakeClock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function manager(
  server: ReturnType<typeof fakeAuthServer>,
  overrides: Partial<OAuthTokenManagerOptions> = {},
): { tm: OAuthTokenManager; store: OAuthTokenStore; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock();
  const store = overrides.store ?? new InMemoryTokenStore({ refresh_token: FIRST_REFRESH });
  const tm = new OAuthTokenManager({
    client: CLIENT,
    store,
    clock,
    fetch: server.fetch,
    sleep: () => Promise.resolve(),
    ...overrides,
  });
  return { tm, store, clock: (overrides.clock as ReturnType<typeof fakeClock> | undefined) ?? clock };
}

async function rejection(promise: Promise<unknown>): Promise<RiqError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RiqError);
  return err as RiqError;
}

/** Every string a leaked secret could hide in. */
function dump(err: RiqError): string {
  return `${err.message}\n${inspect(err, { depth: 10 })}\n${JSON.stringify(err.toBody())}`;
}

describe('OAuthTokenManager', () => {
  describe('refresh', () => {
    it('posts the refresh grant as JSON to the Atlassian token URL and answers a Bearer header', async () => {
      const server = fakeAuthServer();
      const { tm } = manager(server);
      expect(await tm.header()).toBe('Bearer access-1');
      expect(server.state.calls).toEqual([
        {
          url: ATLASSIAN_TOKEN_URL,
          body: {
            grant_type: 'refresh_token',
            client_id: CLIENT.clientId,
            client_secret: CLIENT.clientSecret,
            refresh_token: FIRST_REFRESH,
          },
        },
      ]);
    });

    it('uses the configured token URL (the simulator serves /oauth/token)', async () => {
      const server = fakeAuthServer();
      const { tm } = manager(server, { tokenUrl: 'http://127.0.0.1:9999/oauth/token' });
      await tm.header();
      expect(server.state.calls[0]?.url).toBe('http://127.0.0.1:9999/oauth/token');
    });

    it('saves the rotated refresh token, the access token and its expiry to the store', async () => {
      const server = fakeAuthServer();
      const { tm, store, clock } = manager(server);
      const started = clock.now();
      await tm.header();
      expect(await store.load()).toEqual({
        refresh_token: 'rotated-refresh-1',
        access_token: 'access-1',
        expires_at: started + HOUR_S * 1000,
      });
      // The next refresh sends the rotated token, not the first one.
      clock.advance(HOUR_S * 1000);
      await tm.header();
      expect(server.state.calls[1]?.body['refresh_token']).toBe('rotated-refresh-1');
      expect((await store.load()).refresh_token).toBe('rotated-refresh-2');
    });
  });

  describe('proactive refresh', () => {
    it('keeps the token while more than 5 minutes of its life remain, and refreshes inside the margin', async () => {
      const server = fakeAuthServer();
      const { tm, clock } = manager(server);
      expect(await tm.header()).toBe('Bearer access-1');
      clock.advance(HOUR_S * 1000 - 5 * MINUTE - 1_000); // 5 min 1 s left
      expect(await tm.header()).toBe('Bearer access-1');
      expect(server.state.calls).toHaveLength(1);
      clock.advance(2_000); // 4 min 59 s left: still valid, but refreshed before it expires
      expect(await tm.header()).toBe('Bearer access-2');
      expect(server.state.calls).toHaveLength(2);
    });

    it('takes the margin from the constructor option', async () => {
      const server = fakeAuthServer();
      const { tm, clock } = manager(server, { refreshMarginMs: MINUTE });
      await tm.header();
      clock.advance(HOUR_S * 1000 - MINUTE - 1_000);
      expect(await tm.header()).toBe('Bearer access-1');
      clock.advance(2_000);
      expect(await tm.header()).toBe('Bearer access-2');
    });

    it('never uses a margin longer than half the token’s life (a 2-minute token is not refreshed on every call)', async () => {
      const server = fakeAuthServer({ lifetimeSeconds: 120 });
      const { tm, clock } = manager(server);
      await tm.header();
      clock.advance(59_000);
      await tm.header();
      expect(server.state.calls).toHaveLength(1);
      clock.advance(2_000);
      await tm.header();
      expect(server.state.calls).toHaveLength(2);
    });
  });

  describe('single flight', () => {
    it('makes one refresh for 50 concurrent header() calls, and they all get its token', async () => {
      const server = fakeAuthServer();
      const gate = deferred();
      server.state.gate = gate.promise;
      const { tm } = manager(server);
      const headers = Array.from({ length: 50 }, () => tm.header());
      await vi.waitFor(() => expect(server.state.calls).toHaveLength(1));
      gate.resolve();
      expect(new Set(await Promise.all(headers))).toEqual(new Set(['Bearer access-1']));
      expect(server.state.calls).toHaveLength(1);
    });

    it('makes one refresh when 50 concurrent calls find the token inside the margin', async () => {
      const server = fakeAuthServer();
      const { tm, clock } = manager(server);
      await tm.header();
      clock.advance(HOUR_S * 1000 - MINUTE);
      const headers = await Promise.all(Array.from({ length: 50 }, () => tm.header()));
      expect(new Set(headers)).toEqual(new Set(['Bearer access-2']));
      expect(server.state.calls).toHaveLength(2);
    });

    it('lets the next call try again after a failed refresh', async () => {
      const server = fakeAuthServer();
      server.state.answer = () => json(503, { error: 'temporarily_unavailable' });
      const { tm } = manager(server);
      const err = await rejection(tm.header());
      expect(err.code).toBe('SERVICE_UNAVAILABLE');
      expect(err.retryable).toBe(true);
      server.state.answer = undefined;
      expect(await tm.header()).toBe('Bearer access-1');
    });
  });

  describe('sharing the grant through the store (several instances)', () => {
    it('uses a still-valid access token another instance stored instead of refreshing', async () => {
      const server = fakeAuthServer();
      const store = new InMemoryTokenStore({ refresh_token: FIRST_REFRESH });
      const clock = fakeClock();
      const a = manager(server, { store, clock }).tm;
      const b = manager(server, { store, clock }).tm;
      expect(await a.header()).toBe('Bearer access-1');
      expect(await b.header()).toBe('Bearer access-1');
      expect(server.state.calls).toHaveLength(1);
    });

    it('refreshes when the stored access token is inside the margin', async () => {
      const server = fakeAuthServer({ liveRefreshToken: 'rt-stored' });
      const clock = fakeClock();
      const store = new InMemoryTokenStore({
        refresh_token: 'rt-stored',
        access_token: 'stored-access',
        expires_at: clock.now() + 4 * MINUTE,
      });
      const { tm } = manager(server, { store, clock });
      expect(await tm.header()).toBe('Bearer access-1');
      expect(server.state.calls[0]?.body['refresh_token']).toBe('rt-stored');
    });
  });

  describe('403 invalid_grant', () => {
    it('re-reads the store once and retries with the newer refresh token another instance stored', async () => {
      const server = fakeAuthServer({ liveRefreshToken: 'rt-newer' });
      const loads: OAuthTokenSet[] = [{ refresh_token: 'rt-stale' }, { refresh_token: 'rt-newer' }];
      const saved: OAuthTokenSet[] = [];
      const store: OAuthTokenStore = {
        load: async () => loads.shift() ?? { refresh_token: 'unexpected' },
        save: async (set) => void saved.push(set),
      };
      const sleep = vi.fn(() => Promise.resolve());
      const { tm } = manager(server, { store, sleep, invalidGrantReloadDelayMs: 750 });
      expect(await tm.header()).toBe('Bearer access-1');
      expect(server.state.calls.map((c) => c.body['refresh_token'])).toEqual(['rt-stale', 'rt-newer']);
      expect(sleep).toHaveBeenCalledWith(750);
      expect(saved.map((s) => s.refresh_token)).toEqual(['rotated-refresh-1']);
    });

    it('uses the access token the other instance stored when the re-read finds one', async () => {
      const server = fakeAuthServer({ liveRefreshToken: 'rt-rotated-elsewhere' });
      const clock = fakeClock();
      const loads: OAuthTokenSet[] = [
        { refresh_token: 'rt-stale' },
        {
          refresh_token: 'rt-rotated-elsewhere',
          access_token: 'theirs',
          expires_at: clock.now() + HOUR_S * 1000,
        },
      ];
      const store: OAuthTokenStore = { load: async () => loads.shift()!, save: async () => undefined };
      const { tm } = manager(server, { store, clock });
      expect(await tm.header()).toBe('Bearer theirs');
      expect(server.state.calls).toHaveLength(1);
    });

    it('fails with AUTH_FAILED asking for re-consent when the store has nothing newer', async () => {
      const server = fakeAuthServer({ liveRefreshToken: 'rt-somewhere-else' });
      const store = new InMemoryTokenStore({ refresh_token: FIRST_REFRESH });
      const { tm } = manager(server, { store });
      const err = await rejection(tm.header());
      expect(err).toBeInstanceOf(AuthFailedError);
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.retryable).toBe(true);
      expect(err.toBody().retryable).toBe(true);
      expect(err.message).toMatch(/re-consent/);
      expect(server.state.calls).toHaveLength(1); // the same token is not sent twice
    });

    it('never sends a dead refresh token again, and uses the next one stored after re-consent', async () => {
      const server = fakeAuthServer({ liveRefreshToken: 'rt-after-consent' });
      const store = new InMemoryTokenStore({ refresh_token: FIRST_REFRESH });
      const sleep = vi.fn(() => Promise.resolve());
      const { tm } = manager(server, { store, sleep });
      expect((await rejection(tm.header())).code).toBe('AUTH_FAILED');
      expect(server.state.calls).toHaveLength(1);
      expect(sleep).toHaveBeenCalledTimes(1);
      // Every later request's renewal: the store read, no call to the token endpoint, no wait.
      for (let i = 0; i < 3; i++) {
        const err = await rejection(tm.header());
        expect(err.code).toBe('AUTH_FAILED');
        expect(err.message).toMatch(/re-consent/);
      }
      expect(server.state.calls).toHaveLength(1);
      expect(sleep).toHaveBeenCalledTimes(1);
      // An operator stores the refresh token of a new consent: it is used at once.
      await store.save({ refresh_token: 'rt-after-consent' });
      expect(await tm.header()).toBe('Bearer access-1');
      expect(server.state.calls.map((c) => c.body['refresh_token'])).toEqual([
        FIRST_REFRESH,
        'rt-after-consent',
      ]);
    });

    it('fails when the newer refresh token is rejected too', async () => {
      const server = fakeAuthServer({ liveRefreshToken: 'nobody-has-this' });
      const loads: OAuthTokenSet[] = [{ refresh_token: 'rt-a' }, { refresh_token: 'rt-b' }];
      const store: OAuthTokenStore = { load: async () => loads.shift()!, save: async () => undefined };
      const { tm } = manager(server, { store });
      const err = await rejection(tm.header());
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.retryable).toBe(true);
      expect(server.state.calls).toHaveLength(2);
    });
  });

  describe('secrets stay out of errors', () => {
    const secrets = [CLIENT.clientSecret, FIRST_REFRESH, 'access-leak-canary', 'refresh-leak-canary'];

    const failures: Array<[string, (body: Record<string, unknown>) => Response | Promise<Response>]> = [
      [
        '403 invalid_grant',
        () => json(403, { error: 'invalid_grant', error_description: `bad ${FIRST_REFRESH}` }),
      ],
      [
        '401 access_denied',
        () => json(401, { error: 'access_denied', error_description: CLIENT.clientSecret }),
      ],
      ['500', () => json(500, { error: 'server_error', echo: CLIENT.clientSecret })],
      [
        'a 200 without access_token',
        () => json(200, { refresh_token: 'refresh-leak-canary', expires_in: 3600 }),
      ],
      ['a 200 that is not JSON', () => new Response(`access-leak-canary ${FIRST_REFRESH}`, { status: 200 })],
      [
        'a network error',
        () => {
          throw new TypeError(`fetch failed`, { cause: new Error(`connect ECONNREFUSED`) });
        },
      ],
    ];

    for (const [name, answer] of failures) {
      it(`keeps the client secret and tokens out of the error for ${name}`, async () => {
        const server = fakeAuthServer();
        server.state.answer = answer;
        const { tm } = manager(server);
        const err = await rejection(tm.header());
        const text = dump(err);
        for (const secret of secrets) expect(text).not.toContain(secret);
      });
    }

    it('classifies them: 401 from the token endpoint is AUTH_FAILED (retried with backoff, then the DLQ), 500 is retryable', async () => {
      const server = fakeAuthServer();
      server.state.answer = () => json(401, { error: 'access_denied' });
      const denied = await rejection(manager(server).tm.header());
      expect([denied.code, denied.retryable]).toEqual(['AUTH_FAILED', true]);
      server.state.answer = () => json(500, {});
      const down = await rejection(manager(server).tm.header());
      expect([down.code, down.retryable]).toEqual(['SERVICE_UNAVAILABLE', true]);
      server.state.answer = () => json(429, {}, { 'Retry-After': '7' });
      const limited = await rejection(manager(server).tm.header());
      expect([limited.code, (limited as UpstreamError).retryAfterSeconds]).toEqual(['RATE_LIMITED', 7]);
    });
  });

  describe('timeout', () => {
    it('gives up on a refresh that does not answer within timeoutMs (retryable TIMEOUT)', async () => {
      const hanging: typeof fetch = (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
        });
      const tm = new OAuthTokenManager({
        client: CLIENT,
        store: new InMemoryTokenStore({ refresh_token: FIRST_REFRESH }),
        fetch: hanging,
        timeoutMs: 50,
      });
      const started = Date.now();
      const err = await rejection(tm.header());
      expect(err.code).toBe('TIMEOUT');
      expect(err.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });

  describe('invalidate (a 401 from Atlassian)', () => {
    it('drops the rejected token, and does not take it back from the store', async () => {
      const server = fakeAuthServer();
      const { tm, store } = manager(server);
      const rejected = await tm.header();
      expect((await store.load()).access_token).toBe('access-1'); // still "valid" in the store
      await tm.invalidate(rejected);
      expect(await tm.header()).toBe('Bearer access-2');
      expect(server.state.calls).toHaveLength(2);
    });

    it('ignores a rejected header that is not the current token (a renewal already happened)', async () => {
      const server = fakeAuthServer();
      const { tm } = manager(server);
      await tm.header();
      await tm.invalidate('Bearer some-older-token');
      expect(await tm.header()).toBe('Bearer access-1');
      expect(server.state.calls).toHaveLength(1);
    });

    it('renews once when 50 requests report the same 401 at once', async () => {
      const server = fakeAuthServer();
      const { tm } = manager(server);
      const rejected = await tm.header();
      const headers = await Promise.all(
        Array.from({ length: 50 }, async () => {
          await tm.invalidate(rejected);
          return tm.header();
        }),
      );
      expect(new Set(headers)).toEqual(new Set(['Bearer access-2']));
      expect(server.state.calls).toHaveLength(2);
    });
  });

  describe('a store that cannot be written', () => {
    it('still answers the new token, reports it, and stores the rotation on the next call', async () => {
      const server = fakeAuthServer();
      const inner = new InMemoryTokenStore({ refresh_token: FIRST_REFRESH });
      let failSaves = true;
      const store: OAuthTokenStore = {
        load: () => inner.load(),
        save: async (set) => {
          if (failSaves) throw new Error('PutSecretValue throttled');
          await inner.save(set);
        },
      };
      const warn = vi.fn();
      const { tm } = manager(server, { store, warn });
      expect(await tm.header()).toBe('Bearer access-1');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(warn.mock.calls)).not.toContain('rotated-refresh-1');
      failSaves = false;
      expect(await tm.header()).toBe('Bearer access-1');
      expect((await inner.load()).refresh_token).toBe('rotated-refresh-1');
      expect(server.state.calls).toHaveLength(1);
    });
  });

  describe('construction', () => {
    it('refuses empty client credentials and a non-http token URL', () => {
      const store = new InMemoryTokenStore({ refresh_token: 'x' });
      expect(() => new OAuthTokenManager({ client: { clientId: '', clientSecret: 's' }, store })).toThrow(
        /client/,
      );
      expect(
        () => new OAuthTokenManager({ client: CLIENT, store, tokenUrl: 'ftp://auth.example/token' }),
      ).toThrow(/http/);
    });
  });
});
