import { describe, expect, it } from 'vitest';
import { breakerStateValue } from '../../../lambdas/core/domain/breaker.js';
import type { BreakerStateName, BreakerView } from '../../../lambdas/core/ports/flow-control.js';
import {
  escapeLabelValue,
  formatValue,
  negotiateFormat,
  rateSettingsByService,
  readMetrics,
  renderExposition,
  toPrometheusText,
  type MetricsDeps,
  type MetricsReport,
} from '../../../lambdas/core/use-cases/metrics-report.js';
import type { BucketState } from '../../../lambdas/core/domain/token-bucket.js';
import { allQueueKeys, type QueueKey } from '../../../model/config/resources.js';
import { DEFAULT_CONFIG, type Service } from '../../../model/config/riq-config.js';
import { FakeClock } from '../../support/in-memory-store.js';

function view(service: Service, state: BreakerStateName): BreakerView {
  return {
    service,
    state,
    failure_count: 0,
    opened_at: null,
    next_attempt_at: null,
    last_failure_at: null,
  };
}

function setup(options: {
  breakers?: Partial<Record<Service, BreakerStateName>>;
  buckets?: Partial<Record<Service, BucketState>>;
  dead?: number;
}) {
  const clock = new FakeClock();
  const index = (key: QueueKey) => allQueueKeys().indexOf(key);
  const viewedAt: number[] = [];
  const deps: MetricsDeps = {
    queue: {
      depth: async (key) => ({
        visible: 100 + index(key),
        inFlight: 200 + index(key),
        delayed: 300 + index(key),
      }),
      deadLetterDepth: async (key) => 400 + index(key),
    },
    store: {
      countByStatus: async (status) => (status === 'dead' ? (options.dead ?? 0) : -1),
    },
    breaker: {
      view: async (service, now) => {
        viewedAt.push(now);
        return view(service, options.breakers?.[service] ?? 'closed');
      },
    },
    rate: { peek: async (service) => options.buckets?.[service] },
    rateSettings: rateSettingsByService(DEFAULT_CONFIG),
    clock,
  };
  return { deps, clock, viewedAt };
}

describe('metrics report', () => {
  it('carries every queue depth, dead-letter depth and the dead count through', async () => {
    const { deps, clock } = setup({ dead: 7 });
    const report = await readMetrics(deps);
    expect(report.timestamp).toBe(new Date(clock.now()).toISOString());
    expect(report.dead_requests).toBe(7);
    expect(report.queues).toHaveLength(6);
    for (const [i, key] of allQueueKeys().entries()) {
      const [service, priority] = key.split('-');
      expect(report.queues.find((q) => `${q.service}-${q.priority}` === key)).toEqual({
        service,
        priority,
        visible: 100 + i,
        in_flight: 200 + i,
        delayed: 300 + i,
        dead_letter_queue: 400 + i,
      });
    }
  });

  it('gives breakers 1 closed, 0.5 half-open, 0 open, read at the clock', async () => {
    expect([breakerStateValue('closed'), breakerStateValue('half_open'), breakerStateValue('open')]).toEqual([
      1, 0.5, 0,
    ]);
    const { deps, clock, viewedAt } = setup({ breakers: { jira: 'half_open', confluence: 'open' } });
    const report = await readMetrics(deps);
    expect(report.circuit_breakers).toEqual([
      { service: 'jira', state: 'half_open', value: 0.5 },
      { service: 'confluence', state: 'open', value: 0 },
    ]);
    expect(viewedAt).toEqual([clock.now(), clock.now()]);
    const closed = await readMetrics(setup({}).deps);
    expect(closed.circuit_breakers.map((b) => b.value)).toEqual([1, 1]);
  });

  it('advances the stored rate buckets to now and reads an unused bucket as full', async () => {
    const now = new FakeClock().now();
    const jira: BucketState = {
      tokens: 10,
      updatedAt: now - 6_000,
      effectiveRatePerSecond: 1,
      pausedUntil: 0,
      pauses: {},
      objectPauses: {},
    };
    const { deps } = setup({ buckets: { jira } });
    const report = await readMetrics(deps);
    expect(report.rate_limits).toEqual([
      {
        service: 'jira',
        tokens: 16,
        burst: 50,
        effective_rate_per_second: 1,
        configured_rate_per_second: 100 / 60,
        paused_until: null,
      },
      {
        service: 'confluence',
        tokens: 50,
        burst: 50,
        effective_rate_per_second: 50 / 60,
        configured_rate_per_second: 50 / 60,
        paused_until: null,
      },
    ]);
  });

  it('shows a running service pause (empty bucket) and drops an ended one', async () => {
    const now = new FakeClock().now();
    const paused: BucketState = {
      tokens: 0,
      updatedAt: now + 30_000,
      effectiveRatePerSecond: 0.5,
      pausedUntil: now + 30_000,
      pauses: {},
      objectPauses: {},
    };
    const ended: BucketState = { ...paused, updatedAt: now - 2_000, pausedUntil: now - 2_000 };
    const report = await readMetrics(setup({ buckets: { jira: paused, confluence: ended } }).deps);
    expect(report.rate_limits[0]).toMatchObject({
      service: 'jira',
      tokens: 0,
      effective_rate_per_second: 0.5,
      paused_until: new Date(now + 30_000).toISOString(),
    });
    expect(report.rate_limits[1]).toMatchObject({ service: 'confluence', tokens: 1, paused_until: null });
  });
});

describe('Prometheus text exposition', () => {
  const report: MetricsReport = {
    timestamp: '2026-11-23T10:00:00.000Z',
    queues: [
      { service: 'jira', priority: 'high', visible: 3, in_flight: 1, delayed: 0, dead_letter_queue: 2 },
    ],
    dead_requests: 4,
    circuit_breakers: [{ service: 'jira', state: 'half_open', value: 0.5 }],
    rate_limits: [
      {
        service: 'jira',
        tokens: 12.5,
        burst: 50,
        effective_rate_per_second: 0.75,
        configured_rate_per_second: 1.5,
        paused_until: null,
      },
    ],
  };

  it('renders each family with HELP and TYPE gauge lines and labelled samples', () => {
    expect(toPrometheusText(report)).toBe(
      [
        '# HELP riq_queue_messages Messages in a work queue, by state (visible, in_flight, delayed).',
        '# TYPE riq_queue_messages gauge',
        'riq_queue_messages{service="jira",priority="high",state="visible"} 3',
        'riq_queue_messages{service="jira",priority="high",state="in_flight"} 1',
        'riq_queue_messages{service="jira",priority="high",state="delayed"} 0',
        '# HELP riq_dead_letter_queue_messages Messages in the dead-letter queue of a work queue.',
        '# TYPE riq_dead_letter_queue_messages gauge',
        'riq_dead_letter_queue_messages{service="jira",priority="high"} 2',
        '# HELP riq_dead_requests Requests in status dead, waiting for an operator.',
        '# TYPE riq_dead_requests gauge',
        'riq_dead_requests 4',
        '# HELP riq_circuit_breaker_state Circuit breaker state: 1 closed, 0.5 half-open, 0 open.',
        '# TYPE riq_circuit_breaker_state gauge',
        'riq_circuit_breaker_state{service="jira"} 0.5',
        '# HELP riq_rate_limit_tokens Tokens in the shared rate-limit bucket of a service now.',
        '# TYPE riq_rate_limit_tokens gauge',
        'riq_rate_limit_tokens{service="jira"} 12.5',
        '# HELP riq_rate_limit_effective_per_second Effective (adaptive) refill rate of the rate-limit bucket, calls per second.',
        '# TYPE riq_rate_limit_effective_per_second gauge',
        'riq_rate_limit_effective_per_second{service="jira"} 0.75',
        '# HELP riq_rate_limit_configured_per_second Configured refill rate of the rate-limit bucket (the ceiling), calls per second.',
        '# TYPE riq_rate_limit_configured_per_second gauge',
        'riq_rate_limit_configured_per_second{service="jira"} 1.5',
        '',
      ].join('\n'),
    );
  });

  it('escapes backslash, double quote and newline in label values, and backslash and newline in HELP', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const text = renderExposition([
      {
        name: 'riq_test',
        help: 'a "help" with \\ and\nnewline',
        type: 'gauge',
        samples: [{ labels: { service: 'we"ird\\name\nx' }, value: 1 }],
      },
    ]);
    expect(text).toBe(
      [
        '# HELP riq_test a "help" with \\\\ and\\nnewline',
        '# TYPE riq_test gauge',
        'riq_test{service="we\\"ird\\\\name\\nx"} 1',
        '',
      ].join('\n'),
    );
  });

  it('spells special values as Prometheus reads them', () => {
    expect([NaN, Infinity, -Infinity, 0, -2.5, 1e21].map(formatValue)).toEqual([
      'NaN',
      '+Inf',
      '-Inf',
      '0',
      '-2.5',
      '1e+21',
    ]);
  });
});

describe('content negotiation', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['application/json', 'json'],
    ['*/*', 'json'],
    ['text/plain', 'prometheus'],
    ['text/plain; version=0.0.4', 'prometheus'],
    ['text/*', 'prometheus'],
    ['TEXT/PLAIN', 'prometheus'],
    ['application/json, text/plain', 'json'],
    ['application/json;q=0.5, text/plain', 'prometheus'],
    ['text/plain;q=0.2, application/json;q=0.9', 'json'],
    ['text/plain;q=0, */*', 'json'],
    ['application/xml', 'json'],
    ['text/html', 'json'],
    // Prometheus 2.x's scrape header, and 3.x's.
    [
      'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
      'prometheus',
    ],
    [
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
      'prometheus',
    ],
  ] as const)('Accept %j → %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});
