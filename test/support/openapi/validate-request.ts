/**
 * Checks one HTTP request, as an adapter sent it, against Atlassian's OpenAPI specs (spec-index.ts).
 *
 * Why no library: none is installed (adding packages is out of scope) and the checks needed are
 * narrow: which operation, its parameters, and the JSON body's declared fields and simple types.
 *
 * Checked:
 * - an operation exists for the method and path (the most specific template wins); not deprecated;
 * - path parameters: declared type (integer/number/boolean), enum;
 * - query: required parameters present, no undeclared parameter, no deprecated parameter, declared
 *   type / enum / minimum / maximum of each value (array parameters: each comma-separated item);
 * - body: none sent to an operation that takes none; present when the spec requires it; its
 *   Content-Type among the declared media types; then, following `$ref`/`allOf` and trying each
 *   `oneOf`/`anyOf` alternative: required fields present, no undeclared field where the schema lists
 *   its properties and does not allow others, no read-only or deprecated field, declared types, enum,
 *   minimum/maximum, array items. Open schemas (Jira's `fields` map, `additionalProperties: {}`) and
 *   schema-less values (Jira's ADF `description`/`body`) are not looked into: the spec says nothing.
 *
 * Not checked: response shapes, headers and auth, string formats/patterns/lengths, `uniqueItems`,
 * `oneOf` exclusivity (any matching alternative passes), non-JSON bodies beyond their media type,
 * and anything the spec only states in prose (e.g. "required if status is not draft").
 */
import {
  isClosed,
  isRecord,
  matchPath,
  normalizeSchema,
  type NormalizedSchema,
  type SpecOperation,
} from './spec-index.js';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent on the wire (still encoded), e.g. `/rest/api/3/issue/MD-1?fields=summary`. */
  url: string;
  /** Parsed JSON body; undefined when the request had none. */
  body: unknown;
  /** The Content-Type header, when known; checked against the operation's media types. */
  contentType?: string | undefined;
}

export interface RequestValidation {
  /** The spec operation the request was matched to, if any. */
  operation: SpecOperation | undefined;
  problems: string[];
}

/** Nesting limit for body checks: a guard against recursive schemas, far deeper than RIQ's bodies. */
const MAX_DEPTH = 8;

/** The problems of one request; empty when it follows the spec. */
export function validateRequest(recorded: RecordedRequest): string[] {
  return checkRequest(recorded).problems;
}

export function checkRequest(recorded: RecordedRequest): RequestValidation {
  const method = recorded.method.toUpperCase();
  const url = new URL(recorded.url, 'http://contract.invalid');
  const path = url.pathname;
  const label = `${method} ${path}`;

  const candidates = matchPath(path);
  if (candidates.length === 0) {
    return { operation: undefined, problems: [`${label}: no spec operation has this path`] };
  }
  const op = candidates.find((c) => c.method === method);
  if (!op) {
    const others = [...new Set(candidates.map((c) => `${c.method} ${c.pathTemplate}`))].join(', ');
    return {
      operation: undefined,
      problems: [`${label}: no spec operation for method ${method} on this path (the spec has ${others})`],
    };
  }

  const where = `${method} ${op.pathTemplate}`;
  const problems: string[] = [];
  const report = (text: string) => problems.push(`${where}: ${text}`);
  if (op.deprecated) report(`operation ${op.operationId ?? op.pathTemplate} is deprecated in ${op.spec}`);

  checkPathParams(op, path, report);
  checkQuery(op, url.searchParams, report);
  checkBody(op, recorded, report);
  return { operation: op, problems };
}

type Report = (text: string) => void;

function checkPathParams(op: SpecOperation, path: string, report: Report): void {
  const match = op.regex.exec(path);
  op.pathParams.forEach((param, i) => {
    const raw = match?.[i + 1];
    if (raw === undefined || !param.schema) return;
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      report(`path parameter "${param.name}" is not valid percent-encoding: ${raw}`);
      return;
    }
    checkText(value, param.schema, `path parameter "${param.name}"`, report);
  });
}

function checkQuery(op: SpecOperation, query: URLSearchParams, report: Report): void {
  for (const param of op.queryParams) {
    if (param.required && !query.has(param.name)) report(`missing required query parameter "${param.name}"`);
  }
  for (const name of new Set(query.keys())) {
    const param = op.queryParams.find((p) => p.name === name);
    if (!param) {
      report(`query parameter "${name}" is not declared by ${op.operationId ?? 'the operation'}`);
      continue;
    }
    if (param.deprecated) report(`query parameter "${name}" is deprecated`);
    const schema = param.schema;
    if (!schema) continue;
    for (const value of query.getAll(name)) {
      if (schema.type === 'array') {
        const items = schema.items ? normalizeSchema(schema.doc, schema.items) : undefined;
        if (items)
          for (const item of value.split(',')) checkText(item, items, `query parameter "${name}"`, report);
      } else {
        checkText(value, schema, `query parameter "${name}"`, report);
      }
    }
  }
}

/** A parameter value (always text on the wire) against a scalar schema. */
function checkText(value: string, schema: NormalizedSchema, what: string, report: Report): void {
  let typed: unknown = value;
  if (schema.type === 'integer' || schema.type === 'number') {
    const ok =
      schema.type === 'integer'
        ? /^-?\d+$/.test(value)
        : value.trim() !== '' && Number.isFinite(Number(value));
    if (!ok) return report(`${what} must be ${article(schema.type)} ${schema.type}, got "${value}"`);
    typed = Number(value);
  } else if (schema.type === 'boolean') {
    if (value !== 'true' && value !== 'false') return report(`${what} must be true or false, got "${value}"`);
    typed = value === 'true';
  }
  checkEnumAndRange(typed, schema, what, report);
}

function checkEnumAndRange(value: unknown, schema: NormalizedSchema, what: string, report: Report): void {
  if (schema.enum && !schema.enum.some((e) => e === value || String(e) === String(value))) {
    report(
      `${what} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      report(`${what} must be >= ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      report(`${what} must be <= ${schema.maximum}, got ${value}`);
  }
}

function checkBody(op: SpecOperation, recorded: RecordedRequest, report: Report): void {
  const spec = op.body;
  if (recorded.body === undefined) {
    if (spec?.bodyRequired) report('request body is required but none was sent');
    return;
  }
  if (!spec) return report(`sends a body but ${op.operationId ?? 'the operation'} takes none`);
  if (recorded.contentType !== undefined && !mediaTypeAccepted(recorded.contentType, spec.mediaTypes)) {
    report(`Content-Type ${recorded.contentType} is not one of ${spec.mediaTypes.join(', ')}`);
  }
  if (spec.schema) checkValue(recorded.body, spec.schema, 'body', 0, report);
}

function mediaTypeAccepted(contentType: string, declared: string[]): boolean {
  const given = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return declared.some((d) => {
    const type = d.toLowerCase();
    if (type === '*/*' || type === given) return true;
    return type.endsWith('/*') && given.startsWith(type.slice(0, -1));
  });
}

/** A JSON value against one normalized schema; `where` is its path in the body, e.g. `body.fields`. */
function checkValue(
  value: unknown,
  schema: NormalizedSchema,
  where: string,
  depth: number,
  report: Report,
): void {
  if (value === null) {
    if (schema.type !== undefined && !schema.nullable)
      report(`${where} is null but the schema does not allow null`);
    return;
  }
  if (schema.alternatives.length > 0) {
    const outcomes = schema.alternatives.map((alt) => {
      const found: string[] = [];
      checkValue(value, normalizeSchema(schema.doc, alt), where, depth, (t) => found.push(t));
      return found;
    });
    if (!outcomes.some((found) => found.length === 0)) {
      const first = outcomes[0]?.join('; ') ?? '';
      report(`${where} matches none of the ${outcomes.length} oneOf/anyOf alternatives (first: ${first})`);
    }
  }

  const actual = jsonType(value);
  if (schema.type !== undefined && !typeMatches(schema.type, actual, value)) {
    return report(`${where} must be ${article(schema.type)} ${schema.type}, got ${actual}`);
  }
  checkEnumAndRange(value, schema, where, report);
  if (depth >= MAX_DEPTH) return;

  if (Array.isArray(value)) {
    if (!schema.items) return;
    const items = normalizeSchema(schema.doc, schema.items);
    value.forEach((item, i) => checkValue(item, items, `${where}[${i}]`, depth + 1, report));
    return;
  }
  if (!isRecord(value)) return;

  for (const name of schema.required) {
    if (!(name in value)) report(`${where}: missing required field "${name}"`);
  }
  const closed = isClosed(schema);
  for (const [name, fieldValue] of Object.entries(value)) {
    const raw = schema.properties[name];
    if (raw === undefined) {
      if (closed) report(`${where}: field "${name}" is not declared by the schema`);
      else if (isRecord(schema.additionalProperties)) {
        checkValue(
          fieldValue,
          normalizeSchema(schema.doc, schema.additionalProperties),
          `${where}.${name}`,
          depth + 1,
          report,
        );
      }
      continue;
    }
    const field = normalizeSchema(schema.doc, raw);
    if (field.readOnly) report(`${where}.${name} is read-only and must not be sent`);
    if (field.deprecated) report(`${where}.${name} is deprecated`);
    checkValue(fieldValue, field, `${where}.${name}`, depth + 1, report);
  }
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

function typeMatches(expected: string, actual: string, value: unknown): boolean {
  if (expected === 'integer') return typeof value === 'number' && Number.isInteger(value);
  return expected === actual;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
