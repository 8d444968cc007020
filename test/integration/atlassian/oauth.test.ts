/**
 * Both auth modes against the simulated Atlassian on loopback: OAuth 2.0 (3LO) through the gateway
 * routes with Bearer tokens refreshed at the simulator's `/oauth/token` (rotating refresh tokens),
 * and API-token credentials read from a "secret" that can be re-read after a 401.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { readLocalSettings } from '../../../lambdas/shared/env.js';
import { basicAuthHeader, secretAuthProvider } from '../../../lambdas/adapters/atlassian/credentials.js';
import { InMemoryTokenStore } from '../../../lambdas/adapters/atlassian/oauth-token-store.js';
import { AtlassianExecutor } from '../../../lambdas/adapters/atlassian/operation-executor.js';
import {
  OAuthTokenManager,
  type OAuthTokenManagerOptions,
} from '../../../lambdas/adapters/atlassian/token-manager.js';
import { DEFAULT_SIM_OAUTH } from '../../../local/atlassian-sim/oauth-routes.js';
import { simulatorConnectionEnv } from '../../../local/stack.js';
import type { SecretReader } from '../../../lambdas/core/ports/credentials.js';
import { useAtlassianSimulator } from '../../support/atlassian-sim-fixture.js';
import { everythingShownOf, upstreamFailure as failure } from '../../support/upstream-failure.js';

const ctx = { token: 'req_oauth_test' };

const sim = useAtlassianSimulator();
const { credentials } = sim;
/**
 * The grant's tokens, shared by every manager of this file as Lambda instances share the secret:
 * the simulator keeps one live refresh token, so a manager starting from the first one would fail.
 */
const store = new InMemoryTokenStore({ refresh_token: DEFAULT_SIM_OAUTH.refreshToken });

beforeEach(async () => {
  await sim.control.setOAuthAccessTtl(3600);
});

/** An executor in OAuth mode, configured the way lambdas/shared/env.ts reads the local stack's variables. */
function oauthExecutor(overrides: Partial<OAuthTokenManagerOptions> = {}): {
  executor: AtlassianExecutor;
  auth: OAuthTokenManager;
} {
  const settings = readLocalSettings(simulatorConnectionEnv(sim.url, 'oauth'));
  if (settings.mode !== 'oauth') throw new Error('expected OAuth settings');
  const auth = new OAuthTokenManager({
    client: settings.client,
    tokenUrl: settings.tokenUrl,
    store,
    ...overrides,
  });
  return { executor: new AtlassianExecutor({ ...settings.endpoints, auth, timeoutMs: 5_000 }), auth };
}

function createTask(executor: AtlassianExecutor, title: string): Promise<{ key: string; url: string }> {
  return executor.execute('jira.create_task', { title, project_id: 'MD' }, ctx) as Promise<{
    key: string;
    url: string;
  }>;
}

async function refreshes(): Promise<number> {
  return (await sim.control.stats()).oauth_refreshes;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('OAuth 2.0 (3LO) against the simulator', () => {
  it('calls Jira and Confluence through the gateway with a Bearer token, links pointing at the site', async () => {
    const { executor } = oauthExecutor();
    const created = await createTask(executor, 'OAuth hello');
    expect(created.url).toBe(`${sim.url}/browse/${created.key}`);
    await expect(executor.execute('jira.get_task', { task_id: created.key }, ctx)).resolves.toMatchObject({
      key: created.key,
      summary: 'OAuth hello',
    });
    const calls = (await sim.control.stats()).calls.map((c) => c.path);
    expect(calls).toContain(`/ex/jira/${DEFAULT_SIM_OAUTH.cloudId}/rest/api/3/issue`);
    // The rotated refresh token is what the store holds now.
    expect((await store.load()).refresh_token).not.toBe(DEFAULT_SIM_OAUTH.refreshToken);
  });

  it('a token expiring during a burst of 50 requests causes exactly one refresh and no failed request', async () => {
    // Tokens live 2 s; the manager renews when less than half of that remains, i.e. 1 s after issue.
    await sim.control.setOAuthAccessTtl(2);
    const { executor, auth } = oauthExecutor();
    await auth.invalidate(await auth.header()); // start from a fresh 2-second token
    const { key } = await createTask(executor, 'burst');
    await sim.control.setLatency(20);
    const before = await refreshes();

    // 50 requests spread over 1 s from 0.5 s after the token's issue: the renewal point (1 s) falls
    // in the middle of the burst, while earlier requests are still in flight with the old token.
    await sleep(500);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, async (_, i) => {
        await sleep(i * 20);
        return i % 5 === 0
          ? executor.execute('jira.create_task', { title: `burst ${i}`, project_id: 'MD' }, ctx)
          : executor.execute('jira.get_task', { task_id: key }, ctx);
      }),
    );

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect((await refreshes()) - before).toBe(1);
  });

  it('access tokens revoked in the middle of a burst of 50: one refresh, every request succeeds', async () => {
    const { executor } = oauthExecutor();
    const { key } = await createTask(executor, 'revoked');
    await sim.control.setLatency(50);
    const before = await refreshes();

    const burst = Array.from({ length: 50 }, async (_, i) => {
      await sleep(i * 2);
      return i % 2 === 0
        ? executor.execute('jira.get_task', { task_id: key }, ctx)
        : executor.execute('confluence.search_pages', { query: 'nothing', space_id: 'MD' }, ctx);
    });
    await sleep(40);
    const { access_tokens_revoked: revoked } = await sim.control.expireAuth();
    const results = await Promise.allSettled(burst);

    expect(revoked).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect((await refreshes()) - before).toBe(1);
    const unauthorized = (await sim.control.stats()).calls.filter((c) => c.status === 401);
    expect(unauthorized.length).toBeGreaterThan(0); // the revocation really hit requests in flight
  });

  it('a second instance uses the access token the first one stored instead of refreshing', async () => {
    const first = oauthExecutor();
    await first.auth.invalidate(await first.auth.header());
    const { key } = await createTask(first.executor, 'shared');
    const before = await refreshes();
    const second = oauthExecutor();
    await expect(second.executor.execute('jira.get_task', { task_id: key }, ctx)).resolves.toMatchObject({
      key,
    });
    expect(await second.auth.header()).toBe(await first.auth.header());
    expect((await refreshes()) - before).toBe(0);
  });

  it('a refresh token the simulator no longer accepts is AUTH_FAILED without secrets', async () => {
    const { executor } = oauthExecutor({
      store: new InMemoryTokenStore({ refresh_token: 'sim-rt-long-gone' }),
      invalidGrantReloadDelayMs: 0,
    });
    const err = await failure(executor.execute('jira.get_task', { task_id: 'MD-1' }, ctx));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/re-consent/);
    const dump = everythingShownOf(err);
    expect(dump).not.toContain('sim-rt-long-gone');
    expect(dump).not.toContain(DEFAULT_SIM_OAUTH.clientSecret);
  });
});

describe('API token against the simulator', () => {
  /** A reader with a cache, like Powertools getSecret: `forceFetch` reads the backing value. */
  function cachedReader(initial: string) {
    const backing = { apiToken: initial };
    let cached = { email: credentials.email, api_token: initial };
    let forced = 0;
    const read: SecretReader = async (_id, options) => {
      if (options?.forceFetch) {
        forced++;
        cached = { email: credentials.email, api_token: backing.apiToken };
      }
      return cached;
    };
    return { read, backing, forced: () => forced };
  }

  it('an expired API token: 401, one re-read and resend, then AUTH_FAILED that is not retried', async () => {
    const secret = cachedReader(credentials.apiToken);
    const executor = sim.executor({
      auth: secretAuthProvider('riq/atlassian', secret.read),
      timeoutMs: 5_000,
    });
    await sim.control.reset();
    await sim.control.expireAuth();
    const err = await failure(executor.execute('jira.get_task', { task_id: 'MD-1' }, ctx));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ status: 401 });
    expect(secret.forced()).toBe(1);
    const calls = (await sim.control.stats()).calls.filter((c) => c.path === '/rest/api/3/issue/MD-1');
    expect(calls.map((c) => c.status)).toEqual([401, 401]);
    const dump = everythingShownOf(err);
    expect(dump).not.toContain(credentials.apiToken);
    expect(dump).not.toContain(basicAuthHeader(credentials).slice('Basic '.length));
  });

  it('a token rotated in the secret is picked up by the 401 re-read, before the cache expires', async () => {
    const secret = cachedReader('revoked-old-token');
    secret.backing.apiToken = credentials.apiToken; // the operator stored the new token
    const executor = sim.executor({
      auth: secretAuthProvider('riq/atlassian', secret.read),
      timeoutMs: 5_000,
    });
    const created = await executor.execute('jira.create_task', { title: 'rotated', project_id: 'MD' }, ctx);
    expect(created).toMatchObject({ key: expect.stringMatching(/^MD-\d+$/) as unknown });
    expect(secret.forced()).toBe(1);
  });
});
