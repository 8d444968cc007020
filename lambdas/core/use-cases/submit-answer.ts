/**
 * What a submit's answer becomes: the HTTP response (the body without the fields that are only for
 * logs and metrics; 202 for fire and forget), the catalogue metrics it adds (model/config/metrics.ts)
 * and its log line. Pure: the submit function's observer (lambdas/shared/metrics.ts) writes them.
 */
import type { MetricDimension, MetricKey } from '../../../model/config/metrics.js';
import { serviceOf } from '../../../model/operations.js';
import type { SubmitCommand } from '../domain/submit-command.js';
import type { CachedResponse, SubmitAnswer, SubmitResponse } from './submit.js';

/** The fields of an answer that logs and metrics use, never the body. */
type ReportOnly = 'duplicate' | 'cache' | 'direct' | 'fire_and_forget';

export type SubmitBody = Omit<SubmitResponse, ReportOnly> | Omit<CachedResponse, 'cache'>;

export interface SubmitHttpAnswer {
  /** 202: fire and forget, accepted and not to be waited on. */
  statusCode: 200 | 202;
  body: SubmitBody;
}

export function toSubmitResponse(answer: SubmitAnswer): SubmitHttpAnswer {
  if (answer.cache === 'hit') {
    const { cache: _cache, ...body } = answer;
    return { statusCode: 200, body };
  }
  const {
    duplicate: _duplicate,
    cache: _cache,
    direct: _direct,
    fire_and_forget: fireAndForget,
    ...body
  } = answer;
  return { statusCode: fireAndForget === true ? 202 : 200, body };
}

export interface MetricPoint {
  key: MetricKey;
  value: number;
  dimensions: Partial<Record<MetricDimension, string>>;
}

/**
 * `Submitted` per accepted submit; for reads that looked the cache up `CacheHit`/`CacheMiss` (0 or 1
 * each, so their sums give the hit ratio); for requests stored by this submit (not a cache hit, not
 * a duplicate) `RoutedDirect`/`RoutedQueued` (0 or 1 each: the share answered by a DIRECT call).
 */
export function submitMetrics(command: SubmitCommand, answer: SubmitAnswer): MetricPoint[] {
  const byService = { service: serviceOf(command.operation) };
  const points: MetricPoint[] = [
    { key: 'submitted', value: 1, dimensions: { ...byService, priority: command.priority } },
  ];
  if (answer.cache === 'hit' || answer.cache === 'miss') {
    points.push(
      { key: 'cacheHit', value: answer.cache === 'hit' ? 1 : 0, dimensions: byService },
      { key: 'cacheMiss', value: answer.cache === 'miss' ? 1 : 0, dimensions: byService },
    );
  }
  if (answer.cache !== 'hit' && answer.duplicate !== true) {
    const isDirect = answer.routing_path === 'DIRECT';
    points.push(
      { key: 'routedDirect', value: isDirect ? 1 : 0, dimensions: byService },
      { key: 'routedQueued', value: isDirect ? 0 : 1, dimensions: byService },
    );
  }
  return points;
}

export interface LogLine {
  message: string;
  fields: Record<string, unknown>;
}

/**
 * The one log line of a submit: a cached read, or the request stored (the token as correlation id).
 * CloudWatch Logs bills by the byte, so a field is left out when it holds its usual value: no
 * `duplicate` unless the submit repeated a key, no `cache` for a request that has no cache (writes),
 * no `direct` for one never tried DIRECT (`ineligible`).
 */
export function submitLogLine(command: SubmitCommand, answer: SubmitAnswer): LogLine {
  if (answer.cache === 'hit') {
    return {
      message: 'read answered from the cache',
      fields: { operation: command.operation, cached_at: answer.cached_at },
    };
  }
  const direct = answer.direct?.kind === 'skipped' ? `skipped:${answer.direct.reason}` : answer.direct?.kind;
  return {
    message: 'request submitted',
    fields: {
      correlation_id: answer.token,
      operation: command.operation,
      priority: command.priority,
      status: answer.status,
      routing_path: answer.routing_path,
      ...(answer.duplicate === true ? { duplicate: true } : {}),
      ...(answer.cache !== undefined && answer.cache !== 'none' ? { cache: answer.cache } : {}),
      ...(direct !== undefined && direct !== 'ineligible' ? { direct } : {}),
    },
  };
}
