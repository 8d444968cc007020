/**
 * The metrics of model/config/metrics.ts, emitted with Powertools Metrics as EMF lines, and the
 * observers that turn the use cases' request events and submits into them and into log lines.
 *
 * Each catalogue metric is a Powertools single metric (written at once) whose dimensions are
 * exactly the catalogue's: the default `service` dimension Powertools adds (the function's name)
 * is cleared, so `service` is the Atlassian service and the dashboard and alarms find the metric by
 * the dimensions they are built from.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  METRIC_DIMENSIONS,
  METRICS,
  METRICS_NAMESPACE,
  type MetricDimension,
  type MetricKey,
} from '../../model/config/metrics.js';
import type { PointsReading } from '../core/domain/points-metering.js';
import { rateLimitedReasonOf } from '../core/domain/rate-limit-signals.js';
import type { SubmitCommand } from '../core/domain/submit-command.js';
import type { RequestEvent, RequestObserver } from '../core/ports/request-events.js';
import { submitLogLine, submitMetrics } from '../core/use-cases/submit-answer.js';
import type { SubmitAnswer } from '../core/use-cases/submit.js';
import type { MetricPoint } from '../core/use-cases/submit-answer.js';
import type { logger as Logger } from './logger.js';

const UNITS = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
  None: MetricUnit.NoUnit,
} as const;

/** A function's metrics in the catalogue's namespace, written as single EMF lines as they happen. */
export function functionMetrics(serviceName: string, logger: typeof Logger): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName, logger });
}

/** Emits one catalogue metric with its dimensions (all of them must be given). */
export function emitMetric(
  metrics: Metrics,
  key: MetricKey,
  value: number,
  dimensions: Partial<Record<MetricDimension, string>>,
): void {
  const spec = METRICS[key];
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  addDimensions(single, key, dimensions);
  single.addMetric(spec.name, UNITS[spec.unit], value);
}

/**
 * Emits several catalogue metrics of the same dimensions as one EMF line (one log line per event,
 * not one per metric). `line` is a buffered (not single-metric) instance of its own, without default
 * dimensions (`metricLine`): it is published at once, so nothing else may be buffered in it.
 */
export function emitMetrics(
  line: Metrics,
  values: Partial<Record<MetricKey, number>>,
  dimensions: Partial<Record<MetricDimension, string>>,
): void {
  const keys = (Object.keys(values) as MetricKey[]).filter((k) => values[k] !== undefined);
  const first = keys[0];
  if (first === undefined) return;
  const shape = METRICS[first].dimensions.join();
  for (const key of keys) {
    if (METRICS[key].dimensions.join() !== shape) {
      throw new Error(`metrics ${METRICS[first].name} and ${METRICS[key].name} differ in dimensions`);
    }
  }
  addDimensions(line, first, dimensions);
  for (const key of keys) line.addMetric(METRICS[key].name, UNITS[METRICS[key].unit], values[key]!);
  line.publishStoredMetrics();
}

/** A metrics instance for `emitMetrics`: the catalogue's namespace, no default dimensions. */
export function metricLine(logger: typeof Logger): Metrics {
  const line = new Metrics({ namespace: METRICS_NAMESPACE, logger });
  line.clearDefaultDimensions();
  return line;
}

function addDimensions(
  metrics: Metrics,
  key: MetricKey,
  dimensions: Partial<Record<MetricDimension, string>>,
): void {
  const spec = METRICS[key];
  for (const dimension of spec.dimensions) {
    const dimensionValue = dimensions[dimension];
    if (dimensionValue === undefined) throw new Error(`metric ${spec.name} needs dimension ${dimension}`);
    metrics.addDimension(METRIC_DIMENSIONS[dimension], dimensionValue);
  }
}

/** The status a request is in after the event. */
const STATUS_AFTER: Record<RequestEvent['kind'], string> = {
  completed: 'completed',
  failed: 'failed',
  dead: 'dead',
  retry: 'queued',
  deferred: 'queued',
};

/**
 * One structured line per state change — the seed's `[QUEUE] Token: … Status: … Duration: …` as
 * fields, with the token as `correlation_id` — and the metrics: Completed + QueueLatency, Failed,
 * Dead, Deferred, and RateLimited for every attempt Atlassian answered 429, by its
 * `RateLimit-Reason` (a text RIQ does not know, or none, as `unknown`).
 *
 * The correlation id is a field of each line rather than `logger.setCorrelationId`: the local stack
 * runs many invocations of one handler module at once, which would share the logger's state.
 */
export function observeRequests(metrics: Metrics, logger: typeof Logger): RequestObserver {
  const line = metricLine(logger);
  return (event) => {
    const { record } = event;
    const byService = { service: record.service };
    const byServiceAndPriority = { service: record.service, priority: record.priority };
    const durationMs = event.at - Date.parse(record.created_at);
    logger.info('request state changed', {
      correlation_id: record.token,
      status: STATUS_AFTER[event.kind],
      event: event.kind,
      operation: record.operation,
      // `service` is the logger's own key (the function's name): the Atlassian service is this one.
      target_service: record.service,
      priority: record.priority,
      routing_path: record.routing_path,
      duration_ms: durationMs,
      ...('attempt' in event && event.attempt !== undefined ? { attempt: event.attempt } : {}),
      ...('error' in event ? { error_code: event.error.code } : {}),
      // Atlassian's `RateLimit-Reason` of a 429, known or not: an unknown one pauses the whole
      // service, and the log is where a reason RIQ should learn shows up.
      ...('error' in event && typeof event.error.details?.['rateLimitReason'] === 'string'
        ? { rate_limit_reason: event.error.details['rateLimitReason'] }
        : {}),
      ...(event.kind === 'retry' ? { retry_in_seconds: event.delaySeconds } : {}),
      ...(event.kind === 'deferred' ? { deferred_reason: event.reason, wait_ms: event.waitMs } : {}),
    });
    switch (event.kind) {
      case 'completed':
        emitMetrics(line, { completed: 1, queueLatency: Math.max(0, durationMs) }, byServiceAndPriority);
        break;
      case 'failed':
        emitMetric(metrics, 'failed', 1, byServiceAndPriority);
        break;
      case 'dead':
        emitMetric(metrics, 'dead', 1, byServiceAndPriority);
        break;
      case 'deferred':
        emitMetric(metrics, 'deferred', 1, byService);
        break;
      case 'retry':
        break;
    }
    if ('error' in event && event.error.code === 'RATE_LIMITED') {
      const text = event.error.details?.['rateLimitReason'];
      const reason = rateLimitedReasonOf(typeof text === 'string' ? text : undefined);
      emitMetric(metrics, 'rateLimited', 1, { service: record.service, reason });
    }
  };
}

/**
 * PointsSpent of every call the points budget meters, with PointsRemaining on the same line when
 * Atlassian's answers gave `r` (lambdas/core/domain/points-metering.ts `onMetered`).
 */
export function observePoints(logger: typeof Logger): (reading: PointsReading) => void {
  const line = metricLine(logger);
  return (reading) =>
    emitMetrics(
      line,
      {
        pointsSpent: reading.spent,
        ...(reading.remaining !== undefined ? { pointsRemaining: reading.remaining } : {}),
      },
      { service: reading.service },
    );
}

/** The metrics and the log line of each submit (lambdas/core/use-cases/submit-answer.ts says which). */
export function observeSubmissions(
  logger: typeof Logger,
): (command: SubmitCommand, answer: SubmitAnswer) => void {
  const emf = metricLine(logger);
  return (command, answer) => {
    for (const group of byDimensions(submitMetrics(command, answer))) {
      emitMetrics(emf, group.values, group.dimensions);
    }
    const line = submitLogLine(command, answer);
    logger.info(line.message, line.fields);
  };
}

/**
 * Metric points grouped by their dimensions (names and values), in first-seen order: each group is
 * one EMF line, so a submit writes one line per dimension set rather than one per metric.
 */
export function byDimensions(points: readonly MetricPoint[]): {
  values: Partial<Record<MetricKey, number>>;
  dimensions: Partial<Record<MetricDimension, string>>;
}[] {
  const groups = new Map<
    string,
    { values: Partial<Record<MetricKey, number>>; dimensions: Partial<Record<MetricDimension, string>> }
  >();
  for (const point of points) {
    const id = JSON.stringify([METRICS[point.key].dimensions, point.dimensions]);
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { values: {}, dimensions: point.dimensions }));
    group.values[point.key] = point.value;
  }
  return [...groups.values()];
}
