/**
 * OAuth 2.0 (3LO) as Atlassian runs it, for one simulated grant: `POST /oauth/token` refreshes with a
 * rotating refresh token (the one sent stops working), `GET /oauth/token/accessible-resources` names
 * the site's cloudId, and Bearer access tokens open the `api.atlassian.com` gateway routes
 * `/ex/jira/{cloudId}/…` and `/ex/confluence/{cloudId}/wiki/…`, which map onto the site routes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SimCounters } from './behaviour.js';
import { json, type Router, type SimRequest, type SimResponse } from './router.js';

export interface SimOAuthOptions {
  /** @default 'riq-sim-client' */
  clientId?: string;
  /** @default 'riq-sim-client-secret' */
  clientSecret?: string;
  /** The grant's first refresh token. @default 'riq-sim-refresh-token' */
  refreshToken?: string;
  /** @default '3f1c9a2e-5b7d-4e8a-9c0f-1a2b3c4d5e6f' */
  cloudId?: string;
  /** The site's name in accessible-resources. @default 'riq-sim' */
  siteName?: string;
  /** `expires_in` of access tokens. @default 3600 */
  accessTtlSeconds?: number;
  /** Scopes granted. @default Jira and Confluence read/write plus offline_access */
  scopes?: string[];
}

export const DEFAULT_SIM_OAUTH = {
  clientId: 'riq-sim-client',
  clientSecret: 'riq-sim-client-secret',
  refreshToken: 'riq-sim-refresh-token',
  cloudId: '3f1c9a2e-5b7d-4e8a-9c0f-1a2b3c4d5e6f',
  siteName: 'riq-sim',
  accessTtlSeconds: 3600,
  scopes: [
    'read:jira-work',
    'write:jira-work',
    'read:confluence-content.all',
    'write:confluence-content',
    'read:page:confluence',
    'write:page:confluence',
    'read:space:confluence',
    'search:confluence',
    'offline_access',
  ],
} as const satisfies Required<SimOAuthOptions>;

interface AccessToken {
  expiresAt: number;
}

/** The simulated authorization server and resource gateway for one grant. */
export class SimOAuth {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly initialRefreshToken: string;
  readonly cloudId: string;
  readonly siteName: string;
  readonly scopes: readonly string[];
  accessTtlSeconds: number;
  /** The one live refresh token of the grant (rotation disables the previous one). */
  private refreshToken: string;
  private accessTokens = new Map<string, AccessToken>();
  private issued = 0;

  constructor(
    options: SimOAuthOptions = {},
    private readonly counters: SimCounters,
    private readonly now: () => number = Date.now,
  ) {
    this.clientId = options.clientId ?? DEFAULT_SIM_OAUTH.clientId;
    this.clientSecret = options.clientSecret ?? DEFAULT_SIM_OAUTH.clientSecret;
    this.initialRefreshToken = options.refreshToken ?? DEFAULT_SIM_OAUTH.refreshToken;
    this.cloudId = options.cloudId ?? DEFAULT_SIM_OAUTH.cloudId;
    this.siteName = options.siteName ?? DEFAULT_SIM_OAUTH.siteName;
    this.scopes = options.scopes ?? DEFAULT_SIM_OAUTH.scopes;
    this.accessTtlSeconds = options.accessTtlSeconds ?? DEFAULT_SIM_OAUTH.accessTtlSeconds;
    this.refreshToken = this.initialRefreshToken;
  }

  /** `POST /oauth/token` with `grant_type: refresh_token`. */
  token(body: unknown): SimResponse {
    const b = isRecord(body) ? body : {};
    if (b['grant_type'] !== 'refresh_token') {
      return oauthError(400, 'unsupported_grant_type', 'Only grant_type refresh_token is simulated.');
    }
    if (!sameText(b['client_id'], this.clientId) || !sameText(b['client_secret'], this.clientSecret)) {
      return oauthError(401, 'access_denied', 'Unauthorized');
    }
    if (!sameText(b['refresh_token'], this.refreshToken)) {
      return oauthError(403, 'invalid_grant', 'Unknown or invalid refresh token.');
    }
    const n = ++this.issued;
    const accessToken = `sim-at-${n}-${randomBytes(12).toString('hex')}`;
    this.refreshToken = `sim-rt-${n}-${randomBytes(12).toString('hex')}`;
    this.prune();
    this.accessTokens.set(accessToken, { expiresAt: this.now() + this.accessTtlSeconds * 1000 });
    this.counters.oauthRefreshes++;
    return json(200, {
      access_token: accessToken,
      refresh_token: this.refreshToken,
      expires_in: this.accessTtlSeconds,
      scope: this.scopes.join(' '),
      token_type: 'Bearer',
    });
  }

  /** Whether `Authorization: Bearer …` carries a live access token. */
  acceptsBearer(authorization: string | undefined): boolean {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (token === undefined) return false;
    const found = this.accessTokens.get(token);
    return found !== undefined && this.now() < found.expiresAt;
  }

  /** Every access token issued so far stops working (a refresh still gives a working one). */
  revokeAccessTokens(): number {
    const n = this.accessTokens.size;
    this.accessTokens = new Map();
    return n;
  }

  private prune(): void {
    const now = this.now();
    for (const [token, t] of this.accessTokens) if (now >= t.expiresAt) this.accessTokens.delete(token);
  }
}

export function registerOAuthRoutes(router: Router, oauth: SimOAuth): void {
  router.add('POST', '/oauth/token', (req) => oauth.token(req.body));
  router.add('GET', '/oauth/token/accessible-resources', (req) => accessibleResources(oauth, req));
}

function accessibleResources(oauth: SimOAuth, req: SimRequest): SimResponse {
  if (!oauth.acceptsBearer(req.headers.authorization)) return gatewayUnauthorized();
  return json(200, [
    {
      id: oauth.cloudId,
      url: req.baseUrl,
      name: oauth.siteName,
      scopes: [...oauth.scopes],
      avatarUrl: `${req.baseUrl}/avatar.png`,
    },
  ]);
}

/** A request for `api.atlassian.com/ex/{product}/{cloudId}/…`, mapped onto the site route. */
export interface GatewayTarget {
  product: 'jira' | 'confluence';
  cloudId: string;
  /** The site path: `/rest/api/3/…` (Jira) or `/wiki/…` (Confluence). */
  sitePath: string;
  /** `/ex/{product}/{cloudId}`, the prefix to put before links. */
  prefix: string;
}

/** The gateway target of an `/ex/…` path; undefined for other paths. `valid` is false for a wrong product path. */
export function gatewayTarget(path: string): (GatewayTarget & { valid: boolean }) | undefined {
  const m = /^\/ex\/(jira|confluence)\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return undefined;
  const product = m[1] as 'jira' | 'confluence';
  const cloudId = m[2] ?? '';
  const sitePath = m[3] ?? '/';
  const isWiki = sitePath === '/wiki' || sitePath.startsWith('/wiki/');
  return {
    product,
    cloudId,
    sitePath,
    prefix: `/ex/${product}/${cloudId}`,
    valid: product === 'confluence' ? isWiki : !isWiki,
  };
}

/** The gateway's 401, as api.atlassian.com answers it. */
export function gatewayUnauthorized(): SimResponse {
  return json(401, { code: 401, message: 'Unauthorized' });
}

function oauthError(status: number, error: string, description: string): SimResponse {
  return json(status, { error, error_description: description });
}

function sameText(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
