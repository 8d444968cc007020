/**
 * Adaptive routing's DIRECT path (the quick-reference seed's "Adaptive Routing"): a submit with
 * `routing: "adaptive"` (the default) is called from the submit function itself when the service's
 * breaker is *closed* and the shared bucket has a token for its priority, so a burst goes straight
 * through while there is capacity and only the excess waits in the queue.
 *
 * The DIRECT call is a worker's call made elsewhere, never a second mechanism: the request first
 * passes the same gate (write lock, breaker, a token from the same bucket: the DIRECT calls and the
 * workers' together never exceed the rate), then is stored already `processing` with a lease, as a
 * claim leaves it, and its attempt begun, in one write (with its idempotency key, atomically), so
 * nothing is lost if the submit function dies (the lease runs out, the worker or the sweeper takes
 * it over); it is then called and settled by the worker's own `callAndSettle` (the same idempotent
 * executor, cache fill and invalidation, release of dependents). A request the gate refuses is
 * stored `queued` by the submit, as any other. Only two things differ:
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
import { callAttemptOf } from '../domain/points-metering.js';
import type { IdempotencyClaim, Lease, WorkQueue } from '../ports/index.js';
import { callAndSettle, lockOwnerOf, type PassedGate, type ProcessDeps } from './process-request.js';
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

/** Why a request was not called directly. */
export type DirectSkip = GateRefusal;

export type DirectOutcome =
  /**
   * Called: `record` is the request as settled — `completed`, `failed`, `queued` for a retry (its
   * message already sent with the backoff delay) or `dead` (its copy already in the DLQ).
   */
  { kind: 'called'; record: RequestRecord };

/** A request the gate let through, stored `processing` under `lease` with its first attempt begun. */
export interface AdmittedRequest {
  /** The record as stored (its payload may be a pointer to the body store). */
  record: RequestRecord;
  /** The payload as submitted. */
  payload: Record<string, unknown>;
  lease: Lease;
  gate: PassedGate;
}

export type DirectAdmission =
  | { kind: 'admitted'; admitted: AdmittedRequest }
  /**
   * Not let through (nothing stored): the caller stores the request `queued` and queues it; with
   * `slotAt` delayed to that slot. `timeout`: the gate did not answer within the wait (a late pass
   * gives its lock and points back).
   */
  | { kind: 'not_admitted'; reason: GateRefusal | 'timeout'; slotAt?: number }
  /** The idempotency key was taken: nothing stored, what the gate took given back. */
  | { kind: 'duplicate'; existingToken: string; fingerprint: string };

/** The DIRECT path of a submit: the gate and the store first (`admit`), then the call (`call`). */
export interface DirectRoute {
  /**
   * Passes the gate for `record` (the `queued` record a submit would store, not stored yet) within
   * `waitMs`; once through, stores it `processing` with its lease and first attempt in the same
   * write (with `idempotency` atomically, as any insert). Throws when the store write fails (the
   * gate's lock and points are given back; the caller then stores the request `queued`).
   */
  admit(
    record: RequestRecord,
    payload: Record<string, unknown>,
    idempotency?: IdempotencyClaim,
    waitMs?: number,
  ): Promise<DirectAdmission>;
  /** Calls an admitted request and settles it as a worker would. */
  call(admitted: AdmittedRequest): Promise<DirectOutcome>;
}

/** The DIRECT path over `deps`. */
export function directRoute(deps: DirectDeps): DirectRoute {
  return {
    admit: (record, payload, idempotency, waitMs) => admitDirect(deps, record, payload, idempotency, waitMs),
    call: (admitted) => callDirect(deps, admitted),
  };
}

/**
 * The gate first, then one write that stores the request already `processing`: a request the gate
 * refuses is never written twice (the caller stores it `queued`), one it lets through is stored
 * with its lease and its attempt begun, ready for the call. The lease id is chosen before the gate,
 * so the write lock is held in the lease's name.
 */
export async function admitDirect(
  deps: DirectDeps,
  record: RequestRecord,
  payload: Record<string, unknown>,
  idempotency?: IdempotencyClaim,
  waitMs?: number,
): Promise<DirectAdmission> {
  const now = deps.clock.now();
  const leaseId = randomUUID();
  const passing = passFlowControl(deps.flow, { ...record, payload }, deps.clock, {
    // The attempt this admission begins (`processing.attempts` below).
    attempt: callAttemptOf(record.attempts + 1, record),
    lockUntil: now + deps.leaseSeconds * 1000,
    lockOwner: lockOwnerOf({ token: record.token, leaseId }),
    probe: false,
  });
  const gate = waitMs === undefined ? await passing : await within(passing, waitMs);
  if (gate === 'timeout') {
    // The request is stored `queued` without this gate: a late pass gives back what it took.
    passing.then((late) => (late.pass ? giveBack(deps, record, late) : undefined)).catch(() => undefined);
    return { kind: 'not_admitted', reason: 'timeout' };
  }
  if (!gate.pass) {
    return {
      kind: 'not_admitted',
      reason: gate.reason,
      ...(gate.slotAt !== undefined ? { slotAt: gate.slotAt } : {}),
    };
  }
  const at = deps.clock.now();
  const processing: RequestRecord = {
    ...record,
    status: 'processing',
    routing_path: 'DIRECT',
    attempts: record.attempts + 1,
    calls: (record.calls ?? 0) + 1,
    lease_expires_at: at + deps.leaseSeconds * 1000,
    updated_at: new Date(at).toISOString(),
  };
  let inserted;
  try {
    inserted = await deps.store.insert(processing, idempotency, { leaseId });
  } catch (err) {
    await giveBack(deps, record, gate);
    throw err;
  }
  if (inserted.kind === 'duplicate') {
    // An earlier submit holds the key: this one calls nothing. Its token is spent.
    await giveBack(deps, record, gate);
    return inserted;
  }
  return {
    kind: 'admitted',
    admitted: {
      record: processing,
      payload,
      lease: { token: record.token, leaseId, attempt: processing.attempts },
      gate,
    },
  };
}

/**
 * What a passed gate holds, given back when its request is not called: the write lock and the
 * points charged. The token is spent (a bucket takes nothing back).
 */
async function giveBack(deps: DirectDeps, record: RequestRecord, gate: PassedGate): Promise<void> {
  await releaseLock(gate.lock);
  if (gate.charged !== undefined && deps.flow.points) {
    await deps.flow.points.settle(record.service, gate.charged, deps.clock.now()).catch(() => undefined);
  }
}

/**
 * Calls an admitted request and settles it with the worker's own `callAndSettle`. Throws only when
 * a store call fails; the request is then `processing` under the lease, which the worker (its
 * message is sent by the caller) or the sweeper takes over once it runs out.
 */
export async function callDirect(deps: DirectDeps, admitted: AdmittedRequest): Promise<DirectOutcome> {
  const { record, lease, gate } = admitted;
  let settled: RequestRecord | undefined;
  // The stored record may point at its payload in the body store; the call gets it as submitted.
  // Its `calls` are those made before this attempt's, as callAndSettle expects.
  const started = { ...record, payload: admitted.payload, calls: (record.calls ?? 1) - 1 };
  const disposition = await callAndSettle(
    deps,
    { record: started, lease, attempt: record.attempts, gate },
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
    record: settled ?? (await deps.store.get(record.token)) ?? record,
  };
}

/** `promise`'s value, or `'timeout'` when it has not settled within `ms` (it is not cancelled). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The breaker's reading of a DIRECT call's error: its own short deadline running out says the
 * answer was slower than DIRECT allows, not that Atlassian is down, so it counts for nothing.
 */
export function directBreakerOutcome(error?: RiqError): BreakerOutcome {
  return error?.code === 'TIMEOUT' ? 'neutral' : breakerOutcomeOf(error);
}
