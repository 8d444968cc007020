/**
 * The ten operations of the quick-reference seed: their names, services, kinds and payload schemas.
 * Payloads are strict: a missing, mistyped or unknown field is a VALIDATION_ERROR naming the field.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import type { Service } from './config/riq-config.js';
import { validationErrorFrom } from './validation.js';

const issueIdOrKey = z
  .string()
  .check(
    z.regex(
      /^([A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,9}|[1-9][0-9]{0,17})$/,
      'must be an issue key like MD-123 or a numeric id',
    ),
  );
const projectKey = z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'must be a project key like MD'));
const spaceKey = z.string().check(z.regex(/^~?[A-Za-z0-9_]{1,255}$/, 'must be a space key like MD'));
const pageId = z.string().check(z.regex(/^[1-9][0-9]{0,19}$/, 'must be a numeric page id'));
const title = z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(255));
const text = (max: number) => z.string().check(z.maxLength(max));
/**
 * A page body in storage format: Confluence Cloud refuses bodies over 5 MB (413 → PAYLOAD_TOO_LARGE);
 * the submit body limit (`api.maxBodyBytes`) bounds it too.
 */
const pageContent = z.string().check(z.maxLength(5 * 1024 * 1024));
const labels = z
  .array(z.string().check(z.regex(/^[^\s]{1,255}$/, 'labels may not contain spaces')))
  .check(z.maxLength(50));

export const PAYLOAD_SCHEMAS = {
  'jira.get_task': z.strictObject({ task_id: issueIdOrKey }),
  'jira.create_task': z.strictObject({
    title,
    project_id: projectKey,
    description: z.optional(text(32_000)),
    issue_type: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    labels: z.optional(labels),
  }),
  'jira.update_task': z
    .strictObject({
      task_id: issueIdOrKey,
      title: z.optional(title),
      description: z.optional(text(32_000)),
      labels: z.optional(labels),
    })
    .check(
      z.refine((p) => p.title !== undefined || p.description !== undefined || p.labels !== undefined, {
        message: 'at least one of title, description, labels is required',
        path: ['title'],
      }),
    ),
  'jira.transition_task': z.strictObject({
    task_id: issueIdOrKey,
    target_status: z.string().check(z.minLength(1), z.maxLength(255)),
  }),
  'jira.add_comment': z.strictObject({
    task_id: issueIdOrKey,
    comment: z.string().check(z.minLength(1), z.maxLength(32_000)),
  }),
  'jira.search_tasks': z.strictObject({
    jql: z.string().check(z.trim(), z.minLength(1), z.maxLength(4_000)),
    max_results: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
  }),
  'confluence.get_page': z.strictObject({ page_id: pageId }),
  'confluence.create_page': z.strictObject({
    title,
    content: pageContent,
    space_id: spaceKey,
    parent_id: z.optional(pageId),
  }),
  'confluence.update_page': z.strictObject({
    page_id: pageId,
    content: pageContent,
    title: z.optional(title),
  }),
  'confluence.search_pages': z.strictObject({
    query: z.string().check(z.trim(), z.minLength(1), z.maxLength(500)),
    space_id: z.optional(spaceKey),
    max_results: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
  }),
} as const;

/** A search's `max_results` when the payload names none (Confluence's own default limit is 25). */
export const DEFAULT_MAX_RESULTS = { 'jira.search_tasks': 50, 'confluence.search_pages': 25 } as const;

export type OperationName = keyof typeof PAYLOAD_SCHEMAS;
export type OperationPayload<O extends OperationName> = z.infer<(typeof PAYLOAD_SCHEMAS)[O]>;

export const OPERATIONS = Object.keys(PAYLOAD_SCHEMAS) as OperationName[];

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.hasOwn(PAYLOAD_SCHEMAS, name);
}

/** Validates a payload with its operation's schema; a ValidationError names the field (`payload.x`). */
export function parsePayload<O extends OperationName>(operation: O, payload: unknown): OperationPayload<O> {
  const parsed = PAYLOAD_SCHEMAS[operation].safeParse(payload);
  if (!parsed.success) {
    throw validationErrorFrom(parsed.error, 'payload', {
      schema: PAYLOAD_SCHEMAS[operation],
      name: operation,
    });
  }
  return parsed.data as OperationPayload<O>;
}

export function serviceOf(operation: OperationName): Service {
  return operation.startsWith('jira.') ? 'jira' : 'confluence';
}

export type OperationKind = 'get' | 'search' | 'write';

/** `*.get_*` and `*.search_*` are reads (cacheable); everything else writes. */
export function kindOf(operation: OperationName): OperationKind {
  const verb = operation.split('.')[1] ?? '';
  if (verb.startsWith('get_')) return 'get';
  if (verb.startsWith('search_')) return 'search';
  return 'write';
}

export function isWrite(operation: OperationName): boolean {
  return kindOf(operation) === 'write';
}
