import { describe, expect, it } from 'vitest';
import { checkHealth, type HealthDeps } from '../../../lambdas/core/use-cases/health.js';
import { readRateLimitSignals } from '../../../lambdas/core/domain/rate-limit-signals.js';
import type { CallScope } from '../../../lambdas/core/ports/flow-control.js';
import { resolveConfig } from '../../../model/config/riq-config.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';
import { InMemoryPointsBudget } from '../../support/in-memory-points-budget.js';
import { InMemoryRateGate } from '../../support/in-memory-rate-gate.js';
import { FakeClock } from '../../support/in-memory-store.js';

/** Jira: 10 tokens a second, burst 10 (normal keeps 1 back); 3,600 points an hour, 100 s of burst. */
const CONFIG = resolveConfig({
  services: {
    jira: {
      ratePerMinute: 600,
      burst: 10,
      reserves: { normal: 0.1, low: 0.3 },
      points: { quotaPerHour: 3600, windowSeconds: 3600, burstSeconds: 100 },
    },
  },
});

function setup(deadLetters = 0, dlqMessages = 0) {
  const clock = new FakeClock();
  const breaker = new InMemoryCircuitBreaker();
  const rate = new InMemoryRateGate(CONFIG);
  const points = new InMemoryPointsBudget(CONFIG, 'oauth');
  const deps: HealthDeps = {
    queue: {
      depth: async () => ({ visible: 0, inFlight: 0, delayed: 0 }),
      deadLetterDepth: async () => dlqMessages,
    },
    store: { countByStatus: async () => deadLetters },
    breaker,
    rate,
    points,
    clock,
  };
  return { deps, breaker, rate, points, clock };
}

function call(over: Partial<CallScope> = {}): CallScope {
  return { service: 'jira', priority: 'high', endpoint: 'jira:issue:get', write: false, ...over };
}

describe('health', () => {
  it('is healthy with every breaker closed, and shows each service breaker', async () => {
    const { deps } = setup();
    const report = await checkHealth(deps);
    expect(report.status).toBe('healthy');
    expect(report.services.jira.circuit_breaker).toBe('closed');
    expect(report.services.confluence.circuit_breaker).toBe('closed');
    expect(report.circuit_breakers).toMatchObject({ total_circuits: 2, open_circuits: [] });
  });

  it('is degraded while a breaker is open, naming it, and reads the breaker without moving it', async () => {
    const { deps, breaker, clock } = setup();
    for (let i = 0; i < 5; i++) await breaker.report('confluence', 'failure', false, clock.now());
    const report = await checkHealth(deps);
    expect(report.status).toBe('degraded');
    expect(report.reasons).toContain('the confluence circuit breaker is open');
    expect(report.services.confluence.circuit_breaker).toBe('open');
    expect(report.services.jira.circuit_breaker).toBe('closed');
    expect(report.circuit_breakers.open_circuits.map((c) => c.name)).toEqual(['confluence']);
    // Past the recovery timeout the view reports half-open but no probe lease is taken.
    clock.advance(61_000);
    await checkHealth(deps);
    expect(await breaker.acquire('confluence', clock.now())).toEqual({ allowed: true, probe: true });
  });

  it('is degraded while dead requests wait for an operator', async () => {
    const { deps } = setup(2);
    const report = await checkHealth(deps);
    expect(report.status).toBe('degraded');
    expect(report.dead_letters).toBe(2);
  });

  it('counts dead requests, not dead-letter queue messages: a retried request leaves its copy there', async () => {
    const { deps } = setup(0, 1);
    const report = await checkHealth(deps);
    expect(report.status).toBe('healthy');
    expect(report.reasons).toEqual([]);
    expect(report.services.jira.queues.normal.dead_letter_queue).toBe(1);
    expect(report.dead_letters).toBe(0);
  });

  describe('budgets', () => {
    it('shows each service’s token bucket and points budget as configured while nothing ran', async () => {
      const { deps } = setup();
      const { budgets } = await checkHealth(deps);
      expect(budgets.jira).toEqual({
        rate: {
          tokens: 10,
          burst: 10,
          effective_rate_per_second: 10,
          configured_rate_per_second: 10,
          pauses: [],
          slow_until: null,
          // rateControl.callJitterMs (400 ms) of refill at 10/s is 4 tokens, capped at 30 % of the burst.
          margin_tokens: 3,
          lines: { normal: { next_slot_at: null, ahead_ms: 0 }, low: { next_slot_at: null, ahead_ms: 0 } },
        },
        points: {
          enabled: true,
          points: 100,
          capacity: 100,
          pace_per_second: 1,
          quota: 3600,
          window_seconds: 3600,
          quota_source: 'config',
          reset_at: null,
          slow_until: null,
          exhausted_until: null,
        },
      });
      expect(budgets.confluence.rate.configured_rate_per_second).toBe(
        CONFIG.services.confluence.ratePerMinute / 60,
      );
      expect(budgets.confluence.points.quota).toBe(CONFIG.services.confluence.points.quotaPerHour);
    });

    it('shows the pauses in force with scope and end, the lines, a learned quota and its exhaustion', async () => {
      const { deps, rate, points, clock } = setup();
      const t0 = clock.now();
      await rate.report(
        call({ endpoint: 'jira:search' }),
        { kind: 'rate_limited', retryAfterSeconds: 4, reason: 'jira-burst-based' },
        t0,
      );
      await rate.report(
        call(),
        { kind: 'rate_limited', retryAfterSeconds: 9, reason: 'jira-cost-based' },
        t0,
      );
      const refused = await rate.acquire(call({ priority: 'normal' }), t0 + 9_050);
      expect(refused).toMatchObject({ granted: false, reason: 'no_token' });
      await points.observe(
        'jira',
        readRateLimitSignals(
          new Headers({
            'RateLimit-Policy': '"global-app-quota";q=7200;w=3600',
            'RateLimit-Reason': 'jira-quota-global-based',
            'Retry-After': '1800',
          }),
          t0,
        ),
        t0,
      );
      clock.advance(9_050);
      const report = await checkHealth(deps);
      const jira = report.budgets.jira;
      // Both pauses have ended; the 429s emptied the bucket, refilled at 10/s from the end of the 9 s pause.
      expect(jira.rate.pauses).toEqual([]);
      expect(jira.rate.tokens).toBeCloseTo(0.5, 6);
      const slotAt = (refused as { slotAt: number }).slotAt;
      expect(jira.rate.lines.normal).toEqual({
        next_slot_at: new Date(slotAt + 100).toISOString(),
        ahead_ms: slotAt + 100 - clock.now(),
      });
      expect(jira.rate.lines.low).toEqual(jira.rate.lines.normal);
      expect(jira.points).toMatchObject({
        quota: 7200,
        quota_source: 'headers',
        pace_per_second: 0,
        exhausted_until: new Date(t0 + 1_800_000).toISOString(),
      });
      // Budgets explain waiting; they do not make the service unhealthy.
      expect(report.status).toBe('healthy');
    });

    it('lists the pauses in force, longest first, with their scope and target', async () => {
      const { deps, rate, clock } = setup();
      const t0 = clock.now();
      await rate.report(
        call({ endpoint: 'jira:issue:update', write: true, objectId: 'MD-7' }),
        { kind: 'rate_limited', retryAfterSeconds: 3, reason: 'jira-per-issue-on-write' },
        t0,
      );
      await rate.report(
        call({ endpoint: 'jira:search' }),
        { kind: 'rate_limited', retryAfterSeconds: 5, reason: 'jira-burst-based' },
        t0,
      );
      await rate.report(call(), { kind: 'rate_limited', retryAfterSeconds: 8 }, t0);
      const { budgets } = await checkHealth(deps);
      expect(budgets.jira.rate.pauses).toEqual([
        { scope: 'service', target: null, until: new Date(t0 + 8_000).toISOString() },
        { scope: 'endpoint', target: 'jira:search', until: new Date(t0 + 5_000).toISOString() },
        { scope: 'object', target: 'MD-7', until: new Date(t0 + 3_000).toISOString() },
      ]);
      expect(budgets.confluence.rate.pauses).toEqual([]);
    });
  });
});
