/**
 * Run-time behaviours of the simulated Atlassian, set through `POST /__sim/config`: a site-wide burst
 * rate limit, Atlassian's rate-limit model (hourly points quota on a scalable clock, per-endpoint
 * bursts, per-issue writes), random 503s, hangs, dropped writes and slowly answered writes, a
 * lagging search index, an outage window, all driven by one seeded PRNG so a run is repeatable.
 * Also the counters these behaviours report in `GET /__sim/stats`.
 */
import * as z from 'zod';
import {
  burstLimitsConfig,
  burstLimitsSchema,
  EndpointBursts,
  type BurstLimitsConfig,
} from './burst-limits.js';
import {
  PerIssueWriteLimit,
  perIssueWriteLimitConfig,
  perIssueWriteLimitSchema,
  type PerIssueWriteLimitConfig,
} from './per-issue-limit.js';
import {
  PointsQuota,
  pointsQuotaSchema,
  quotaConfig,
  type PointsQuotaConfig,
  type QuotaProduct,
  type QuotaWindowStats,
} from './points-quota.js';
import { randomSeed, SeededRandom } from './random.js';
import { TokenBucket, type BucketDecision, type RateLimitConfig } from './rate-limit.js';
import { SimClock } from './sim-clock.js';

const fraction = z.number().min(0).max(1);

/** The body of `POST /__sim/config`: every field optional, only the given ones change. */
export const simConfigSchema = z.strictObject({
  /** Delay before answering each Atlassian request. */
  latency_ms: z.number().int().min(0).max(600_000).optional(),
  /** A token bucket over every Atlassian route; null turns it off. */
  rate_limit: z
    .strictObject({
      rate_per_second: z.number().positive().max(100_000),
      burst: z.number().int().min(1).max(1_000_000),
      near_limit_header: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  /** The hourly points quota (OAuth traffic unless `quota_applies_to: 'all'`); null turns it off. */
  points_quota: pointsQuotaSchema.nullable().optional(),
  /** Whose calls the points quota counts: OAuth (Bearer) calls, as Atlassian, or every call. */
  quota_applies_to: z.enum(['oauth', 'all']).optional(),
  /** Simulated seconds per real second on the quota's clock (60: an hour per real minute). */
  time_scale: z.number().positive().max(1_000_000).optional(),
  /**
   * Sets the quota's simulated clock to this instant; it runs on from there at `time_scale`. null:
   * back to the real time.
   */
  sim_time: z.iso.datetime({ offset: true }).nullable().optional(),
  /** A token bucket per endpoint and method (429 `jira-burst-based`); null turns them off. */
  burst_limits: burstLimitsSchema.nullable().optional(),
  /** Writes per issue per window (429 `jira-per-issue-on-write`); null turns it off. */
  per_issue_write_limit: perIssueWriteLimitSchema.nullable().optional(),
  /** Share of requests answered 503 (about half of them with `Retry-After`). */
  error_rate: fraction.optional(),
  /** Share of requests held without an answer for `hang_ms` (then 504) or until the client leaves. */
  timeout_rate: fraction.optional(),
  hang_ms: z.number().int().min(1).max(600_000).optional(),
  /**
   * The next this many requests that pass the limits and `error_rate` are held as `timeout_rate`
   * holds them, before any draw: a hang that happens whatever the PRNG's sequence.
   */
  hang_next: z.number().int().min(0).max(10_000).optional(),
  /**
   * Share of writes (POST/PUT, but not the read-only search POST) that are executed and committed,
   * then the connection is destroyed.
   */
  drop_after_commit_rate: fraction.optional(),
  /**
   * Writes (as above) that succeed are committed at once but answered only this many milliseconds
   * later: a client that gives up sooner sees a timeout for an object that exists. 0: answered at once.
   */
  answer_after_commit_ms: z.number().int().min(0).max(600_000).optional(),
  /**
   * Jira search is eventually consistent: an issue is invisible to JQL search (`/search/jql`) for this
   * many milliseconds after it was created, unless named in `reconcileIssues`. 0: visible at once.
   */
  search_index_lag_ms: z.number().int().min(0).max(600_000).optional(),
  /** A window in which every Atlassian route answers 503 (`mode: 'reset'`: drops the connection). */
  outage: z
    .strictObject({
      duration_ms: z.number().int().min(1).max(86_400_000),
      start_in_ms: z.number().int().min(0).max(86_400_000).optional(),
      mode: z.enum(['error', 'reset']).optional(),
    })
    .nullable()
    .optional(),
  /** Restarts the PRNG that drives every fraction. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** `expires_in` of OAuth access tokens issued from now on. */
  oauth_access_ttl_seconds: z.number().int().min(1).max(86_400).optional(),
});

export type SimConfigInput = z.infer<typeof simConfigSchema>;
export type OutageMode = 'error' | 'reset';
export type QuotaAppliesTo = 'oauth' | 'all';

/** The body of `GET /__sim/config` (and of a successful POST). */
export interface SimConfig {
  latency_ms: number;
  rate_limit: RateLimitConfig | null;
  points_quota: PointsQuotaConfig | null;
  quota_applies_to: QuotaAppliesTo;
  time_scale: number;
  /** The quota clock's simulated instant now. */
  sim_time: string;
  burst_limits: BurstLimitsConfig | null;
  per_issue_write_limit: PerIssueWriteLimitConfig | null;
  error_rate: number;
  timeout_rate: number;
  hang_ms: number;
  /** Requests still to be held by `hang_next`. */
  hang_next: number;
  drop_after_commit_rate: number;
  answer_after_commit_ms: number;
  search_index_lag_ms: number;
  /** The scheduled or running outage; null when none or once it ended. */
  outage: { mode: OutageMode; starts_at: string; ends_at: string; active: boolean } | null;
  seed: number;
  oauth_access_ttl_seconds: number;
}

/** What the behaviours add to `GET /__sim/stats`. */
export interface BehaviourStats {
  /** `"METHOD /route/template"` → requests that arrived for it (whatever the answer). */
  endpoints: Record<string, number>;
  /** 503s sent by `error_rate`. */
  errors_injected: number;
  /** Requests held by `timeout_rate` or `hang_next`. */
  timeouts_injected: number;
  /** Committed writes whose connection was destroyed by `drop_after_commit_rate`. */
  dropped_after_commit: number;
  /** Committed writes whose answer `answer_after_commit_ms` held back. */
  answered_after_commit: number;
  /** Requests refused (503 or reset) by an outage window. */
  outage_rejected: number;
  /** Successful `POST /oauth/token` refreshes. */
  oauth_refreshes: number;
  /** 429s sent, by `RateLimit-Reason` (`(none)` without one), whatever sent them (limits or faults). */
  rate_limited_by_reason: Record<string, number>;
  /** The points quota's current windows; null when it is off. */
  points_quota: Record<QuotaProduct, QuotaWindowStats> | null;
}

export const DEFAULT_HANG_MS = 30_000;

export class SimCounters {
  private endpoints = new Map<string, number>();
  errorsInjected = 0;
  timeoutsInjected = 0;
  droppedAfterCommit = 0;
  answeredAfterCommit = 0;
  outageRejected = 0;
  oauthRefreshes = 0;
  private limitedByReason = new Map<string, number>();

  endpoint(key: string): void {
    this.endpoints.set(key, (this.endpoints.get(key) ?? 0) + 1);
  }

  rateLimited(reason: string | undefined): void {
    const key = reason ?? '(none)';
    this.limitedByReason.set(key, (this.limitedByReason.get(key) ?? 0) + 1);
  }

  reset(): void {
    this.endpoints = new Map();
    this.errorsInjected = 0;
    this.timeoutsInjected = 0;
    this.droppedAfterCommit = 0;
    this.answeredAfterCommit = 0;
    this.outageRejected = 0;
    this.oauthRefreshes = 0;
    this.limitedByReason = new Map();
  }

  snapshot(): Omit<BehaviourStats, 'points_quota'> {
    return {
      endpoints: sorted(this.endpoints),
      errors_injected: this.errorsInjected,
      timeouts_injected: this.timeoutsInjected,
      dropped_after_commit: this.droppedAfterCommit,
      answered_after_commit: this.answeredAfterCommit,
      outage_rejected: this.outageRejected,
      oauth_refreshes: this.oauthRefreshes,
      rate_limited_by_reason: sorted(this.limitedByReason),
    };
  }
}

function sorted(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

interface Outage {
  mode: OutageMode;
  startsAt: number;
  endsAt: number;
}

/**
 * The behaviours and their state (buckets, quota, PRNG, outage). Latency, the search index lag
 * (SimState) and the OAuth TTL live elsewhere.
 */
export class SimBehaviour {
  readonly counters = new SimCounters();
  /** The points quota's clock (scaled, settable); every other behaviour runs on real time. */
  readonly clock: SimClock;
  private bucket: TokenBucket | undefined;
  private pointsQuota: PointsQuota | undefined;
  quotaAppliesTo: QuotaAppliesTo = 'oauth';
  private endpointBursts: EndpointBursts | undefined;
  private perIssue: PerIssueWriteLimit | undefined;
  private random: SeededRandom;
  private outage: Outage | undefined;
  errorRate = 0;
  timeoutRate = 0;
  hangMs = DEFAULT_HANG_MS;
  hangNext = 0;
  dropAfterCommitRate = 0;
  answerAfterCommitMs = 0;

  constructor(
    seed: number = randomSeed(),
    private readonly now: () => number = Date.now,
  ) {
    this.random = new SeededRandom(seed);
    this.clock = new SimClock(now);
  }

  get seed(): number {
    return this.random.seed;
  }

  get rateLimit(): RateLimitConfig | null {
    return this.bucket?.config ?? null;
  }

  /** The points quota, if it counts this call (`oauth`: made with a Bearer token). */
  quotaFor(oauth: boolean): PointsQuota | undefined {
    return oauth || this.quotaAppliesTo === 'all' ? this.pointsQuota : undefined;
  }

  get bursts(): EndpointBursts | undefined {
    return this.endpointBursts;
  }

  get perIssueWrites(): PerIssueWriteLimit | undefined {
    return this.perIssue;
  }

  /** The next value in [0, 1) of the seeded PRNG (fault rules with a `share` draw from it). */
  draw(): number {
    return this.random.next();
  }

  /** Applies the behaviour fields of a validated config (latency, search lag and OAuth TTL are not read here). */
  configure(input: SimConfigInput): void {
    if (input.rate_limit !== undefined) {
      this.bucket = input.rate_limit ? new TokenBucket({ ...input.rate_limit }, this.now) : undefined;
    }
    if (input.time_scale !== undefined) this.clock.setScale(input.time_scale);
    if (input.sim_time !== undefined) {
      this.clock.set(input.sim_time === null ? this.clock.real() : Date.parse(input.sim_time));
    }
    if (input.points_quota !== undefined) {
      this.pointsQuota = input.points_quota
        ? new PointsQuota(quotaConfig(input.points_quota), this.clock)
        : undefined;
    }
    if (input.quota_applies_to !== undefined) this.quotaAppliesTo = input.quota_applies_to;
    if (input.burst_limits !== undefined) {
      this.endpointBursts = input.burst_limits
        ? new EndpointBursts(burstLimitsConfig(input.burst_limits), this.now)
        : undefined;
    }
    if (input.per_issue_write_limit !== undefined) {
      this.perIssue = input.per_issue_write_limit
        ? new PerIssueWriteLimit(perIssueWriteLimitConfig(input.per_issue_write_limit), this.now)
        : undefined;
    }
    if (input.error_rate !== undefined) this.errorRate = input.error_rate;
    if (input.timeout_rate !== undefined) this.timeoutRate = input.timeout_rate;
    if (input.hang_ms !== undefined) this.hangMs = input.hang_ms;
    if (input.hang_next !== undefined) this.hangNext = input.hang_next;
    if (input.drop_after_commit_rate !== undefined) this.dropAfterCommitRate = input.drop_after_commit_rate;
    if (input.answer_after_commit_ms !== undefined) this.answerAfterCommitMs = input.answer_after_commit_ms;
    if (input.outage !== undefined) {
      if (input.outage === null) {
        this.outage = undefined;
      } else {
        const startsAt = this.now() + (input.outage.start_in_ms ?? 0);
        this.outage = {
          mode: input.outage.mode ?? 'error',
          startsAt,
          endsAt: startsAt + input.outage.duration_ms,
        };
      }
    }
    if (input.seed !== undefined) this.random = new SeededRandom(input.seed);
  }

  /**
   * Counters cleared, the buckets full again, the quota unspent, the per-issue writes forgotten and
   * the PRNG back at the start of its seed (the quota's clock runs on).
   */
  reset(): void {
    this.counters.reset();
    if (this.bucket) this.bucket = new TokenBucket(this.bucket.config, this.now);
    if (this.pointsQuota) this.pointsQuota = new PointsQuota(this.pointsQuota.config, this.clock);
    if (this.endpointBursts) this.endpointBursts = new EndpointBursts(this.endpointBursts.config, this.now);
    if (this.perIssue) this.perIssue = new PerIssueWriteLimit(this.perIssue.config, this.now);
    this.random = new SeededRandom(this.random.seed);
  }

  view(): Omit<SimConfig, 'latency_ms' | 'oauth_access_ttl_seconds' | 'search_index_lag_ms'> {
    const outage = this.currentOutage();
    return {
      rate_limit: this.rateLimit ? { ...this.rateLimit } : null,
      points_quota: this.pointsQuota ? { ...this.pointsQuota.config } : null,
      quota_applies_to: this.quotaAppliesTo,
      time_scale: this.clock.timeScale,
      sim_time: new Date(this.clock.now()).toISOString(),
      burst_limits: this.endpointBursts ? structuredClone(this.endpointBursts.config) : null,
      per_issue_write_limit: this.perIssue ? structuredClone(this.perIssue.config) : null,
      error_rate: this.errorRate,
      timeout_rate: this.timeoutRate,
      hang_ms: this.hangMs,
      hang_next: this.hangNext,
      drop_after_commit_rate: this.dropAfterCommitRate,
      answer_after_commit_ms: this.answerAfterCommitMs,
      outage: outage
        ? {
            mode: outage.mode,
            starts_at: new Date(outage.startsAt).toISOString(),
            ends_at: new Date(outage.endsAt).toISOString(),
            active: this.now() >= outage.startsAt,
          }
        : null,
      seed: this.seed,
    };
  }

  /** The outage mode when an outage is running now. */
  outageNow(): OutageMode | undefined {
    const outage = this.currentOutage();
    return outage && this.now() >= outage.startsAt ? outage.mode : undefined;
  }

  /** The points quota's windows, for `GET /__sim/stats`. */
  quotaStats(): BehaviourStats['points_quota'] {
    return this.pointsQuota?.stats() ?? null;
  }

  /** One token from the bucket; always allowed when no rate limit is set. */
  takeToken(): BucketDecision | undefined {
    return this.bucket?.take();
  }

  /**
   * Whether to answer 503, drawn only when `error_rate` > 0; `retryAfter` is set on about half of
   * them (1–3 seconds), like Atlassian's 5xx that sometimes carry `Retry-After`.
   */
  drawError(): { retryAfter?: number } | undefined {
    if (this.errorRate <= 0 || this.random.next() >= this.errorRate) return undefined;
    const u = this.random.next();
    return u < 0.5 ? { retryAfter: 1 + Math.floor(u * 6) } : {};
  }

  /**
   * Whether to hold the request without an answer: one of the `hang_next` still owed (no draw), or
   * drawn when `timeout_rate` > 0.
   */
  drawTimeout(): boolean {
    if (this.hangNext > 0) {
      this.hangNext--;
      return true;
    }
    return this.timeoutRate > 0 && this.random.next() < this.timeoutRate;
  }

  /** Whether to drop this committed write; drawn for every write when `drop_after_commit_rate` > 0. */
  drawDrop(): boolean {
    return this.dropAfterCommitRate > 0 && this.random.next() < this.dropAfterCommitRate;
  }

  private currentOutage(): Outage | undefined {
    if (this.outage && this.now() >= this.outage.endsAt) this.outage = undefined;
    return this.outage;
  }
}
