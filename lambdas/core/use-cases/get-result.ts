/**
 * Result use case: the request's current state, long-polling up to `wait` seconds for a terminal one.
 * Another caller's token looks exactly like an unknown one (404), so tokens cannot be probed; so does
 * any segment that is not a token RIQ issued (only one that cannot be a token at all is a 400).
 *
 * A result is answered inline up to `bodies.inlineResultBytes` (loaded from the body store when the
 * record keeps it there); a larger one as `result_url`, a presigned GET valid
 * `bodies.resultUrlSeconds`, with `result_size_bytes` and `result_url_expires_at` and no `result`
 * (lambdas/core/domain/claim-check.ts).
 *
 * A long poll re-reads its record after 100 ms, then at doubling pauses up to 500 ms, and at once
 * when a write to it is heard (`RecordChanges`). Where every write is heard (the local stack), it
 * reads only then, and every `HEARD_POLL_MS` in case a write came from outside.
 */
import type { ResultResponse } from '../../../model/api-views.js';
import { DEFAULT_CONFIG, type RiqConfig } from '../../../model/config/riq-config.js';
import { answerResult, storedResultOf } from '../domain/claim-check.js';
import { NotFoundError, ValidationError, withDetails } from '../../../model/errors.js';
import type { BodyStore, Clock, RecordChanges, RequestStore } from '../ports/index.js';
import { isTerminal, type RequestRecord } from '../../../model/request-record.js';
import { checkTokenSegment } from '../domain/tokens.js';

export interface ResultDeps {
  store: Pick<RequestStore, 'get'>;
  clock: Clock;
  /** Wakes a long poll when its record is written (a plain pause where nothing is heard). */
  changes: RecordChanges;
  longPollCapSeconds: number;
  /** Where large results are read from; absent, a result kept there is NOT_FOUND. */
  bodies?: BodyStore;
  /** The body sizes (default: DEFAULT_CONFIG's). */
  limits?: Pick<RiqConfig['bodies'], 'inlineResultBytes' | 'resultUrlSeconds'>;
}

/** A long poll's first pause, and its longest while writes may go unheard. */
export const FIRST_POLL_MS = 100;
export const MAX_POLL_MS = 500;
/** The pause between reads where every write is heard: a safety net for writes from outside. */
export const HEARD_POLL_MS = 2000;

/**
 * Parses `?wait=`: absent or empty is 0; anything but decimal digits (a sign, a fraction, an
 * exponent, spaces) is a 400; any whole number, however long, is clamped to `capSeconds`.
 */
export function parseWait(raw: string | undefined, capSeconds: number): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw ValidationError.forField('wait', 'must be a whole number of seconds ≥ 0');
  return Math.min(Number(raw), capSeconds);
}

export async function getResult(
  deps: ResultDeps,
  input: { token: string; owner: string; waitSeconds: number },
): Promise<ResultResponse> {
  checkTokenSegment(input.token);
  const deadline = deps.clock.now() + Math.min(input.waitSeconds, deps.longPollCapSeconds) * 1000;
  let interval = FIRST_POLL_MS;
  for (;;) {
    const record = await deps.store.get(input.token);
    if (!record || record.owner !== input.owner)
      throw new NotFoundError(`no request ${input.token}`, { field: 'token' });
    const remaining = deadline - deps.clock.now();
    if (isTerminal(record.status) || remaining <= 0) return view(deps, record);
    const pause = deps.changes.hearsAllWrites() ? HEARD_POLL_MS : interval;
    await deps.changes.waitForChange(input.token, Math.min(pause, remaining));
    interval = Math.min(interval * 2, MAX_POLL_MS);
  }
}

async function view(deps: ResultDeps, r: RequestRecord): Promise<ResultResponse> {
  const stored = storedResultOf(r);
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
    ...(stored !== undefined
      ? await answerResult(deps.bodies, deps.limits ?? DEFAULT_CONFIG.bodies, stored, deps.clock.now())
      : {}),
    ...(r.error !== undefined ? { error: withDetails(r.error) } : {}),
    timeline: r.timeline ?? [],
  };
}
