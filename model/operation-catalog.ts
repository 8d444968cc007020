/**
 * The ten operations as a caller sees them: service, read or write, and each payload field with its
 * JSON type and whether it is required. Read from the payload schemas (model/operations.ts) through
 * zod's JSON Schema export, so the catalog cannot drift from what the API validates.
 */
import * as z from 'zod/mini';
import type { Service } from './config/riq-config.js';
import { isWrite, OPERATIONS, PAYLOAD_SCHEMAS, serviceOf, type OperationName } from './operations.js';

export interface PayloadField {
  readonly name: string;
  /** JSON type: `string`, `integer`, `string[]`, … */
  readonly type: string;
  readonly required: boolean;
}

export interface OperationInfo {
  readonly name: OperationName;
  readonly service: Service;
  /** Reads (`*.get_*`, `*.search_*`) are served from the read cache; writes change Jira or Confluence. */
  readonly kind: 'read' | 'write';
  /** In the schema's order: required and optional mixed as declared. */
  readonly fields: readonly PayloadField[];
}

interface JsonSchema {
  type?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

function typeOf(schema: JsonSchema): string {
  if (schema.type === 'array') return `${schema.items ? typeOf(schema.items) : 'unknown'}[]`;
  return schema.type ?? 'unknown';
}

/** The payload fields of `operation`, in the schema's order. */
export function payloadFields(operation: OperationName): PayloadField[] {
  const schema = z.toJSONSchema(PAYLOAD_SCHEMAS[operation], { io: 'input' }) as JsonSchema;
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, field]) => ({
    name,
    type: typeOf(field),
    required: required.has(name),
  }));
}

/** Every operation, in the API's order (as docs/api.md lists them). */
export function operationCatalog(): OperationInfo[] {
  return OPERATIONS.map((name) => ({
    name,
    service: serviceOf(name),
    kind: isWrite(name) ? 'write' : 'read',
    fields: payloadFields(name),
  }));
}
