/**
 * The EMF lines the observers write (lambdas/shared/metrics.ts): what CloudWatch would read from a
 * function's stdout, one line per event.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import {
  functionMetrics,
  observePoints,
  observeRequests,
  observeSubmissions,
} from '../../../lambdas/shared/metrics.js';
import { logger } from '../../../lambdas/shared/logger.js';
import type { EventRecord, RequestEvent } from '../../../lambdas/core/ports/request-events.js';

type Line = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
};

let written: string[];

beforeEach(() => {
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  vi.spyOn(logger, 'info').mockImplementation(() => undefined);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The EMF lines written, parsed. */
function emfLines(): Line[] {
  return written
    .join('')
    .split('\n')
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Line);
}

/** Each line as `{ dimensions, metrics: {name: value} }`. */
function readable(line: Line) {
  const directive = line._aws.CloudWatchMetrics[0]!;
  return {
    namespace: directive.Namespace,
    dimensions: Object.fromEntries((directive.Dimensions[0] ?? []).map((d) => [d, line[d]])),
    metrics: Object.fromEntries(directive.Metrics.map((m) => [m.Name, line[m.Name]])),
  };
}

const RECORD: EventRecord = {
  token: `req_${'2'.repeat(32)}`,
  operation: 'jira.get_task',
  service: 'jira',
  priority: 'normal',
  created_at: new Date(0).toISOString(),
  routing_path: 'QUEUED',
};

function retryAfter429(details: Record<string, unknown>): RequestEvent {
  return {
    kind: 'retry',
    record: RECORD,
    at: 1000,
    attempt: 1,
    delaySeconds: 5,
    error: { code: 'RATE_LIMITED', message: 'HTTP 429', retryable: true, details },
  };
}

describe('metrics observers', () => {
  describe('observeRequests', () => {
    it('counts a 429 as RateLimited by service and its RateLimit-Reason', () => {
      const observe = observeRequests(functionMetrics('riq-test', logger), logger);
      observe(retryAfter429({ status: 429, rateLimitReason: 'Jira-Burst-Based' }));
      expect(emfLines().map(readable)).toEqual([
        {
          namespace: 'RIQ',
          dimensions: { service: 'jira', reason: 'jira-burst-based' },
          metrics: { RateLimited: 1 },
        },
      ]);
    });

    it('writes one state line with the token once, as correlation_id', () => {
      const observe = observeRequests(functionMetrics('riq-test', logger), logger);
      observe(retryAfter429({ status: 429 }));
      const info = vi.mocked(logger.info);
      expect(info).toHaveBeenCalledTimes(1);
      const [message, fields] = info.mock.calls[0] as unknown as [string, Record<string, unknown>];
      expect(message).toBe('request state changed');
      expect(fields).toMatchObject({ correlation_id: RECORD.token, status: 'queued', event: 'retry' });
      expect(fields).not.toHaveProperty('token');
    });

    it('counts a 429 with a reason RIQ does not know, or none, as reason unknown', () => {
      const observe = observeRequests(functionMetrics('riq-test', logger), logger);
      observe(retryAfter429({ status: 429, rateLimitReason: 'jira-cost-based' }));
      observe(retryAfter429({ status: 429 }));
      expect(emfLines().map((l) => readable(l).dimensions)).toEqual([
        { service: 'jira', reason: 'unknown' },
        { service: 'jira', reason: 'unknown' },
      ]);
    });

    it('writes no RateLimited for a failure other than a 429', () => {
      const observe = observeRequests(functionMetrics('riq-test', logger), logger);
      observe({
        ...retryAfter429({}),
        error: { code: 'SERVICE_UNAVAILABLE', message: 'HTTP 503', retryable: true },
      } as RequestEvent);
      expect(emfLines()).toEqual([]);
    });
  });

  describe('observeRequests, completed', () => {
    it('writes Completed and QueueLatency on one line', () => {
      const observe = observeRequests(functionMetrics('riq-test', logger), logger);
      observe({ kind: 'completed', record: RECORD, at: 250 } as RequestEvent);
      expect(emfLines().map(readable)).toEqual([
        {
          namespace: 'RIQ',
          dimensions: { service: 'jira', priority: 'normal' },
          metrics: { Completed: 1, QueueLatency: 250 },
        },
      ]);
    });
  });

  describe('observeSubmissions', () => {
    it('writes one line per dimension set: Submitted by priority, the cache and routing counts by service', () => {
      const observe = observeSubmissions(logger);
      const command = parseSubmitBody(
        JSON.stringify({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, priority: 'high' }),
        10_000,
      );
      observe(command, {
        token: `req_${'3'.repeat(32)}`,
        status: 'completed',
        poll_url: '/x',
        routing_path: 'DIRECT',
        cache: 'miss',
      });
      expect(emfLines().map(readable)).toEqual([
        { namespace: 'RIQ', dimensions: { service: 'jira', priority: 'high' }, metrics: { Submitted: 1 } },
        {
          namespace: 'RIQ',
          dimensions: { service: 'jira' },
          metrics: { CacheHit: 0, CacheMiss: 1, RoutedDirect: 1, RoutedQueued: 0 },
        },
      ]);
    });
  });

  describe('observePoints', () => {
    it('writes PointsSpent and PointsRemaining on one line per call', () => {
      const observe = observePoints(logger);
      observe({ service: 'confluence', spent: 3, remaining: 1200 });
      expect(emfLines().map(readable)).toEqual([
        {
          namespace: 'RIQ',
          dimensions: { service: 'confluence' },
          metrics: { PointsSpent: 3, PointsRemaining: 1200 },
        },
      ]);
    });

    it('writes PointsSpent alone when Atlassian gave no r, and nothing carries over between calls', () => {
      const observe = observePoints(logger);
      observe({ service: 'jira', spent: 51 });
      observe({ service: 'confluence', spent: 2 });
      expect(emfLines().map(readable)).toEqual([
        { namespace: 'RIQ', dimensions: { service: 'jira' }, metrics: { PointsSpent: 51 } },
        { namespace: 'RIQ', dimensions: { service: 'confluence' }, metrics: { PointsSpent: 2 } },
      ]);
    });
  });
});
