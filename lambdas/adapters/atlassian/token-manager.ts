/**
 * OAuth 2.0 (3LO) access tokens for the Atlassian HTTP clients: `Authorization: Bearer …`.
 *
 * - The access token is refreshed *before* it expires (when less than `refreshMarginMs` of its life
 *   remains), so a request never starts with a token about to die.
 * - One refresh at a time per process: every caller waiting for a token awaits the same promise.
 *   This is not an optimisation: refresh tokens rotate, so two concurrent refreshes with the same
 *   refresh token would leave one of them with a disabled token (403 invalid_grant).
 * - Other processes (Lambda instances) share the grant through the store: before refreshing, the
 *   store is re-read and a still-valid access token another instance stored is used as is. When the
 *   refresh answers invalid_grant, another instance may have rotated the refresh token a moment ago:
 *   the store is re-read once and the refresh retried with the newer token; otherwise the grant is
 *   dead and only a new consent helps (AuthFailedError; the request ends in the DLQ for a redrive).
 *   A refresh token answered invalid_grant is never sent again (Atlassian: do not retry it): until
 *   the store holds another one, each renewal reads the store and fails at once.
 *
 * Hand-written: the refresh is one JSON POST, and the libraries that do it (openid-client,
 * simple-oauth2) add neither single flight nor a shared store, which is what this needs.
 *
 * No token or client secret ever appears in an error, a log line or a result.
 */
import * as z from 'zod/mini';
import '../../../model/zod-messages.js';
import { UpstreamError } from '../../../model/errors.js';
import type { Clock } from '../../core/ports/index.js';
import { parseRetryAfter } from './classify-error.js';
import { AuthFailedError, type AuthHeaderProvider } from './http-client.js';
import type { OAuthTokenSet, OAuthTokenStore } from '../../core/ports/credentials.js';

/** Atlassian's authorization server. */
export const ATLASSIAN_TOKEN_URL = 'https://auth.atlassian.com/oauth/token';
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;
export const DEFAULT_REFRESH_TIMEOUT_MS = 10_000;
export const DEFAULT_INVALID_GRANT_RELOAD_DELAY_MS = 1_000;

export interface OAuthClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface OAuthTokenManagerOptions {
  readonly client: OAuthClientCredentials;
  /** Holds the current refresh token (and the last access token); written after every rotation. */
  readonly store: OAuthTokenStore;
  /** @default ATLASSIAN_TOKEN_URL */
  readonly tokenUrl?: string;
  /** Refresh when less than this much of the access token's life remains. @default 5 minutes */
  readonly refreshMarginMs?: number;
  /** Timeout of each refresh call (connect, headers and body). @default 10 s */
  readonly timeoutMs?: number;
  /**
   * After an invalid_grant, wait this long before re-reading the store: another instance that
   * rotated the token may still be writing it. @default 1 s
   */
  readonly invalidGrantReloadDelayMs?: number;
  /** Reports a failure that did not fail the request (the store could not be written). */
  readonly warn?: (message: string, details?: Record<string, unknown>) => void;
  /** @default Date.now */
  readonly clock?: Clock;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The refresh answer; `refresh_token` is absent only for grants without rotation. */
const refreshAnswer = z.object({
  access_token: z.string().check(z.minLength(1)),
  refresh_token: z.optional(z.string().check(z.minLength(1))),
  expires_in: z.number().check(z.positive()),
});

interface LiveToken {
  readonly accessToken: string;
  /** Epoch ms after which the token is refreshed instead of used. */
  readonly refreshAt: number;
}

/** Dead refresh tokens remembered: a grant is re-consented rarely, so a few suffice. */
const MAX_DEAD_GRANTS = 8;

function reconsentNeeded(): AuthFailedError {
  return new AuthFailedError(
    'Atlassian OAuth refresh token rejected (invalid_grant): re-consent is needed. Run the OAuth 2.0 ' +
      '(3LO) authorization flow again and store the new refresh token.',
    { oauth: 'invalid_grant' },
  );
}

/** A refresh token the authorization server no longer accepts; handled inside the manager. */
class InvalidGrant extends Error {
  override readonly name = 'InvalidGrant';
}

export class OAuthTokenManager implements AuthHeaderProvider {
  private readonly client: OAuthClientCredentials;
  private readonly store: OAuthTokenStore;
  private readonly tokenUrl: string;
  private readonly marginMs: number;
  private readonly timeoutMs: number;
  private readonly reloadDelayMs: number;
  private readonly warn: (message: string, details?: Record<string, unknown>) => void;
  private readonly clock: Clock;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  private live: LiveToken | undefined;
  /** The last access token Atlassian answered 401 to: never adopted from the store again. */
  private rejected: string | undefined;
  /** A rotated set the store failed to take: written again before anything else. */
  private unsaved: OAuthTokenSet | undefined;
  /** Refresh tokens answered invalid_grant: never sent again (the few latest are kept). */
  private readonly deadGrants = new Set<string>();
  /** The one renewal in flight, shared by every caller. */
  private inflight: Promise<string> | undefined;

  constructor(options: OAuthTokenManagerOptions) {
    if (options.client.clientId === '' || options.client.clientSecret === '') {
      throw new Error('OAuth client credentials need both a client id and a client secret');
    }
    const tokenUrl = new URL(options.tokenUrl ?? ATLASSIAN_TOKEN_URL);
    if (tokenUrl.protocol !== 'https:' && tokenUrl.protocol !== 'http:') {
      throw new Error('the OAuth token URL must be http(s)');
    }
    this.client = options.client;
    this.store = options.store;
    this.tokenUrl = tokenUrl.toString();
    this.marginMs = nonNegative(options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS, 'refreshMarginMs');
    this.timeoutMs = nonNegative(options.timeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS, 'timeoutMs');
    this.reloadDelayMs = nonNegative(
      options.invalidGrantReloadDelayMs ?? DEFAULT_INVALID_GRANT_RELOAD_DELAY_MS,
      'invalidGrantReloadDelayMs',
    );
    this.warn = options.warn ?? (() => undefined);
    this.clock = options.clock ?? { now: () => Date.now() };
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async header(): Promise<string> {
    const live = this.live;
    if (live && this.unsaved === undefined && this.clock.now() < live.refreshAt) {
      return `Bearer ${live.accessToken}`;
    }
    this.inflight ??= this.renew().finally(() => {
      this.inflight = undefined;
    });
    return `Bearer ${await this.inflight}`;
  }

  /** Atlassian refused `rejected` (401): the next header() gets another token. */
  invalidate(rejected: string): Promise<void> {
    const token = /^Bearer\s+(\S+)$/.exec(rejected)?.[1];
    if (token !== undefined && this.live?.accessToken === token) {
      this.rejected = token;
      this.live = undefined;
    }
    return Promise.resolve();
  }

  /** Finds a usable access token: a pending save first, then the store, then a refresh. */
  private async renew(): Promise<string> {
    if (this.unsaved) await this.persist(this.unsaved);
    if (this.live && this.clock.now() < this.live.refreshAt) return this.live.accessToken;

    // While a rotated set is not stored, the store holds a disabled refresh token: use ours.
    const stored = this.unsaved ?? (await this.store.load());
    const adopted = this.adopt(stored);
    if (adopted !== undefined) return adopted;
    if (this.deadGrants.has(stored.refresh_token)) throw reconsentNeeded();
    try {
      return await this.refresh(stored.refresh_token);
    } catch (err) {
      if (!(err instanceof InvalidGrant)) throw err;
      this.markDead(stored.refresh_token);
    }

    // invalid_grant: perhaps another instance rotated the token since we read the store.
    await this.sleep(this.reloadDelayMs);
    const reloaded = await this.store.load();
    const adoptedLater = this.adopt(reloaded);
    if (adoptedLater !== undefined) return adoptedLater;
    if (!this.deadGrants.has(reloaded.refresh_token)) {
      try {
        return await this.refresh(reloaded.refresh_token);
      } catch (err) {
        if (!(err instanceof InvalidGrant)) throw err;
        this.markDead(reloaded.refresh_token);
      }
    }
    throw reconsentNeeded();
  }

  private markDead(refreshToken: string): void {
    this.deadGrants.add(refreshToken);
    for (const oldest of this.deadGrants) {
      if (this.deadGrants.size <= MAX_DEAD_GRANTS) break;
      this.deadGrants.delete(oldest);
    }
  }

  /** Uses the stored access token when another instance refreshed recently enough. */
  private adopt(set: OAuthTokenSet): string | undefined {
    const { access_token: token, expires_at: expiresAt } = set;
    if (token === undefined || expiresAt === undefined || token === this.rejected) return undefined;
    const refreshAt = expiresAt - this.marginMs;
    if (this.clock.now() >= refreshAt) return undefined;
    this.live = { accessToken: token, refreshAt };
    return token;
  }

  /** One refresh call; the rotated set is kept and stored. Throws InvalidGrant for a dead token. */
  private async refresh(refreshToken: string): Promise<string> {
    const answer = await this.callTokenEndpoint(refreshToken);
    const now = this.clock.now();
    const lifetimeMs = answer.expires_in * 1000;
    const set: OAuthTokenSet = {
      refresh_token: answer.refresh_token ?? refreshToken,
      access_token: answer.access_token,
      expires_at: now + lifetimeMs,
    };
    // A margin longer than half the token's life would refresh on nearly every call.
    this.live = {
      accessToken: answer.access_token,
      refreshAt: now + lifetimeMs - Math.min(this.marginMs, lifetimeMs / 2),
    };
    this.rejected = undefined;
    this.unsaved = set;
    await this.persist(set);
    return answer.access_token;
  }

  /**
   * Stores a rotated set. A failure does not fail the request (the new access token works) but is
   * reported and retried on the next header() call, since the store still holds a disabled token.
   */
  private async persist(set: OAuthTokenSet): Promise<void> {
    try {
      await this.store.save(set);
      if (this.unsaved === set) this.unsaved = undefined;
    } catch (err) {
      this.warn('could not store the rotated OAuth refresh token; will retry', {
        error: err instanceof Error ? err.name : 'unknown',
      });
    }
  }

  private async callTokenEndpoint(refreshToken: string): Promise<z.infer<typeof refreshAnswer>> {
    const what = `Atlassian OAuth token refresh (POST ${this.tokenUrl})`;
    let status: number;
    let headers: Headers;
    let text: string;
    try {
      const response = await this.fetch(this.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({
          grant_type: 'refresh_token',
          client_id: this.client.clientId,
          client_secret: this.client.clientSecret,
          refresh_token: refreshToken,
        }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      headers = response.headers;
      text = await response.text();
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new UpstreamError('TIMEOUT', `${what} timed out after ${this.timeoutMs} ms`, {
          timeoutMs: this.timeoutMs,
        });
      }
      // The cause is dropped on purpose: nothing from the request may ride along with the error.
      throw new UpstreamError('SERVICE_UNAVAILABLE', `${what} failed: network error`, {
        networkError: true,
      });
    }

    const body = parseJson(text);
    if (status >= 200 && status <= 299) {
      const parsed = refreshAnswer.safeParse(body);
      if (!parsed.success) {
        throw new UpstreamError('SERVICE_UNAVAILABLE', `${what} answered ${status} with an unexpected body`, {
          status,
          unexpectedResponse: true,
        });
      }
      return parsed.data;
    }

    const error = oauthErrorCode(body);
    if ((status === 403 || status === 400) && error === 'invalid_grant') throw new InvalidGrant();
    const named = error !== undefined ? ` ${error}` : '';
    if (status === 429 || status >= 500) {
      const retryAfter = parseRetryAfter(headers.get('retry-after'), this.clock.now());
      throw new UpstreamError(
        status === 429 ? 'RATE_LIMITED' : 'SERVICE_UNAVAILABLE',
        `${what} answered ${status}${named}`,
        {
          status,
          ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
        },
      );
    }
    // 401 access_denied (wrong client id/secret), 400 unsupported_grant_type…: configuration.
    throw new AuthFailedError(`${what} answered ${status}${named}: check the OAuth client id and secret`, {
      status,
      ...(error !== undefined ? { oauth: error } : {}),
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The OAuth `error` code of an error body, when it looks like one (never free text). */
function oauthErrorCode(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' && /^[a-z_]{1,64}$/.test(error) ? error : undefined;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}
