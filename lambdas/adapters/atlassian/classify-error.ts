/**
 * The one place that turns a failed Atlassian call into an UpstreamError: an HTTP status with its
 * headers and error body, or a thrown network / timeout failure. Messages carry Atlassian's own
 * error messages (truncated) and never a request header, a credential or a whole response body.
 */
import type * as z from 'zod/mini';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { RiqError, UpstreamError, type ErrorCode } from '../../../model/errors.js';
import { readRateLimitSignals, type HeaderSource } from '../../core/domain/rate-limit-signals.js';

export {
  MAX_RETRY_AFTER_SECONDS,
  parseRetryAfter,
  type HeaderSource,
} from '../../core/domain/rate-limit-signals.js';

export type AtlassianService = 'jira' | 'confluence';

/** What the call was, for messages. `path` has no query string. */
export interface CallContext {
  readonly service: AtlassianService;
  readonly method: string;
  readonly path: string;
  /** The client's timeout, named in TIMEOUT messages. */
  readonly timeoutMs?: number;
}

const MAX_MESSAGES = 20;
const MAX_MESSAGE_LENGTH = 500;

const SERVICE_NAMES: Record<AtlassianService, string> = { jira: 'Jira', confluence: 'Confluence' };

/** The status → code table; 429 and the details are handled in classifyResponse. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'VALIDATION_ERROR';
    case 401:
      return 'AUTH_FAILED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 408:
      return 'TIMEOUT';
    case 409: // a conflicting update (Jira) or a stale version (Confluence): re-read and retry
      return 'SERVICE_UNAVAILABLE';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMITED';
  }
  // Other 4xx (410 Gone, 422 configuration problem…) are the request's fault and will not heal.
  if (status >= 400 && status < 500) return 'VALIDATION_ERROR';
  return 'SERVICE_UNAVAILABLE';
}

/** Classifies a non-2xx response. `body` is the parsed JSON body, or undefined when it was not JSON. */
export function classifyResponse(
  status: number,
  headers: HeaderSource,
  body: unknown,
  context: CallContext,
  now: number = Date.now(),
): UpstreamError {
  const code = codeForStatus(status);
  const parsed = atlassianErrorBody(body);
  const details: Record<string, unknown> & { status: number; retryAfterSeconds?: number } = {
    status,
    ...parsed.details,
  };

  const signals = readRateLimitSignals(headers, now);
  // `Retry-After` only: `Beta-Retry-After` belongs to a limit Atlassian announces without enforcing
  // it yet, so it says nothing of when the limit that refused this call lets go; without
  // `Retry-After` a 429 is retried after the retry backoff, as Atlassian advises.
  if (signals.retryAfterSeconds !== undefined) details.retryAfterSeconds = signals.retryAfterSeconds;

  if (status === 429) {
    if (signals.reason !== undefined) details['rateLimitReason'] = signals.reason.text;
    if (signals.reset !== undefined) details['rateLimitReset'] = signals.reset.text;
    if (signals.betaRetryAfterSeconds !== undefined) {
      details['betaRetryAfterSeconds'] = signals.betaRetryAfterSeconds;
    }
    if (signals.nearLimitHeader !== undefined) details['nearLimit'] = signals.nearLimitHeader;
    // The quota announced and where it stands (`RateLimit-Policy` / `RateLimit`, or their Beta- forms).
    if (signals.policies.length > 0) details['rateLimitPolicies'] = signals.policies;
    if (signals.statuses.length > 0) details['rateLimitStatuses'] = signals.statuses;
    if (signals.malformed.length > 0) details['rateLimitMalformed'] = signals.malformed;
  }
  if (status === 409) details['conflict'] = true;

  const what = `${SERVICE_NAMES[context.service]} ${context.method} ${context.path} answered ${status}`;
  const message = parsed.summary ? `${what}: ${parsed.summary}` : what;
  return new UpstreamError(code, message, details);
}

/** A 2xx whose body is not what the adapter expects. Retryable: the upstream may be mid-deploy. */
export function unexpectedResponse(context: CallContext, status: number, problem: string): UpstreamError {
  return new UpstreamError(
    'SERVICE_UNAVAILABLE',
    `${SERVICE_NAMES[context.service]} ${context.method} ${context.path} answered ${status} with an unexpected body: ${truncate(problem)}`,
    { status, unexpectedResponse: true },
  );
}

/**
 * A successful answer's body read through `schema`; a body that does not match is
 * `unexpectedResponse`, naming the first mismatch as `path: message` (`body` for the root).
 */
export function parseAnswer<T>(
  schema: z.ZodMiniType<T>,
  answer: { readonly status: number; readonly body?: unknown },
  context: CallContext,
): T {
  const parsed = schema.safeParse(answer.body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid';
  throw unexpectedResponse(context, answer.status, where);
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);
/** undici's own response timeouts: the request went out and no answer came, like our abort. */
const RESPONSE_TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Classifies something thrown while calling Atlassian (fetch or reading the body). An UpstreamError
 * passes through; the timeout abort is TIMEOUT; connection failures are SERVICE_UNAVAILABLE.
 */
export function classifyThrown(err: unknown, context: CallContext): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const service = SERVICE_NAMES[context.service];
  const call = `${service} ${context.method} ${context.path}`;
  const name = errorName(err);
  const networkCode = findCode(err);

  if (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    (networkCode && RESPONSE_TIMEOUT_CODES.has(networkCode))
  ) {
    const after = context.timeoutMs !== undefined ? ` after ${context.timeoutMs} ms` : '';
    return new UpstreamError(
      'TIMEOUT',
      `${call} timed out${after}`,
      context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {},
      { cause: err },
    );
  }
  const hangUp = err instanceof Error && /socket hang up/i.test(err.message);
  if (err instanceof TypeError || hangUp || (networkCode && NETWORK_CODES.has(networkCode))) {
    const reason = networkCode ?? (hangUp ? 'socket hang up' : 'network error');
    return new UpstreamError(
      'SERVICE_UNAVAILABLE',
      `${call} failed: ${reason}`,
      { networkError: reason },
      { cause: err },
    );
  }
  const code: ErrorCode = err instanceof RiqError ? err.code : 'INTERNAL_ERROR';
  return new UpstreamError(code, `${call} failed unexpectedly`, undefined, { cause: err });
}

/**
 * Connection failures that happen before any byte of the request is sent: the request cannot have
 * reached Atlassian. Every other network failure (a reset, a broken pipe, a socket closed while
 * waiting for the answer) may come after Atlassian received the request.
 */
const NOT_SENT_NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Whether a failed write request (a create: `POST /rest/api/3/issue`, `POST /wiki/api/v2/pages`)
 * may nonetheless have been carried out, so that sending it again could make a second object:
 *
 * - a timeout or an abort after the request went out (not one refused before sending, `notSent`);
 * - a network failure other than one that prevents sending (a reset, a broken pipe, a hang-up);
 * - a 5xx answer (a gateway or the service failed on the way back, or part way through);
 * - a 2xx whose body could not be read (the object was made; its id is unknown).
 *
 * A 4xx (429, 401, 409 included) is Atlassian refusing the request before doing it: known.
 */
export function writeOutcomeUnknown(error: unknown): boolean {
  if (!(error instanceof RiqError)) return true;
  const details = error.details ?? {};
  if (details['notSent'] === true) return false;
  const status = details['status'];
  if (typeof status === 'number') return status >= 500 || (status >= 200 && status <= 299);
  const network = details['networkError'];
  if (typeof network === 'string') return !NOT_SENT_NETWORK_ERRORS.has(network);
  return error.retryable;
}

/**
 * The failure of a create whose outcome is unknown (`writeOutcomeUnknown`), made to wait out the
 * reconcile window: `retryAfterSeconds` is at least `windowSeconds` (a longer `Retry-After` stands),
 * so the retry comes after the object the lost attempt may have made can be found by searching,
 * and `outcomeUnknown` says why. Same code, message and cause; only the details change.
 */
export function awaitReconcileWindow(error: UpstreamError, windowSeconds: number): UpstreamError {
  const retryAfter = Math.max(error.retryAfterSeconds ?? 0, windowSeconds);
  return new UpstreamError(
    error.code,
    error.message,
    { ...error.details, outcomeUnknown: true, retryAfterSeconds: retryAfter },
    { cause: error.cause ?? error },
  );
}

/** An adapter's reconcile window: the given seconds (1–900, checked) or the config's default. */
export function reconcileWindowOf(seconds: number | undefined): number {
  const window = seconds ?? DEFAULT_CONFIG.upstream.reconcileWindowSeconds;
  if (!Number.isInteger(window) || window < 1 || window > 900) {
    throw new Error(`reconcileWindowSeconds must be an integer from 1 to 900, got ${seconds}`);
  }
  return window;
}

/**
 * What a create's adapter throws when its POST failed: `awaitReconcileWindow` of the error when the
 * outcome is unknown, else the error as it is.
 */
export function createFailure(error: unknown, windowSeconds: number): unknown {
  return error instanceof UpstreamError && writeOutcomeUnknown(error)
    ? awaitReconcileWindow(error, windowSeconds)
    : error;
}

interface ParsedErrorBody {
  /** Atlassian's messages joined for the error message, or '' when there are none. */
  summary: string;
  details: Record<string, unknown>;
}

/**
 * Reads Atlassian's error shapes: Jira `{errorMessages, errors: {field: msg}}`, Confluence v2
 * `{errors: [{status, code, title, detail}]}`, and the gateway's `{message}`. Nothing else is kept.
 */
function atlassianErrorBody(body: unknown): ParsedErrorBody {
  if (!isRecord(body)) return { summary: '', details: {} };
  const messages: string[] = [];
  const details: Record<string, unknown> = {};

  const errorMessages = body['errorMessages'];
  const errors = body['errors'];
  if (Array.isArray(errorMessages) || isRecord(errors)) {
    const list = Array.isArray(errorMessages) ? strings(errorMessages) : [];
    const fields: Record<string, string> = {};
    if (isRecord(errors)) {
      for (const [field, msg] of Object.entries(errors).slice(0, MAX_MESSAGES)) {
        if (typeof msg === 'string') fields[truncate(field)] = truncate(msg);
      }
    }
    details['errorMessages'] = list;
    details['errors'] = fields;
    messages.push(...list, ...Object.entries(fields).map(([f, m]) => `${f}: ${m}`));
  } else if (Array.isArray(errors)) {
    const list = errors
      .filter(isRecord)
      .slice(0, MAX_MESSAGES)
      .map((e) => {
        const item: Record<string, string | number> = {};
        for (const key of ['status', 'code', 'title', 'detail'] as const) {
          const v = e[key];
          if (typeof v === 'string') item[key] = truncate(v);
          else if (typeof v === 'number') item[key] = v;
        }
        return item;
      });
    details['errors'] = list;
    messages.push(
      ...list.map((e) =>
        [e['title'], e['detail']].filter((s) => typeof s === 'string' && s !== '').join(': '),
      ),
    );
  }
  const message = body['message'] ?? body['errorMessage'];
  if (typeof message === 'string' && message !== '' && messages.length === 0)
    messages.push(truncate(message));

  return { summary: messages.filter((m) => m !== '').join('; '), details };
}

function strings(values: unknown[]): string[] {
  return values
    .filter((v): v is string => typeof v === 'string')
    .slice(0, MAX_MESSAGES)
    .map((s) => truncate(s));
}

function errorName(err: unknown): string | undefined {
  return isRecord(err) && typeof err['name'] === 'string' ? err['name'] : undefined;
}

/** The first `code` on the error or its causes (undici puts ECONNRESET on `cause`). */
function findCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && isRecord(current); depth++) {
    const code = current['code'];
    if (typeof code === 'string') return code;
    current = current['cause'];
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function truncate(s: string, max: number = MAX_MESSAGE_LENGTH): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
