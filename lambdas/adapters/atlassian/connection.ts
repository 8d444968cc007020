/**
 * Where and how the workers reach Atlassian, decided in one place: base URLs, browser-link URLs and
 * the Authorization provider, for both auth modes.
 *
 * - API token (HTTP Basic `email:api_token`): calls go to the site (Jira under it, Confluence under
 *   `/wiki`), or to the Jira / Confluence base URLs when set.
 * - OAuth 2.0 (3LO): Bearer tokens only work on the API gateway, so calls go to
 *   `${gateway}/ex/jira/${cloudId}` and `${gateway}/ex/confluence/${cloudId}/wiki` whatever the Jira
 *   base URL says; the site URL is only used for browser links.
 *
 * The settings come parsed (lambdas/shared/env.ts reads the `ATLASSIAN_*` variables): locally the
 * credentials themselves; on AWS the Secrets Manager secret, whose JSON shape picks the mode. Missing
 * or malformed configuration fails at start-up with the variable's (or the secret key's) name, never
 * its value.
 */
import type { AuthMode } from '../../../model/config/riq-config.js';
import { RUNTIME_ENV } from '../../../model/config/runtime-env.js';
import {
  apiTokenFromSecret,
  basicAuthProvider,
  secretAuthProvider,
  type ApiTokenCredentials,
} from './credentials.js';
import type { AuthHeaderProvider } from './http-client.js';
import { InMemoryTokenStore, JsonFileTokenStore } from './oauth-token-store.js';
import {
  ATLASSIAN_TOKEN_URL,
  OAuthTokenManager,
  type OAuthClientCredentials,
  type OAuthTokenManagerOptions,
} from './token-manager.js';
import {
  parseTokenSet,
  type OAuthTokenSet,
  type OAuthTokenStore,
  type SecretReader,
} from '../../core/ports/credentials.js';

export const ATLASSIAN_API_GATEWAY_URL = 'https://api.atlassian.com';

export type { AuthMode };

/**
 * The URLs the environment may set (each an http(s) URL without trailing slashes, see
 * lambdas/shared/env.ts); which of them apply depends on the mode.
 */
export interface ConnectionUrls {
  readonly siteUrl?: string;
  readonly jiraBaseUrl?: string;
  readonly confluenceBaseUrl?: string;
  /** OAuth: calls go to `${gateway}/ex/{product}/{cloudId}`. @default https://api.atlassian.com */
  readonly apiGatewayUrl?: string;
  /** OAuth: where tokens are refreshed. @default https://auth.atlassian.com/oauth/token */
  readonly oauthTokenUrl?: string;
}

/** Named like AtlassianExecutorOptions, so a connection spreads into it. */
export interface AtlassianEndpoints {
  readonly jiraBaseUrl: string;
  /** Including `/wiki`. */
  readonly confluenceBaseUrl: string;
  /** Base of Jira browser links (`${siteUrl}/browse/KEY`); absent: the Jira base URL. */
  readonly siteUrl?: string;
  /** Base of Confluence browser links; absent: the Confluence base URL. */
  readonly wikiUrl?: string;
}

/** The connection settings given as credentials (the local stack), before anything is built. */
export type LocalConnectionSettings =
  | {
      readonly mode: 'api_token';
      readonly endpoints: AtlassianEndpoints;
      readonly credentials: ApiTokenCredentials;
    }
  | {
      readonly mode: 'oauth';
      readonly endpoints: AtlassianEndpoints;
      readonly client: OAuthClientCredentials;
      readonly tokenUrl: string;
      /** The first refresh token; absent when the token file already holds one. */
      readonly refreshToken?: string;
      readonly tokenFile?: string;
    };

export interface AtlassianConnection {
  readonly mode: AuthMode;
  readonly endpoints: AtlassianEndpoints;
  readonly auth: AuthHeaderProvider;
}

/** What the token manager may take from the caller (tests and the local stack). */
export type TokenManagerOverrides = Partial<
  Pick<OAuthTokenManagerOptions, 'clock' | 'fetch' | 'sleep' | 'warn' | 'refreshMarginMs' | 'timeoutMs'>
>;

export interface AwsConnectionDeps {
  /** The secret's JSON value, cached (Powertools `getSecret`); `forceFetch` bypasses the cache. */
  readonly readSecret: SecretReader;
  /** The OAuth token store writing rotations back to the secret. */
  readonly tokenStore: (secretId: string) => OAuthTokenStore;
  readonly oauth?: TokenManagerOverrides;
}

const E = RUNTIME_ENV;

/** Says where a connection goes, for logs: mode and base URLs, never a credential. */
export function describeConnection(mode: AuthMode, endpoints: AtlassianEndpoints): string {
  const how = mode === 'oauth' ? 'OAuth 2.0 (3LO)' : 'API token';
  return `Jira ${endpoints.jiraBaseUrl}, Confluence ${endpoints.confluenceBaseUrl} (${how})`;
}

/** Builds the connection of local settings: Basic credentials, or a token manager over a memory or file store. */
export function localConnection(
  settings: LocalConnectionSettings,
  overrides: TokenManagerOverrides = {},
): AtlassianConnection {
  if (settings.mode === 'api_token') {
    return {
      mode: 'api_token',
      endpoints: settings.endpoints,
      auth: basicAuthProvider(settings.credentials),
    };
  }
  const initial: OAuthTokenSet | undefined =
    settings.refreshToken !== undefined ? { refresh_token: settings.refreshToken } : undefined;
  let store: OAuthTokenStore;
  if (settings.tokenFile !== undefined) store = new JsonFileTokenStore(settings.tokenFile, initial);
  else if (initial) store = new InMemoryTokenStore(initial);
  else throw new Error(`${E.atlassianOAuthRefreshToken} is required for OAuth access`);
  return {
    mode: 'oauth',
    endpoints: settings.endpoints,
    auth: new OAuthTokenManager({
      ...overrides,
      client: settings.client,
      store,
      tokenUrl: settings.tokenUrl,
    }),
  };
}

/**
 * The connection on AWS: the secret's shape picks the mode. API token: every request reads the secret
 * through the cached reader (a rotated token is seen within the cache's maxAge, or at once after a
 * 401). OAuth: the client id, secret and cloudId are read once; the tokens live in the secret, which
 * the token manager re-reads before refreshing and writes after every rotation.
 */
export async function awsConnection(
  urls: ConnectionUrls,
  secretId: string,
  deps: AwsConnectionDeps,
): Promise<AtlassianConnection> {
  const secret = await deps.readSecret(secretId);
  const fields = (typeof secret === 'object' && secret !== null ? secret : {}) as Record<string, unknown>;
  if ('api_token' in fields || 'email' in fields) {
    apiTokenFromSecret(secret, secretId); // fail at start-up, not on the first request
    return {
      mode: 'api_token',
      endpoints: apiTokenEndpoints(urls),
      auth: secretAuthProvider(secretId, deps.readSecret),
    };
  }
  if ('refresh_token' in fields || 'client_id' in fields) {
    const missing = ['client_id', 'client_secret', 'cloud_id'].filter(
      (key) => typeof fields[key] !== 'string' || fields[key] === '',
    );
    if (missing.length > 0)
      throw new Error(`secret ${secretId}: OAuth keys missing or empty: ${missing.join(', ')}`);
    parseTokenSet(secret, `secret ${secretId}`);
    return {
      mode: 'oauth',
      endpoints: oauthEndpoints(urls, fields['cloud_id'] as string, `secret ${secretId} key cloud_id`),
      auth: new OAuthTokenManager({
        ...deps.oauth,
        client: { clientId: fields['client_id'] as string, clientSecret: fields['client_secret'] as string },
        store: deps.tokenStore(secretId),
        tokenUrl: urls.oauthTokenUrl ?? ATLASSIAN_TOKEN_URL,
      }),
    };
  }
  throw new Error(
    `secret ${secretId} must be JSON {"email", "api_token"} (API token) or ` +
      `{"client_id", "client_secret", "refresh_token", "cloud_id"} (OAuth 2.0)`,
  );
}

/** API token: the site, or JIRA_BASE_URL / CONFLUENCE_BASE_URL; links use the site when known. */
export function apiTokenEndpoints(urls: ConnectionUrls): AtlassianEndpoints {
  const site = urls.siteUrl;
  const jira = urls.jiraBaseUrl ?? site;
  if (jira === undefined) {
    throw new Error(`${E.atlassianSiteUrl} (or ${E.jiraBaseUrl}) is required for API-token access`);
  }
  return {
    jiraBaseUrl: jira,
    confluenceBaseUrl: urls.confluenceBaseUrl ?? `${site ?? jira}/wiki`,
    ...siteLinks(site),
  };
}

/** OAuth: the gateway routes of the cloudId; links use the site when known. */
export function oauthEndpoints(
  urls: ConnectionUrls,
  cloudId: string,
  cloudIdSource: string,
): AtlassianEndpoints {
  // A cloudId is a UUID; anything that could change the path is refused.
  if (!/^[A-Za-z0-9-]{1,64}$/.test(cloudId)) throw new Error(`${cloudIdSource} is not a cloudId`);
  const gateway = urls.apiGatewayUrl ?? ATLASSIAN_API_GATEWAY_URL;
  return {
    jiraBaseUrl: `${gateway}/ex/jira/${cloudId}`,
    confluenceBaseUrl: `${gateway}/ex/confluence/${cloudId}/wiki`,
    ...siteLinks(urls.siteUrl),
  };
}

function siteLinks(site: string | undefined): Pick<AtlassianEndpoints, 'siteUrl' | 'wikiUrl'> {
  return site !== undefined ? { siteUrl: site, wikiUrl: `${site}/wiki` } : {};
}
