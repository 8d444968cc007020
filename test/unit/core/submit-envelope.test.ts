/**
 * The submit envelope, checked by the submit function alone (the HTTP API validates nothing): every
 * valid body is accepted, and every envelope mistake is refused with 400 VALIDATION_ERROR naming
 * the field, in RIQ's error shape.
 */
import { describe, expect, it } from 'vitest';
import { RiqError } from '../../../model/errors.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';

const TOKEN = `req_${'a'.repeat(32)}`;

/** Bodies the submit function accepts: every operation, every option. */
const VALID: Record<string, unknown>[] = [
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' } },
  {
    operation: 'jira.create_task',
    payload: { title: 'T', project_id: 'MD', labels: ['a'] },
    priority: 'high',
  },
  { operation: 'jira.update_task', payload: { task_id: 'MD-1', title: 'new' }, idempotency_key: 'k-1!~' },
  {
    operation: 'jira.transition_task',
    payload: { task_id: 'MD-1', target_status: 'Done' },
    routing: 'queued',
  },
  { operation: 'jira.add_comment', payload: { task_id: 'MD-1', comment: 'hi' }, fire_and_forget: true },
  { operation: 'jira.search_tasks', payload: { jql: 'project = MD', max_results: 10 }, fresh: true },
  { operation: 'confluence.get_page', payload: { page_id: '196609' }, routing: 'adaptive' },
  { operation: 'confluence.create_page', payload: { title: 'P', content: '<p>x</p>', space_id: 'MD' } },
  {
    operation: 'confluence.update_page',
    payload: { page_id: '196609', content: '<p>y</p>' },
    priority: 'low',
  },
  { operation: 'confluence.search_pages', payload: { query: 'runbook' } },
  {
    operation: 'jira.add_comment',
    payload: { task_id: `{{${TOKEN}.key}}`, comment: 'after' },
    depends_on: [TOKEN],
  },
  {
    operation: 'jira.get_task',
    payload: { task_id: 'MD-1' },
    after_consistency_token: `cst_${'b'.repeat(32)}`,
  },
];

const get = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };

/** Envelope mistakes, each with the field the answer names. */
const INVALID_ENVELOPES: Array<[Record<string, unknown>, string]> = [
  [{ payload: { task_id: 'MD-1' } }, 'operation'],
  [{ operation: 'jira.get_task' }, 'payload'],
  [{ operation: 'jira.delete_task', payload: {} }, 'operation'],
  [{ operation: 42, payload: {} }, 'operation'],
  [{ operation: 'jira.get_task', payload: 'MD-1' }, 'payload'],
  [{ operation: 'jira.get_task', payload: ['MD-1'] }, 'payload'],
  [{ ...get, priority: 'urgent' }, 'priority'],
  [{ ...get, routing: 'fast' }, 'routing'],
  [{ ...get, fresh: 'yes' }, 'fresh'],
  [{ ...get, fire_and_forget: 1 }, 'fire_and_forget'],
  [{ ...get, idempotency_key: '' }, 'idempotency_key'],
  [{ ...get, idempotency_key: 'has space' }, 'idempotency_key'],
  [{ ...get, idempotency_key: 'x'.repeat(256) }, 'idempotency_key'],
  [{ ...get, depends_on: TOKEN }, 'depends_on'],
  [{ ...get, depends_on: Array(21).fill(TOKEN) }, 'depends_on'],
  [{ ...get, depends_on: [1] }, 'depends_on.0'],
  [{ ...get, after_consistency_token: 'c'.repeat(101) }, 'after_consistency_token'],
  [{ ...get, unknown_field: true }, 'unknown_field'],
];

/** The function's refusal of `body`, or undefined when it accepts it. */
function refusal(body: unknown): RiqError | undefined {
  try {
    parseSubmitBody(JSON.stringify(body), 128 * 1024);
    return undefined;
  } catch (err) {
    if (!(err instanceof RiqError)) throw err;
    return err;
  }
}

describe('the submit envelope, as the function checks it', () => {
  it.each(VALID.map((b) => [JSON.stringify(b).slice(0, 70), b]))('accepts %s', (_, body) => {
    expect(refusal(body)).toBeUndefined();
  });

  it.each(INVALID_ENVELOPES.map(([b, field]) => [JSON.stringify(b).slice(0, 70), b, field] as const))(
    "refuses %s with 400 VALIDATION_ERROR naming the field, in RIQ's error shape",
    (_, body, field) => {
      const err = refusal(body);
      expect(err?.httpStatus).toBe(400);
      expect(err?.toBody()).toMatchObject({ code: 'VALIDATION_ERROR', retryable: false, details: { field } });
    },
  );

  it("refuses a payload that does not fit the operation's schema", () => {
    const body = { operation: 'jira.get_task', payload: { task_id: 'not a key', extra: 1 } };
    expect(refusal(body)?.code).toBe('VALIDATION_ERROR');
  });
});
