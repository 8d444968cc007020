/**
 * Turns a zod error into a ValidationError whose fields are named by their path (`payload.task_id`).
 * An unknown field comes first, with the nearest known one as a suggestion: a mistyped field is
 * the cause of the missing one it also makes.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import { ValidationError, type FieldIssue } from './errors.js';
import { didYouMean } from './suggest.js';

/** What was validated: the schema (for the names of its fields) and how to call it in a message. */
export interface ValidatedThing {
  schema: z.ZodMiniType;
  /** `jira.create_task`, `the request` */
  name: string;
}

/** The field names of the object `path` leads to in `schema`, or none where it is not an object. */
function fieldsAt(schema: z.ZodMiniType, path: readonly PropertyKey[]): string[] {
  let at: z.ZodMiniType | undefined = unwrapped(schema);
  for (const key of path) {
    at = at instanceof z.ZodMiniObject ? (at.shape as Record<string, z.ZodMiniType>)[String(key)] : undefined;
    if (at === undefined) return [];
    at = unwrapped(at);
  }
  return at instanceof z.ZodMiniObject ? Object.keys(at.shape) : [];
}

/** The schema inside any optional or nullable wrappers. */
function unwrapped(schema: z.ZodMiniType): z.ZodMiniType {
  let at = schema;
  while (at instanceof z.ZodMiniOptional || at instanceof z.ZodMiniNullable)
    at = at.def.innerType as z.ZodMiniType;
  return at;
}

interface Found extends FieldIssue {
  headline: string;
}

export function validationErrorFrom(
  error: z.core.$ZodError,
  prefix: string,
  what?: ValidatedThing,
): ValidationError {
  const unknown: Found[] = [];
  const others: Found[] = [];
  for (const issue of error.issues) {
    const at = [prefix, ...issue.path.map(String)].filter((p) => p !== '');
    if (issue.code === 'unrecognized_keys') {
      // The first unknown key of an object only: a body of thousands would make an error as long.
      for (const key of issue.keys.slice(0, 1)) {
        const field = [...at, key].join('.');
        const hint = what ? didYouMean(key, fieldsAt(what.schema, issue.path)) : '';
        const parent = at.length === 0 || at.join('.') === prefix ? what?.name : at.join('.');
        unknown.push({
          field,
          message: `unknown field${hint}`,
          headline: parent ? `${field} is not a field of ${parent}${hint}` : `${field}: unknown field${hint}`,
        });
      }
      continue;
    }
    const field = at.join('.') || 'body';
    others.push({ field, message: issue.message, headline: `${field}: ${issue.message}` });
  }
  const issues = [...unknown, ...others];
  const first = issues[0] ?? {
    field: prefix || 'body',
    message: 'invalid',
    headline: `${prefix || 'body'}: invalid`,
  };
  return new ValidationError(
    first.headline,
    issues.map(({ field, message }) => ({ field, message })),
  );
}
