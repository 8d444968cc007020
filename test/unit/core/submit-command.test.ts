import { describe, expect, it } from 'vitest';
import { RiqError } from '../../../model/errors.js';
import { MAX_DEPENDS_ON } from '../../../model/submit-envelope.js';
import { MAX_JSON_DEPTH, parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';

const LIMIT = 4096;
const parse = (body: unknown) =>
  parseSubmitBody(typeof body === 'string' ? body : JSON.stringify(body), LIMIT);

function errorOf(fn: () => unknown): RiqError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RiqError) return err;
    throw err;
  }
  throw new Error('expected a RiqError');
}

describe('parseSubmitBody', () => {
  it('accepts a minimal valid body and fills the defaults', () => {
    const cmd = parse({ operation: 'jira.get_task', payload: { task_id: 'MD-123' } });
    expect(cmd).toEqual({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-123' },
      priority: 'normal',
      dependsOn: [],
      fresh: false,
      fireAndForget: false,
      routing: 'adaptive',
    });
  });

  it('keeps priority, idempotency key, fresh and routing', () => {
    const cmd = parse({
      operation: 'jira.create_task',
      payload: { title: 'T', project_id: 'MD', labels: ['a'] },
      priority: 'high',
      idempotency_key: 'create-1',
      fresh: true,
      routing: 'queued',
    });
    expect(cmd).toMatchObject({
      priority: 'high',
      idempotencyKey: 'create-1',
      fresh: true,
      routing: 'queued',
    });
  });

  it.each([
    ['empty body', '', 'body'],
    ['malformed JSON', '{"operation": ', 'body'],
    ['a JSON array', '[1,2]', 'body'],
    ['unknown operation', { operation: 'jira.delete_everything', payload: {} }, 'operation'],
    ['missing payload', { operation: 'jira.get_task' }, 'payload'],
    ['missing payload field', { operation: 'jira.get_task', payload: {} }, 'payload.task_id'],
    ['wrong payload type', { operation: 'jira.get_task', payload: { task_id: 123 } }, 'payload.task_id'],
    ['bad issue key', { operation: 'jira.get_task', payload: { task_id: 'not a key' } }, 'payload.task_id'],
    [
      'unknown payload field',
      { operation: 'jira.get_task', payload: { task_id: 'MD-1', x: 1 } },
      'payload.x',
    ],
    [
      'unknown top-level field',
      { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, color: 'red' },
      'color',
    ],
    [
      'bad priority',
      { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, priority: 'urgent' },
      'priority',
    ],
    [
      'blank idempotency key',
      { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: '' },
      'idempotency_key',
    ],
    ['bad routing', { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, routing: 'fast' }, 'routing'],
    [
      'update without fields',
      { operation: 'jira.update_task', payload: { task_id: 'MD-1' } },
      'payload.title',
    ],
    ['bad page id', { operation: 'confluence.get_page', payload: { page_id: 'abc' } }, 'payload.page_id'],
    [
      'bad depends_on token',
      { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, depends_on: ['x'] },
      'depends_on.0',
    ],
  ])('rejects %s with VALIDATION_ERROR naming the field', (_name, body, field) => {
    const err = errorOf(() => parse(body));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.httpStatus).toBe(400);
    expect(err.details?.['field']).toBe(field);
  });

  it('rejects an oversized body with PAYLOAD_TOO_LARGE before parsing it', () => {
    const body = JSON.stringify({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1', pad: 'x'.repeat(LIMIT) },
    });
    const err = errorOf(() => parse(body));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.httpStatus).toBe(413);
    expect(err.details).toMatchObject({ limit: LIMIT });
  });

  it.each([
    ['the payload', '{"task_id":"MD-1","__proto__":{"x":1}}', 'payload.__proto__'],
    ['the payload, as a number', '{"task_id":"MD-1","__proto__":5}', 'payload.__proto__'],
    ['an object inside the payload', '{"task_id":{"__proto__":{}}}', 'payload.task_id.__proto__'],
  ])('rejects a __proto__ key in %s, which a copy of the payload would lose', (_where, payload, field) => {
    const err = errorOf(() => parse(`{"operation":"jira.get_task","payload":${payload}}`));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details?.['field']).toBe(field);
    expect(err.message).toBe(`${field}: __proto__ is not allowed as a field name`);
  });

  it('takes "__proto__" as a value', () => {
    const payload = { title: '__proto__', project_id: 'MD', labels: ['__proto__'] };
    const parsed = parse(JSON.stringify({ operation: 'jira.create_task', payload }));
    expect(parsed.payload).toEqual(payload);
  });

  it('rejects JSON nested deeper than MAX_JSON_DEPTH, naming where, before walking it', () => {
    // Deep enough to overflow the stack of a recursive walk (it was a 500).
    const deep = `{"operation":"jira.get_task","payload":{"task_id":${'['.repeat(50_000)}1${']'.repeat(50_000)}}}`;
    const err = errorOf(() => parseSubmitBody(deep, 1_000_000));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details?.['field']).toBe(`payload.task_id${'.0'.repeat(MAX_JSON_DEPTH - 2)}`);
    const justDeepEnough = {
      task_id: 'MD-1',
      x: JSON.parse(`${'['.repeat(MAX_JSON_DEPTH - 2)}${']'.repeat(MAX_JSON_DEPTH - 2)}`),
    };
    expect(
      errorOf(() =>
        parseSubmitBody(JSON.stringify({ operation: 'jira.get_task', payload: justDeepEnough }), 1_000_000),
      ).details?.['field'],
    ).toBe('payload.x');
  });

  it('validates every one of the ten operations with its own schema', () => {
    const valid: Record<string, unknown> = {
      'jira.get_task': { task_id: 'MD-1' },
      'jira.create_task': { title: 'T', project_id: 'MD' },
      'jira.update_task': { task_id: 'MD-1', title: 'New' },
      'jira.transition_task': { task_id: 'MD-1', target_status: 'Done' },
      'jira.add_comment': { task_id: 'MD-1', comment: 'hi' },
      'jira.search_tasks': { jql: 'project = MD' },
      'confluence.get_page': { page_id: '12345' },
      'confluence.create_page': { title: 'P', content: '<p>x</p>', space_id: 'MD' },
      'confluence.update_page': { page_id: '12345', content: '<p>y</p>' },
      'confluence.search_pages': { query: 'runbook', space_id: 'MD' },
    };
    for (const [operation, payload] of Object.entries(valid)) {
      expect(parse({ operation, payload }).operation).toBe(operation);
      const err = errorOf(() => parse({ operation, payload: {} }));
      expect(err.code, operation).toBe('VALIDATION_ERROR');
    }
  });

  describe('after_consistency_token', () => {
    const get = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };
    it('accepts a consistency token', () => {
      const cst = `cst_${'c'.repeat(32)}`;
      expect(parse({ ...get, after_consistency_token: cst }).afterConsistencyToken).toBe(cst);
      expect(parse(get).afterConsistencyToken).toBeUndefined();
    });
    it.each(['x', `req_${'c'.repeat(32)}`, `cst_${'C'.repeat(32)}`, `cst_${'c'.repeat(31)}`, ''])(
      'refuses %j with a VALIDATION_ERROR naming the field',
      (token) => {
        const err = errorOf(() => parse({ ...get, after_consistency_token: token }));
        expect(err.code).toBe('VALIDATION_ERROR');
        expect(err.details?.['field']).toBe('after_consistency_token');
      },
    );
  });

  describe('depends_on', () => {
    const parent = `req_${'a'.repeat(32)}`;
    const other = `req_${'b'.repeat(32)}`;

    it('accepts up to MAX_DEPENDS_ON tokens', () => {
      const c = parse({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, depends_on: [parent] });
      expect(c.dependsOn).toEqual([parent]);
      const many = Array.from(
        { length: MAX_DEPENDS_ON + 1 },
        (_, i) => `req_${i.toString(16).padStart(32, '0')}`,
      );
      const err = errorOf(() =>
        parse({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, depends_on: many }),
      );
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.details?.['field']).toBe('depends_on');
    });

    it('accepts a placeholder in a field whose pattern it does not match', () => {
      const c = parse({
        operation: 'jira.add_comment',
        payload: { task_id: `{{${parent}.key}}`, comment: 'hello' },
        depends_on: [parent],
      });
      expect(c.payload['task_id']).toBe(`{{${parent}.key}}`);
    });

    it('still refuses other payload problems next to a placeholder', () => {
      const err = errorOf(() =>
        parse({
          operation: 'jira.add_comment',
          payload: { task_id: `{{${parent}.key}}` },
          depends_on: [parent],
        }),
      );
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.details?.['field']).toBe('payload.comment');
    });

    it('refuses a placeholder whose token is not in depends_on', () => {
      const err = errorOf(() =>
        parse({
          operation: 'jira.add_comment',
          payload: { task_id: `{{${other}.key}}`, comment: 'x' },
          depends_on: [parent],
        }),
      );
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.details?.['field']).toBe('payload.task_id');
    });
  });

  it('accepts fire_and_forget and fresh', () => {
    const c = parse({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1' },
      fire_and_forget: true,
      fresh: true,
    });
    expect(c).toMatchObject({ fireAndForget: true, fresh: true });
  });
});
