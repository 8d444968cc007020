/**
 * The submit body's envelope: its fields and their types, as the submit function's parser checks
 * them (the HTTP API in front validates nothing).
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import { PRIORITIES } from './config/riq-config.js';

/** Most dependencies one request may name (a DynamoDB transaction holds the child and each parent). */
export const MAX_DEPENDS_ON = 20;

export const envelopeSchema = z.strictObject({
  operation: z.string(),
  payload: z.record(z.string(), z.unknown()),
  priority: z.optional(z.enum(PRIORITIES)),
  idempotency_key: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(255),
        z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
      ),
  ),
  // Checked by validateDependsOn (lambdas/core/domain/dependencies.ts) when the function parses it.
  depends_on: z.optional(z.unknown()),
  after_consistency_token: z.optional(z.string().check(z.maxLength(100))),
  fresh: z.optional(z.boolean()),
  fire_and_forget: z.optional(z.boolean()),
  routing: z.optional(z.enum(['adaptive', 'queued'])),
});
