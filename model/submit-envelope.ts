/**
 * The submit body's envelope: its fields and their types, as the submit function's parser checks
 * them (the HTTP API in front validates nothing).
 */
import * as z from 'zod';
import { PRIORITIES } from './config/riq-config.js';

/** Most dependencies one request may name (a DynamoDB transaction holds the child and each parent). */
export const MAX_DEPENDS_ON = 20;

export const envelopeSchema = z.strictObject({
  operation: z.string(),
  payload: z.record(z.string(), z.unknown()),
  priority: z.enum(PRIORITIES).optional(),
  idempotency_key: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  // Checked by validateDependsOn (lambdas/core/domain/dependencies.ts) when the function parses it.
  depends_on: z.unknown().optional(),
  after_consistency_token: z.string().max(100).optional(),
  fresh: z.boolean().optional(),
  fire_and_forget: z.boolean().optional(),
  routing: z.enum(['adaptive', 'queued']).optional(),
});
