import { describe, expect, it } from 'vitest';
import { buildBreakerReport, readBreakerReport } from '../../../lambdas/core/use-cases/breaker-report.js';
import type { BreakerView } from '../../../lambdas/core/ports/flow-control.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';

const settings = { failureThreshold: 5, windowSeconds: 60, recoverySeconds: 60, probeLeaseSeconds: 40 };
const T0 = Date.parse('2026-01-08T19:53:30.000Z');

const closed = (service: 'jira' | 'confluence'): BreakerView => ({
  service,
  state: 'closed',
  failure_count: 0,
  opened_at: null,
  next_attempt_at: null,
  last_failure_at: null,
});

describe('circuit breakers report', () => {
  it('shows every service closed, in the seed 004 shape', () => {
    expect(buildBreakerReport([closed('jira'), closed('confluence')], settings, T0)).toEqual({
      timestamp: '2026-01-08T19:53:30.000Z',
      circuit_breakers: {
        jira: {
          name: 'jira',
          state: 'closed',
          failure_count: 0,
          failure_threshold: 5,
          opened_at: null,
          next_attempt_at: null,
          last_failure_at: null,
          recovery_timeout_seconds: 60,
          window_seconds: 60,
        },
        confluence: {
          name: 'confluence',
          state: 'closed',
          failure_count: 0,
          failure_threshold: 5,
          opened_at: null,
          next_attempt_at: null,
          last_failure_at: null,
          recovery_timeout_seconds: 60,
          window_seconds: 60,
        },
      },
      summary: {
        total_circuits: 2,
        circuits_by_state: { closed: 2, open: 0, half_open: 0 },
        open_circuits: [],
      },
    });
  });

  it('lists an open breaker among the open circuits and counts states', () => {
    const jira: BreakerView = {
      service: 'jira',
      state: 'open',
      failure_count: 5,
      opened_at: '2026-01-08T19:53:30.000Z',
      next_attempt_at: '2026-01-08T19:54:30.000Z',
      last_failure_at: '2026-01-08T19:53:30.000Z',
    };
    const confluence: BreakerView = { ...closed('confluence'), state: 'half_open' };
    const report = buildBreakerReport([confluence, jira], settings, T0);
    expect(report.summary).toEqual({
      total_circuits: 2,
      circuits_by_state: { closed: 0, open: 1, half_open: 1 },
      open_circuits: [
        {
          name: 'jira',
          failure_count: 5,
          opened_at: '2026-01-08T19:53:30.000Z',
          next_attempt_at: '2026-01-08T19:54:30.000Z',
        },
      ],
    });
    expect(report.circuit_breakers.jira).toMatchObject({
      state: 'open',
      next_attempt_at: jira.next_attempt_at,
    });
    expect(Object.keys(report.circuit_breakers)).toEqual(['jira', 'confluence']);
  });

  it('refuses to report without every service', () => {
    expect(() => buildBreakerReport([closed('jira')], settings, T0)).toThrow(/confluence/);
  });

  it('reads both services through the breaker port', async () => {
    const breaker = new InMemoryCircuitBreaker(settings);
    for (let i = 0; i < 5; i++) await breaker.report('jira', 'failure', false, T0);
    const report = await readBreakerReport({ breaker, clock: { now: () => T0 + 1000 }, settings });
    expect(report.circuit_breakers.jira).toMatchObject({
      state: 'open',
      failure_count: 5,
      opened_at: '2026-01-08T19:53:30.000Z',
      next_attempt_at: '2026-01-08T19:54:30.000Z',
    });
    expect(report.circuit_breakers.confluence.state).toBe('closed');
    expect(report.summary.open_circuits.map((c) => c.name)).toEqual(['jira']);
  });
});
