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

  it('a mistyped payload field heads the error, with the field it meant', async () => {
    const before = await inspect.itemCount();
    const answer = await api.submit({
      operation: 'jira.create_task',
      payload: { titel: 'Hi', project_id: 'MD' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body['error']).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: 'payload.titel is not a field of jira.create_task; did you mean title?',
      details: { field: 'payload.titel' },
    });
    expect(await inspect.itemCount()).toBe(before);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'a body sent as %s → 415 UNSUPPORTED_MEDIA_TYPE naming it, with no record written',
    async (contentType) => {
      const before = await inspect.itemCount();
      const answer = await api.raw('POST', '/api/queue/submit', JSON.stringify(valid), {
        'content-type': contentType,
      });
      expect(answer.status).toBe(415);
      expect(answer.body['error']).toMatchObject({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        retryable: false,
        details: { field: 'content-type', received: contentType },
      });
      expect((answer.body['error'] as { message: string }).message).toContain(contentType);
      expect(await inspect.itemCount()).toBe(before);
    },
  );

  it('JSON with a charset, or a +json type, is accepted', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'application/vnd.riq+json']) {
      const answer = await api.raw('POST', '/api/queue/submit', JSON.stringify({ ...valid, fresh: true }), {
        'content-type': contentType,
      });
      expect(answer.status, contentType).toBe(200);
    }
  });

  it.each([
    ['GET', '/api/queue/submit', 'POST'],
    ['PUT', '/api/queue/health', 'GET'],
    ['GET', '/api/queue/dead-letters/redrive', 'POST, DELETE'],
  ])('%s %s → 405 METHOD_NOT_ALLOWED with Allow: %s', async (method, path, allow) => {
    const res = await fetch(`${stack.url}${path}`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(await res.json()).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED', retryable: false } });
  });

  it('an unknown path is still 404 NOT_FOUND, without Allow', async () => {
    // (`/` is the web console's page locally: docs/console.md)
    const res = await fetch(`${stack.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('allow')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
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
