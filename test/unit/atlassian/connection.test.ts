import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { thrown } from '../../support/thrown.js';
import {
  awsConnection,
  localConnection,
  type AwsConnectionDeps,
} from '../../../lambdas/adapters/atlassian/connection.js';
import { readLocalSettings } from '../../../lambdas/shared/env.js';
import { basicAuthHeader } from '../../../lambdas/adapters/atlassian/credentials.js';
import {
  InMemoryTokenStore,
  JsonFileTokenStore,
} from '../../../lambdas/adapters/atlassian/oauth-token-store.js';
import { OAuthTokenManager } from '../../../lambdas/adapters/atlassian/token-manager.js';
import { SecretsManagerTokenStore } from '../../../lambdas/adapters/secrets-manager/secret-token-store.js';

const SECRET = 'value-that-must-not-leak';

const oauthEnv = {
  ATLASSIAN_OAUTH_CLIENT_ID: 'cid',
  ATLASSIAN_OAUTH_CLIENT_SECRET: SECRET,
  ATLASSIAN_OAUTH_REFRESH_TOKEN: `${SECRET}-rt`,
  ATLASSIAN_CLOUD_ID: '11111111-2222-3333-4444-555555555555',
};

describe('readLocalSettings', () => {
  describe('API token', () => {
    it('calls the site, Confluence under /wiki, and links to the site', () => {
      const settings = readLocalSettings({
        ATLASSIAN_SITE_URL: 'https://example.atlassian.net/',
        ATLASSIAN_EMAIL: 'bot@example.com',
        ATLASSIAN_API_TOKEN: SECRET,
      });
      expect(settings).toEqual({
        mode: 'api_token',
        endpoints: {
          jiraBaseUrl: 'https://example.atlassian.net',
          confluenceBaseUrl: 'https://example.atlassian.net/wiki',
          siteUrl: 'https://example.atlassian.net',
          wikiUrl: 'https://example.atlassian.net/wiki',
        },
        credentials: { email: 'bot@example.com', apiToken: SECRET },
      });
    });

    it('takes JIRA_BASE_URL and CONFLUENCE_BASE_URL over the site', () => {
      const settings = readLocalSettings({
        JIRA_BASE_URL: 'http://127.0.0.1:8080',
        CONFLUENCE_BASE_URL: 'http://127.0.0.1:8081/wiki',
        ATLASSIAN_EMAIL: 'e',
        ATLASSIAN_API_TOKEN: 't',
      });
      expect(settings.endpoints).toEqual({
        jiraBaseUrl: 'http://127.0.0.1:8080',
        confluenceBaseUrl: 'http://127.0.0.1:8081/wiki',
      });
    });

    it('names what is missing, never a value', () => {
      const noSite = thrown(() => readLocalSettings({ ATLASSIAN_EMAIL: 'e', ATLASSIAN_API_TOKEN: SECRET }));
      expect(noSite.message).toMatch(/ATLASSIAN_SITE_URL/);
      const noToken = thrown(() =>
        readLocalSettings({ ATLASSIAN_SITE_URL: 'https://x.atlassian.net', ATLASSIAN_EMAIL: SECRET }),
      );
      expect(noToken.message).toMatch(/ATLASSIAN_API_TOKEN is required/);
      expect(noToken.message).not.toContain(SECRET);
      const badUrl = thrown(() =>
        readLocalSettings({
          ATLASSIAN_SITE_URL: `ftp://${SECRET}`,
          ATLASSIAN_EMAIL: 'e',
          ATLASSIAN_API_TOKEN: 't',
        }),
      );
      expect(badUrl.message).toMatch(/ATLASSIAN_SITE_URL must be an http\(s\) URL/);
      expect(badUrl.message).not.toContain(SECRET);
    });
  });

  describe('OAuth', () => {
    it('calls the api.atlassian.com gateway routes of the cloudId and refreshes at auth.atlassian.com', () => {
      const settings = readLocalSettings({
        ...oauthEnv,
        ATLASSIAN_SITE_URL: 'https://example.atlassian.net',
      });
      expect(settings).toMatchObject({
        mode: 'oauth',
        endpoints: {
          jiraBaseUrl: 'https://api.atlassian.com/ex/jira/11111111-2222-3333-4444-555555555555',
          confluenceBaseUrl:
            'https://api.atlassian.com/ex/confluence/11111111-2222-3333-4444-555555555555/wiki',
          siteUrl: 'https://example.atlassian.net',
          wikiUrl: 'https://example.atlassian.net/wiki',
        },
        client: { clientId: 'cid', clientSecret: SECRET },
        tokenUrl: 'https://auth.atlassian.com/oauth/token',
        refreshToken: `${SECRET}-rt`,
      });
    });

    it('takes the gateway and token URLs from the environment (the simulator)', () => {
      const settings = readLocalSettings({
        ...oauthEnv,
        ATLASSIAN_API_GATEWAY_URL: 'http://127.0.0.1:4000',
        ATLASSIAN_OAUTH_TOKEN_URL: 'http://127.0.0.1:4000/oauth/token',
        JIRA_BASE_URL: 'https://ignored.example', // Bearer tokens only work on the gateway
      });
      expect(settings).toMatchObject({
        endpoints: { jiraBaseUrl: `http://127.0.0.1:4000/ex/jira/${oauthEnv.ATLASSIAN_CLOUD_ID}` },
        tokenUrl: 'http://127.0.0.1:4000/oauth/token',
      });
    });

    it('names every missing variable, never a value', () => {
      const err = thrown(() =>
        readLocalSettings({ ATLASSIAN_OAUTH_CLIENT_ID: 'cid', ATLASSIAN_OAUTH_REFRESH_TOKEN: SECRET }),
      );
      expect(err.message).toMatch(/ATLASSIAN_OAUTH_CLIENT_SECRET, ATLASSIAN_CLOUD_ID are required/);
      expect(err.message).not.toContain(SECRET);
      const badCloud = thrown(() => readLocalSettings({ ...oauthEnv, ATLASSIAN_CLOUD_ID: '../../admin' }));
      expect(badCloud.message).toMatch(/ATLASSIAN_CLOUD_ID is not a cloudId/);
    });

    it('needs no refresh token variable once the token file exists', () => {
      const dir = mkdtempSync(join(tmpdir(), 'riq-conn-'));
      try {
        const file = join(dir, 'tokens.json');
        const env = { ...oauthEnv, ATLASSIAN_OAUTH_REFRESH_TOKEN: '', ATLASSIAN_OAUTH_TOKEN_FILE: file };
        expect(() => readLocalSettings(env)).toThrow(/ATLASSIAN_OAUTH_REFRESH_TOKEN is required/);
        writeFileSync(file, JSON.stringify({ refresh_token: 'from-file' }));
        expect(readLocalSettings(env)).toMatchObject({ mode: 'oauth', tokenFile: file });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('refuses both modes at once, and no credentials at all', () => {
    expect(() => readLocalSettings({ ...oauthEnv, ATLASSIAN_EMAIL: 'e', ATLASSIAN_API_TOKEN: 't' })).toThrow(
      /not both/,
    );
    expect(() => readLocalSettings({})).toThrow(/ATLASSIAN_EMAIL and ATLASSIAN_API_TOKEN/);
  });
});

describe('localConnection', () => {
  it('builds a Basic provider for an API token and a token manager for OAuth', async () => {
    const basic = localConnection(
      readLocalSettings({
        ATLASSIAN_SITE_URL: 'https://x.atlassian.net',
        ATLASSIAN_EMAIL: 'e',
        ATLASSIAN_API_TOKEN: 't',
      }),
    );
    expect(basic.mode).toBe('api_token');
    expect(await basic.auth.header()).toBe(basicAuthHeader({ email: 'e', apiToken: 't' }));
    const oauth = localConnection(readLocalSettings(oauthEnv));
    expect(oauth.mode).toBe('oauth');
    expect(oauth.auth).toBeInstanceOf(OAuthTokenManager);
  });
});

describe('awsConnection', () => {
  const secretId = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:riq/atlassian-AbCdEf';

  function deps(value: unknown): AwsConnectionDeps & { forced: () => number } {
    let forced = 0;
    return {
      readSecret: async (_id, options) => {
        if (options?.forceFetch) forced++;
        return value;
      },
      tokenStore: () => new InMemoryTokenStore({ refresh_token: 'x' }),
      forced: () => forced,
    };
  }

  it('reads an API-token secret on every request, with the site from the environment', async () => {
    const conn = await awsConnection(
      { siteUrl: 'https://x.atlassian.net' },
      secretId,
      deps({ email: 'e', api_token: 't' }),
    );
    expect(conn.mode).toBe('api_token');
    expect(conn.endpoints.jiraBaseUrl).toBe('https://x.atlassian.net');
    expect(await conn.auth.header()).toBe(basicAuthHeader({ email: 'e', apiToken: 't' }));
    expect(conn.auth.invalidate).toBeDefined();
  });

  it('builds the gateway endpoints and a token manager from an OAuth secret', async () => {
    const conn = await awsConnection(
      {},
      secretId,
      deps({ client_id: 'c', client_secret: SECRET, refresh_token: 'r', cloud_id: 'abc-123' }),
    );
    expect(conn.mode).toBe('oauth');
    expect(conn.endpoints).toEqual({
      jiraBaseUrl: 'https://api.atlassian.com/ex/jira/abc-123',
      confluenceBaseUrl: 'https://api.atlassian.com/ex/confluence/abc-123/wiki',
    });
    expect(conn.auth).toBeInstanceOf(OAuthTokenManager);
  });

  it('names missing secret keys, never their values', async () => {
    const err = (await awsConnection({}, secretId, deps({ client_id: SECRET, refresh_token: SECRET })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/client_secret, cloud_id/);
    expect(err.message).not.toContain(SECRET);
    await expect(awsConnection({}, secretId, deps({ password: SECRET }))).rejects.toThrow(/must be JSON/);
    await expect(awsConnection({}, secretId, deps({ email: 'e', api_token: 't' }))).rejects.toThrow(
      /ATLASSIAN_SITE_URL/,
    );
  });
});

describe('JsonFileTokenStore', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers the initial set until a save, then the file (mode 0600, no temp file left)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'riq-tokens-'));
    const path = join(dir, 'tokens.json');
    const store = new JsonFileTokenStore(path, { refresh_token: 'first' });
    expect(await store.load()).toEqual({ refresh_token: 'first' });
    await store.save({ refresh_token: 'second', access_token: 'a', expires_at: 123 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['tokens.json']);
    expect(await new JsonFileTokenStore(path, { refresh_token: 'first' }).load()).toEqual({
      refresh_token: 'second',
      access_token: 'a',
      expires_at: 123,
    });
  });

  it('fails on a malformed file without echoing it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'riq-tokens-'));
    const path = join(dir, 'tokens.json');
    writeFileSync(path, JSON.stringify({ refresh_token: 42, note: SECRET }));
    const err = (await new JsonFileTokenStore(path).load().catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/refresh_token/);
    expect(err.message).not.toContain(SECRET);
  });
});

describe('SecretsManagerTokenStore', () => {
  it('re-reads the secret and writes the rotated tokens back, keeping the other keys', async () => {
    const client = new SecretsManagerClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    let stored = JSON.stringify({ client_id: 'c', client_secret: 's', cloud_id: 'id', refresh_token: 'r1' });
    const send = vi.spyOn(client, 'send').mockImplementation((async (command: unknown) => {
      if (command instanceof PutSecretValueCommand) {
        stored = command.input.SecretString ?? '';
        return {};
      }
      return { SecretString: stored };
    }) as never);
    const store = new SecretsManagerTokenStore('riq/atlassian', client);
    expect(await store.load()).toEqual({ refresh_token: 'r1' });
    await store.save({ refresh_token: 'r2', access_token: 'a2', expires_at: 99 });
    expect(JSON.parse(stored)).toEqual({
      client_id: 'c',
      client_secret: 's',
      cloud_id: 'id',
      refresh_token: 'r2',
      access_token: 'a2',
      expires_at: 99,
    });
    // A second load goes to Secrets Manager again (forceFetch), not to a cache.
    expect(await store.load()).toEqual({ refresh_token: 'r2', access_token: 'a2', expires_at: 99 });
    expect(send.mock.calls.filter(([c]) => !(c instanceof PutSecretValueCommand))).toHaveLength(2);
  });
});
