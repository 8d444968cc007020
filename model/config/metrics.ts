/**
 * The CloudWatch metrics RIQ emits (Powertools Metrics, EMF in the functions' logs), in one place:
 * the Lambdas emit them by these names and dimensions, the dashboard and alarms
 * (lib/constructs/observability.ts) read them by the same, so a renamed metric fails the build,
 * not the alarm. The seed's set (quick reference, "Monitoring Metrics"): submitted / completed /
 * failed / dead per service and priority, submit→complete latency, cache hit ratio, breaker state,
 * upstream 429s, deferrals, DIRECT vs QUEUED; and the hourly points budget's spending.
 */

/** The namespace of every RIQ metric. */
export const METRICS_NAMESPACE = 'RIQ';

/** Dimension names. Every metric below carries exactly the dimensions it lists. */
export const METRIC_DIMENSIONS = {
  service: 'service',
  priority: 'priority',
  reason: 'reason',
} as const;

/**
 * The `RateLimit-Reason` values Atlassian documents (Jira and Confluence Cloud "Rate limiting"),
 * here because the dashboard graphs `RateLimited` by them; the domain gives each its scope
 * (lambdas/core/domain/rate-limit-signals.ts, checked against this list by the compiler).
 */
export const RATE_LIMIT_REASON_NAMES = [
  'jira-quota-global-based',
  'jira-quota-tenant-based',
  'jira-burst-based',
  'jira-per-issue-on-write',
  'confluence-quota-global-based',
  'confluence-quota-tenant-based',
] as const;

export type RateLimitReasonName = (typeof RATE_LIMIT_REASON_NAMES)[number];

/**
 * The values of the `reason` dimension: a documented reason as Atlassian spells it, anything else
 * (another text, or no header) `unknown`, so the dimension has a fixed, small set of values.
 */
export const RATE_LIMITED_REASONS = [...RATE_LIMIT_REASON_NAMES, 'unknown'] as const;

export type RateLimitedReason = (typeof RATE_LIMITED_REASONS)[number];

export type MetricDimension = keyof typeof METRIC_DIMENSIONS;

export interface MetricSpec {
  readonly name: string;
  /** Powertools/CloudWatch unit. */
  readonly unit: 'Count' | 'Milliseconds' | 'None';
  readonly dimensions: readonly MetricDimension[];
  readonly description: string;
}

const perServiceAndPriority = ['service', 'priority'] as const;
const perService = ['service'] as const;
const perServiceAndReason = ['service', 'reason'] as const;
const overall = [] as const;

export const METRICS = {
  submitted: {
    name: 'Submitted',
    unit: 'Count',
    dimensions: perServiceAndPriority,
    description: 'accepted submits (stored requests and cached answers)',
  },
  completed: {
    name: 'Completed',
    unit: 'Count',
    dimensions: perServiceAndPriority,
    description: 'requests that reached `completed` (worker or DIRECT)',
  },
  failed: {
    name: 'Failed',
    unit: 'Count',
    dimensions: perServiceAndPriority,
    description: 'requests that reached `failed` (not retryable)',
  },
  dead: {
    name: 'Dead',
    unit: 'Count',
    dimensions: perServiceAndPriority,
    description: 'requests that reached `dead` (retries spent, in the DLQ)',
  },
  queueLatency: {
    name: 'QueueLatency',
    unit: 'Milliseconds',
    dimensions: perServiceAndPriority,
    description: 'submit → completed, per completed request',
  },
  cacheHit: {
    name: 'CacheHit',
    unit: 'Count',
    dimensions: perService,
    description: '1 per read answered from the cache, 0 per read that looked it up and missed',
  },
  cacheMiss: {
    name: 'CacheMiss',
    unit: 'Count',
    dimensions: perService,
    description: '1 per read that looked the cache up and missed, else 0',
  },
  breakerState: {
    name: 'BreakerState',
    unit: 'None',
    dimensions: perService,
    description: 'circuit breaker: 1 closed, 0.5 half-open, 0 open (every sweep, once a minute)',
  },
  rateLimited: {
    name: 'RateLimited',
    unit: 'Count',
    dimensions: perServiceAndReason,
    description: '429 answers Atlassian gave to RIQ calls, by `RateLimit-Reason` (RATE_LIMITED_REASONS)',
  },
  pointsSpent: {
    name: 'PointsSpent',
    unit: 'Count',
    dimensions: perService,
    description:
      'points each Atlassian call cost as the budget counts it: the actual cost once settled, the estimate of a call that failed',
  },
  pointsRemaining: {
    name: 'PointsRemaining',
    unit: 'Count',
    dimensions: perService,
    description:
      "Atlassian's `r` (points left this hour) from `RateLimit` / `Beta-RateLimit`, on the same line as PointsSpent when a call's answers carried it",
  },
  deferred: {
    name: 'Deferred',
    unit: 'Count',
    dimensions: perService,
    description: 'deliveries put back without a call (no token, no points, pause, breaker, busy object…)',
  },
  routedDirect: {
    name: 'RoutedDirect',
    unit: 'Count',
    dimensions: perService,
    description: '1 per stored submit answered by a DIRECT call, else 0',
  },
  routedQueued: {
    name: 'RoutedQueued',
    unit: 'Count',
    dimensions: perService,
    description: '1 per stored submit left to the queue, else 0',
  },
  sweeperRequeued: {
    name: 'SweeperRequeued',
    unit: 'Count',
    dimensions: overall,
    description: 'stale `queued` records the sweeper sent to their queue again (per sweep)',
  },
  sweeperRecoveredLeases: {
    name: 'SweeperRecoveredLeases',
    unit: 'Count',
    dimensions: overall,
    description: '`processing` records whose lease had expired, handed back by the sweeper (per sweep)',
  },
  sweeperFailedSends: {
    name: 'SweeperFailedSends',
    unit: 'Count',
    dimensions: overall,
    description: 'sends the sweeper tried and SQS refused (per sweep; tried again next sweep)',
  },
  sweeperReleasedDependents: {
    name: 'SweeperReleasedDependents',
    unit: 'Count',
    dimensions: overall,
    description: '`waiting` requests the sweeper released or failed after their parents ended (per sweep)',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;
