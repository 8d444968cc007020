import { describe, expect, inject, it } from 'vitest';
import { RiqHttp } from '../support/riq-http.js';
import { StackInspector } from '../support/stack-inspect.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const inspect = new StackInspector(stack);

const valid = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };

describe('bad input gets a precise 4xx and changes nothing', () => {
  const cases: Array<[string, string | Buffer, number, string, string]> = [
    ['malformed JSON', '{"operation": "jira.get_task", ', 400, 'VALIDATION_ERROR', 'body'],
    ['a body that is not an object', '"hello"', 400, 'VALIDATION_ERROR', 'body'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 400, 'VALIDATION_ERROR', 'body'],
    [
      'unknown operation',
      JSON.stringify({ ...valid, operation: 'jira.drop_database' }),
      400,
      'VALIDATION_ERROR',
      'operation',
    ],
    [
      'missing payload field',
      JSON.stringify({ operation: 'jira.create_task', payload: { project_id: 'MD' } }),
      400,
      'VALIDATION_ERROR',
      'payload.title',
    ],
    ['bad priority', JSON.stringify({ ...valid, priority: 'urgent' }), 400, 'VALIDATION_ERROR', 'priority'],
    ['unknown field', JSON.stringify({ ...valid, prio: 'high' }), 400, 'VALIDATION_ERROR', 'prio'],
    [
      'oversized body',
      JSON.stringify({
        operation: 'jira.create_task',
        payload: { title: 'x', project_id: 'MD', description: 'y'.repeat(5 * 1024 * 1024) },
      }),
      413,
      'PAYLOAD_TOO_LARGE',
      'body',
    ],
  ];

  it.each(cases)('%s → %i %s naming %s, with no record written', async (_name, body, status, code, field) => {
    const before = await inspect.itemCount();
    const answer = await api.raw('POST', '/api/queue/submit', body);
    expect(answer.status).toBe(status);
    expect(answer.body['error']).toMatchObject({ code, retryable: false, details: { field } });
    expect(typeof (answer.body['error'] as { message: string }).message).toBe('string');
    expect(await inspect.itemCount()).toBe(before);
  });

  it.each([
    ['req_abc123', 404, 'NOT_FOUND'],
    ['REQ_0123456789ABCDEF0123456789ABCDEF', 404, 'NOT_FOUND'],
    ['not-a-token', 404, 'NOT_FOUND'],
    ['x'.repeat(129), 400, 'VALIDATION_ERROR'],
    ['req_%1B', 400, 'VALIDATION_ERROR'],
  ] as const)('the result of %s → %i %s naming token', async (token, status, code) => {
    const answer = await api.raw('GET', `/api/queue/result/${token}`);
    expect(answer.status).toBe(status);
    expect(answer.body['error']).toMatchObject({ code, retryable: false, details: { field: 'token' } });
  });

  it('an empty body is a 400 too', async () => {
    const answer = await api.raw('POST', '/api/queue/submit');
    expect(answer.status).toBe(400);
    expect(answer.body['error']).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'body' } });
  });

  it('a valid submit does write (so the checks above can fail)', async () => {
    const before = await inspect.itemCount();
    // fresh: a cached answer would write nothing.
    expect((await api.submit({ ...valid, fresh: true })).status).toBe(200);
    expect(await inspect.itemCount()).toBe(before + 1);
  });
});
