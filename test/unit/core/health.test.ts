import { describe, expect, it } from 'vitest';
import { checkHealth, type HealthDeps } from '../../../lambdas/core/use-cases/health.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';
import { FakeClock } from '../../support/in-memory-store.js';

function setup(deadLetters = 0) {
  const clock = new FakeClock();
  const breaker = new InMemoryCircuitBreaker();
  const deps: HealthDeps = {
    queue: {
      depth: async () => ({ visible: 0, inFlight: 0, delayed: 0 }),
      deadLetterDepth: async () => 0,
    },
    store: { countByStatus: async () => deadLetters },
    breaker,
    clock,
  };
  return { deps, breaker, clock };
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
});
