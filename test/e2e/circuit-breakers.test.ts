import { describe, expect, inject, it } from 'vitest';
import { RiqHttp } from '../support/riq-http.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);

describe('circuit breakers', () => {
  it('GET /api/queue/circuit-breakers shows both services closed, in the seed shape', async () => {
    const answer = await api.raw('GET', '/api/queue/circuit-breakers');
    expect(answer.status).toBe(200);
    const breakers = answer.body['circuit_breakers'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(breakers).sort()).toEqual(['confluence', 'jira']);
    for (const name of ['jira', 'confluence']) {
      expect(breakers[name]).toMatchObject({
        name,
        state: 'closed',
        failure_threshold: 5,
        opened_at: null,
        recovery_timeout_seconds: 60,
      });
    }
    expect(answer.body['summary']).toMatchObject({
      total_circuits: 2,
      circuits_by_state: { closed: 2, open: 0, half_open: 0 },
      open_circuits: [],
    });
  });

  it('the health answer carries each service breaker', async () => {
    const health = await api.raw('GET', '/api/queue/health');
    expect(health.status).toBe(200);
    const services = health.body['services'] as Record<string, { circuit_breaker: string }>;
    expect(services['jira']?.circuit_breaker).toBe('closed');
    expect(services['confluence']?.circuit_breaker).toBe('closed');
    expect(health.body['circuit_breakers']).toMatchObject({ total_circuits: 2, open_circuits: [] });
  });
});
