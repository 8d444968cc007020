/**
 * The circuit breaker per service (DESIGN "Breaker", invariant 7): a pure state machine plus the
 * small orchestration every store shares (read, decide, conditional write, retry on a lost race).
 *
 *     closed ──N failures within the window──▶ open ──recovery timeout──▶ half_open (one probe)
 *        ▲                                       ▲                           │
 *        └───────────── probe success ───────────┼────── probe failure ──────┘
 *
 * Design decisions:
 * - **Sliding window; a success cancels one failure.** A failure counts while it is younger than
 *   `windowSeconds` (one exactly `windowSeconds` old no longer does); the breaker opens when
 *   `failureThreshold` of them are inside the window at once. A success in `closed` cancels the
 *   oldest failure still counted (written only when there is one, so a healthy service costs no
 *   write). So DESIGN's "5 failures within 60 s" opens it when the failures come (nearly) in a row,
 *   as in an outage, and whenever failures outnumber successes in the window (a partial outage where
 *   most calls fail), but not under a scattering of errors: at 20 % 503s every success cancels a
 *   failure and the calls, four of five of which succeed, go on. Counting failures alone opened the
 *   breaker seconds after each probe at 10 % errors (measured with `npm run compare` and
 *   `npm run chaos`), cutting throughput to a quarter while Atlassian answered nine calls of ten.
 *   Resetting the whole count on a success would instead keep it closed while most calls fail.
 * - **Bounded state.** Only the latest `failureThreshold` failure times are kept, pruned to the window
 *   at every write: that is all the threshold test needs, so the stored item never grows.
 * - **One probe, leased.** Leaving `open` (or re-probing `half_open`) hands out a probe lease with its
 *   own id and expiry (the worker's claim lease): a prober that crashes never reports, and once its
 *   lease expires the next caller becomes the prober. Only the holder of the current lease can settle
 *   the half-open state, so a late report from an expired prober is ignored.
 * - **Late reports are ignored.** A call let through while `closed` that fails after the breaker
 *   opened does not extend the recovery period; successes of such calls do not close it either.
 *   Only the probe decides.
 * - `neutral` (a 429, an auth problem) says nothing about the service's health: it changes no count
 *   and, for a probe, only gives the lease back so the next caller probes at once.
 *
 * Time is always an argument (epoch ms), so tests drive it and no clock is read here.
 */
import { randomUUID } from 'node:crypto';
import { claimLeaseSeconds } from '../../../model/config/resources.js';
import type { RiqConfig, Service } from '../../../model/config/riq-config.js';
import { toRiqError, type ErrorCode } from '../../../model/errors.js';
import type {
  BreakerDecision,
  BreakerOutcome,
  BreakerStateName,
  BreakerView,
  CircuitBreaker,
  GateReading,
} from '../ports/flow-control.js';

export interface BreakerSettings {
  /** Failures inside the window that open the breaker. */
  failureThreshold: number;
  windowSeconds: number;
  /** How long an open breaker refuses calls before it lets a probe through. */
  recoverySeconds: number;
  /** How long a probe may run before another caller may probe instead (a crashed prober). */
  probeLeaseSeconds: number;
}

/** The breaker settings of a config; a probe's lease lasts as long as a worker's claim on a request. */
export function breakerSettingsOf(config: RiqConfig): BreakerSettings {
  return { ...config.breaker, probeLeaseSeconds: claimLeaseSeconds(config) };
}

/** One service's breaker as stored. Times are epoch ms. */
export interface BreakerState {
  state: BreakerStateName;
  /** The latest failures (at most `failureThreshold`), ascending; may hold some older than the window. */
  failures: readonly number[];
  /** When the breaker last opened; kept after it closes (the view's `opened_at`). */
  openedAt: number | null;
  /** While `open`: when the recovery period ends and a probe may pass. */
  nextAttemptAt: number | null;
  lastFailureAt: number | null;
  /** While `half_open` with a probe out: the probe lease. */
  probeId: string | null;
  probeExpiresAt: number | null;
}

export const INITIAL_BREAKER_STATE: BreakerState = Object.freeze({
  state: 'closed',
  failures: Object.freeze([]) as readonly number[],
  openedAt: null,
  nextAttemptAt: null,
  lastFailureAt: null,
  probeId: null,
  probeExpiresAt: null,
});

/** The failures that still count at `now`: younger than the window. */
export function failuresInWindow(
  failures: readonly number[],
  settings: BreakerSettings,
  now: number,
): number[] {
  const since = now - settings.windowSeconds * 1000;
  return failures.filter((t) => t > since);
}

/** What `acquire` answers, and the state to write first when the answer takes a probe lease. */
export interface AcquireStep {
  decision: BreakerDecision;
  /** Absent when nothing changes (closed, or refused). */
  next?: BreakerState;
}

/**
 * May a call pass now? `closed`: yes. `open` before the recovery ends: no, wait until it ends.
 * After that, or `half_open` with no live probe lease: yes, as the probe, holding lease `newProbeId`.
 * `half_open` with a live lease: no, wait at most until that lease expires.
 */
export function decideAcquire(
  s: BreakerState,
  settings: BreakerSettings,
  now: number,
  newProbeId: string,
): AcquireStep {
  switch (s.state) {
    case 'closed':
      return { decision: { allowed: true, probe: false } };
    case 'open': {
      const at = s.nextAttemptAt ?? now;
      if (now < at) return { decision: { allowed: false, waitMs: at - now, state: 'open' } };
      return takeProbe(s, settings, now, newProbeId);
    }
    case 'half_open':
      if (s.probeId !== null && s.probeExpiresAt !== null && now < s.probeExpiresAt) {
        return { decision: { allowed: false, waitMs: s.probeExpiresAt - now, state: 'half_open' } };
      }
      return takeProbe(s, settings, now, newProbeId);
  }
}

function takeProbe(s: BreakerState, settings: BreakerSettings, now: number, probeId: string): AcquireStep {
  return {
    decision: { allowed: true, probe: true },
    next: {
      ...s,
      state: 'half_open',
      nextAttemptAt: null,
      probeId,
      probeExpiresAt: now + settings.probeLeaseSeconds * 1000,
    },
  };
}

/**
 * The state after a call ended with `outcome`; `undefined` when nothing changes (so no write).
 * `probeId`: the lease the call held when it was the probe, null for an ordinary call.
 */
export function applyOutcome(
  s: BreakerState,
  settings: BreakerSettings,
  outcome: BreakerOutcome,
  probeId: string | null,
  now: number,
): BreakerState | undefined {
  if (probeId !== null) {
    // Only the current lease holder settles the half-open state; anything else is a stale report.
    if (s.state !== 'half_open' || s.probeId !== probeId) return undefined;
    const released = { ...s, probeId: null, probeExpiresAt: null };
    switch (outcome) {
      case 'success':
        return { ...released, state: 'closed', failures: [], nextAttemptAt: null };
      case 'failure':
        return open(released, settings, withFailure(s.failures, settings, now), now);
      case 'neutral':
        return released;
    }
  }
  if (s.state !== 'closed') return undefined;
  if (outcome === 'success') {
    const counted = failuresInWindow(s.failures, settings, now);
    return counted.length === 0 ? undefined : { ...s, failures: counted.slice(1) };
  }
  if (outcome !== 'failure') return undefined;
  const failures = withFailure(s.failures, settings, now);
  if (failures.length >= settings.failureThreshold) return open(s, settings, failures, now);
  return { ...s, failures, lastFailureAt: Math.max(s.lastFailureAt ?? now, now) };
}

/** The failures inside the window plus one at `now`, ascending, the latest `failureThreshold` only. */
function withFailure(failures: readonly number[], settings: BreakerSettings, now: number): number[] {
  return [...failuresInWindow(failures, settings, now), now]
    .sort((a, b) => a - b)
    .slice(-settings.failureThreshold);
}

function open(s: BreakerState, settings: BreakerSettings, failures: number[], now: number): BreakerState {
  return {
    ...s,
    state: 'open',
    failures,
    openedAt: now,
    nextAttemptAt: now + settings.recoverySeconds * 1000,
    lastFailureAt: now,
    probeId: null,
    probeExpiresAt: null,
  };
}

/**
 * The breaker as an operator sees it at `now`. An `open` breaker whose recovery has ended shows as
 * `half_open`: the next call will be let through as the probe.
 */
export function viewOf(
  service: Service,
  s: BreakerState,
  settings: BreakerSettings,
  now: number,
): BreakerView {
  const recovered = s.state === 'open' && (s.nextAttemptAt ?? now) <= now;
  const state: BreakerStateName = recovered ? 'half_open' : s.state;
  return {
    service,
    state,
    failure_count: failuresInWindow(s.failures, settings, now).length,
    opened_at: iso(s.openedAt),
    next_attempt_at: state === 'open' ? iso(s.nextAttemptAt) : null,
    last_failure_at: iso(s.lastFailureAt),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * What each error code says about the service's health. A code that is the service's own verdict
 * on the request (it answered) is a success; upstream trouble is a failure; a 429 moves the rate
 * gate's pause instead, and an auth problem or RIQ's own refusals say nothing about the service.
 * A `Record` over every code, so a new code does not compile until it is placed here.
 */
const OUTCOME_BY_CODE: Record<ErrorCode, BreakerOutcome> = {
  VALIDATION_ERROR: 'success',
  NOT_FOUND: 'success',
  PERMISSION_DENIED: 'success',
  PAYLOAD_TOO_LARGE: 'success',
  SERVICE_UNAVAILABLE: 'failure',
  TIMEOUT: 'failure',
  INTERNAL_ERROR: 'failure',
  RATE_LIMITED: 'neutral',
  AUTH_FAILED: 'neutral',
  IDEMPOTENCY_CONFLICT: 'neutral',
  NOT_DEAD: 'neutral',
  DEPENDENCY_FAILED: 'neutral',
  NOT_IMPLEMENTED: 'neutral',
  /** The API's own refusals of a request's method or media type: never an upstream's answer. */
  METHOD_NOT_ALLOWED: 'neutral',
  UNSUPPORTED_MEDIA_TYPE: 'neutral',
  INVALID_STATUS: 'neutral',
  /** RIQ could not store the result of a call that succeeded. */
  RESULT_TOO_LARGE: 'neutral',
};

/** The `BreakerState` gauge of a state (the seed's `circuit_breaker_state`): 1 closed, 0.5 half-open, 0 open. */
export function breakerStateValue(state: BreakerStateName): number {
  return state === 'closed' ? 1 : state === 'half_open' ? 0.5 : 0;
}

/**
 * How a call that passed the breaker ended: no error is a success; otherwise by the error's code.
 * A call the idempotency layer did not make because an earlier call for the same request is still
 * in progress (`reason: call_in_progress`) never reached Atlassian: it says nothing of its health.
 */
export function breakerOutcomeOf(error?: unknown): BreakerOutcome {
  if (error === undefined) return 'success';
  const riqError = toRiqError(error);
  if (riqError.details?.['reason'] === 'call_in_progress') return 'neutral';
  return OUTCOME_BY_CODE[riqError.code];
}

/** A stored breaker state and the version it was read at (0: never written). */
export interface VersionedBreakerState {
  state: BreakerState;
  version: number;
}

/**
 * Where breaker states are kept: one versioned record per service. The adapters only do this I/O;
 * every decision is made above them, in `StoredCircuitBreaker`.
 */
export interface BreakerStateStore {
  load(service: Service): Promise<VersionedBreakerState>;
  /** The state as `reading` found it; undefined when the reading does not hold it (then `load`). */
  fromReading?(reading: GateReading): VersionedBreakerState | undefined;
  /** Stores `state` as version `version + 1` only if the record is still at `version`; false otherwise. */
  save(service: Service, state: BreakerState, version: number): Promise<boolean>;
}

export interface StoredCircuitBreakerOptions {
  /** Probe lease ids. */
  newProbeId?: () => string;
  /** Waits between attempts after losing a write race. */
  sleep?: (ms: number) => Promise<void>;
  /** Attempts before giving up on a contended write. */
  maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 25;

/**
 * A CircuitBreaker over any BreakerStateStore: read the state, decide with the pure functions above,
 * write conditionally on the version read, and start over when another worker wrote first. So of any
 * number of concurrent acquirers exactly one writes the probe lease; the others re-read and are refused.
 *
 * The probe's report must come through the instance that acquired it (a worker reports through the
 * breaker it acquired from): the instance remembers the lease id it holds per service.
 *
 * An ordinary call's report reads nothing when it cannot change the state: a neutral outcome never
 * does, and a success does only by forgiving a failure counted in the window. The instance
 * remembers the state it last read or wrote per service (at the latest, at the acquire of the call
 * it reports), and a success that would change nothing there is not reported: a success forgives
 * only failures counted before its call was let through, not those of calls that failed meanwhile.
 * A failure and a probe's outcome are always read and written.
 */
export class StoredCircuitBreaker implements CircuitBreaker {
  private readonly heldProbes = new Map<Service, string>();
  /** Per service, the state this instance last read or wrote. */
  private readonly seen = new Map<Service, BreakerState>();
  private readonly newProbeId: () => string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxAttempts: number;

  constructor(
    private readonly store: BreakerStateStore,
    readonly settings: BreakerSettings,
    options: StoredCircuitBreakerOptions = {},
  ) {
    this.newProbeId = options.newProbeId ?? randomUUID;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  async acquire(service: Service, now: number, reading?: GateReading): Promise<BreakerDecision> {
    // The gate's reading serves the first decision; a lost race reads the state again.
    let first = reading?.service === service ? this.store.fromReading?.(reading) : undefined;
    for (let attempt = 1; ; attempt++) {
      const { state, version } = first ?? (await this.store.load(service));
      first = undefined;
      this.seen.set(service, state);
      const step = decideAcquire(state, this.settings, now, this.newProbeId());
      if (!step.next) return step.decision;
      if (await this.store.save(service, step.next, version)) {
        this.seen.set(service, step.next);
        if (step.next.probeId !== null) this.heldProbes.set(service, step.next.probeId);
        return step.decision;
      }
      await this.backOff(service, attempt);
    }
  }

  async report(service: Service, outcome: BreakerOutcome, probe: boolean, now: number): Promise<void> {
    let probeId: string | null = null;
    if (probe) {
      const held = this.heldProbes.get(service);
      // Not a probe this instance holds (already reported, or acquired elsewhere): nothing to settle.
      if (held === undefined) return;
      this.heldProbes.delete(service);
      probeId = held;
    }
    if (probeId === null && outcome !== 'failure') {
      const seen = this.seen.get(service);
      if (outcome === 'neutral' || (seen && !applyOutcome(seen, this.settings, outcome, null, now))) return;
    }
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await this.store.load(service);
      this.seen.set(service, state);
      const next = applyOutcome(state, this.settings, outcome, probeId, now);
      if (!next) return;
      if (await this.store.save(service, next, version)) {
        this.seen.set(service, next);
        return;
      }
      await this.backOff(service, attempt);
    }
  }

  async view(service: Service, now: number): Promise<BreakerView> {
    const { state } = await this.store.load(service);
    this.seen.set(service, state);
    return viewOf(service, state, this.settings, now);
  }

  /** Jittered, growing pause after a lost race; each lost race means another worker's write won. */
  private async backOff(service: Service, attempt: number): Promise<void> {
    if (attempt >= this.maxAttempts) {
      throw new Error(`circuit breaker ${service}: still contended after ${attempt} conditional writes`);
    }
    await this.sleep(Math.random() * 10 * Math.min(attempt, 5));
  }
}
