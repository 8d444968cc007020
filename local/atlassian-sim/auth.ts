/**
 * Authentication as Atlassian Cloud checks it: `Authorization: Basic base64(email:api_token)` on the
 * site routes, and on the `api.atlassian.com/ex/…` gateway either that or an OAuth `Bearer` token.
 * `POST /__sim/auth/expire` turns every current credential into a 401 (see SimAuth).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { gatewayUnauthorized, type SimOAuth } from './oauth-routes.js';
import { jiraError, type SimResponse } from './router.js';

export interface SimCredentials {
  email: string;
  apiToken: string;
}

const UNAUTHENTICATED = 'Client must be authenticated to access this resource.';

/** Undefined when the request carries the configured credentials, else the 401 to answer. */
export function checkBasicAuth(
  headers: IncomingHttpHeaders,
  expected: SimCredentials,
): SimResponse | undefined {
  return basicMatches(headers.authorization, expected) ? undefined : jiraError(401, [UNAUTHENTICATED]);
}

/**
 * The simulator's credentials and their expiry. `expire()` models an API token past its expiry date
 * (401 until `renew()`) and, for OAuth, revokes every access token issued so far (a refresh gives a
 * working one again).
 */
export class SimAuth {
  apiTokenExpired = false;

  constructor(
    readonly credentials: SimCredentials,
    private readonly oauth: SimOAuth,
  ) {}

  expire(): { api_token_expired: true; access_tokens_revoked: number } {
    this.apiTokenExpired = true;
    return { api_token_expired: true, access_tokens_revoked: this.oauth.revokeAccessTokens() };
  }

  renew(): { api_token_expired: false } {
    this.apiTokenExpired = false;
    return { api_token_expired: false };
  }

  /** The 401 to answer, or undefined when the request may go on. Bearer tokens only on the gateway. */
  check(headers: IncomingHttpHeaders, gateway: boolean): SimResponse | undefined {
    const authorization = headers.authorization;
    if (gateway && /^Bearer\s/i.test(authorization ?? '')) {
      return this.oauth.acceptsBearer(authorization) ? undefined : gatewayUnauthorized();
    }
    if (!this.apiTokenExpired && basicMatches(authorization, this.credentials)) return undefined;
    return gateway ? gatewayUnauthorized() : jiraError(401, [UNAUTHENTICATED]);
  }
}

function basicMatches(header: string | undefined, expected: SimCredentials): boolean {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  const given = match?.[1] ? Buffer.from(match[1], 'base64') : Buffer.alloc(0);
  const want = Buffer.from(`${expected.email}:${expected.apiToken}`, 'utf8');
  return given.length === want.length && timingSafeEqual(given, want);
}
