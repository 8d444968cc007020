/**
 * Result use case: the request's current state, long-polling up to `wait` seconds for a terminal one.
 * Another caller's token looks exactly like an unknown one (404), so tokens cannot be probed; so does
 * any segment that is not a token RIQ issued (only one that cannot be a token at all is a 400).
 */
import { NotFoundError, ValidationError, type ErrorBody } from './errors.js';
import type { Clock, RequestStore } from './ports.js';
import type { Priority } from '../../lib/config/riq-config.js';
import type { OperationName } from './operations.js';
import { isTerminal, type RequestRecord, type RoutingPath, type Status } from './request-record.js';
import { checkTokenSegment } from './tokens.js';

export interface ResultDeps {
  store: Pick<RequestStore, 'get'>;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  longPollCapSeconds: number;
}

export interface ResultResponse {
  token: string;
  status: Status;
  operation: OperationName;
  priority: Priority;
  routing_path: RoutingPath;
  attempts: number;
  created_at: string;
  updated_at: string;
  completed_at?: string;
  /** While `waiting`: the dependencies not finished yet. */
  waiting_on?: string[];
  result?: unknown;
  error?: ErrorBody;
}

/** Parses `?wait=`: absent is 0; a non-integer or negative value is a 400; large values are clamped. */
export function parseWait(raw: string | undefined, capSeconds: number): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,6}$/.test(raw)) throw ValidationError.forField('wait', 'must be a whole number of seconds ≥ 0');
  return Math.min(Number(raw), capSeconds);
}

export async function getResult(
  deps: ResultDeps,
  input: { token: string; owner: string; waitSeconds: number },
): Promise<ResultResponse> {
  checkTokenSegment(input.token);
  const deadline = deps.clock.now() + Math.min(input.waitSeconds, deps.longPollCapSeconds) * 1000;
  let interval = 100;
  for (;;) {
    const record = await deps.store.get(input.token);
    if (!record || record.owner !== input.owner)
      throw new NotFoundError(`no request ${input.token}`, { field: 'token' });
    const remaining = deadline - deps.clock.now();
    if (isTerminal(record.status) || remaining <= 0) return view(record);
    await deps.sleep(Math.min(interval, remaining));
    interval = Math.min(interval * 2, 500);
  }
}

function view(r: RequestRecord): ResultResponse {
  return {
    token: r.token,
    status: r.status,
    operation: r.operation,
    priority: r.priority,
    routing_path: r.routing_path,
    attempts: r.attempts,
    created_at: r.created_at,
    updated_at: r.updated_at,
    ...(r.completed_at !== undefined ? { completed_at: r.completed_at } : {}),
    ...(r.status === 'waiting' && r.waiting_on !== undefined ? { waiting_on: r.waiting_on } : {}),
    ...(r.result !== undefined ? { result: r.result } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
  };
}
