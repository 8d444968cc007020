/**
 * The credential stores the Atlassian connection reads through: the secret reader (the API-token
 * secret) and the OAuth token store. Atlassian rotates refresh tokens: each refresh returns a new
 * one and disables the one sent, so the newest must be written somewhere that outlives the process
 * (and, on AWS, that every Lambda instance reads) before it is needed again. Implemented by
 * lambdas/adapters/secrets-manager/ on AWS and lambdas/adapters/atlassian/oauth-token-store.ts
 * locally.
 */
import * as z from 'zod/mini';
import '../../../model/zod-messages.js';

/**
 * Reads a secret's JSON value: Powertools Parameters `getSecret` on AWS (cached for its maxAge;
 * `forceFetch` goes to Secrets Manager and refreshes that cache), anything in tests.
 */
export type SecretReader = (secretId: string, options?: { forceFetch?: boolean }) => Promise<unknown>;

/** What is persisted for one grant. Field names are the JSON keys of the secret and the token file. */
export interface OAuthTokenSet {
  readonly refresh_token: string;
  /** The last access token, so other instances can use it instead of refreshing again. */
  readonly access_token?: string;
  /** When `access_token` expires, in epoch milliseconds. */
  readonly expires_at?: number;
}

export interface OAuthTokenStore {
  /** The newest token set (re-read from the backing store on every call: other writers exist). */
  load(): Promise<OAuthTokenSet>;
  save(set: OAuthTokenSet): Promise<void>;
}

const tokenSetSchema = z.object({
  refresh_token: z.string().check(z.minLength(1)),
  access_token: z.optional(z.string().check(z.minLength(1))),
  expires_at: z.optional(z.int().check(z.positive())),
});

/**
 * The token set inside `value` (extra keys are ignored). A malformed value throws naming `where` and
 * the bad keys, never a value.
 */
export function parseTokenSet(value: unknown, where: string): OAuthTokenSet {
  const parsed = tokenSetSchema.safeParse(value);
  if (!parsed.success) {
    const keys = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
    throw new Error(
      `${where} must be JSON {"refresh_token": "...", "access_token"?: "...", "expires_at"?: epoch ms}; bad: ${keys.join(', ')}`,
    );
  }
  return tokenSetFrom(parsed.data);
}

/** A copy holding only the token set's own keys (no `undefined` values). */
export function tokenSetFrom(set: OAuthTokenSet): OAuthTokenSet {
  return {
    refresh_token: set.refresh_token,
    ...(set.access_token !== undefined ? { access_token: set.access_token } : {}),
    ...(set.expires_at !== undefined ? { expires_at: set.expires_at } : {}),
  };
}
