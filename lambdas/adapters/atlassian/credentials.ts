/**
 * Atlassian API-token credentials: HTTP Basic with `email:api_token` against the site URL.
 * The header value is built here and handed to the HTTP client as a provider, so the secret never
 * travels further than the request it authorizes.
 */
import type { SecretReader } from '../../core/ports/credentials.js';
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

/**
 * A provider that answers the same Basic header on every call. It has no `invalidate`: fixed
 * credentials (environment variables) cannot be renewed, so the HTTP client does not resend after a
 * 401 and fails with a non-retryable AUTH_FAILED at once.
 */
export function basicAuthProvider(credentials: ApiTokenCredentials): AuthHeaderProvider {
  const header = basicAuthHeader(credentials);
  return { header: () => Promise.resolve(header) };
}

/** `{"email", "api_token"}` from a secret's value; a malformed value fails without echoing it. */
export function apiTokenFromSecret(value: unknown, secretId: string): ApiTokenCredentials {
  const { email, api_token: apiToken } = (value ?? {}) as { email?: unknown; api_token?: unknown };
  if (typeof email !== 'string' || typeof apiToken !== 'string' || email === '' || apiToken === '') {
    throw new Error(`secret ${secretId} must be JSON {"email": "...", "api_token": "..."}`);
  }
  return { email, apiToken };
}

/**
 * A provider reading `{"email", "api_token"}` from a Secrets Manager secret through `read`, which
 * caches (Powertools Parameters keeps the value for its maxAge): a rotated token is picked up
 * without a redeploy, within maxAge, or at once when Atlassian answers 401: `invalidate` re-reads
 * the secret bypassing the cache (one read however many requests report the same 401).
 */
export function secretAuthProvider(secretId: string, read: SecretReader): AuthHeaderProvider {
  let rereading: Promise<unknown> | undefined;
  const header = async () => basicAuthHeader(apiTokenFromSecret(await read(secretId), secretId));
  return {
    header,
    async invalidate(rejected: string): Promise<void> {
      if (rereading) {
        await rereading;
        return;
      }
      // Another request's re-read may already have replaced the rejected token.
      if ((await header()) !== rejected) return;
      rereading ??= read(secretId, { forceFetch: true }).finally(() => {
        rereading = undefined;
      });
      await rereading;
    },
  };
}
