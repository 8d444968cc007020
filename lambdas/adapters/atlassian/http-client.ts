/**
 * A small JSON client for Atlassian REST: one base URL, an auth header provider, a timeout on every
 * call (covering the body too) and every failure classified by classify-error.ts.
 *
 * A 401 is answered once by renewing the credentials: the provider's `invalidate` drops what it
 * cached (an OAuth access token, a cached secret) and the request is sent again with a fresh header.
 * Resending is safe for every method: Atlassian checks credentials before it does anything. A 401
 * that renewal does not cure (or that a provider without `invalidate` gets) is an AuthFailedError:
 * AUTH_FAILED, retryable with backoff (see the class) so that a request whose credentials stay bad
 * ends `dead` in the dead-letter queue, ready to be redriven once the secret is fixed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { UpstreamError } from '../../../model/errors.js';
import { readRateLimitSignals } from '../../core/domain/rate-limit-signals.js';
import type { UpstreamSignal } from '../../core/ports/index.js';
import {
  classifyResponse,
  classifyThrown,
  unexpectedResponse,
  type AtlassianService,
  type CallContext,
} from './classify-error.js';

/**
 * Where the `Authorization` header comes from. `header()` is called once per request, so a provider
 * can refresh or re-read its credentials whenever it needs to.
 */
export interface AuthHeaderProvider {
  /** The `Authorization` header value for the next request. */
  header(): Promise<string>;
  /**
   * Atlassian answered 401 to `rejected` (a value `header()` gave): forget it, so that the next
   * `header()` answers fresh credentials. Several requests may report the same header at once; a
   * provider renews once and ignores reports about a header it no longer gives. Absent when the
   * credentials cannot be renewed (fixed API-token credentials): the client then does not retry.
   */
  invalidate?(rejected: string): Promise<void>;
}

/**
 * AUTH_FAILED after the client tried to cure it: a 401 after the credentials were renewed, or a
 * refresh token Atlassian no longer accepts. Retryable, as DESIGN lists AUTH_FAILED: the request
 * backs off and, if the credentials stay bad, ends `dead` in the DLQ, from where an operator
 * redrives it once the secret is fixed (a `failed` request could not be redriven).
 */
export class AuthFailedError extends UpstreamError {
  // `name` stays 'UpstreamError' (its type is that literal): callers tell it apart by instanceof.

  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('AUTH_FAILED', message, details, options);
  }
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface AtlassianHttpClientOptions {
  /** Site URL, e.g. `https://example.atlassian.net` (Confluence: `…/wiki`); a trailing slash is ignored. */
  readonly baseUrl: string;
  readonly auth: AuthHeaderProvider;
  /** Abort the call (connect, headers and body) after this many milliseconds. */
  readonly timeoutMs: number;
  /** Names the service in error messages. */
  readonly service: AtlassianService;
}

export interface AtlassianRequest {
  readonly method: HttpMethod;
  /** Path below the base URL, starting with `/`; callers encode path segments. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Sent as JSON when present. */
  readonly body?: unknown;
}

export interface AtlassianResponse<T = unknown> {
  readonly status: number;
  /** Kept for the rate-limit headers (`X-RateLimit-NearLimit`…) on successful answers. */
  readonly headers: Headers;
  /** Parsed JSON, or undefined for an empty body (204). */
  readonly body: T;
}

export const USER_AGENT = 'riq/0.1';

/** Told about every answer (any status) a client gets inside `observeUpstream`. */
export type UpstreamObserver = (signal: UpstreamSignal) => void;

const observers = new AsyncLocalStorage<UpstreamObserver>();

/**
 * Runs `fn` so that every HTTP answer the clients get while it runs (an operation may make several
 * calls, through any adapter) is reported to `observer`: the rate-limit signals of successful
 * answers, which the result alone does not carry, reach the worker without threading a callback
 * through every adapter method. Without an observer `fn` just runs.
 */
export function observeUpstream<T>(observer: UpstreamObserver | undefined, fn: () => Promise<T>): Promise<T> {
  return observer ? observers.run(observer, fn) : fn();
}

const deadlines = new AsyncLocalStorage<number>();

/**
 * Runs `fn` so that every HTTP call the clients make while it runs must answer by `deadline`
 * (epoch ms): each call's timeout is the shorter of the client's own and the time left, and a call
 * that would start after the deadline fails TIMEOUT without being sent. The DIRECT submit path uses
 * it to bound a whole operation (`jira.transition_task` makes three calls). Undefined: no deadline.
 */
export function withDeadline<T>(deadline: number | undefined, fn: () => Promise<T>): Promise<T> {
  return deadline === undefined ? fn() : deadlines.run(deadline, fn);
}

/**
 * The signal of one answer's headers: `nearLimit` is `X-RateLimit-NearLimit: true`; `rateLimit`
 * all the headers say, for the points budget.
 */
export function upstreamSignalOf(headers: Headers): UpstreamSignal {
  const rateLimit = readRateLimitSignals(headers);
  // The request rate hears only of a near burst limit; a near quota is the points budget's.
  return { nearLimit: rateLimit.nearBurstLimit, rateLimit };
}

function notifyObserver(headers: Headers): void {
  const observer = observers.getStore();
  if (!observer) return;
  try {
    observer(upstreamSignalOf(headers));
  } catch {
    // An observer's failure must not turn an answered call into a failed one.
  }
}

export class AtlassianHttpClient {
  readonly baseUrl: string;
  private readonly auth: AuthHeaderProvider;
  private readonly timeoutMs: number;
  private readonly service: AtlassianService;

  constructor(options: AtlassianHttpClientOptions) {
    const url = new URL(options.baseUrl); // throws on a malformed base URL, at construction
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Error(`Atlassian base URL must be http(s): ${options.baseUrl}`);
    }
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new Error(`timeoutMs must be a positive integer, got ${options.timeoutMs}`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.auth = options.auth;
    this.timeoutMs = options.timeoutMs;
    this.service = options.service;
  }

  get<T = unknown>(path: string, query?: AtlassianRequest['query']): Promise<AtlassianResponse<T>> {
    return this.request<T>({ method: 'GET', path, ...(query ? { query } : {}) });
  }

  post<T = unknown>(path: string, body: unknown): Promise<AtlassianResponse<T>> {
    return this.request<T>({ method: 'POST', path, body });
  }

  put<T = unknown>(path: string, body: unknown): Promise<AtlassianResponse<T>> {
    return this.request<T>({ method: 'PUT', path, body });
  }

  /** Sends one request; a non-2xx answer or a failure throws UpstreamError. */
  async request<T = unknown>(req: AtlassianRequest): Promise<AtlassianResponse<T>> {
    const context: CallContext = {
      service: this.service,
      method: req.method,
      path: req.path,
      timeoutMs: this.timeoutFor(),
    };
    const payload = req.body !== undefined ? JSON.stringify(req.body) : undefined;
    let authorization = await this.auth.header();
    let answer = await this.send(req, payload, authorization, context);
    const renewable = this.auth.invalidate !== undefined;
    if (answer.status === 401 && this.auth.invalidate) {
      await this.auth.invalidate(authorization);
      authorization = await this.auth.header();
      answer = await this.send(req, payload, authorization, context);
    }

    const { status, headers, text } = answer;
    const json = parseJson(text);
    if (status < 200 || status > 299) {
      const error = classifyResponse(status, headers, json.ok ? json.value : undefined, context);
      if (status !== 401) throw error;
      const why = renewable ? 'after renewing the credentials' : 'and the credentials cannot be renewed';
      throw new AuthFailedError(`${error.message} (${why})`, { ...error.details, renewed: renewable });
    }
    if (!json.ok) throw unexpectedResponse(context, status, 'not JSON');
    return { status, headers, body: json.value as T };
  }

  /** One HTTP exchange, body read in full; only thrown failures (network, timeout) are classified here. */
  private async send(
    req: AtlassianRequest,
    payload: string | undefined,
    authorization: string,
    context: CallContext,
  ): Promise<{ status: number; headers: Headers; text: string }> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
      Authorization: authorization,
      ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
    };
    const timeoutMs = this.timeoutFor();
    if (timeoutMs <= 0) {
      // Refused before sending: nothing reached Atlassian (see writeOutcomeUnknown).
      const timeout = classifyThrown(
        new DOMException('the operation deadline passed', 'TimeoutError'),
        context,
      );
      throw new UpstreamError(
        timeout.code,
        timeout.message,
        { ...timeout.details, notSent: true },
        { cause: timeout.cause },
      );
    }
    try {
      const response = await fetch(this.url(req), {
        method: req.method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      notifyObserver(response.headers);
      return { status: response.status, headers: response.headers, text };
    } catch (err) {
      throw classifyThrown(err, context);
    }
  }

  /** This call's timeout: the client's, or less when an operation deadline (`withDeadline`) is near. */
  private timeoutFor(): number {
    const deadline = deadlines.getStore();
    if (deadline === undefined) return this.timeoutMs;
    return Math.min(this.timeoutMs, Math.max(0, Math.ceil(deadline - Date.now())));
  }

  private url(req: AtlassianRequest): string {
    const url = new URL(`${this.baseUrl}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
