/**
 * A small JSON client for Atlassian REST: one base URL, an auth header provider, a timeout on every
 * call (covering the body too) and every failure classified by classify-error.ts.
 */
import {
  classifyResponse,
  classifyThrown,
  unexpectedResponse,
  type AtlassianService,
  type CallContext,
} from './classify-error.js';

/** Answers the `Authorization` header value; called once per request (so OAuth tokens can refresh). */
export type AuthHeaderProvider = () => Promise<string>;

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
      timeoutMs: this.timeoutMs,
    };
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
      Authorization: await this.auth(),
    };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['Content-Type'] = 'application/json';
    }

    let status: number;
    let responseHeaders: Headers;
    let text: string;
    try {
      const response = await fetch(this.url(req), {
        method: req.method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (err) {
      throw classifyThrown(err, context);
    }

    const json = parseJson(text);
    if (status < 200 || status > 299) {
      throw classifyResponse(status, responseHeaders, json.ok ? json.value : undefined, context);
    }
    if (!json.ok) throw unexpectedResponse(context, status, 'not JSON');
    return { status, headers: responseHeaders, body: json.value as T };
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
