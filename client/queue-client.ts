/**
 * `QueueClient`: RIQ's HTTP API as typed calls. Local endpoints get plain HTTP with the
 * `X-Riq-Caller` header; AWS endpoints (a `region`, or a `*.amazonaws.com` host) get every request
 * SigV4-signed for `execute-api` with the default credential chain. Network failures, per-request
 * timeouts, 5xx and 429 are retried with exponential backoff and jitter; a submit is safe to retry
 * because it always carries an `idempotency_key`.
 *
 * A result too large for the API to answer inline comes as `result_url` (a presigned S3 GET, see
 * docs/api.md, "Large bodies"): the client fetches it (unsigned: the URL carries its own
 * authorization) and answers `result` as for any other, so callers never see the difference.
 */
import { randomUUID } from 'node:crypto';
import { RiqApiError, RiqNetworkError, RiqWaitTimeoutError, type Unreachable } from './errors.js';
import {
  defaultCredentialProvider,
  regionFromEndpoint,
  shouldSign,
  signRequest,
  type AwsCredentialIdentity,
  type AwsCredentialIdentityProvider,
} from './sigv4.js';
import type {
  ClientOptions,
  DeadLetterPage,
  ListRequestsOptions,
  OperatorRequestView,
  RequestSummaryPage,
  OperationName,
  OperationPayload,
  QueueClientApi,
  RequestStatus,
  RequestView,
  RiqErrorBody,
  SubmitAnswer,
  SubmitOptions,
  WaitOptions,
} from './types.js';

/** The states a request never leaves by itself (`dead` leaves only by an operator's retry). */
export const TERMINAL_STATUSES: readonly RequestStatus[] = ['completed', 'failed', 'dead'];

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** The server clamps `?wait=` to this many seconds. */
const MAX_WAIT_SECONDS = 25;
/** A long poll that answers a non-terminal state sooner than this is followed by a pause (never tight-poll). */
const MIN_POLL_INTERVAL_MS = 500;
const MAX_BACKOFF_MS = 5_000;

interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** A whole URL instead of endpoint + path: a presigned `result_url`, fetched unsigned. */
  presignedUrl?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides the per-request timeout (long polls). */
  timeoutMs?: number;
}

interface HttpResult<T> {
  status: number;
  body: T;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class QueueClient implements QueueClientApi {
  readonly endpoint: string;
  readonly region: string | undefined;
  private readonly caller: string | undefined;
  private readonly retries: number;
  private readonly retryBaseDelayMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly signing: boolean;
  private credentials: Promise<AwsCredentialIdentity | AwsCredentialIdentityProvider> | undefined;

  constructor(private readonly options: ClientOptions) {
    if (!options.endpoint) throw new TypeError('QueueClient: endpoint is required');
    new URL(options.endpoint); // throws on a malformed endpoint
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.caller = options.caller;
    this.retries = Math.max(0, options.retries ?? 3);
    this.retryBaseDelayMs = Math.max(0, options.retryBaseDelayMs ?? 250);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.signing = shouldSign(this.endpoint, options.region);
    this.region = options.region ?? (this.signing ? regionFromEndpoint(this.endpoint) : undefined);
    if (this.signing && !this.region)
      throw new TypeError(`QueueClient: cannot tell the AWS region of ${this.endpoint}; pass options.region`);
  }

  /** True when this client signs its requests with SigV4. */
  get signsRequests(): boolean {
    return this.signing;
  }

  async submit<O extends OperationName>(
    operation: O,
    payload: OperationPayload<O>,
    options: SubmitOptions = {},
  ): Promise<SubmitAnswer> {
    const body: Record<string, unknown> = { operation, payload };
    // Writes always carry a key, so a retried submit is one request. Reads get one only when asked:
    // a key makes the server skip the read cache, and a repeated read duplicates nothing.
    const key = options.idempotencyKey ?? (isReadOperation(operation) ? undefined : randomUUID());
    if (key !== undefined) body['idempotency_key'] = key;
    if (options.priority !== undefined) body['priority'] = options.priority;
    if (options.fresh !== undefined) body['fresh'] = options.fresh;
    if (options.routing !== undefined) body['routing'] = options.routing;
    if (options.fireAndForget !== undefined) body['fire_and_forget'] = options.fireAndForget;
    if (options.dependsOn !== undefined) body['depends_on'] = options.dependsOn;
    if (options.afterConsistencyToken !== undefined)
      body['after_consistency_token'] = options.afterConsistencyToken;
    const answer = await this.call<SubmitAnswer>({ method: 'POST', path: '/api/queue/submit', body });
    if (answer.status === 202 && answer.body.status !== 'cached') return { ...answer.body, accepted: true };
    return this.withResult(answer.body);
  }

  async getResult(token: string): Promise<RequestView> {
    return this.withResult((await this.call<RequestView>({ method: 'GET', path: resultPath(token) })).body);
  }

  async waitForResult(token: string, options: WaitOptions = {}): Promise<RequestView> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let last: RequestView | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      const waitSeconds = Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor(remaining / 1000)));
      if (waitSeconds === 0 && last) {
        // Under a second left: one last look when it has passed, never a burst of wait=0 polls.
        if (remaining > 0) await sleep(remaining);
        last = await this.longPoll(token, 0);
        if (isTerminal(last.status)) return last;
        throw new RiqWaitTimeoutError(token, timeoutMs, last);
      }
      const started = Date.now();
      last = await this.longPoll(token, waitSeconds);
      if (isTerminal(last.status)) return last;
      if (Date.now() >= deadline) throw new RiqWaitTimeoutError(token, timeoutMs, last);
      const took = Date.now() - started;
      if (took < MIN_POLL_INTERVAL_MS)
        await sleep(Math.min(MIN_POLL_INTERVAL_MS - took, Math.max(0, deadline - Date.now())));
    }
  }

  async health(): Promise<Record<string, unknown>> {
    return this.getJson('/api/queue/health');
  }

  async circuitBreakers(): Promise<Record<string, unknown>> {
    return this.getJson('/api/queue/circuit-breakers');
  }

  async metrics(): Promise<Record<string, unknown>> {
    return this.getJson('/api/queue/metrics');
  }

  async listDeadLetters(
    options: { service?: string; limit?: number; cursor?: string } = {},
  ): Promise<DeadLetterPage> {
    const query = new URLSearchParams();
    if (options.service !== undefined) query.set('service', options.service);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const qs = query.toString();
    const path = `/api/queue/dead-letters${qs ? `?${qs}` : ''}`;
    return (await this.call<DeadLetterPage>({ method: 'GET', path })).body;
  }

  async listRequests(options: ListRequestsOptions = {}): Promise<RequestSummaryPage> {
    const query = new URLSearchParams();
    for (const name of ['status', 'operation', 'service', 'limit', 'cursor'] as const) {
      const value = options[name];
      if (value !== undefined) query.set(name, String(value));
    }
    const qs = query.toString();
    const path = `/api/queue/requests${qs ? `?${qs}` : ''}`;
    return (await this.call<RequestSummaryPage>({ method: 'GET', path })).body;
  }

  async getRequest(token: string): Promise<OperatorRequestView> {
    const path = `/api/queue/requests/${encodeURIComponent(token)}`;
    return (await this.call<OperatorRequestView>({ method: 'GET', path })).body;
  }

  async retryDeadLetter(token: string): Promise<Record<string, unknown>> {
    const path = `/api/queue/dead-letters/${encodeURIComponent(token)}/retry`;
    return (await this.call<Record<string, unknown>>({ method: 'POST', path })).body;
  }

  async purgeDeadLetter(token: string): Promise<Record<string, unknown>> {
    const path = `/api/queue/dead-letters/${encodeURIComponent(token)}`;
    return (await this.call<Record<string, unknown>>({ method: 'DELETE', path })).body;
  }

  async redriveDeadLetters(service?: string): Promise<Record<string, unknown>> {
    const body = service !== undefined ? { service } : {};
    return (
      await this.call<Record<string, unknown>>({
        method: 'POST',
        path: '/api/queue/dead-letters/redrive',
        body,
      })
    ).body;
  }

  private async longPoll(token: string, waitSeconds: number): Promise<RequestView> {
    const path = `${resultPath(token)}?wait=${waitSeconds}`;
    const timeoutMs = Math.max(this.timeoutMs, (waitSeconds + 10) * 1000);
    return this.withResult((await this.call<RequestView>({ method: 'GET', path, timeoutMs })).body);
  }

  /**
   * An answer whose result came as `result_url` (over the API's inline size), with the result
   * fetched from it in its place; any other answer as it is.
   */
  private async withResult<T extends object>(answer: T): Promise<T> {
    const url = (answer as { result_url?: unknown }).result_url;
    if (typeof url !== 'string') return answer;
    const {
      result_url: _url,
      result_size_bytes: _size,
      result_url_expires_at: _expires,
      ...rest
    } = answer as Record<string, unknown>;
    const fetched = await this.call<unknown>({ method: 'GET', path: 'result_url', presignedUrl: url });
    return { ...rest, result: fetched.body } as T;
  }

  private async getJson(path: string): Promise<Record<string, unknown>> {
    return (
      await this.call<Record<string, unknown>>({
        method: 'GET',
        path,
        headers: { accept: 'application/json' },
      })
    ).body;
  }

  /** One API call: retried on network failures, timeouts, 5xx and 429; a non-2xx answer throws `RiqApiError`. */
  private async call<T>(req: HttpCall): Promise<HttpResult<T>> {
    const url = req.presignedUrl ?? `${this.endpoint}${req.path}`;
    const body = req.body !== undefined ? JSON.stringify(req.body) : undefined;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await sleep(this.backoff(attempt));
      let res: Response;
      let text: string;
      try {
        const headers = await this.headersFor(req, url, body);
        res = await this.fetchImpl(url, {
          method: req.method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(req.timeoutMs ?? this.timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        const unreachable = unreachableReason(err);
        if (unreachable === undefined && attempt < this.retries) continue;
        throw new RiqNetworkError(
          `${req.method} ${req.path} failed after ${attempt + 1} attempt(s): ${describe(err)}`,
          attempt + 1,
          { cause: err, ...(unreachable !== undefined ? { unreachable } : {}) },
        );
      }
      const parsed = parseBody(text);
      if (res.ok) return { status: res.status, body: parsed as T };
      const error = apiErrorOf(res.status, parsed);
      if (retryableStatus(res.status, error) && attempt < this.retries) continue;
      throw new RiqApiError(res.status, error, parsed);
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(MAX_BACKOFF_MS, this.retryBaseDelayMs * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  }

  private async headersFor(
    req: HttpCall,
    url: string,
    body: string | undefined,
  ): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    // A presigned URL is its own authorization: no signature, no caller header.
    if (req.presignedUrl !== undefined) return headers;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (!this.signing) {
      if (this.caller) headers['x-riq-caller'] = this.caller;
      return headers;
    }
    const signed = await signRequest(
      { method: req.method, url, headers, ...(body !== undefined ? { body } : {}) },
      { region: this.region!, service: 'execute-api', credentials: await this.credentialSource() },
    );
    // fetch sets `host` from the URL (the value signed).
    delete signed['host'];
    return signed;
  }

  private credentialSource(): Promise<AwsCredentialIdentity | AwsCredentialIdentityProvider> {
    this.credentials ??= this.options.credentials
      ? Promise.resolve(this.options.credentials as AwsCredentialIdentity | AwsCredentialIdentityProvider)
      : defaultCredentialProvider();
    return this.credentials;
  }
}

/** `*.get_*` and `*.search_*` are reads (served from the read cache); the rest write. */
export function isReadOperation(operation: OperationName): boolean {
  return /\.(get|search)_/.test(operation);
}

function resultPath(token: string): string {
  return `/api/queue/result/${encodeURIComponent(token)}`;
}

function parseBody(text: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { text };
  }
}

/** RIQ's `{"error": {...}}`, else what API Gateway (`{"message"}`) or a proxy answered. */
function apiErrorOf(status: number, body: unknown): RiqErrorBody {
  const error = (body as { error?: unknown } | null)?.error;
  if (error && typeof error === 'object' && typeof (error as RiqErrorBody).code === 'string') {
    const e = error as Partial<RiqErrorBody>;
    return {
      code: String(e.code),
      message: typeof e.message === 'string' ? e.message : `HTTP ${status}`,
      retryable: typeof e.retryable === 'boolean' ? e.retryable : status >= 500 || status === 429,
      ...(e.details && typeof e.details === 'object' ? { details: e.details } : {}),
    };
  }
  const b = body as { message?: unknown; Message?: unknown; text?: unknown } | null;
  const message = [b?.message, b?.Message, b?.text].find((m) => typeof m === 'string') as string | undefined;
  return {
    code: `HTTP_${status}`,
    message: message ?? `HTTP ${status}`,
    retryable: status >= 500 || status === 429,
  };
}

function retryableStatus(status: number, error: RiqErrorBody): boolean {
  if (status === 429) return true;
  // A 5xx RIQ marks not retryable (501 NOT_IMPLEMENTED) is final.
  return status >= 500 && error.retryable;
}

/**
 * A refused connection (nothing listens on the port) or a host name that does not resolve: no
 * retry changes that within seconds, so the caller hears it at once. Anything else (a reset, a
 * timeout, a DNS server that did not answer: EAI_AGAIN) may pass and is retried.
 */
function unreachableReason(err: unknown): Unreachable | undefined {
  const codes = new Set<unknown>();
  const cause = (err as { cause?: unknown } | null)?.cause;
  for (const e of [err, cause, ...((cause as { errors?: unknown[] } | null)?.errors ?? [])])
    codes.add((e as { code?: unknown } | null)?.code);
  if (codes.has('ECONNREFUSED')) return 'refused';
  if (codes.has('ENOTFOUND')) return 'not_found';
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
