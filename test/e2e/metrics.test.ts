import { describe, expect, inject, it } from 'vitest';

const stack = inject('stack');

async function getMetrics(accept?: string) {
  const res = await fetch(`${stack.url}/api/queue/metrics`, {
    headers: accept === undefined ? {} : { accept },
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

const SAMPLE_LINE = /^riq_[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+$/;

describe('metrics', () => {
  it('GET /api/queue/metrics answers JSON by default: 6 queues, 2 breakers, 2 rate limits', async () => {
    for (const accept of [undefined, 'application/json', '*/*']) {
      const answer = await getMetrics(accept);
      expect(answer.status, String(accept)).toBe(200);
      expect(answer.contentType).toContain('application/json');
      const body = JSON.parse(answer.text) as Record<string, unknown>;
      expect(Number.isNaN(Date.parse(String(body['timestamp'])))).toBe(false);
      const queues = body['queues'] as Array<Record<string, unknown>>;
      expect(queues).toHaveLength(6);
      expect(new Set(queues.map((q) => `${String(q['service'])}-${String(q['priority'])}`)).size).toBe(6);
      for (const q of queues) {
        for (const field of ['visible', 'in_flight', 'delayed', 'dead_letter_queue'])
          expect(typeof q[field], field).toBe('number');
      }
      expect(typeof body['dead_requests']).toBe('number');
      const breakers = body['circuit_breakers'] as Array<Record<string, unknown>>;
      expect(breakers.map((b) => b['service']).sort()).toEqual(['confluence', 'jira']);
      for (const b of breakers) expect([0, 0.5, 1]).toContain(b['value']);
      const rates = body['rate_limits'] as Array<Record<string, unknown>>;
      expect(rates.map((r) => r['service']).sort()).toEqual(['confluence', 'jira']);
      for (const r of rates) {
        // Other e2e files share the stack: a 429 they provoke may pause a service meanwhile.
        expect(r['paused_until'] === null || typeof r['paused_until'] === 'string').toBe(true);
        expect(typeof r['burst']).toBe('number');
        expect(r['tokens'] as number).toBeGreaterThanOrEqual(0);
        expect(r['tokens'] as number).toBeLessThanOrEqual(r['burst'] as number);
        expect(r['effective_rate_per_second'] as number).toBeLessThanOrEqual(
          r['configured_rate_per_second'] as number,
        );
      }
    }
  });

  it('answers the Prometheus text exposition format to Accept: text/plain', async () => {
    const answer = await getMetrics('text/plain');
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(answer.text.endsWith('\n')).toBe(true);
    const lines = answer.text.trimEnd().split('\n');
    const families = new Map<string, string[]>();
    for (const line of lines) {
      if (line.startsWith('# HELP ')) continue;
      const type = /^# TYPE (riq_[a-z_]+) gauge$/.exec(line);
      if (type) {
        families.set(type[1]!, []);
        continue;
      }
      expect(line).toMatch(SAMPLE_LINE);
      const name = /^riq_[a-z_]+/.exec(line)![0];
      expect(families.has(name), `${name} declared before its samples`).toBe(true);
      families.get(name)!.push(line);
    }
    expect([...families.keys()]).toEqual([
      'riq_queue_messages',
      'riq_dead_letter_queue_messages',
      'riq_dead_requests',
      'riq_circuit_breaker_state',
      'riq_rate_limit_tokens',
      'riq_rate_limit_effective_per_second',
      'riq_rate_limit_configured_per_second',
    ]);
    expect(families.get('riq_queue_messages')).toHaveLength(18);
    expect(families.get('riq_dead_letter_queue_messages')).toHaveLength(6);
    expect(families.get('riq_dead_requests')).toHaveLength(1);
    for (const name of [
      'riq_circuit_breaker_state',
      'riq_rate_limit_tokens',
      'riq_rate_limit_effective_per_second',
      'riq_rate_limit_configured_per_second',
    ])
      expect(families.get(name), name).toHaveLength(2);
    expect(answer.text).toContain('riq_queue_messages{service="jira",priority="high",state="visible"} ');
    expect(answer.text).toContain('# HELP riq_dead_requests ');
  });

  it("answers a Prometheus scrape's Accept header in the text format", async () => {
    const answer = await getMetrics(
      'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    );
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(answer.text).toMatch(/^# HELP riq_queue_messages /);
  });
});
