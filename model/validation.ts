/** Turns a zod error into a ValidationError whose fields are named by their path (`payload.task_id`). */
import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.js';

export function validationErrorFrom(error: z.ZodError, prefix: string): ValidationError {
  const issues: FieldIssue[] = error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [prefix, ...issue.path.map(String), ...keys.slice(0, 1)].filter((p) => p !== '');
    const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
    return { field: path.join('.') || 'body', message };
  });
  const first = issues[0] ?? { field: prefix || 'body', message: 'invalid' };
  return new ValidationError(`${first.field}: ${first.message}`, issues);
}
