/**
 * The arithmetic of the shared rate limit (DESIGN invariants 5 and 6), pure so that the DynamoDB
 * gate (lambdas/adapters/dynamodb/dynamo-rate-gate.ts) and the in-memory one used by unit tests
 * (test/support/in-memory-rate-gate.ts) cannot differ: both only load a `BucketState`, run it through
 * these functions and store the result.
 *
 * One bucket per service holds:
 * - **tokens**, refilled at the *effective* rate and capped at the burst. A call of priority `p` takes
 *   one token only if at least `reserve(p) + 1` are there, so after it the reserve is still intact:
 *   `high` may take the last token, `normal` and `low` must leave a share of the burst
 *   (`services.<s>.reserves`, defaults 10 % and 30 %: with the default burst of 50, 5 tokens only
 *   `high` may use and 15 that `low` may not). A backlog of `low` thus never empties the bucket under
 *   a `high` call, and `normal` keeps a small cushion over `low`.
 * - **pauses** from Atlassian's 429s, scoped by `RateLimit-Reason`: the whole service
 *   (`pausedUntil`), one endpoint family (`pauses`), or writes to one issue/page (`objectPauses`).
 * - the **effective rate**, adapted AIMD-style (see `applyFeedback`), because Atlassian does not
 *   publish each site's limits: the configured rate is only the ceiling.
 * - a **line** per waiting priority (`normal`, `low`): when a worker's call is refused for want of
 *   tokens, it is given the next free slot of its priority's line (GCRA-style: slots one token
 *   interval apart, from when refill reaches its reserve) and comes back at that slot, not earlier;
 *   a call without a slot joins the line while it runs. So N waiting calls come back one token
 *   interval apart instead of all at once, and a backlog costs one refusal per request, not one per
 *   token interval per request (see `tryAcquire`).
 *
 * Timestamps are epoch milliseconds passed in by the caller, never read from a clock here.
 */
import type { Priority, RiqConfig, Service } from '../../../model/config/riq-config.js';
import type {
  CallScope,
  PermitDecision,
  RateFeedback,
  RateLineView,
  RatePauseView,
  RateView,
} from '../ports/flow-control.js';
import { isWrite, serviceOf, type OperationName } from '../../../model/operations.js';
import { scopeOfReason } from './rate-limit-signals.js';

/** The numbers the bucket of one service runs on, resolved from the config (absolute, per second). */
export interface RateSettings {
  /** The configured refill rate, tokens per second: the effective rate never exceeds it. */
  ratePerSecond: number;
  /** Bucket capacity. */
  burst: number;
  /** Tokens each priority must leave in the bucket (`high` 0). */
  reserves: Record<Priority, number>;
  /** Longest pause any single 429 may cause. */
  maxPauseMs: number;
  /** Floor of the effective rate, tokens per second. */
  minRatePerSecond: number;
  decreaseFactor: number;
  /** Fast climb, tokens/s gained per second of successful calls. */
  increasePerSecond: number;
  /** Slow climb near the rate at which the limit was last met, tokens/s per second. */
  probeIncreasePerSecond: number;
  /** Half-width of the slow zone around that rate, as a share of it. */
  probeBand: number;
  decreaseCooldownMs: number;
  confirmWindowMs: number;
  nearLimitFactor: number;
  nearLimitHoldMs: number;
  /** Calls per second each endpoint family may make (its bucket's size and refill), by family. */
  endpointBurst: Record<string, number>;
  /**
   * How far calls may reach Atlassian out of the time RIQ granted them (`rateControl.callJitterMs`):
   * `normal` and `low` keep that much refill in hand (see `callMargin`). @default 0
   */
  callJitterMs?: number;
}

/**
 * Resolves a service's settings from the config. A reserve is clamped to `burst - 1` so every
 * priority can still run when the burst is tiny (with a burst of 1 all priorities are equal).
 */
export function rateSettingsFor(config: RiqConfig, service: Service): RateSettings {
  const svc = config.services[service];
  const adaptive = config.rateControl.adaptive;
  const ratePerSecond = svc.ratePerMinute / 60;
  const reserve = (fraction: number) => Math.min(fraction * svc.burst, svc.burst - 1);
  return {
    ratePerSecond,
    burst: svc.burst,
    reserves: { high: 0, normal: reserve(svc.reserves.normal), low: reserve(svc.reserves.low) },
    maxPauseMs: config.rateControl.maxPauseSeconds * 1000,
    minRatePerSecond: ratePerSecond * adaptive.minRateFraction,
    decreaseFactor: adaptive.decreaseFactor,
    increasePerSecond: ratePerSecond * adaptive.increasePerSecond,
    probeIncreasePerSecond: ratePerSecond * adaptive.probeIncreasePerSecond,
    probeBand: adaptive.probeBand,
    decreaseCooldownMs: adaptive.decreaseCooldownMs,
    confirmWindowMs: adaptive.confirmWindowSeconds * 1000,
    nearLimitFactor: adaptive.nearLimitFactor,
    nearLimitHoldMs: adaptive.nearLimitHoldSeconds * 1000,
    endpointBurst: Object.fromEntries(
      Object.values(CALL_ROUTES).map((route) => [route.endpoint, svc.endpointBurstPerSecond[route.method]]),
    ),
    callJitterMs: config.rateControl.callJitterMs,
  };
}

/** One service's shared bucket, as stored. */
export interface BucketState {
  /** Tokens as of `updatedAt` (fractional: refill is continuous). */
  tokens: number;
  updatedAt: number;
  /** The rate the bucket refills at now; between the floor and the configured rate. */
  effectiveRatePerSecond: number;
  /** The whole service is paused until then (0: not paused). */
  pausedUntil: number;
  /** Endpoint family → paused until (`jira-burst-based`). */
  pauses: Record<string, number>;
  /** Issue / page → writes paused until (`jira-per-issue-on-write`). */
  objectPauses: Record<string, number>;
  /** Until then the rate does not climb: `X-RateLimit-NearLimit` was reported. */
  slowUntil?: number;
  /** The effective rate at which Atlassian last said "too fast" (429 or near limit): climb slowly near it. */
  limitRatePerSecond?: number;
  /** When the rate was last cut: 429s of calls in flight together cut it once. */
  lastDecreaseAt?: number;
  /** When the last 429 signal began (429s within the cooldown of it are the same signal). */
  lastLimitedAt?: number;
  /**
   * Tokens `normal` and `low` leave in the bucket on top of their reserve, raised by one at each
   * lone 429 at the configured rate and running down by one per `MARGIN_DECAY_MS` (see
   * `applyFeedback`).
   */
  margin?: number;
  /** Priority → when the next free slot of its line starts (absent or past: nobody waits in line). */
  lines?: Partial<Record<LinedPriority, number>>;
  /**
   * Endpoint family → its burst bucket (Atlassian's per-endpoint limit), as of `at`; a family whose
   * bucket has refilled to full is left out.
   */
  endpoints?: Record<string, EndpointBucket>;
}

/**
 * One endpoint family's burst bucket: `tokens` as of `at`, refilled at its method's limit per second,
 * or at `rate` after a burst 429 (then the service's rate from the pause's end, as the service's
 * own bucket would be after a service-wide one).
 */
export interface EndpointBucket {
  tokens: number;
  at: number;
  rate?: number;
  /** When the next free slot of the endpoint's own line starts (calls held back by it alone). */
  next?: number;
}

/** The priorities that wait in line; `high` never does (it keeps its reserve and goes first). */
export type LinedPriority = Exclude<Priority, 'high'>;

/** A bucket nobody has used yet: full, at the configured rate. */
export function fullBucket(settings: RateSettings, now: number): BucketState {
  return {
    tokens: settings.burst,
    updatedAt: now,
    effectiveRatePerSecond: settings.ratePerSecond,
    pausedUntil: 0,
    pauses: {},
    objectPauses: {},
  };
}

/**
 * Brings a stored bucket to `now`: refills at the effective rate (capped at the burst), drops ended
 * pauses and holds, and clamps to the settings (a deploy may have lowered the rate or the burst).
 * A clock behind `updatedAt` (another worker's clock ran ahead) refills nothing and never moves
 * `updatedAt` back, so skew between workers can never mint tokens.
 */
export function advance(state: BucketState, settings: RateSettings, now: number): BucketState {
  const rate = clamp(state.effectiveRatePerSecond, settings.minRatePerSecond, settings.ratePerSecond);
  const elapsedMs = Math.max(0, now - state.updatedAt);
  const next: BucketState = {
    tokens: Math.min(settings.burst, Math.max(0, state.tokens) + (elapsedMs / 1000) * rate),
    updatedAt: Math.max(state.updatedAt, now),
    effectiveRatePerSecond: rate,
    pausedUntil: state.pausedUntil > now ? state.pausedUntil : 0,
    pauses: liveEntries(state.pauses, now),
    objectPauses: liveEntries(state.objectPauses, now),
  };
  if (state.slowUntil !== undefined && state.slowUntil > now) next.slowUntil = state.slowUntil;
  if (state.limitRatePerSecond !== undefined) next.limitRatePerSecond = state.limitRatePerSecond;
  if (state.lastDecreaseAt !== undefined) next.lastDecreaseAt = state.lastDecreaseAt;
  if (state.lastLimitedAt !== undefined && now - state.lastLimitedAt < settings.confirmWindowMs) {
    next.lastLimitedAt = state.lastLimitedAt;
  }
  const margin = Math.min(maxMargin(settings), (state.margin ?? 0) - elapsedMs / MARGIN_DECAY_MS);
  if (margin > 0) next.margin = margin;
  // A family's bucket that has refilled to full says nothing more: left out.
  const endpoints = Object.entries(state.endpoints ?? {}).filter(([family, e]) => {
    const limit = settings.endpointBurst[family];
    return limit !== undefined && (endpointTokens(e, limit, now) < limit || (e.next ?? 0) > now);
  });
  if (endpoints.length > 0) next.endpoints = Object.fromEntries(endpoints);
  const lines = liveEntries(state.lines ?? {}, now);
  if (Object.keys(lines).length > 0) next.lines = lines;
  return next;
}

/**
 * How early a call may come back before its slot and still count as its holder: SQS delays are
 * whole seconds and workers' clocks differ by a few milliseconds.
 */
export const SLOT_EARLY_MS = 50;

/**
 * How late a call may come back after its slot: SQS delays are whole seconds (rounded up) and a
 * worker polls. The tokens refilled for that long are the late calls'; only beyond them may a call
 * without a slot take one while the line runs, so a slot nobody comes back to (its request ended
 * another way) does not leave its token unused for good.
 */
export const SLOT_LATE_MS = 1_000;

/**
 * The whole seconds to delay a message so that it comes back at most `earlyMs` before its slot
 * (never after it, but for the time a worker takes to poll): the worker waits the rest in its
 * invocation (`rateControl.slotWaitMs`), where a delay rounded up would bring it back up to a second
 * late, its tokens idle meanwhile. `earlyMs` 0: the first whole second at or after the slot.
 */
export function slotDelaySeconds(slotAt: number, now: number, earlyMs: number): number {
  return Math.max(0, Math.ceil((slotAt - now - Math.max(0, earlyMs)) / 1000));
}

/** The margin runs down by one token per this much time without a lone 429. */
export const MARGIN_DECAY_MS = 60_000;

/** The margin never exceeds this share of the burst (nor leaves `normal` less than one token). */
export const MAX_MARGIN_SHARE = 0.3;

/**
 * The tokens `normal` and `low` leave in hand beyond their reserve: the margin raised by lone 429s,
 * and at least the refill of `callJitterMs` at the effective rate, since Atlassian counts a call
 * when it arrives and calls granted apart can arrive together. Never more than `maxMargin`.
 */
export function callMargin(state: BucketState, settings: RateSettings): number {
  const jitter = (state.effectiveRatePerSecond * (settings.callJitterMs ?? 0)) / 1000;
  return Math.min(maxMargin(settings), Math.max(state.margin ?? 0, jitter));
}

function maxMargin(settings: RateSettings): number {
  return Math.max(
    0,
    Math.min(MAX_MARGIN_SHARE * settings.burst, settings.burst - 1 - settings.reserves.normal),
  );
}

/** Floating-point slack so that 0.9999999999 refilled tokens count as one. */
const EPSILON = 1e-9;

/**
 * Takes the call's tokens (`scope.cost`, default 1, at most the burst so that any call can run) for
 * `scope` if no pause covers it, enough tokens are above the priority's reserve (and margin), and
 * its endpoint family's own burst bucket holds them too.
 *
 * Refused, `high` (or a caller that will not wait, `lineUp: false`) gets a plain `waitMs`: until the
 * covering pause ends, or until refill brings the buckets to what it needs (an estimate: other
 * workers may take tokens meanwhile). `normal` and `low` get a **slot** (`slotAt`, and `waitMs` until
 * it), which the caller hands back (`scope.slotAt`) when it asks again:
 * - held back by the service (its tokens, or a service-wide pause): the later of its priority's
 *   line's next free slot and the time the buckets are ready (from the pause's end), and the line
 *   moves on by `cost` token intervals;
 * - held back by its endpoint alone (that endpoint's pause, or its own bucket after a burst 429): a
 *   slot in that endpoint's own line, so calls to other endpoints are not queued behind it;
 * - held back by a pause of one issue's writes: a plain wait (short and narrow).
 *
 * While a line runs (its next free slot is still ahead), a call that holds no slot due now joins it
 * even when tokens are there: they are the line's, refilled for the calls coming back at their slots
 * up to `SLOT_LATE_MS` late, and only tokens beyond those may be taken. A holder (`scope.slotAt` due
 * within `SLOT_EARLY_MS`) takes its tokens as any call does; should it find none (a `high` call took
 * them, or the rate was cut), it is given a new slot. `low` also lines up behind `normal`'s line, so
 * a `normal` backlog goes first.
 */
export function tryAcquire(
  state: BucketState,
  scope: CallScope,
  settings: RateSettings,
  now: number,
): { state: BucketState; decision: PermitDecision } {
  const current = advance(state, settings, now);
  const cost = callCost(scope, settings);
  const margin = scope.priority === 'high' ? 0 : callMargin(current, settings);
  const needed = settings.reserves[scope.priority] + margin + cost;
  const lined = linedPriority(scope.priority);
  const limit = settings.endpointBurst[scope.endpoint];
  const own = current.endpoints?.[scope.endpoint];
  const holdsSlot = scope.slotAt !== undefined && scope.slotAt <= now + SLOT_EARLY_MS;
  const pausedUntil = pauseCovering(current, scope, now);
  // high waits in no line: it takes the endpoint's tokens ahead of its line as it takes the service's.
  const endpointLineRuns = lined !== undefined && (own?.next ?? 0) > now && !holdsSlot;
  if (pausedUntil === undefined && !endpointLineRuns) {
    const lineRuns = lined !== undefined && lineStart(current, lined, now) > now;
    const owedToLine = lineRuns && !holdsSlot ? (current.effectiveRatePerSecond * SLOT_LATE_MS) / 1000 : 0;
    const endpointLeft = own === undefined ? limit : endpointTokens(own, limit, now);
    const endpointOk = endpointLeft === undefined || endpointLeft + EPSILON >= cost;
    if (current.tokens + EPSILON >= needed + owedToLine && endpointOk) {
      const taken: BucketState = { ...current, tokens: Math.max(0, current.tokens - cost) };
      if (endpointLeft !== undefined) {
        taken.endpoints = {
          ...current.endpoints,
          [scope.endpoint]: { ...own, tokens: endpointLeft - cost, at: now },
        };
      }
      return { state: taken, decision: { granted: true } };
    }
  }
  const reason = pausedUntil === undefined ? 'no_token' : 'paused';
  const waitOnly = (): { state: BucketState; decision: PermitDecision } => {
    const waitMs =
      pausedUntil !== undefined
        ? pausedUntil - now
        : Math.max(1, Math.ceil(readyAt(current, scope, settings, now, cost, needed) - now));
    return { state: current, decision: { granted: false, reason, waitMs } };
  };
  if (lined === undefined || scope.lineUp === false) return waitOnly();
  const objectPause =
    scope.write && scope.objectId !== undefined ? (current.objectPauses[scope.objectId] ?? 0) : 0;
  // A pause of one issue's writes is short and narrow: a plain wait, no line.
  if (pausedUntil !== undefined && objectPause >= pausedUntil) return waitOnly();
  const from = pausedUntil ?? now;
  const ready = readyAt(current, scope, settings, from, cost, needed);
  // Which lines the call joins: the service's when the service holds it back (a service-wide pause,
  // too few tokens, or its line running), the endpoint's when the endpoint does (its pause, its own
  // bucket, or its line running). A call both hold back takes one slot in both, so a holder of
  // either finds both buckets ready at its slot rather than being sent to the end of the other line.
  const serviceLine = lineStart(current, lined, now);
  const serviceHolds = current.pausedUntil > now || current.tokens + EPSILON < needed || serviceLine > now;
  const endpointHolds =
    own !== undefined &&
    limit !== undefined &&
    ((own.next ?? 0) > now ||
      (current.pauses[scope.endpoint] ?? 0) > now ||
      endpointTokens(own, limit, from) + EPSILON < cost);
  const joinsService = serviceHolds || !endpointHolds;
  const slotAt = Math.ceil(
    Math.max(ready, joinsService ? serviceLine : now, endpointHolds ? (own.next ?? 0) : 0),
  );
  const next: BucketState = { ...current };
  if (joinsService) {
    next.lines = { ...current.lines, [lined]: slotAt + (cost / current.effectiveRatePerSecond) * 1000 };
  }
  if (endpointHolds) {
    next.endpoints = {
      ...current.endpoints,
      [scope.endpoint]: { ...own, next: slotAt + (cost / (own.rate ?? limit)) * 1000 },
    };
  }
  return { state: next, decision: { granted: false, reason, waitMs: Math.max(1, slotAt - now), slotAt } };
}

/**
 * When a call of `scope` could take its tokens, looking from `from` (now, or the end of the pause
 * covering it): when the service's bucket has refilled to `needed` and the endpoint's own to `cost`.
 */
function readyAt(
  current: BucketState,
  scope: CallScope,
  settings: RateSettings,
  from: number,
  cost: number,
  needed: number,
): number {
  const then = from > current.updatedAt ? advance(current, settings, from) : current;
  const rate = then.effectiveRatePerSecond;
  const serviceAt = from + Math.max(0, ((needed - then.tokens) / rate) * 1000);
  const limit = settings.endpointBurst[scope.endpoint];
  const own = then.endpoints?.[scope.endpoint];
  if (limit === undefined || own === undefined) return serviceAt;
  const left = endpointTokens(own, limit, from);
  const endpointAt =
    left + EPSILON >= cost
      ? from
      : Math.max(from, own.at) + ((cost - Math.max(0, left)) / (own.rate ?? limit)) * 1000;
  return Math.max(serviceAt, endpointAt);
}

/** An endpoint bucket's tokens at `now`: refilled at its `rate` or `limit` per second, capped at `limit`. */
function endpointTokens(bucket: EndpointBucket, limit: number, now: number): number;
function endpointTokens(bucket: EndpointBucket, limit: number | undefined, now: number): number | undefined;
function endpointTokens(bucket: EndpointBucket, limit: number | undefined, now: number): number | undefined {
  if (limit === undefined) return undefined;
  return Math.min(limit, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * (bucket.rate ?? limit));
}

function linedPriority(priority: Priority): LinedPriority | undefined {
  return priority === 'high' ? undefined : priority;
}

/** When the next free slot of `priority`'s line is: `low` waits behind `normal`'s line too. */
function lineStart(state: BucketState, priority: LinedPriority, now: number): number {
  const own = state.lines?.[priority] ?? 0;
  const ahead = priority === 'low' ? (state.lines?.normal ?? 0) : 0;
  return Math.max(now, own, ahead);
}

/**
 * The bucket at `now`, as the health view shows it: advanced (refilled, ended pauses dropped), the
 * pauses longest first, and each line's next free slot as a call refused now would meet it (`low`
 * behind `normal`'s line too). Reads only.
 */
export function rateViewOf(
  service: Service,
  state: BucketState,
  settings: RateSettings,
  now: number,
): RateView {
  const current = advance(state, settings, now);
  const iso = (at: number) => new Date(at).toISOString();
  const pauses: Array<RatePauseView & { at: number }> = [];
  if (current.pausedUntil > now) {
    pauses.push({ scope: 'service', target: null, until: iso(current.pausedUntil), at: current.pausedUntil });
  }
  for (const [target, until] of Object.entries(current.pauses)) {
    pauses.push({ scope: 'endpoint', target, until: iso(until), at: until });
  }
  for (const [target, until] of Object.entries(current.objectPauses)) {
    pauses.push({ scope: 'object', target, until: iso(until), at: until });
  }
  const line = (priority: LinedPriority): RateLineView => {
    const start = lineStart(current, priority, now);
    return start > now
      ? { next_slot_at: iso(start), ahead_ms: start - now }
      : { next_slot_at: null, ahead_ms: 0 };
  };
  return {
    service,
    tokens: current.tokens,
    burst: settings.burst,
    effective_rate_per_second: current.effectiveRatePerSecond,
    configured_rate_per_second: settings.ratePerSecond,
    pauses: pauses.sort((a, b) => b.at - a.at).map(({ at: _at, ...view }) => view),
    slow_until: current.slowUntil !== undefined ? iso(current.slowUntil) : null,
    margin_tokens: callMargin(current, settings),
    lines: { normal: line('normal'), low: line('low') },
  };
}

/** Tokens a call of `scope` takes: its cost, a positive integer, capped at the burst. */
export function callCost(scope: CallScope, settings: RateSettings): number {
  const cost = scope.cost ?? 1;
  if (!Number.isFinite(cost) || cost < 1) return 1;
  return Math.min(Math.ceil(cost), Math.max(1, settings.burst));
}

/** The end of the latest pause covering `scope` at `now`, or undefined when none does. */
export function pauseCovering(state: BucketState, scope: CallScope, now: number): number | undefined {
  const covering = [state.pausedUntil, state.pauses[scope.endpoint] ?? 0];
  if (scope.write && scope.objectId !== undefined) covering.push(state.objectPauses[scope.objectId] ?? 0);
  const until = Math.max(...covering);
  return until > now ? until : undefined;
}

/** How far a 429 reaches, from `RateLimit-Reason`. */
export type PauseScope = 'service' | 'endpoint' | 'object';

/**
 * From the reason's scope (rate-limit-signals.ts `scopeOfReason`): a burst limit pauses that endpoint
 * family; a per-issue limit, writes to that issue (the endpoint family when the call named no
 * object, e.g. a create); a quota (`jira-quota-*`, `confluence-quota-*`) and any other or missing
 * reason, the whole service (the safe choice for a reason RIQ does not know).
 */
export function pauseScopeOf(reason: string | undefined, scope: CallScope): PauseScope {
  switch (scopeOfReason(reason)) {
    case 'burst':
      return 'endpoint';
    case 'per_issue':
      return scope.objectId !== undefined ? 'object' : 'endpoint';
    case 'quota':
    case 'unknown':
      return 'service';
  }
}

/**
 * Feeds back what Atlassian answered.
 *
 * **429** (`rate_limited`):
 * - Pause, scoped by `pauseScopeOf`, until `Retry-After` (for a quota reason until the later of
 *   `Retry-After` and `X-RateLimit-Reset`), capped at `maxPauseMs`; a running pause is never
 *   shortened. Without `Retry-After` (and, for quotas, without a reset time) there is no pause: the
 *   caller falls back to its own backoff for that request.
 * - Unless it was a per-issue limit (which says nothing about the service's rate; writes to one issue
 *   are serialized anyway), the bucket is emptied, since Atlassian just said it holds no tokens for
 *   us, and refills only from the end of the pause (every endpoint family shares it), and the
 *   effective rate is multiplied by `decreaseFactor`, down to the floor, remembering the
 *   rate it was cut from as the limit met. Only one cut per `decreaseCooldownMs`: the calls that
 *   were in flight together when the limit was hit all come back 429, and that is one signal, not six.
 * - At the configured rate a signal cuts only when another came within `confirmWindowMs`: calls
 *   that left RIQ one token interval apart can reach Atlassian closer together (a slower database
 *   write before one of them), and one such 429 at a correctly configured limit said nothing about
 *   the limit, while the cut and the slow climb back cost far more than the 429 (a drain at the
 *   limit took 1.5× the ideal). A limit that really is lower answers 429 again within seconds of
 *   the refill, so finding it costs one 429 more. Below the configured rate every signal cuts.
 *   A lone signal instead raises the **margin**: `normal` and `low` leave one more token in the
 *   bucket (at most 30 % of the burst), so calls may arrive bunched by one more token interval
 *   before Atlassian's bucket runs dry; it runs down by a token a minute.
 *
 * **ok**: the rate climbs additively back toward the configured rate, by `increasePerSecond` per
 * second of successful calls at the current rate (each success adds `increasePerSecond / rate`,
 * never more than doubling the rate). Counting per success, not per second of wall time, means an
 * idle service does not "climb" without proof that the higher rate works, and concurrent workers'
 * reports add up to the right slope. Near the rate where the limit was last met (within
 * `probeBand`) the climb is `probeIncreasePerSecond` only; once the rate is past that zone without
 * a new 429 the remembered limit is stale and is dropped.
 *
 * Why these defaults (config `rateControl.adaptive`): a cut of 0.7 reaches a limit at half the
 * configured rate in two 429s (1 → 0.7 → 0.49) and, once found, the sawtooth between 0.7·L and L
 * averages ~0.85·L where a halving would average 0.75·L. A fast climb of 5 % of the configured rate
 * per second recovers from the floor in ~20 s of traffic; the slow probe of 0.5 %/s near the known
 * limit keeps 429s rare instead of hitting the limit every few seconds. The probe band of 30 %
 * matches the cut: right after a cut the rate is at 0.7·L, the band's lower edge, so the way back to
 * the limit is always the slow probe, never a fast overshoot (with a 10 % band the fast climb ran up
 * to 0.9·L and past a lower true limit, one 429 every ~25 s in `npm run bench -- unknown-limit`;
 * with 30 %, one every ~50 s).
 *
 * **ok with nearLimit** (`X-RateLimit-NearLimit: true`): the rate stops climbing for
 * `nearLimitHoldMs` after the last such answer, the current rate becomes the limit met (so the climb
 * after the hold is the slow probe), and the rate is multiplied once per hold by `nearLimitFactor`.
 * That factor defaults to 1: when RIQ's bucket mirrors Atlassian's (a known limit), a draining queue
 * runs near the limit on purpose and gets the header on most answers; cutting the rate there would
 * cost throughput for nothing. But when the header comes while RIQ's own bucket still holds more
 * than Atlassian's 20 % (plus one token), the two disagree: the site's limit is lower than
 * configured. The bucket then drops to 20 % of the burst and the rate is cut as by a 429 (once per
 * cooldown), so the limit is found before the 429s, not by them.
 */
export function applyFeedback(
  state: BucketState,
  scope: CallScope,
  feedback: RateFeedback,
  settings: RateSettings,
  now: number,
): BucketState {
  const current = advance(state, settings, now);
  return feedback.kind === 'ok'
    ? afterSuccess(current, feedback.nearLimit === true, settings, now, feedback.grantedAt)
    : afterRateLimited(current, scope, feedback, settings, now);
}

/**
 * Atlassian sends `X-RateLimit-NearLimit: true` when under 20 % of a budget remains
 * (../shared/atlassian/README.md): the share of RIQ's own bucket that should be left when the two
 * agree.
 */
export const NEAR_LIMIT_SHARE = 0.2;

function afterSuccess(
  state: BucketState,
  nearLimit: boolean,
  s: RateSettings,
  now: number,
  grantedAt?: number,
): BucketState {
  const rate = state.effectiveRatePerSecond;
  const ownFloor = NEAR_LIMIT_SHARE * s.burst;
  // Atlassian's header speaks of its bucket when the call arrived; RIQ's has refilled since (the
  // answer, then the database writes before this report): compare the two at the call's time.
  const sinceCallMs = grantedAt === undefined ? 0 : Math.max(0, now - grantedAt);
  const tokensAtCall = state.tokens - (sinceCallMs / 1000) * rate;
  // The margin is bunching seen or allowed for: Atlassian's bucket may be that much below RIQ's.
  if (nearLimit && tokensAtCall > ownFloor + 1 + callMargin(state, s)) {
    // Atlassian is nearly out while RIQ's bucket still holds plenty: RIQ's picture of the limit may
    // be too generous (the site's limit lower than configured). Drop to what Atlassian has left and
    // weigh it as a 429 is weighed: at the configured rate a lone one only raises the margin (calls
    // that left RIQ a token interval apart can reach Atlassian bunched), a second within
    // `confirmWindowMs` cuts the rate, before the 429s come.
    const signal = weighLimitSignal(state, s, now);
    const cooling = state.lastDecreaseAt !== undefined && now - state.lastDecreaseAt < s.decreaseCooldownMs;
    return {
      ...state,
      ...signal.fields,
      tokens: ownFloor,
      slowUntil: now + s.nearLimitHoldMs,
      ...(cooling || !signal.confirmed
        ? {}
        : {
            effectiveRatePerSecond: Math.max(s.minRatePerSecond, rate * s.decreaseFactor),
            limitRatePerSecond: rate,
            lastDecreaseAt: now,
          }),
    };
  }
  if (nearLimit) {
    const holding = state.slowUntil !== undefined && state.slowUntil > now;
    return {
      ...state,
      effectiveRatePerSecond: holding ? rate : Math.max(s.minRatePerSecond, rate * s.nearLimitFactor),
      slowUntil: now + s.nearLimitHoldMs,
      limitRatePerSecond: holding ? (state.limitRatePerSecond ?? rate) : rate,
    };
  }
  if (state.slowUntil !== undefined || rate >= s.ratePerSecond) return state;
  const limit = state.limitRatePerSecond;
  const probing = limit !== undefined && rate >= limit * (1 - s.probeBand);
  const slope = probing ? s.probeIncreasePerSecond : s.increasePerSecond;
  const raised = Math.min(s.ratePerSecond, rate + Math.min(slope / rate, rate));
  const next: BucketState = { ...state, effectiveRatePerSecond: raised };
  if (limit !== undefined && raised > limit * (1 + s.probeBand)) delete next.limitRatePerSecond;
  return next;
}

function afterRateLimited(
  state: BucketState,
  scope: CallScope,
  feedback: Extract<RateFeedback, { kind: 'rate_limited' }>,
  s: RateSettings,
  now: number,
): BucketState {
  const reach = pauseScopeOf(feedback.reason, scope);
  const retryAfterMs = validRetryAfterMs(feedback.retryAfterSeconds, s.maxPauseMs);
  const next: BucketState = {
    ...state,
    pauses: { ...state.pauses },
    objectPauses: { ...state.objectPauses },
  };
  const pauseUntil = retryAfterMs === undefined ? undefined : now + retryAfterMs;

  if (reach === 'endpoint' && pauseUntil !== undefined) {
    next.pauses[scope.endpoint] = Math.max(next.pauses[scope.endpoint] ?? 0, pauseUntil);
  } else if (reach === 'object' && pauseUntil !== undefined && scope.objectId !== undefined) {
    next.objectPauses[scope.objectId] = Math.max(next.objectPauses[scope.objectId] ?? 0, pauseUntil);
  } else if (reach === 'service') {
    const until = isQuotaReason(feedback.reason)
      ? latest(pauseUntil, quotaResetUntil(feedback.resetAt, s.maxPauseMs, now))
      : pauseUntil;
    if (until !== undefined) next.pausedUntil = Math.max(next.pausedUntil, until);
  }

  if (reach === 'object') return next;
  const cooling = state.lastDecreaseAt !== undefined && now - state.lastDecreaseAt < s.decreaseCooldownMs;
  const { confirmed, fields } = weighLimitSignal(state, s, now);
  Object.assign(next, fields);
  if (!cooling && confirmed) {
    next.limitRatePerSecond = state.effectiveRatePerSecond;
    next.effectiveRatePerSecond = Math.max(
      s.minRatePerSecond,
      state.effectiveRatePerSecond * s.decreaseFactor,
    );
    next.lastDecreaseAt = now;
  }
  // Atlassian holds no tokens for us, and by Retry-After it will hold one: the bucket the limit
  // belongs to is empty until the pause ends and refills from then, so the end of a pause is not a
  // burst of the tokens a running refill would have gathered meanwhile. For a service-wide limit
  // that is the service's bucket; for one endpoint's, only that endpoint's, refilling at the
  // service's (now lowered) rate: the other endpoints keep their tokens and go on.
  if (reach === 'service') {
    next.tokens = 0;
    if (next.pausedUntil > next.updatedAt) next.updatedAt = next.pausedUntil;
  } else {
    const from = Math.max(now, next.pauses[scope.endpoint] ?? 0);
    next.endpoints = {
      ...next.endpoints,
      [scope.endpoint]: { tokens: 0, at: from, rate: next.effectiveRatePerSecond },
    };
  }
  return next;
}

/**
 * Weighs a sign that the limit was met (a 429, or NearLimit while RIQ's bucket held plenty).
 * `confirmed`: it may cut the rate, being below the configured rate already or the second sign
 * within `confirmWindowMs` (signs within `decreaseCooldownMs` of each other are one: the calls in
 * flight together all answer alike). A lone sign at the configured rate is not proof of a lower
 * limit; it says the calls reached Atlassian closer together than RIQ let them go, so `normal` and
 * `low` keep one token more in hand from now on (the margin), which costs a token of burst, not
 * throughput. `fields`: what the state keeps of the sign.
 */
function weighLimitSignal(
  state: BucketState,
  s: RateSettings,
  now: number,
): { confirmed: boolean; fields: Pick<BucketState, 'lastLimitedAt' | 'margin'> } {
  const sinceLast = state.lastLimitedAt === undefined ? undefined : now - state.lastLimitedAt;
  const sameSignal = sinceLast !== undefined && sinceLast < s.decreaseCooldownMs;
  const confirmed =
    state.effectiveRatePerSecond < s.ratePerSecond ||
    s.confirmWindowMs === 0 ||
    (sinceLast !== undefined && !sameSignal && sinceLast < s.confirmWindowMs);
  const fields: Pick<BucketState, 'lastLimitedAt' | 'margin'> = {};
  if (!sameSignal) fields.lastLimitedAt = now;
  if (!confirmed && !sameSignal) {
    const margin = Math.min(maxMargin(s), (state.margin ?? 0) + 1);
    if (margin > 0) fields.margin = margin;
  }
  return { confirmed, fields };
}

function isQuotaReason(reason: string | undefined): boolean {
  return scopeOfReason(reason) === 'quota';
}

/** `Retry-After` in ms, capped; absent, negative or not a number: undefined (no pause from it). */
function validRetryAfterMs(seconds: number | undefined, maxPauseMs: number): number | undefined {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return Math.min(seconds * 1000, maxPauseMs);
}

/** `X-RateLimit-Reset` as a pause end, capped at `now + maxPauseMs`; in the past or absent: undefined. */
function quotaResetUntil(resetAt: number | undefined, maxPauseMs: number, now: number): number | undefined {
  if (resetAt === undefined || !Number.isFinite(resetAt) || resetAt <= now) return undefined;
  return Math.min(resetAt, now + maxPauseMs);
}

function latest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/**
 * True when two buckets (both advanced to the same `now`) hold the same state, so a gate can skip
 * the write when feedback changed nothing: a success at the configured rate, the common case.
 */
export function sameBucket(a: BucketState, b: BucketState): boolean {
  return (
    a.tokens === b.tokens &&
    a.updatedAt === b.updatedAt &&
    a.effectiveRatePerSecond === b.effectiveRatePerSecond &&
    a.pausedUntil === b.pausedUntil &&
    a.slowUntil === b.slowUntil &&
    a.limitRatePerSecond === b.limitRatePerSecond &&
    a.lastDecreaseAt === b.lastDecreaseAt &&
    a.lastLimitedAt === b.lastLimitedAt &&
    a.margin === b.margin &&
    sameEndpoints(a.endpoints ?? {}, b.endpoints ?? {}) &&
    sameEntries(a.pauses, b.pauses) &&
    sameEntries(a.objectPauses, b.objectPauses) &&
    sameEntries(a.lines ?? {}, b.lines ?? {})
  );
}

function sameEndpoints(a: Record<string, EndpointBucket>, b: Record<string, EndpointBucket>): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every(
      (k) =>
        a[k]?.tokens === b[k]?.tokens &&
        a[k]?.at === b[k]?.at &&
        a[k]?.rate === b[k]?.rate &&
        a[k]?.next === b[k]?.next,
    )
  );
}

function sameEntries(a: Partial<Record<string, number>>, b: Partial<Record<string, number>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function liveEntries<T extends Partial<Record<string, number>>>(entries: T, now: number): T {
  return Object.fromEntries(
    Object.entries(entries).filter(([, until]) => typeof until === 'number' && until > now),
  ) as T;
}

function clamp(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return max;
  return Math.min(max, Math.max(min, value));
}

/**
 * The endpoint family each operation calls (what a `jira-burst-based` 429 slows), the payload
 * field naming the existing issue/page it writes to (what a `jira-per-issue-on-write` 429 pauses)
 * and, when it is more than one, the requests it makes (its tokens).
 * Families follow Jira's burst limits, which differ by method (GET/POST 100/s, PUT/DELETE 50/s).
 */
const CALL_ROUTES = {
  'jira.get_task': { endpoint: 'jira:issue:get', method: 'GET' },
  'jira.create_task': { endpoint: 'jira:issue:create', method: 'POST' },
  'jira.update_task': { endpoint: 'jira:issue:update', method: 'PUT', objectField: 'task_id' },
  // GET the status, GET its transitions, POST the transition (jira-adapter transitionTask).
  'jira.transition_task': {
    endpoint: 'jira:issue:transition',
    method: 'POST',
    objectField: 'task_id',
    cost: 3,
  },
  'jira.add_comment': { endpoint: 'jira:issue:comment', method: 'POST', objectField: 'task_id' },
  'jira.search_tasks': { endpoint: 'jira:search', method: 'POST' },
  'confluence.get_page': { endpoint: 'confluence:page:get', method: 'GET' },
  'confluence.create_page': { endpoint: 'confluence:page:create', method: 'POST' },
  'confluence.update_page': { endpoint: 'confluence:page:update', method: 'PUT', objectField: 'page_id' },
  'confluence.search_pages': { endpoint: 'confluence:search', method: 'GET' },
} as const satisfies Record<OperationName, CallRoute>;

interface CallRoute {
  endpoint: string;
  /** The method of its main call, whose burst limit its endpoint bucket takes. */
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  objectField?: 'task_id' | 'page_id';
  cost?: number;
}

/** What a call of `operation` touches, for acquiring a token and scoping a 429. */
export function callScopeOf(operation: OperationName, payload: unknown, priority: Priority): CallScope {
  const route: CallRoute = CALL_ROUTES[operation];
  const scope: CallScope = {
    service: serviceOf(operation),
    priority,
    endpoint: route.endpoint,
    write: isWrite(operation),
  };
  if (route.cost !== undefined) scope.cost = route.cost;
  if (route.objectField !== undefined && typeof payload === 'object' && payload !== null) {
    const id: unknown = (payload as Record<string, unknown>)[route.objectField];
    if (typeof id === 'string' && id !== '') scope.objectId = id;
  }
  return scope;
}
