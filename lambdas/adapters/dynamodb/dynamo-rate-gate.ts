/**
 * RateGate on DynamoDB: one item per service (`pk = RATE#<service>`) in the requests table, shared
 * by every worker and the DIRECT path (DESIGN invariant 5). The arithmetic is
 * lambdas/core/domain/token-bucket.ts; this class only loads the bucket, runs it through that, and stores
 * it back with optimistic concurrency (versioned-item.ts): each write is conditional on the
 * `version` it read, so two workers that computed from the same state cannot both win, and the
 * loser recomputes from the winner's state. That is what makes "never more than burst +
 * rate·elapsed tokens" hold across processes.
 *
 * The item carries no `listed_status` attribute, so it never appears in the by-status index that
 * lists requests, and no TTL attribute: the bucket lives as long as the table.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { SERVICES, type RiqConfig, type Service } from '../../../model/config/riq-config.js';
import type {
  CallScope,
  GateReading,
  PermitDecision,
  RateFeedback,
  RateGate,
  RateView,
  RateViews,
} from '../../core/ports/flow-control.js';
import {
  advance,
  applyFeedback,
  fullBucket,
  rateSettingsFor,
  rateViewOf,
  sameBucket,
  tryAcquire,
  type BucketState,
  type EndpointBucket,
  type RateSettings,
} from '../../core/domain/token-bucket.js';
import { itemFromReading } from './gate-reading.js';
import { VersionedItems, type RaceRetry } from './versioned-item.js';

const PK = REQUESTS_TABLE.partitionKey;

/** The key of a service's bucket item. */
export function rateBucketKey(service: Service): Record<string, string> {
  return { [PK]: `RATE#${service}` };
}

export interface DynamoRateGateOptions {
  /** Conditional writes tried before giving up on one acquire. @default 12 */
  maxAttempts?: number;
  /**
   * Conditional writes tried before giving up on one report of a 429. More than an acquire gets: a
   * lost 429 is a pause nobody keeps, and more 429s follow; an acquire that gives up only defers.
   * @default 40
   */
  maxRateLimitedReportAttempts?: number;
  /** Pause before retrying a lost race: up to `jitterMs × attempt`, random. @default 15 */
  jitterMs?: number;
}

/** Thrown by `report` when contention outlasted every retry: the caller's own backoff still applies. */
export class RateGateContentionError extends Error {
  override readonly name = 'RateGateContentionError';
  constructor(service: Service, attempts: number) {
    super(`rate bucket of ${service} still contended after ${attempts} conditional writes`);
  }
}

/**
 * A long run of lost races stays short: the pause grows with the attempt up to 10 × jitterMs (a
 * 429's report may try 40 times).
 */
const MAX_BACKOFF_STEPS = 10;

export class DynamoRateGate implements RateGate, RateViews {
  private readonly settings: Record<Service, RateSettings>;
  private readonly buckets: VersionedItems<BucketState>;
  private readonly retry: RaceRetry;
  private readonly maxRateLimitedReportAttempts: number;
  /** Per service, the bucket as this instance last read or computed it (see `report`). */
  private readonly seen = new Map<Service, BucketState>();

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    config: RiqConfig,
    options: DynamoRateGateOptions = {},
  ) {
    this.settings = Object.fromEntries(SERVICES.map((s) => [s, rateSettingsFor(config, s)])) as Record<
      Service,
      RateSettings
    >;
    this.buckets = new VersionedItems(client, tableName, { toItem, fromItem });
    this.retry = {
      attempts: options.maxAttempts ?? 12,
      jitterMs: options.jitterMs ?? 15,
      maxBackoffSteps: MAX_BACKOFF_STEPS,
    };
    this.maxRateLimitedReportAttempts = options.maxRateLimitedReportAttempts ?? 40;
  }

  /**
   * A refusal that gives no slot writes nothing (refill is a function of time, so the stored state
   * stays right); one that gives a slot stores the line's new end, conditionally like a grant, so
   * two callers never get the same slot. When every retry lost a race, the answer is `no_token` for
   * one token interval: heavy contention means heavy demand, and a deferral costs the request no
   * attempt; a caller that came with a slot keeps it (asks again after that interval, still its
   * holder) rather than losing its place in the line.
   */
  async acquire(scope: CallScope, now: number, reading?: GateReading): Promise<PermitDecision> {
    const settings = this.settings[scope.service];
    const found = itemFromReading(reading, scope.service, rateBucketKey(scope.service));
    return this.buckets.update(
      rateBucketKey(scope.service),
      this.retry,
      (read) => {
        const before = advance(read?.value ?? fullBucket(settings, now), settings, now);
        const { state, decision } = tryAcquire(before, scope, settings, now);
        this.seen.set(scope.service, state);
        const unchanged = !decision.granted && read !== undefined && sameBucket(before, state);
        return { answer: decision, write: unchanged ? undefined : state };
      },
      (): PermitDecision => {
        const waitMs = Math.ceil(1000 / settings.ratePerSecond);
        return {
          granted: false,
          reason: 'no_token',
          waitMs,
          ...(scope.slotAt !== undefined ? { slotAt: Math.max(scope.slotAt, now + waitMs) } : {}),
        };
      },
      found && { read: this.buckets.decode(found.item) },
    );
  }

  /**
   * Writes only when the feedback changed something. A success without `nearLimit` reads nothing
   * when it would change nothing in the bucket this instance last saw (at the latest, at the acquire
   * of the call it reports): the rate was at its configured value then, so the success had nothing
   * to raise. A cut made by another worker meanwhile is then not climbed back by this success, which
   * was let through before the cut. Any other feedback is read and written.
   */
  async report(scope: CallScope, feedback: RateFeedback, now: number): Promise<void> {
    const settings = this.settings[scope.service];
    const seen = this.seen.get(scope.service);
    if (
      feedback.kind === 'ok' &&
      feedback.nearLimit !== true &&
      seen !== undefined &&
      sameBucket(advance(seen, settings, now), applyFeedback(seen, scope, feedback, settings, now))
    ) {
      return;
    }
    const attempts =
      feedback.kind === 'rate_limited' ? this.maxRateLimitedReportAttempts : this.retry.attempts;
    await this.buckets.update(
      rateBucketKey(scope.service),
      { ...this.retry, attempts },
      (read) => {
        const current = advance(read?.value ?? fullBucket(settings, now), settings, now);
        const next = applyFeedback(current, scope, feedback, settings, now);
        this.seen.set(scope.service, next);
        return { answer: undefined, write: read && sameBucket(current, next) ? undefined : next };
      },
      () => {
        throw new RateGateContentionError(scope.service, attempts);
      },
    );
  }

  /** One read; a service nobody has called yet shows a full bucket at the configured rate. */
  async view(service: Service, now: number): Promise<RateView> {
    const settings = this.settings[service];
    const read = await this.buckets.read(rateBucketKey(service));
    return rateViewOf(service, read?.value ?? fullBucket(settings, now), settings, now);
  }

  /** The stored bucket as it is (not advanced), for the metrics report and tests. */
  async peek(service: Service): Promise<BucketState | undefined> {
    return (await this.buckets.read(rateBucketKey(service)))?.value;
  }
}

/** Snake case like the request items; optional fields are left out rather than written as null. */
function toItem(state: BucketState): Record<string, unknown> {
  const item: Record<string, unknown> = {
    tokens: state.tokens,
    updated_at: state.updatedAt,
    effective_rate: state.effectiveRatePerSecond,
    paused_until: state.pausedUntil,
    endpoint_pauses: state.pauses,
    object_pauses: state.objectPauses,
  };
  if (state.slowUntil !== undefined) item['slow_until'] = state.slowUntil;
  if (state.limitRatePerSecond !== undefined) item['limit_rate'] = state.limitRatePerSecond;
  if (state.lastDecreaseAt !== undefined) item['last_decrease_at'] = state.lastDecreaseAt;
  if (state.lastLimitedAt !== undefined) item['last_limited_at'] = state.lastLimitedAt;
  if (state.margin !== undefined) item['margin'] = state.margin;
  if (state.endpoints !== undefined) item['endpoint_buckets'] = state.endpoints;
  if (state.lines?.normal !== undefined) item['line_normal'] = state.lines.normal;
  if (state.lines?.low !== undefined) item['line_low'] = state.lines.low;
  return item;
}

function fromItem(item: Record<string, unknown>): BucketState {
  const state: BucketState = {
    tokens: num(item['tokens']) ?? 0,
    updatedAt: num(item['updated_at']) ?? 0,
    effectiveRatePerSecond: num(item['effective_rate']) ?? Number.NaN,
    pausedUntil: num(item['paused_until']) ?? 0,
    pauses: numberMap(item['endpoint_pauses']),
    objectPauses: numberMap(item['object_pauses']),
  };
  const slowUntil = num(item['slow_until']);
  if (slowUntil !== undefined) state.slowUntil = slowUntil;
  const limit = num(item['limit_rate']);
  if (limit !== undefined) state.limitRatePerSecond = limit;
  const lastDecrease = num(item['last_decrease_at']);
  if (lastDecrease !== undefined) state.lastDecreaseAt = lastDecrease;
  const lastLimited = num(item['last_limited_at']);
  if (lastLimited !== undefined) state.lastLimitedAt = lastLimited;
  const margin = num(item['margin']);
  if (margin !== undefined) state.margin = margin;
  const endpoints = endpointBuckets(item['endpoint_buckets']);
  if (endpoints !== undefined) state.endpoints = endpoints;
  const lineNormal = num(item['line_normal']);
  const lineLow = num(item['line_low']);
  if (lineNormal !== undefined || lineLow !== undefined) {
    state.lines = {
      ...(lineNormal !== undefined ? { normal: lineNormal } : {}),
      ...(lineLow !== undefined ? { low: lineLow } : {}),
    };
  }
  return state;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function endpointBuckets(value: unknown): Record<string, EndpointBucket> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, EndpointBucket> = {};
  for (const [family, v] of Object.entries(value)) {
    const tokens = num((v as Record<string, unknown> | null)?.['tokens']);
    const at = num((v as Record<string, unknown> | null)?.['at']);
    const rate = num((v as Record<string, unknown> | null)?.['rate']);
    const next = num((v as Record<string, unknown> | null)?.['next']);
    if (tokens !== undefined && at !== undefined) {
      out[family] = {
        tokens,
        at,
        ...(rate !== undefined ? { rate } : {}),
        ...(next !== undefined ? { next } : {}),
      };
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function numberMap(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null) return {};
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'number') out[key] = v;
  return out;
}
