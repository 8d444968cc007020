/**
 * Adaptive routing's DIRECT path (the quick-reference seed's "Adaptive Routing"): a submit with
 * `routing: "adaptive"` (the default) is called from the submit function itself when the service's
 * breaker is *closed* and the shared bucket has a token for its priority, so a burst goes straight
 * through while there is capacity and only the excess waits in the queue.
 *
 * The DIRECT call is a worker's call made elsewhere, never a second mechanism: the request is first
 * stored `queued` (nothing is lost if the submit function dies), then it passes the same gate (write
 * lock, breaker, a token from the same bucket: the DIRECT calls and the workers' together never
 * exceed the rate), is claimed with a lease like a delivery and counts a real attempt (one write:
 * the gate is already passed, the call follows), and is called
 * and settled by the worker's own `callAndSettle` (the same idempotent executor, cache fill and
 * invalidation, release of dependents). Only two things differ:
 *
 * - a half-open breaker's probe is never a DIRECT call (it is given back, the request is queued);
 * - the whole operation must answer within `routing.directTimeoutMs` (all its HTTP calls), and a
 *   timeout that short is not counted against Atlassian by the breaker (a slow answer is not an
 *   outage; the workers' longer timeout still counts).
 *
 * What the caller is answered follows from how the request was settled: `completed` with the
 * result; `failed` when Atlassian refused it for good (a 400/403/404: the queue would not retry it
 * either, so queueing it would only spend a token on the same answer); after a retryable failure the
 * request is `queued` with this attempt counted and a message sent with the retry backoff, exactly
 * as a worker would have left it. A request that could not be called now (no token, breaker not
 * closed, its issue being written to) is simply queued, its attempts untouched.
 */
import { randomUUID } from 'node:crypto';
import { queueKey } from '../../../model/config/resources.js';
import { breakerOutcomeOf } from '../domain/breaker.js';
import type { RiqError } from '../../../model/errors.js';
import type { BreakerOutcome } from '../ports/flow-control.js';
import { passFlowControl, releaseLock, type FlowControl, type GateRefusal } from '../domain/flow-gate.js';
import type { WorkQueue } from '../ports/index.js';
import { callAndSettle, lockOwnerOf, type ProcessDeps } from './process-request.js';
import type { RequestRecord } from '../../../model/request-record.js';

export interface DirectDeps extends ProcessDeps {
  flow: FlowControl;
  /** Where a DIRECT call that failed retryably is queued (and, on its last attempt, dead-lettered). */
  queue: Pick<WorkQueue, 'send' | 'sendToDeadLetter'>;
  /** The deadline of the whole DIRECT operation, ms. */
  timeoutMs: number;
  /** A queue send after the DIRECT call failed (the record is `queued`: the sweeper re-sends it). */
  onQueueFailure?: (token: string, err: unknown) => void;
}

/** Why a request was not called directly. `not_claimed`: something else had taken the record. */
export type DirectSkip = GateRefusal | 'not_claimed';

export type DirectOutcome =
  /**
   * Not called: the caller queues the request as usual; with `slotAt` (the rate slot the refusal
   * gave it) delayed to that slot and carrying it, so the worker's first delivery takes its token.
   */
  | { kind: 'not_called'; reason: DirectSkip; slotAt?: number }
  /**
   * Called: `record` is the request as settled — `completed`, `failed`, `queued` for a retry (its
   * message already sent with the backoff delay) or `dead` (its copy already in the DLQ).
   */
  | { kind: 'called'; record: RequestRecord };

/**
 * Tries the DIRECT call of a request just stored `queued` and not yet sent (`record` with its
 * payload as submitted, even when the stored record keeps it in the body store). Throws only when a
 * store or gate call fails; the request may then be `queued` or leased, and the caller queues it
 * (a worker claims it at once, or when the lease runs out).
 */
export async function routeDirect(deps: DirectDeps, record: RequestRecord): Promise<DirectOutcome> {
  const now = deps.clock.now();
  const lockUntil = now + deps.leaseSeconds * 1000;
  // The lease id is chosen before the claim, so the write lock is held in the claim's name: an
  // attempt that then fails to claim gives back only its own lock, never a worker's.
  const leaseId = randomUUID();
  const gate = await passFlowControl(deps.flow, record, deps.clock, {
    lockUntil,
    lockOwner: lockOwnerOf({ token: record.token, leaseId }),
    probe: false,
  });
  if (!gate.pass) {
    return {
      kind: 'not_called',
      reason: gate.reason,
      ...(gate.slotAt !== undefined ? { slotAt: gate.slotAt } : {}),
    };
  }

  // Claimed and its attempt begun in one write: the gate has passed, the call comes next.
  const claim = await deps.store.claim(record.token, deps.clock.now(), deps.leaseSeconds, 'DIRECT', {
    leaseId,
    beginAttempt: true,
  });
  if (claim.kind !== 'claimed') {
    // The token taken is spent; nothing else was changed.
    await releaseLock(gate.lock);
    return { kind: 'not_called', reason: 'not_claimed' };
  }

  const lease = { token: record.token, leaseId: claim.leaseId };
  let settled: RequestRecord | undefined;
  // The stored record may point at its payload in the body store; `record` holds it as submitted.
  // Its `calls` are those made before this attempt's, as callAndSettle expects.
  const claimed = { ...claim.record, payload: record.payload, calls: (claim.record.calls ?? 1) - 1 };
  const disposition = await callAndSettle(
    deps,
    { record: claimed, lease, attempt: claim.record.attempts, gate },
    {
      deadline: deps.clock.now() + deps.timeoutMs,
      breakerOutcome: directBreakerOutcome,
      onSettled: (written) => (settled = written),
    },
  );
  const key = queueKey(record.service, record.priority);
  try {
    if (disposition.action === 'retry' || disposition.action === 'defer') {
      await deps.queue.send(key, record.token, {
        delaySeconds: disposition.delaySeconds,
        ...(disposition.action === 'defer' && disposition.notBefore !== undefined
          ? { notBefore: disposition.notBefore }
          : {}),
      });
    } else if (disposition.action === 'dead-letter') {
      await deps.queue.sendToDeadLetter(key, record.token);
    }
  } catch (err) {
    // `queued`: the sweeper re-sends it. `dead`: the dead-letter listing (by status) still shows it.
    deps.onQueueFailure?.(record.token, err);
  }
  // The settling write answered the record; read only when none was written (a lost lease).
  return {
    kind: 'called',
    record: settled ?? (await deps.store.get(record.token)) ?? claim.record,
  };
}

/**
 * The breaker's reading of a DIRECT call's error: its own short deadline running out says the
 * answer was slower than DIRECT allows, not that Atlassian is down, so it counts for nothing.
 */
export function directBreakerOutcome(error?: RiqError): BreakerOutcome {
  return error?.code === 'TIMEOUT' ? 'neutral' : breakerOutcomeOf(error);
}
