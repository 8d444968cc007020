/**
 * Parses and validates a submit body. Every field is checked; the first problem's field is named in
 * the error's `details.field`, all of them in `details.issues`.
 */
import type { Priority } from '../../../model/config/riq-config.js';
import { checkTemplates, findPlaceholders, validateDependsOn } from './dependencies.js';
import { envelopeSchema } from '../../../model/submit-envelope.js';
import { PayloadTooLargeError, ValidationError, type FieldIssue } from '../../../model/errors.js';
import { isConsistencyToken } from './tokens.js';
import { validationErrorFrom } from '../../../model/validation.js';
import { OPERATIONS, isOperationName, parsePayload, type OperationName } from '../../../model/operations.js';

export interface SubmitCommand {
  operation: OperationName;
  payload: Record<string, unknown>;
  priority: Priority;
  idempotencyKey?: string;
  dependsOn: string[];
  afterConsistencyToken?: string;
  fresh: boolean;
  fireAndForget: boolean;
  routing: 'adaptive' | 'queued';
}

export function parseSubmitBody(body: string | null | undefined, maxBytes: number): SubmitCommand {
  if (body === null || body === undefined || body.length === 0) {
    throw ValidationError.forField('body', 'a JSON object is required');
  }
  const size = Buffer.byteLength(body, 'utf8');
  if (size > maxBytes) throw new PayloadTooLargeError(size, maxBytes);

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw ValidationError.forField('body', 'malformed JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw ValidationError.forField('body', 'must be a JSON object');
  }
  // Before anything walks or copies the body (templates, schemas): deep nesting would overflow, and
  // a `__proto__` key would vanish from a copy.
  const shapeIssue = shapeIssueOf(json);
  if (shapeIssue !== undefined) throw ValidationError.forField(shapeIssue.field, shapeIssue.message);

  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    throw validationErrorFrom(envelope.error, '', { schema: envelopeSchema, name: 'the request' });
  }
  const e = envelope.data;

  if (!isOperationName(e.operation)) {
    throw new ValidationError(`operation: unknown operation '${truncate(e.operation)}'`, [
      { field: 'operation', message: `must be one of ${OPERATIONS.join(', ')}` },
    ]);
  }
  const dependsOn = validateDependsOn(e.depends_on);
  checkTemplates(e.payload, dependsOn);
  const payload = parseTemplatedPayload(e.operation, e.payload);

  if (e.after_consistency_token !== undefined && !isConsistencyToken(e.after_consistency_token)) {
    throw ValidationError.forField(
      'after_consistency_token',
      'must be a consistency token (cst_ followed by 32 hex digits)',
    );
  }

  return {
    operation: e.operation,
    payload: payload as Record<string, unknown>,
    priority: e.priority ?? 'normal',
    ...(e.idempotency_key !== undefined ? { idempotencyKey: e.idempotency_key } : {}),
    dependsOn,
    ...(e.after_consistency_token !== undefined ? { afterConsistencyToken: e.after_consistency_token } : {}),
    fresh: e.fresh ?? false,
    fireAndForget: e.fire_and_forget ?? false,
    routing: e.routing ?? 'adaptive',
  };
}

/**
 * The operation's payload schema, except that a field holding a `{{<token>.<path>}}` placeholder may
 * fail its pattern or type (a `task_id` of `{{req_….key}}`): the worker validates the resolved
 * payload again when the request is released. Any other issue is the caller's mistake.
 */
function parseTemplatedPayload(operation: OperationName, payload: Record<string, unknown>): unknown {
  try {
    return parsePayload(operation, payload);
  } catch (err) {
    const templated = new Set(findPlaceholders(payload).map((p) => p.field));
    if (!(err instanceof ValidationError) || templated.size === 0) throw err;
    const all = err.details?.['issues'] as FieldIssue[] | undefined;
    if (all === undefined) throw err;
    const issues = all.filter((issue) => !templated.has(issue.field));
    const first = issues[0];
    if (first) throw new ValidationError(`${first.field}: ${first.message}`, issues);
    return payload;
  }
}

/** No valid body nests deeper than a few levels; this bounds every recursive walk of one. */
export const MAX_JSON_DEPTH = 32;

/**
 * The one key no field of any operation has and a copy cannot keep: JSON.parse makes `__proto__` an
 * own property, but an object built key by key (zod's records among them) sets its prototype from it
 * instead, so the key would slip past every "unknown field" check.
 */
const PROTOTYPE_KEY = '__proto__';

/**
 * The first value nested deeper than MAX_JSON_DEPTH or the first `__proto__` key, with what is wrong
 * with it; undefined when there is neither. Iterative, so a deep body cannot overflow it.
 */
function shapeIssueOf(root: unknown): { field: string; message: string } | undefined {
  const stack: Array<{ value: unknown; path: string[] }> = [{ value: root, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_JSON_DEPTH) {
      return { field: path.join('.'), message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === PROTOTYPE_KEY && !Array.isArray(value)) {
        return {
          field: [...path, key].join('.'),
          message: `${PROTOTYPE_KEY} is not allowed as a field name`,
        };
      }
      stack.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
