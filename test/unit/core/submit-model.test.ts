/**
 * The API Gateway request model of the submit body (submitEnvelopeJsonSchema, a JSON Schema draft 4
 * generated from the submit function's zod envelope) against the function's own parser: every body
 * the function accepts, the model accepts (API Gateway must never refuse a valid submit), and the
 * envelope mistakes the model refuses, the function refuses too. Checked with Ajv, a JSON Schema
 * validator, since API Gateway cannot run here.
 */
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { RiqError } from '../../../model/errors.js';
import { OPERATIONS } from '../../../model/operations.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { submitEnvelopeJsonSchema } from '../../../model/submit-envelope.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const model = ajv.compile(submitEnvelopeJsonSchema());
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

/** Envelope mistakes: the model's job. */
const INVALID_ENVELOPES: Record<string, unknown>[] = [
  { payload: { task_id: 'MD-1' } },
  { operation: 'jira.get_task' },
  { operation: 'jira.delete_task', payload: {} },
  { operation: 42, payload: {} },
  { operation: 'jira.get_task', payload: 'MD-1' },
  { operation: 'jira.get_task', payload: ['MD-1'] },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, priority: 'urgent' },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, routing: 'fast' },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, fresh: 'yes' },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, fire_and_forget: 1 },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: '' },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: 'has space' },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, idempotency_key: 'x'.repeat(256) },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, depends_on: TOKEN },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, depends_on: Array(21).fill(TOKEN) },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, depends_on: [1] },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, after_consistency_token: 'c'.repeat(101) },
  { operation: 'jira.get_task', payload: { task_id: 'MD-1' }, unknown_field: true },
];

function functionAccepts(body: unknown): boolean {
  try {
    parseSubmitBody(JSON.stringify(body), 128 * 1024);
    return true;
  } catch (err) {
    if (!(err instanceof RiqError)) throw err;
    return false;
  }
}

describe('the submit request model of API Gateway', () => {
  it.each(VALID.map((b) => [JSON.stringify(b).slice(0, 70), b]))(
    'accepts what the function accepts: %s',
    (_, body) => {
      expect(functionAccepts(body)).toBe(true);
      expect(model(body), JSON.stringify(model.errors)).toBe(true);
    },
  );

  it.each(INVALID_ENVELOPES.map((b) => [JSON.stringify(b).slice(0, 70), b]))(
    'refuses an envelope mistake the function refuses too: %s',
    (_, body) => {
      expect(model(body)).toBe(false);
      expect(functionAccepts(body)).toBe(false);
    },
  );

  it('names exactly the ten operations and requires operation and payload', () => {
    const schema = submitEnvelopeJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: { operation: { enum: string[] } };
    };
    expect(schema.required.sort()).toEqual(['operation', 'payload']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.operation.enum.sort()).toEqual([...OPERATIONS].sort());
  });

  it('leaves payload contents to the function', () => {
    const body = { operation: 'jira.get_task', payload: { task_id: 'not a key', extra: 1 } };
    expect(model(body)).toBe(true);
    expect(functionAccepts(body)).toBe(false);
  });
});
