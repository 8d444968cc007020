import { describe, expect, inject, it } from 'vitest';
import { RiqHttp } from '../support/riq-http.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);

describe('the request path through the local stack', () => {
  it('creates a Jira issue through the queue, then reads it back through the queue', async () => {
    const created = await api.submit({
      operation: 'jira.create_task',
      payload: {
        title: 'Walking skeleton',
        project_id: 'MD',
        description: 'made by the e2e test',
        labels: ['e2e'],
      },
      routing: 'queued',
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ status: 'queued', routing_path: 'QUEUED' });
    expect(created.body['token']).toMatch(/^req_[0-9a-f]{32}$/);
    expect(created.body['poll_url']).toBe(`/api/queue/result/${String(created.body['token'])}`);
    expect(created.body['consistency_token']).toMatch(/^cst_/);

    const done = await api.waitFor(String(created.body['token']));
    expect(done.body).toMatchObject({ status: 'completed', attempts: 1, operation: 'jira.create_task' });
    const issue = done.body['result'] as { key: string; id: string };
    expect(issue.key).toMatch(/^MD-\d+$/);

    const read = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: issue.key },
      routing: 'queued',
    });
    expect(read.body['consistency_token']).toBeUndefined();
    const got = await api.waitFor(String(read.body['token']));
    expect(got.body['status']).toBe('completed');
    expect(got.body['result']).toMatchObject({
      key: issue.key,
      id: issue.id,
      summary: 'Walking skeleton',
      project_key: 'MD',
      labels: ['e2e'],
    });
  });

  it('answers a submit DIRECT with its result when the bucket has a token, and the record agrees', async () => {
    const created = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'Direct', project_id: 'MD' },
      priority: 'high',
    });
    // Other files may have spent the shared bucket: a queued answer is legal, then wait for a token.
    let answer = created;
    for (let i = 0; i < 10 && answer.body['routing_path'] !== 'DIRECT'; i++) {
      await api.waitFor(String(answer.body['token']));
      await new Promise((r) => setTimeout(r, 1000));
      answer = await api.submit({
        operation: 'jira.create_task',
        payload: { title: `Direct ${i}`, project_id: 'MD' },
        priority: 'high',
      });
    }
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      token: expect.stringMatching(/^req_[0-9a-f]{32}$/),
      status: 'completed',
      routing_path: 'DIRECT',
      poll_url: `/api/queue/result/${String(answer.body['token'])}`,
      consistency_token: expect.stringMatching(/^cst_/),
      result: expect.objectContaining({ key: expect.stringMatching(/^MD-\d+$/) }),
    });
    const record = await api.result(String(answer.body['token']));
    expect(record.body).toMatchObject({
      status: 'completed',
      routing_path: 'DIRECT',
      attempts: 1,
      result: answer.body['result'],
    });
  });

  it('long-poll returns as soon as the result lands, not at the end of the wait', async () => {
    const sub = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'Long poll', project_id: 'MD' },
    });
    const started = Date.now();
    const answer = await api.result(String(sub.body['token']), 20);
    const elapsed = Date.now() - started;
    expect(answer.body['status']).toBe('completed');
    expect(elapsed).toBeLessThan(10_000);
  });

  it('a result without wait answers at once with the current state', async () => {
    const sub = await api.submit({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, fresh: true });
    const answer = await api.result(String(sub.body['token']));
    expect(answer.status).toBe(200);
    expect(['queued', 'processing', 'completed']).toContain(answer.body['status']);
  });

  it('shows another caller a 404 for a token that is not theirs', async () => {
    const sub = await api.as('arn:aws:iam::111111111111:user/alice').submit({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1' },
      fresh: true,
    });
    const token = String(sub.body['token']);
    expect((await api.as('arn:aws:iam::111111111111:user/alice').result(token)).status).toBe(200);
    const other = await api.as('arn:aws:iam::222222222222:user/mallory').result(token);
    expect(other.status).toBe(404);
    expect(other.body['error']).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers 404 for an unknown token whatever its shape and 400 for a segment that cannot be one', async () => {
    for (const token of [`req_${'0'.repeat(32)}`, 'req_abc123', 'not-a-token']) {
      const unknown = await api.result(token);
      expect(unknown.status).toBe(404);
      expect(unknown.body['error']).toMatchObject({ code: 'NOT_FOUND' });
    }
    const bad = await api.result('x'.repeat(129));
    expect(bad.status).toBe(400);
    expect(bad.body['error']).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'token' } });
    const badWait = await api.result(`req_${'0'.repeat(32)}`, -1);
    expect(badWait.status).toBe(400);
  });

  it('reports health with every queue', async () => {
    const health = await api.raw('GET', '/api/queue/health');
    expect(health.status).toBe(200);
    expect(['healthy', 'degraded']).toContain(health.body['status']);
    const services = health.body['services'] as Record<string, { queues: Record<string, unknown> }>;
    expect(Object.keys(services).sort()).toEqual(['confluence', 'jira']);
    expect(Object.keys(services['jira']!.queues).sort()).toEqual(['high', 'low', 'normal']);
  });

  it("reports each service's token bucket and points budget with health", async () => {
    const health = await api.raw('GET', '/api/queue/health');
    const budgets = health.body['budgets'] as Record<
      string,
      { rate: Record<string, unknown>; points: Record<string, unknown> }
    >;
    expect(Object.keys(budgets).sort()).toEqual(['confluence', 'jira']);
    for (const { rate, points } of Object.values(budgets)) {
      const burst = rate['burst'] as number;
      expect(rate['tokens']).toBeGreaterThanOrEqual(0);
      expect(rate['tokens']).toBeLessThanOrEqual(burst);
      expect(rate['effective_rate_per_second']).toBeGreaterThan(0);
      expect(rate['effective_rate_per_second']).toBeLessThanOrEqual(
        rate['configured_rate_per_second'] as number,
      );
      expect(rate['pauses']).toEqual(expect.any(Array));
      expect(rate['lines']).toEqual({
        normal: { next_slot_at: expect.toBeOneOf([null, expect.any(String)]), ahead_ms: expect.any(Number) },
        low: { next_slot_at: expect.toBeOneOf([null, expect.any(String)]), ahead_ms: expect.any(Number) },
      });
      expect(points).toMatchObject({
        enabled: expect.any(Boolean),
        points: expect.any(Number),
        pace_per_second: expect.any(Number),
        quota: expect.any(Number),
        quota_source: expect.stringMatching(/^(config|headers)$/),
        exhausted_until: null,
      });
    }
  });
});
