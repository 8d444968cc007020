/**
 * Atlassian API-token credentials: HTTP Basic with `email:api_token` against the site URL.
 * The header value is built here and handed to the HTTP client as a provider, so the secret never
 * travels further than the request it authorizes.
 */
import type { AuthHeaderProvider } from './http-client.js';

export interface ApiTokenCredentials {
  readonly email: string;
  readonly apiToken: string;
}

/** `Basic base64(email:apiToken)`. */
export function basicAuthHeader(credentials: ApiTokenCredentials): string {
  if (credentials.email === '' || credentials.apiToken === '') {
    throw new Error('Atlassian credentials need both an email and an API token');
  }
  return `Basic ${Buffer.from(`${credentials.email}:${credentials.apiToken}`, 'utf8').toString('base64')}`;
}

/** A provider that answers the same Basic header on every call (API tokens do not refresh). */
export function basicAuthProvider(credentials: ApiTokenCredentials): AuthHeaderProvider {
  const header = basicAuthHeader(credentials);
  return () => Promise.resolve(header);
}

/** Reads a secret's JSON value (Powertools Parameters on AWS; anything in tests). */
export type SecretReader = (secretId: string) => Promise<unknown>;

/**
 * A provider reading `{"email", "api_token"}` from a Secrets Manager secret through `read`, which
 * caches (Powertools Parameters keeps the value for its maxAge): a rotated token is picked up
 * without a redeploy. A malformed secret fails loudly without echoing its content.
 */
export function secretAuthProvider(secretId: string, read: SecretReader): AuthHeaderProvider {
  return async () => {
    const value = await read(secretId);
    const { email, api_token: apiToken } = (value ?? {}) as { email?: unknown; api_token?: unknown };
    if (typeof email !== 'string' || typeof apiToken !== 'string') {
      throw new Error(`secret ${secretId} must be JSON {"email": "...", "api_token": "..."}`);
    }
    return basicAuthHeader({ email, apiToken });
  };
}
