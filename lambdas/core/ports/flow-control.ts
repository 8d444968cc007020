/**
 * The ports through which a worker or the DIRECT submit path asks whether it may call
 * Atlassian now, and reports how the call went: the shared rate limit (token bucket with priority
 * reserves, Atlassian's pauses, adaptive rate), the circuit breaker, and the per-object write locks
 * that serialize writes to one Jira issue or Confluence page (DESIGN invariant 2). All live in
 * DynamoDB so every worker of a service sees the same state (DESIGN invariants 5–7); in-memory
 * versions serve the unit tests of the use cases.
 */
import type { Priority, Service } from '../../../model/config/riq-config.js';

/** What one Atlassian call touches, for scoping Atlassian's pauses (`RateLimit-Reason`). */
export interface CallScope {
  service: Service;
  priority: Priority;
  /** The endpoint family a `jira-burst-based` 429 slows, e.g. `jira:issue:get`, `confluence:search`. */
  endpoint: string;
  /** True for a call that writes (POST/PUT/DELETE). */
  write: boolean;
  /** The Jira issue (key or id) or Confluence page a write targets; `jira-per-issue-on-write` scope. */
  objectId?: string;
  /**
   * Tokens the call takes: the HTTP requests the operation makes (`jira.transition_task` reads the
   * issue and its transitions, then posts one). @default 1
   */
  cost?: number;
  /**
   * The slot in its priority's line an earlier refusal gave this call (epoch ms, `PermitDecision`'s
   * `slotAt`): at it, the call takes a token ahead of calls that hold none.
   */
  slotAt?: number;
  /**
   * False for a caller that will not come back at a slot: it is refused without taking one, so the
   * line holds no slot nobody comes back to. (The DIRECT path does take one: its refused request is
   * queued delayed to the slot.) @default true
   */
  lineUp?: boolean;
}

/**
 * The answer to "may I call now?". `waitMs` is how long until it is worth asking again; `slotAt`,
 * when given, is the slot in its priority's line the call was given: ask again then, with it.
 */
export type PermitDecision =
  { granted: true } | { granted: false; waitMs: number; reason: 'no_token' | 'paused'; slotAt?: number };

/** What Atlassian said about the rate, after a call. */
export type RateFeedback =
  /**
   * A 2xx (or any non-429 answer that reached Atlassian). `nearLimit`: `X-RateLimit-NearLimit: true`;
   * `grantedAt`: when the call's token was taken (epoch ms), the moment Atlassian's answer speaks of.
   */
  | { kind: 'ok'; nearLimit?: boolean; grantedAt?: number }
  /**
   * A 429. `retryAfterSeconds` from `Retry-After` (undefined: none given, fall back to backoff);
   * `reason` from `RateLimit-Reason`; `resetAt` (epoch ms) from `X-RateLimit-Reset`.
   */
  | { kind: 'rate_limited'; retryAfterSeconds?: number; reason?: string; resetAt?: number };

/** A pause Atlassian's 429s put in force, as the health view shows it. */
export interface RatePauseView {
  /** `service`: every call; `endpoint`: one endpoint family; `object`: writes to one issue/page. */
  scope: 'service' | 'endpoint' | 'object';
  /** The endpoint family (`jira:issue:get`) or the issue/page; null for the whole service. */
  target: string | null;
  /** ISO 8601. */
  until: string;
}

/** Where a priority's line stands: when its next free slot is, and how far ahead that is. */
export interface RateLineView {
  /** ISO 8601 of the slot a call refused now would be given at the earliest; null when nobody waits. */
  next_slot_at: string | null;
  /** Milliseconds from now to that slot (0 when nobody waits): how long the line is. */
  ahead_ms: number;
}

/** A service's token bucket as the health view shows it. Times are ISO 8601. */
export interface RateView {
  service: Service;
  /** Tokens in the bucket now (fractional: refill is continuous). */
  tokens: number;
  burst: number;
  /** The rate the bucket refills at now, tokens per second (AIMD: at most the configured one). */
  effective_rate_per_second: number;
  /** The configured rate (`ratePerMinute / 60`). */
  configured_rate_per_second: number;
  /** Pauses in force, the longest first. */
  pauses: RatePauseView[];
  /** Until then the rate does not climb: Atlassian said the limit is near. Null when not held. */
  slow_until: string | null;
  /** Tokens `normal` and `low` keep in hand beyond their reserve after a lone 429 (0: none). */
  margin_tokens: number;
  /** The lines of refused `normal` and `low` calls (`low` also waits behind `normal`'s). */
  lines: { normal: RateLineView; low: RateLineView };
}

/**
 * The gate's items of one service (breaker, rate bucket, points budget) as one read found them,
 * handed to the gate's steps, which would otherwise each read their own. Opaque to the core: an
 * adapter takes its item from it for its first decision only (a lost write race reads again), and
 * reads the item itself when the reading does not hold it (another adapter's reading, a fake).
 */
export interface GateReading {
  readonly service: Service;
}

/** Reads a service's gate items together, in one request where the store allows it. */
export interface FlowGateReader {
  read(service: Service): Promise<GateReading>;
}

export interface RateGate {
  /**
   * Takes `scope.cost` tokens (default one) from the service's bucket for a call of `scope.priority`,
   * atomically across all workers: `low` only while the bucket holds its reserve beyond them,
   * `normal` a smaller one, `high` down to zero; refused while a pause covering the scope runs.
   * `reading`: the bucket as the gate's read found it (FlowGateReader).
   */
  acquire(scope: CallScope, now: number, reading?: GateReading): Promise<PermitDecision>;
  /** Feeds the answer back: 429s pause (scoped by reason) and lower the effective rate; successes raise it. */
  report(scope: CallScope, feedback: RateFeedback, now: number): Promise<void>;
}

/** The buckets as the health check reads them, apart from RateGate: it takes nothing. */
export interface RateViews {
  /** The bucket at `now` (read only: nothing is taken or stored). */
  view(service: Service, now: number): Promise<RateView>;
}

export type BreakerStateName = 'closed' | 'open' | 'half_open';

/** The answer to "may this call pass the breaker?". A probe must be reported (success or failure). */
export type BreakerDecision =
  { allowed: true; probe: boolean } | { allowed: false; waitMs: number; state: 'open' | 'half_open' };

/** How a call that passed the breaker ended, as far as the breaker cares. */
export type BreakerOutcome =
  /** The service answered (2xx, or NOT_FOUND / VALIDATION_ERROR / PERMISSION_DENIED: its own verdict). */
  | 'success'
  /** Upstream trouble: 5xx, timeout, connection failure. */
  | 'failure'
  /** A 429 or anything else that says nothing about the service's health: releases a probe lease only. */
  | 'neutral';

export interface BreakerView {
  service: Service;
  state: BreakerStateName;
  /** Retryable failures inside the current window. */
  failure_count: number;
  /** ISO 8601; null when never opened. */
  opened_at: string | null;
  /** ISO 8601: when an open breaker lets a probe through; null unless open. */
  next_attempt_at: string | null;
  /** ISO 8601 of the last failure counted; null when none. */
  last_failure_at: string | null;
}

export interface CircuitBreaker {
  /**
   * Closed: allowed. Open before the recovery timeout: refused. After it: exactly one probe across
   * all workers. `reading`: the breaker as the gate's read found it (FlowGateReader).
   */
  acquire(service: Service, now: number, reading?: GateReading): Promise<BreakerDecision>;
  report(service: Service, outcome: BreakerOutcome, probe: boolean, now: number): Promise<void>;
  view(service: Service, now: number): Promise<BreakerView>;
}

/** The write lock of one Jira issue or Confluence page (as the payload names it). */
export interface WriteLockKey {
  service: Service;
  objectId: string;
}

/**
 * The answer to "may I write to this object now?". Refused `locked`: another owner's lock runs until
 * `heldUntil`. Refused `window`: the object is free but its write window (object-write-window.ts) is
 * full for `waitMs` more.
 */
export type WriteLockDecision =
  | { acquired: true }
  | { acquired: false; reason: 'locked'; heldUntil: number }
  | { acquired: false; reason: 'window'; waitMs: number };

/**
 * Leases that serialize writes to one issue/page across all workers, and pace them: a write takes
 * the object's lock before its call and releases it after, whatever the outcome. A lock expires by
 * itself (a worker that crashed mid-call does not block the object past its lease). Where the
 * service has write windows (`services.<s>.objectWriteWindows`), taking the lock also counts the
 * write in the object's GCRA, kept with the lock, so a write the window cannot take now is refused
 * with its wait and takes nothing.
 */
export interface WriteLocks {
  /**
   * Takes the lock for `owner` until `expiresAt` (epoch ms): granted when nobody holds it, when the
   * holder's lock expired, or when `owner` holds it already (the same request again after its
   * earlier worker lost its lease), and the object's write window has room; refused while another
   * owner's lock runs, or while the window is full. Each grant counts one write in the window.
   */
  acquire(key: WriteLockKey, owner: string, now: number, expiresAt: number): Promise<WriteLockDecision>;
  /**
   * Releases the lock only while `owner` holds it: a lock taken over after expiry stays its new
   * owner's. The object's write window stays as the grant left it.
   */
  release(key: WriteLockKey, owner: string): Promise<void>;
}
