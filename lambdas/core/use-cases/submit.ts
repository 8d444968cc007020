/**
 * Submit use case: answer a read from the cache when it may, else store the request (deduplicated
 * by idempotency key), then queue it. The record is written before the answer; a failed queue send
 * leaves a `queued` record that the sweeper re-enqueues (DESIGN invariant 1), so the caller's 2xx is
 * never a lie.
 *
 * The cache (lambdas/core/domain/read-cache-policy.ts) answers `*.get_*` and `*.search_*` submits with a live
 * entry: `status: "cached"`, the result, `routing_path: "CACHE"`, and nothing is stored or queued,
 * so a cached answer has no token, no `poll_url` and no consistency token. It is not consulted with
 * `fresh: true` (the read goes through the queue and its completion refreshes the entry) nor with an
 * `idempotency_key` (the key promises one request record per key: a retry with it answers the same
 * token, another request under it is a conflict). A failing cache is a miss, never a failed submit.
 *
 * With `depends_on` (lambdas/core/domain/dependencies.ts) the cache is not consulted either: the request
 * is registered on its dependencies (DependencyStore) and answered `waiting`, `queued` (sent now:
 * every dependency had completed) or `failed` (DEPENDENCY_FAILED: one had failed).
 *
 * With `after_consistency_token` (`cst_<hex>`, naming the write `req_<hex>`) the cache is bypassed
 * (the read is fresh and refreshes the entry) and the request waits for the write to *finish* by the
 * same registration, stored as its `after_write`: a write that failed or died satisfies it too (it
 * never fails the request), and a write whose record is gone (expired, or never existed) counts as
 * finished. Another caller's write is NOT_FOUND naming the field, nothing written.
 *
 * Adaptive routing (lambdas/core/use-cases/direct-route.ts): a request stored with `routing: "adaptive"` (the
 * default) is called at once by this function when `direct` is given and the gate lets it through,
 * and answered as it was settled: `completed` with its result and `routing_path: "DIRECT"`, `failed`
 * with its error, or `queued` (a retryable failure, queued with its backoff). Anything else is
 * queued: once the request is stored, an attempt that throws or does not answer within
 * `directWaitMs` is answered `queued` too, never an error (see `tryDirect`). Never DIRECT:
 * `routing: "queued"`, `fire_and_forget` (the caller does not wait, so calling now would only delay
 * its 202), `depends_on` and `after_consistency_token` (they wait for other requests), and a
 * duplicate of an earlier submit.
 *
 * Bodies of any size (lambdas/core/domain/claim-check.ts): a payload larger than `bodies.offloadBytes` is
 * stored in the body store before the record, which keeps a pointer (a store failure fails the
 * submit, nothing written but an orphan body the bucket's lifecycle deletes). An answer carries a
 * result inline up to `bodies.inlineResultBytes`, else as a presigned `result_url`.
 */
import { DEFAULT_CONFIG, type RiqConfig } from '../../../model/config/riq-config.js';
import { queueKey, recordRetentionSeconds } from '../../../model/config/resources.js';
import { answerResult, storePayload, storedResultOf, type ResultAnswer } from '../domain/claim-check.js';
import { IdempotencyConflictError, NotFoundError, RiqError, withDetails } from '../../../model/errors.js';
import { requestFingerprint } from '../domain/fingerprint.js';
import { isWrite, serviceOf } from '../../../model/operations.js';
import type {
  BodyStore,
  Clock,
  DependencyStore,
  IdempotencyClaim,
  ReadCache,
  RequestStore,
  SendOptions,
  WorkQueue,
} from '../ports/index.js';
import { within, type DirectAdmission, type DirectRoute, type DirectSkip } from './direct-route.js';
import { MAX_DELAY_SECONDS } from './process-request.js';
import type { ErrorBody } from '../../../model/errors.js';
import { isCacheable, lookup } from '../domain/read-cache-policy.js';
import type { RequestRecord, RoutingPath, Status } from '../../../model/request-record.js';
import type { SubmitCommand } from '../domain/submit-command.js';
import { consistencyTokenFor, newRequestToken, requestTokenOfConsistency } from '../domain/tokens.js';
import { slotDelaySeconds } from '../domain/token-bucket.js';

export interface SubmitDeps {
  store: RequestStore;
  queue: WorkQueue;
  clock: Clock;
  config: Pick<RiqConfig, 'retentionDays'> & Partial<Pick<RiqConfig, 'bodies'>>;
  /**
   * Where large payloads are stored and large results read (claim check); sizes from
   * `config.bodies` (default: DEFAULT_CONFIG's). Absent, every payload is kept in the record.
   */
  bodies?: BodyStore;
  newToken?: () => string;
  /** Called when the queue send fails after the record was stored (for logs and metrics). */
  onEnqueueFailure?: (token: string, err: unknown) => void;
  /** The read cache; absent, every read is queued. */
  cache?: ReadCache;
  /** Called when the cache could not be read (the submit goes on as a miss). */
  onCacheFailure?: (err: unknown) => void;
  /** `depends_on` registration; absent, a submit with `depends_on` is refused. */
  dependencies?: Pick<DependencyStore, 'register'>;
  /**
   * How long before its rate slot a request a DIRECT refusal queued may reach a worker: what the
   * worker waits in its invocation (`rateControl.slotWaitMs`). Absent: 0, never before the slot.
   */
  slotEarlyMs?: number;
  /** The DIRECT path (direct-route.ts `directRoute` over its deps); absent, all is queued. */
  direct?: DirectRoute;
  /**
   * The DIRECT attempt failed (a store, gate or queue call threw, or it did not answer within
   * `directWaitMs`); the request is queued instead.
   */
  onDirectFailure?: (token: string, err: unknown) => void;
  /**
   * How long this submit may still wait for its DIRECT attempt, ms, asked when the attempt starts
   * (the handler: the function's remaining time less what answering `queued` takes). The attempt's
   * store and gate calls have no deadline of their own, and a function that runs out of time
   * answers 500 although its request is stored and may run: past this wait the request is answered
   * `queued` and the attempt is left to settle it, or to the worker and the sweeper. Absent: no bound.
   */
  directWaitMs?: () => number;
}

/**
 * What adaptive routing did for a stored request (logs and metrics): `called` (the outcome is the
 * answer's status), `skipped` and why (queued), or `ineligible` (never tried: see the header).
 */
export type DirectReport =
  | { kind: 'called' }
  /**
   * `error`: the attempt threw; `timeout`: it did not answer within `directWaitMs` (it may still be
   * running); `no_time`: too little time was left to start one.
   */
  | { kind: 'skipped'; reason: DirectSkip | 'error' | 'timeout' | 'no_time' }
  | { kind: 'ineligible' };

/** What the cache did for a submit (the handler's hit-ratio metric). */
export type CacheLookup = 'hit' | 'miss' | 'bypass' | 'none';

/** The answer for a stored request. */
export interface SubmitResponse {
  token: string;
  status: Status;
  poll_url: string;
  routing_path: RoutingPath;
  consistency_token?: string;
  /** A DIRECT call that completed: its result (a large one as `result_url`, see ResultAnswer). */
  result?: unknown;
  result_url?: string;
  result_size_bytes?: number;
  result_url_expires_at?: string;
  /** A DIRECT call that failed for good: its error. */
  error?: ErrorBody;
  /** True when this answer is for an earlier submit with the same idempotency key. */
  duplicate?: boolean;
  /** Not part of the body: the handler answers 202 for these. */
  fire_and_forget?: boolean;
  /** Not part of the body: what the cache did (a hit is a CachedResponse). */
  cache?: Exclude<CacheLookup, 'hit'>;
  /** Not part of the body: what adaptive routing did. */
  direct?: DirectReport;
}

/**
 * The answer of a live cache entry: nothing was stored, so there is no token to poll. Its result is
 * inline, or a presigned `result_url` when it is larger than `bodies.inlineResultBytes`.
 */
export type CachedResponse = {
  status: 'cached';
  routing_path: 'CACHE';
  /** ISO 8601: when the entry was stored (the age of the answer). */
  cached_at: string;
  cache: 'hit';
} & ResultAnswer;

/** What a submit answers: a stored request, or a cached read. */
export type SubmitAnswer = SubmitResponse | CachedResponse;

/** A submit: a live cache entry answers a read, anything else is stored and queued. */
export async function submit(deps: SubmitDeps, command: SubmitCommand, owner: string): Promise<SubmitAnswer> {
  const now = deps.clock.now();
  const cache = cacheUse(deps, command);
  if (cache === 'lookup') {
    const entry = await lookupQuietly(deps, command, now);
    if (entry) {
      const stored =
        entry.resultRef !== undefined ? { result_ref: entry.resultRef } : { result: entry.result };
      return {
        status: 'cached',
        routing_path: 'CACHE',
        ...(await answerResult(deps.bodies, bodyLimitsOf(deps), stored, now)),
        cached_at: new Date(entry.cachedAt).toISOString(),
        cache: 'hit',
      };
    }
  }
  const response = await submitRequest(deps, command, owner);
  return { ...response, cache: cache === 'lookup' ? 'miss' : cache };
}

/** Stores the request (deduplicated by idempotency key) and queues it; the cache is not looked at. */
export async function submitRequest(
  deps: SubmitDeps,
  command: SubmitCommand,
  owner: string,
): Promise<SubmitResponse> {
  const now = deps.clock.now();
  const token = (deps.newToken ?? newRequestToken)();
  const service = serviceOf(command.operation);
  const record: RequestRecord = {
    token,
    owner,
    operation: command.operation,
    service,
    priority: command.priority,
    ...(deps.bodies
      ? await storePayload(deps.bodies, bodyLimitsOf(deps), token, command.payload)
      : { payload: command.payload }),
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: new Date(now).toISOString(),
    updated_at: new Date(now).toISOString(),
    ...(command.idempotencyKey !== undefined ? { idempotency_key: command.idempotencyKey } : {}),
    ...(isWrite(command.operation) ? { consistency_token: consistencyTokenFor(token) } : {}),
    ...(command.fireAndForget ? { fire_and_forget: true } : {}),
  };

  const claim =
    command.idempotencyKey !== undefined
      ? {
          key: `${owner}\n${command.idempotencyKey}`,
          fingerprint: requestFingerprint(command),
        }
      : undefined;
  if (command.afterConsistencyToken !== undefined) {
    const write = await writeToWaitFor(deps, command.afterConsistencyToken, owner);
    if (write !== undefined) record.after_write = write;
  }
  if (command.dependsOn.length > 0 || record.after_write !== undefined) {
    return submitDependent(deps, command, record, claim);
  }
  let direct: DirectReport = { kind: 'ineligible' };
  let slotAt: number | undefined;
  if (deps.direct && command.routing === 'adaptive' && !command.fireAndForget) {
    // The DIRECT call gets the payload as submitted, wherever the record keeps it.
    const attempt = await tryDirect(deps, deps.direct, record, command.payload, claim);
    if (attempt.duplicate) return answerDuplicate(deps, command, claim, attempt.duplicate);
    if (attempt.settled) return { ...(await responseFor(deps, attempt.settled)), direct: attempt.report };
    direct = attempt.report;
    slotAt = attempt.slotAt;
    if (!attempt.stored) {
      const outcome = await deps.store.insert(record, claim);
      if (outcome.kind === 'duplicate') return answerDuplicate(deps, command, claim, outcome);
    }
  } else {
    const outcome = await deps.store.insert(record, claim);
    if (outcome.kind === 'duplicate') return answerDuplicate(deps, command, claim, outcome);
  }
  try {
    await deps.queue.send(
      queueKey(service, command.priority),
      token,
      slotAt === undefined ? {} : slotSend(slotAt, deps.clock.now(), deps.slotEarlyMs ?? 0),
    );
  } catch (err) {
    deps.onEnqueueFailure?.(token, err);
  }
  return { ...(await responseFor(deps, record)), ...(deps.direct ? { direct } : {}) };
}

/** What a DIRECT attempt did for a submit. */
interface DirectAttempt {
  report: DirectReport;
  /** Called and settled: the answer. */
  settled?: RequestRecord;
  /** The rate slot a refusal gave the request (queued delayed to it). */
  slotAt?: number;
  /** The request was stored (`processing`, under the attempt's lease): nothing more to insert. */
  stored?: boolean;
  /** The idempotency key belongs to an earlier submit: nothing stored. */
  duplicate?: { existingToken: string; fingerprint: string };
}

/**
 * The DIRECT attempt of a request not stored yet: its gate, then (let through) the one write that
 * stores it `processing`, then its call. Anything but a settled call leaves the request to be
 * queued: stored `queued` by the caller when the gate refused it or the attempt failed before
 * storing it, or already stored `processing` under the attempt's lease.
 *
 * `directWaitMs` bounds the gate and the call (the store write is awaited, as every submit's is:
 * the answer names a stored request). A gate that has not answered in time leaves the request to be
 * stored `queued`. A call that has not answered in time is no longer waited for: the request is
 * answered `queued` and its message sent; the attempt runs on under its lease and settles the
 * record itself (the worker's message then finds it finished, or busy until the lease runs out), or
 * the lease expires and a worker or the sweeper takes it over, its attempt counted — so the
 * done-once layer replays a saved result, and a create whose outcome is unknown is reconciled.
 */
async function tryDirect(
  deps: SubmitDeps,
  direct: DirectRoute,
  record: RequestRecord,
  payload: Record<string, unknown>,
  claim: IdempotencyClaim | undefined,
): Promise<DirectAttempt> {
  const waitMs = deps.directWaitMs?.();
  if (waitMs !== undefined && waitMs <= 0) return { report: { kind: 'skipped', reason: 'no_time' } };
  const startedAt = Date.now();
  let admission: DirectAdmission;
  try {
    admission = await direct.admit(record, payload, claim, waitMs);
  } catch (err) {
    deps.onDirectFailure?.(record.token, err);
    return { report: { kind: 'skipped', reason: 'error' } };
  }
  if (admission.kind === 'duplicate') {
    return { report: { kind: 'ineligible' }, duplicate: admission };
  }
  if (admission.kind === 'not_admitted') {
    if (admission.reason === 'timeout') deps.onDirectFailure?.(record.token, directTimeout(waitMs));
    return {
      report: { kind: 'skipped', reason: admission.reason },
      ...(admission.slotAt !== undefined ? { slotAt: admission.slotAt } : {}),
    };
  }
  const stored = { stored: true };
  try {
    const attempt = direct.call(admission.admitted);
    const left = waitMs === undefined ? undefined : waitMs - (Date.now() - startedAt);
    const outcome = left === undefined ? await attempt : await within(attempt, Math.max(0, left));
    if (outcome === 'timeout') {
      // A later failure is reported too; a later success needs nothing (the record says it).
      attempt.catch((err: unknown) => deps.onDirectFailure?.(record.token, err));
      deps.onDirectFailure?.(record.token, directTimeout(waitMs));
      return { report: { kind: 'skipped', reason: 'timeout' }, ...stored };
    }
    return { report: { kind: 'called' }, settled: outcome.record, ...stored };
  } catch (err) {
    deps.onDirectFailure?.(record.token, err);
    return { report: { kind: 'skipped', reason: 'error' }, ...stored };
  }
}

function directTimeout(waitMs: number | undefined): RiqError {
  return new RiqError('TIMEOUT', `the DIRECT attempt did not answer within ${waitMs} ms; answered queued`, {
    waitMs,
  });
}

/**
 * The send of a request a DIRECT refusal gave a rate slot: delayed to come back at most `earlyMs`
 * before the slot (the worker waits the rest; SQS's longest delay at most, the sweeper re-sends a
 * record waiting longer), the slot in the message so the worker takes its token at the first delivery.
 */
function slotSend(slotAt: number, now: number, earlyMs: number): SendOptions {
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, slotDelaySeconds(slotAt, now, earlyMs));
  return { delaySeconds, slotAt };
}

/**
 * A request with `depends_on`: each dependency must exist and be the caller's (else NOT_FOUND
 * naming `depends_on.<i>`, nothing written, invariant 8); then it is registered on them at once.
 * Only a `ready` one (every dependency already completed) is sent now; a `waiting` one is sent by
 * the release of its last dependency, a `failed` one never.
 */
/**
 * `after_consistency_token`: the token of the write to wait for, or undefined when its record is
 * gone (expired or never existed: the token is valid while the write's record exists, and an
 * expired one counts as satisfied). Another caller's write is NOT_FOUND, as for `depends_on`
 * (invariant 8: no caller learns of another's requests), and nothing is written.
 */
async function writeToWaitFor(
  deps: SubmitDeps,
  consistencyToken: string,
  owner: string,
): Promise<string | undefined> {
  const token = requestTokenOfConsistency(consistencyToken);
  const write = await deps.store.get(token);
  if (!write) return undefined;
  if (write.owner !== owner) {
    throw new NotFoundError(`after_consistency_token: no write ${consistencyToken}`, {
      field: 'after_consistency_token',
      consistency_token: consistencyToken,
    });
  }
  return token;
}

async function submitDependent(
  deps: SubmitDeps,
  command: SubmitCommand,
  record: RequestRecord,
  claim: IdempotencyClaim | undefined,
): Promise<SubmitResponse> {
  if (!deps.dependencies) {
    const field = command.dependsOn.length > 0 ? 'depends_on' : 'after_consistency_token';
    throw new RiqError('NOT_IMPLEMENTED', `${field} is not supported by this deployment`, { field });
  }
  const parents = await Promise.all(command.dependsOn.map((t) => deps.store.get(t)));
  parents.forEach((parent, i) => {
    if (!parent || parent.owner !== record.owner) {
      throw new NotFoundError(`depends_on.${i}: no request ${command.dependsOn[i]}`, {
        field: `depends_on.${i}`,
        token: command.dependsOn[i],
      });
    }
  });
  const now = deps.clock.now();
  const outcome = await deps.dependencies.register(record, command.dependsOn, {
    now,
    failedExpiresAt: Math.floor(now / 1000) + recordRetentionSeconds(deps.config),
    ...(claim ? { idempotency: claim } : {}),
  });
  if (outcome.kind === 'duplicate') return answerDuplicate(deps, command, claim, outcome);
  if (outcome.kind === 'ready') {
    try {
      await deps.queue.send(queueKey(record.service, record.priority), record.token);
    } catch (err) {
      deps.onEnqueueFailure?.(record.token, err);
    }
  }
  return responseFor(deps, outcome.record);
}

async function answerDuplicate(
  deps: SubmitDeps,
  command: SubmitCommand,
  claim: IdempotencyClaim | undefined,
  outcome: { existingToken: string; fingerprint: string },
): Promise<SubmitResponse> {
  if (claim && outcome.fingerprint !== claim.fingerprint) {
    throw new IdempotencyConflictError(command.idempotencyKey ?? '', outcome.existingToken);
  }
  const existing = await deps.store.get(outcome.existingToken);
  if (!existing) {
    // The key's record was purged or expired while its key lives on: say so rather than guess.
    throw new RiqError('IDEMPOTENCY_CONFLICT', 'idempotency_key belongs to a request that no longer exists', {
      idempotency_key: command.idempotencyKey,
      token: outcome.existingToken,
    });
  }
  return { ...(await responseFor(deps, existing)), duplicate: true };
}

/** Whether this submit looks the cache up, skips it on purpose (`bypass`) or has none to look at. */
function cacheUse(deps: SubmitDeps, command: SubmitCommand): 'lookup' | 'bypass' | 'none' {
  // A request with dependencies runs after them: an answer from before them would be wrong.
  if (!deps.cache || !isCacheable(command.operation) || command.dependsOn.length > 0) return 'none';
  // After a write it reads fresh (its completion refreshes the entry), as `fresh: true` does.
  return command.fresh || command.idempotencyKey !== undefined || command.afterConsistencyToken !== undefined
    ? 'bypass'
    : 'lookup';
}

async function lookupQuietly(deps: SubmitDeps, command: SubmitCommand, now: number) {
  try {
    return await lookup(deps.cache!, command.operation, command.payload, now);
  } catch (err) {
    deps.onCacheFailure?.(err);
    return undefined;
  }
}

/** The answer for a stored request; a completed one's result inline or as a `result_url`. */
export async function responseFor(
  deps: Pick<SubmitDeps, 'bodies' | 'clock' | 'config'>,
  record: RequestRecord,
): Promise<SubmitResponse> {
  return {
    token: record.token,
    status: record.status,
    poll_url: `/api/queue/result/${record.token}`,
    routing_path: record.routing_path,
    ...(record.consistency_token !== undefined ? { consistency_token: record.consistency_token } : {}),
    ...(record.status === 'completed'
      ? await answerResult(
          deps.bodies,
          bodyLimitsOf(deps),
          storedResultOf(record) ?? { result: null },
          deps.clock.now(),
        )
      : {}),
    ...(record.status === 'failed' && record.error !== undefined ? { error: withDetails(record.error) } : {}),
    ...(record.fire_and_forget === true ? { fire_and_forget: true } : {}),
  };
}

function bodyLimitsOf(deps: Pick<SubmitDeps, 'config'>): RiqConfig['bodies'] {
  return deps.config.bodies ?? DEFAULT_CONFIG.bodies;
}
