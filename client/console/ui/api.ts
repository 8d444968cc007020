/**
 * The console's calls to RIQ's API, same origin: through the `riq console` proxy, or straight to the
 * local stack when `npm start` serves the page. Every call carries `X-Riq-Console: 1`, which the
 * proxy requires (and the API ignores).
 */
import type { DeadLetterPage, OperatorRequestView, RequestSummaryPage } from '../../../model/api-views.js';

export { LISTED_STATUSES } from '../../../model/api-views.js';
export type {
  DeadLetterEntry,
  DeadLetterPage,
  OperatorRequestView,
  RequestSummary,
  RequestSummaryPage,
} from '../../../model/api-views.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-riq-console': '1' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the console server did not answer: ${String(err)}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = { message: text };
  }
  if (res.ok) return parsed as T;
  const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
  if (error && typeof error.code === 'string')
    throw new ApiError(res.status, error.code, typeof error.message === 'string' ? error.message : '');
  // API Gateway's own answers: {"message": "Forbidden"}.
  const message = (parsed as { message?: unknown }).message;
  throw new ApiError(
    res.status,
    `HTTP_${res.status}`,
    typeof message === 'string' ? message : `HTTP ${res.status}`,
  );
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface QueueDepth {
  visible: number;
  in_flight: number;
  delayed: number;
  dead_letter_queue: number;
}

export interface RateBudget {
  tokens: number;
  burst: number;
  effective_rate_per_second: number;
  configured_rate_per_second: number;
  pauses: Array<{ scope: string; target: string | null; until: string }>;
  slow_until: string | null;
}

export interface PointsBudget {
  enabled: boolean;
  points: number;
  capacity: number;
  pace_per_second: number;
  quota: number;
  window_seconds: number;
  exhausted_until: string | null;
}

export interface Health {
  status: 'healthy' | 'degraded';
  timestamp: string;
  reasons: string[];
  dead_letters: number;
  services: Record<string, { circuit_breaker: string; queues: Record<string, QueueDepth> }>;
  budgets: Record<string, { rate: RateBudget; points: PointsBudget }>;
}

export interface Breaker {
  name: string;
  state: 'closed' | 'open' | 'half_open';
  failure_count: number;
  failure_threshold: number;
  opened_at: string | null;
  next_attempt_at: string | null;
  last_failure_at: string | null;
  recovery_timeout_seconds: number;
  window_seconds: number;
}

export interface Breakers {
  timestamp: string;
  circuit_breakers: Record<string, Breaker>;
}

export interface RetryAnswer {
  token: string;
  status: string;
  queue: string;
  enqueued: boolean;
}

export interface RedriveAnswer {
  redrives: Array<{ queue: string; mode: string; moved?: number }>;
}

export const api = {
  health: () => call<Health>('GET', '/api/queue/health'),
  breakers: () => call<Breakers>('GET', '/api/queue/circuit-breakers'),
  requests: (p: { status?: string; operation?: string; limit?: number; cursor?: string }) =>
    call<RequestSummaryPage>('GET', `/api/queue/requests${query(p)}`),
  request: (token: string) =>
    call<OperatorRequestView>('GET', `/api/queue/requests/${encodeURIComponent(token)}`),
  deadLetters: (p: { service?: string; limit?: number; cursor?: string }) =>
    call<DeadLetterPage>('GET', `/api/queue/dead-letters${query(p)}`),
  retry: (token: string) =>
    call<RetryAnswer>('POST', `/api/queue/dead-letters/${encodeURIComponent(token)}/retry`),
  purge: (token: string) =>
    call<Record<string, unknown>>('DELETE', `/api/queue/dead-letters/${encodeURIComponent(token)}`),
  redrive: (service?: string) =>
    call<RedriveAnswer>('POST', '/api/queue/dead-letters/redrive', service ? { service } : {}),
};
