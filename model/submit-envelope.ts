/**
 * The submit body's envelope: its fields and their types, shared by the submit function's parser
 * and the API Gateway request model generated from it.
 */
import * as z from 'zod';
import { PRIORITIES } from './config/riq-config.js';
import { OPERATIONS, type OperationName } from './operations.js';

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

/**
 * The submit body's envelope as API Gateway checks it (a JSON Schema draft 4 request model, see
 * lib/constructs/api.ts), generated from the schema above so the two cannot drift: an object with
 * exactly the known fields, a known operation, a payload object, options of the right types and
 * bounds. A body that fails it is refused by API Gateway without invoking the submit function; the
 * payload's own schema, the dependency rules and the size limit are the function's. The model is
 * never stricter than `parseSubmitBody` (lambdas/core/domain/submit-command.ts) (test/unit/core/submit-model.test.ts).
 */
export function submitEnvelopeJsonSchema(): Record<string, unknown> {
  const apiEnvelope = envelopeSchema.extend({
    operation: z.enum(OPERATIONS as [OperationName, ...OperationName[]]),
    depends_on: z.array(z.string()).max(MAX_DEPENDS_ON).optional(),
  });
  const { $schema: _version, ...schema } = z.toJSONSchema(apiEnvelope, { target: 'draft-04' }) as Record<
    string,
    unknown
  >;
  return schema;
}
