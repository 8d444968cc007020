/** Validation errors: an unknown field heads the error, with the nearest known field suggested. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../model/errors.js';
import { parsePayload } from '../../../model/operations.js';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import { thrown } from '../../support/thrown.js';

function payloadError(payload: unknown): ValidationError {
  const err = thrown(() => parsePayload('jira.create_task', payload));
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('a payload validation error', () => {
  it('names the mistyped field first, with a suggestion, before the missing field it causes', () => {
    const err = payloadError({ titel: 'Hello', project_id: 'MD' });
    expect(err.message).toBe('payload.titel is not a field of jira.create_task; did you mean title?');
    expect(err.details).toEqual({
      field: 'payload.titel',
      issues: [
        { field: 'payload.titel', message: 'unknown field; did you mean title?' },
        { field: 'payload.title', message: expect.any(String) as string },
      ],
    });
  });

  it('names an unknown field without a suggestion when none is close', () => {
    const err = payloadError({ title: 'Hello', project_id: 'MD', assignee: 'me' });
    expect(err.message).toBe('payload.assignee is not a field of jira.create_task');
  });

  it('headlines the first invalid field when every field is known', () => {
    const err = payloadError({ title: 'Hello', project_id: 'md' });
    expect(err.message).toBe('payload.project_id: must be a project key like MD');
  });
});

describe('a submit envelope validation error', () => {
  it('names an unknown top-level field of the request, with the field it meant', () => {
    const body = JSON.stringify({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, prio: 'high' });
    const err = thrown(() => parseSubmitBody(body, 1_000_000)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe('prio is not a field of the request; did you mean priority?');
    expect(err.details).toMatchObject({ field: 'prio' });
  });
});
