/**
 * `GET /api/queue/metrics`: the gauges an operator's monitoring scrapes, read now (nothing is
 * moved: breakers through `view`, rate buckets through a read-only `peek`). Two renderings of the
 * same report: JSON (the default) and the Prometheus text exposition format 0.0.4, whose metric
 * names start with `riq_` (METRICS_NAMESPACE, lower-cased, as Prometheus names go).
 *
 * - queues: depth of each work queue (visible, in flight, delayed) and of its dead-letter queue;
 * - dead requests: records in status `dead` (what waits for an operator);
 * - circuit breakers: 1 closed, 0.5 half-open, 0 open (as the `BreakerState` CloudWatch metric);
 * - rate limits: each service's shared bucket brought to now (tokens refilled, ended pauses
 *   dropped), its effective and configured rate, and the service-wide pause if one runs.
 */
import { METRICS_NAMESPACE } from '../../../model/config/metrics.js';
import { queueKey } from '../../../model/config/resources.js';
import {
  PRIORITIES,
  SERVICES,
  type Priority,
  type RiqConfig,
  type Service,
} from '../../../model/config/riq-config.js';
import { breakerStateValue } from '../domain/breaker.js';
import type { BreakerStateName, CircuitBreaker } from '../ports/flow-control.js';
import type { Clock, RequestStore, WorkQueue } from '../ports/index.js';
import {
  advance,
  fullBucket,
  rateSettingsFor,
  type BucketState,
  type RateSettings,
} from '../domain/token-bucket.js';

/** Read-only access to the shared rate buckets: the stored state, not advanced (DynamoRateGate.peek). */
export interface RateView {
  peek(service: Service): Promise<BucketState | undefined>;
}

export interface MetricsDeps {
  queue: Pick<WorkQueue, 'depth' | 'deadLetterDepth'>;
  store: Pick<RequestStore, 'countByStatus'>;
  breaker: Pick<CircuitBreaker, 'view'>;
  rate: RateView;
  rateSettings: Record<Service, RateSettings>;
  clock: Clock;
}

export interface QueueMetrics {
  service: Service;
  priority: Priority;
  visible: number;
  in_flight: number;
  delayed: number;
  dead_letter_queue: number;
}

export interface BreakerMetrics {
  service: Service;
  state: BreakerStateName;
  /** 1 closed, 0.5 half-open, 0 open. */
  value: number;
}

export interface RateLimitMetrics {
  service: Service;
  /** Tokens in the bucket now (fractional: refill is continuous). */
  tokens: number;
  burst: number;
  effective_rate_per_second: number;
  configured_rate_per_second: number;
  /** ISO 8601 while the whole service is paused by a 429, else null. */
  paused_until: string | null;
}

export interface MetricsReport {
  timestamp: string;
  queues: QueueMetrics[];
  dead_requests: number;
  circuit_breakers: BreakerMetrics[];
  rate_limits: RateLimitMetrics[];
}

/** Every service's rate settings, resolved from the config as the rate gate resolves them. */
export function rateSettingsByService(config: RiqConfig): Record<Service, RateSettings> {
  return Object.fromEntries(SERVICES.map((s) => [s, rateSettingsFor(config, s)])) as Record<
    Service,
    RateSettings
  >;
}

/** A bucket nobody has used yet reads as full, as the gate would create it. */
export function rateLimitMetrics(
  service: Service,
  stored: BucketState | undefined,
  settings: RateSettings,
  now: number,
): RateLimitMetrics {
  const bucket = advance(stored ?? fullBucket(settings, now), settings, now);
  return {
    service,
    tokens: bucket.tokens,
    burst: settings.burst,
    effective_rate_per_second: bucket.effectiveRatePerSecond,
    configured_rate_per_second: settings.ratePerSecond,
    paused_until: bucket.pausedUntil > now ? new Date(bucket.pausedUntil).toISOString() : null,
  };
}

/** Use case: reads every gauge (read-only) at the clock's now. */
export async function readMetrics(deps: MetricsDeps): Promise<MetricsReport> {
  const now = deps.clock.now();
  const pairs = SERVICES.flatMap((service) => PRIORITIES.map((priority) => ({ service, priority })));
  const [queues, deadRequests, breakers, rateLimits] = await Promise.all([
    Promise.all(
      pairs.map(async ({ service, priority }): Promise<QueueMetrics> => {
        const key = queueKey(service, priority);
        const [depth, dlq] = await Promise.all([deps.queue.depth(key), deps.queue.deadLetterDepth(key)]);
        return {
          service,
          priority,
          visible: depth.visible,
          in_flight: depth.inFlight,
          delayed: depth.delayed,
          dead_letter_queue: dlq,
        };
      }),
    ),
    deps.store.countByStatus('dead'),
    Promise.all(
      SERVICES.map(async (service): Promise<BreakerMetrics> => {
        const view = await deps.breaker.view(service, now);
        return { service, state: view.state, value: breakerStateValue(view.state) };
      }),
    ),
    Promise.all(
      SERVICES.map(async (service) =>
        rateLimitMetrics(service, await deps.rate.peek(service), deps.rateSettings[service], now),
      ),
    ),
  ]);
  return {
    timestamp: new Date(now).toISOString(),
    queues,
    dead_requests: deadRequests,
    circuit_breakers: breakers,
    rate_limits: rateLimits,
  };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format 0.0.4
// ---------------------------------------------------------------------------------------------

/** The Content-Type of the Prometheus text exposition format this renders. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Prefix of every metric name: `riq_`. */
export const PROMETHEUS_PREFIX = `${METRICS_NAMESPACE.toLowerCase()}_`;

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge';
  samples: Sample[];
}

/** The report as Prometheus gauge families. */
export function metricFamilies(report: MetricsReport): MetricFamily[] {
  const gauge = (suffix: string, help: string, samples: Sample[]): MetricFamily => ({
    name: `${PROMETHEUS_PREFIX}${suffix}`,
    help,
    type: 'gauge',
    samples,
  });
  const states = ['visible', 'in_flight', 'delayed'] as const;
  return [
    gauge(
      'queue_messages',
      'Messages in a work queue, by state (visible, in_flight, delayed).',
      report.queues.flatMap((q) =>
        states.map((state) => ({
          labels: { service: q.service, priority: q.priority, state },
          value: q[state],
        })),
      ),
    ),
    gauge(
      'dead_letter_queue_messages',
      'Messages in the dead-letter queue of a work queue.',
      report.queues.map((q) => ({
        labels: { service: q.service, priority: q.priority },
        value: q.dead_letter_queue,
      })),
    ),
    gauge('dead_requests', 'Requests in status dead, waiting for an operator.', [
      { labels: {}, value: report.dead_requests },
    ]),
    gauge(
      'circuit_breaker_state',
      'Circuit breaker state: 1 closed, 0.5 half-open, 0 open.',
      report.circuit_breakers.map((b) => ({ labels: { service: b.service }, value: b.value })),
    ),
    gauge(
      'rate_limit_tokens',
      'Tokens in the shared rate-limit bucket of a service now.',
      report.rate_limits.map((r) => ({ labels: { service: r.service }, value: r.tokens })),
    ),
    gauge(
      'rate_limit_effective_per_second',
      'Effective (adaptive) refill rate of the rate-limit bucket, calls per second.',
      report.rate_limits.map((r) => ({
        labels: { service: r.service },
        value: r.effective_rate_per_second,
      })),
    ),
    gauge(
      'rate_limit_configured_per_second',
      'Configured refill rate of the rate-limit bucket (the ceiling), calls per second.',
      report.rate_limits.map((r) => ({
        labels: { service: r.service },
        value: r.configured_rate_per_second,
      })),
    ),
  ];
}

/** A label value as the exposition format quotes it: `\`, `"` and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: `\` and newline escaped (quotes stay as they are). */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: Go's float syntax, with `NaN`, `+Inf` and `-Inf` spelled as Prometheus reads them. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The families in the text format: `# HELP`, `# TYPE`, then one line per sample; ends with a newline. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      const labelText = labels.length > 0 ? `{${labels.join(',')}}` : '';
      lines.push(`${family.name}${labelText} ${formatValue(sample.value)}`);
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The report in the Prometheus text exposition format 0.0.4. */
export function toPrometheusText(report: MetricsReport): string {
  return renderExposition(metricFamilies(report));
}

// ---------------------------------------------------------------------------------------------
// Content negotiation
// ---------------------------------------------------------------------------------------------

export type MetricsFormat = 'json' | 'prometheus';

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [media, ...params] = part.split(';').map((s) => s.trim());
    const [type, subtype] = (media ?? '').toLowerCase().split('/');
    if (!type || !subtype) continue;
    let q = 1;
    for (const param of params) {
      const [name, raw] = param.split('=').map((s) => s.trim());
      if (name?.toLowerCase() === 'q' && raw !== undefined) {
        const parsed = Number(raw);
        q = Number.isFinite(parsed) ? Math.min(1, Math.max(0, parsed)) : 0;
      }
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** The q the most specific range matching `type/subtype` gives it (0 when none matches). */
function qualityOf(ranges: readonly MediaRange[], type: string, subtype: string): number {
  let best: { specificity: number; q: number } | undefined;
  for (const r of ranges) {
    const specificity =
      r.type === type && r.subtype === subtype
        ? 2
        : r.type === type && r.subtype === '*'
          ? 1
          : r.type === '*' && r.subtype === '*'
            ? 0
            : -1;
    if (specificity < 0) continue;
    if (!best || specificity > best.specificity) best = { specificity, q: r.q };
  }
  return best?.q ?? 0;
}

/**
 * JSON unless the caller prefers `text/plain` (the Prometheus text format) to `application/json`
 * by its q-values: a Prometheus scrape (`…text/plain;version=0.0.4;q=0.3,*\/*;q=0.2`) gets the
 * text format, `*\/*`, a tie, a missing header or one asking for neither gets JSON.
 */
export function negotiateFormat(accept: string | undefined): MetricsFormat {
  if (!accept) return 'json';
  const ranges = parseAccept(accept);
  const text = qualityOf(ranges, 'text', 'plain');
  const json = qualityOf(ranges, 'application', 'json');
  return text > json ? 'prometheus' : 'json';
}
