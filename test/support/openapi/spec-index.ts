/**
 * Atlassian's own OpenAPI specs (shared/atlassian/specs, see PROVENANCE.md there) as one flat list of
 * operations, keyed by the full path as sent on the wire, for the contract tests.
 *
 * Why no library: none is installed (and the brief forbids adding packages), and the contract tests
 * only need a narrow slice of OpenAPI: path templates, query parameters and the top levels of JSON
 * request bodies. This module handles both OpenAPI 3 and Swagger 2 shapes (`requestBody` vs an
 * `in: body` parameter; `components/*` vs `definitions`/`parameters` refs; `servers` vs `basePath`).
 *
 * Schemas are resolved lazily (`normalizeSchema`), never expanded eagerly: the Jira spec has
 * recursive schemas (JQL query trees, ADF nodes), so a full expansion would not terminate.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SPEC_FILES = {
  'jira-platform-v3': 'jira-platform-v3.json',
  'confluence-v2': 'confluence-v2.json',
  'confluence-v1': 'confluence-v1.json',
} as const;

export type SpecName = keyof typeof SPEC_FILES;

/** A JSON Schema / OpenAPI schema object as found in the spec (refs not followed). */
export type RawSchema = Record<string, unknown>;

export interface QueryParam {
  name: string;
  required: boolean;
  deprecated: boolean;
  /** Resolved (top-level `$ref` followed); undefined when the spec gives none. */
  schema: NormalizedSchema | undefined;
}

export interface PathParam {
  name: string;
  schema: NormalizedSchema | undefined;
}

export interface RequestBodySpec {
  /** The spec marks the body required (`requestBody.required`, or Swagger 2 `in: body` required). */
  bodyRequired: boolean;
  /** Declared media types, e.g. `application/json`, `*\/*`. */
  mediaTypes: string[];
  /** Top-level required fields of the JSON body schema. */
  required: string[];
  /** Declared top-level fields, or null when the body schema is open (accepts any field). */
  properties: string[] | null;
  /** The JSON body schema, top level resolved; undefined when the spec gives no JSON schema. */
  schema: NormalizedSchema | undefined;
}

export interface SpecOperation {
  spec: SpecName;
  method: string;
  /** Full path as sent on the wire, e.g. `/wiki/api/v2/pages/{id}`. */
  pathTemplate: string;
  operationId: string | undefined;
  deprecated: boolean;
  regex: RegExp;
  pathParams: PathParam[];
  queryParams: QueryParam[];
  /** Null when the operation takes no request body. */
  body: RequestBodySpec | null;
  /** Literal path segments: the more, the more specific the template. */
  literalSegments: number;
}

/**
 * One object level of a schema, after following `$ref`s and merging `allOf`. `oneOf`/`anyOf` are kept
 * as alternatives; nested property schemas stay raw and are normalized on demand.
 */
export interface NormalizedSchema {
  type: string | undefined;
  enum: unknown[] | undefined;
  nullable: boolean;
  readOnly: boolean;
  deprecated: boolean;
  minimum: number | undefined;
  maximum: number | undefined;
  properties: Record<string, RawSchema>;
  required: string[];
  /** False only when the schema lists properties and does not allow others (see isClosed). */
  additionalProperties: boolean | RawSchema | undefined;
  items: RawSchema | undefined;
  alternatives: RawSchema[];
  /** For resolving nested schemas against the same document. */
  doc: SpecDocument;
}

/** A spec document, the root for its `$ref`s. */
export interface SpecDocument {
  name: SpecName;
  root: Record<string, unknown>;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/**
 * `RIQ_ATLASSIAN_SPECS` overrides; by default the copy in the repository (test/contract/specs,
 * unmodified, hashes in its SHA256SUMS), so a fresh clone runs the contract tests offline.
 */
export const SPECS_DIR =
  process.env['RIQ_ATLASSIAN_SPECS'] ??
  resolve(dirname(fileURLToPath(import.meta.url)), '../../contract/specs');

let cached: SpecOperation[] | undefined;

/** Every operation of the three specs (loaded once, on first use). */
export function specOperations(): SpecOperation[] {
  cached ??= (Object.keys(SPEC_FILES) as SpecName[]).flatMap((name) => indexSpec(loadSpec(name)));
  return cached;
}

export function loadSpec(name: SpecName): SpecDocument {
  const root = JSON.parse(readFileSync(join(SPECS_DIR, SPEC_FILES[name]), 'utf8')) as Record<string, unknown>;
  return { name, root };
}

/**
 * The operations whose template matches `path` (encoded, no query), most specific first: at the first
 * segment where two templates differ, a literal beats a parameter (`/issue/{id}/transitions` before
 * `/issue/{id}/{x}`, `/issue/createmeta` before `/issue/{id}`).
 */
export function matchPath(path: string): SpecOperation[] {
  return specOperations()
    .filter((op) => op.regex.test(path))
    .sort((a, b) => compareSpecificity(a.pathTemplate, b.pathTemplate));
}

function compareSpecificity(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const pa = isParamSegment(sa[i] ?? '');
    const pb = isParamSegment(sb[i] ?? '');
    if (pa !== pb) return pa ? 1 : -1;
  }
  return 0;
}

function isParamSegment(segment: string): boolean {
  return /^\{[^}]+\}$/.test(segment);
}

/** The path prefix every template of the document gets: OpenAPI 3 `servers[0].url` path, Swagger 2 `basePath`. */
function pathPrefix(root: Record<string, unknown>): string {
  let prefix = '';
  if (typeof root['basePath'] === 'string') prefix = root['basePath'];
  const servers = root['servers'];
  if (Array.isArray(servers) && isRecord(servers[0]) && typeof servers[0]['url'] === 'string') {
    // `https://{your-domain}/wiki/api/v2` → `/wiki/api/v2`; `//your-domain.atlassian.net` → ''.
    prefix = servers[0]['url'].replace(/^(?:[a-z][a-z0-9+.-]*:)?\/\/[^/]*/i, '');
  }
  return prefix.replace(/\/+$/, '');
}

function indexSpec(doc: SpecDocument): SpecOperation[] {
  const prefix = pathPrefix(doc.root);
  const paths = isRecord(doc.root['paths']) ? doc.root['paths'] : {};
  const operations: SpecOperation[] = [];
  for (const [template, rawItem] of Object.entries(paths)) {
    const item = deref(doc, rawItem);
    if (!item) continue;
    const shared = Array.isArray(item['parameters']) ? item['parameters'] : [];
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isRecord(op)) continue;
      operations.push(indexOperation(doc, `${prefix}${template}`, method.toUpperCase(), op, shared));
    }
  }
  return operations;
}

function indexOperation(
  doc: SpecDocument,
  pathTemplate: string,
  method: string,
  op: Record<string, unknown>,
  shared: unknown[],
): SpecOperation {
  // Operation-level parameters override path-level ones with the same name and location.
  const params = new Map<string, Record<string, unknown>>();
  for (const raw of [...shared, ...(Array.isArray(op['parameters']) ? op['parameters'] : [])]) {
    const p = deref(doc, raw);
    if (p && typeof p['name'] === 'string') params.set(`${String(p['in'])}:${p['name']}`, p);
  }
  const all = [...params.values()];
  const paramSchema = (p: Record<string, unknown>): NormalizedSchema | undefined =>
    // OpenAPI 3 puts the type under `schema`; Swagger 2 (non-body parameters) on the parameter itself.
    isRecord(p['schema'])
      ? normalizeSchema(doc, p['schema'])
      : p['type']
        ? normalizeSchema(doc, p)
        : undefined;

  const queryParams: QueryParam[] = all
    .filter((p) => p['in'] === 'query')
    .map((p) => ({
      name: String(p['name']),
      required: p['required'] === true,
      deprecated: p['deprecated'] === true,
      schema: paramSchema(p),
    }));
  const pathParams: PathParam[] = all
    .filter((p) => p['in'] === 'path')
    .map((p) => ({ name: String(p['name']), schema: paramSchema(p) }));

  const segments = pathTemplate.split('/');
  const source = segments
    .map((s) => (isParamSegment(s) ? '([^/]+)' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return {
    spec: doc.name,
    method,
    pathTemplate,
    operationId: typeof op['operationId'] === 'string' ? op['operationId'] : undefined,
    deprecated: op['deprecated'] === true,
    regex: new RegExp(`^${source}$`),
    pathParams: segments.filter(isParamSegment).map((s) => {
      const name = s.slice(1, -1);
      return pathParams.find((p) => p.name === name) ?? { name, schema: undefined };
    }),
    queryParams,
    body: requestBody(doc, op, all),
    literalSegments: segments.filter((s) => s !== '' && !isParamSegment(s)).length,
  };
}

function requestBody(
  doc: SpecDocument,
  op: Record<string, unknown>,
  params: Record<string, unknown>[],
): RequestBodySpec | null {
  // OpenAPI 3: `requestBody` (possibly a `$ref` to components/requestBodies).
  const rb = deref(doc, op['requestBody']);
  if (rb) {
    const content = isRecord(rb['content']) ? rb['content'] : {};
    const json = Object.entries(content).find(([type]) => /json/i.test(type)) ?? undefined;
    const schemaRaw =
      json && isRecord(json[1]) && isRecord(json[1]['schema']) ? json[1]['schema'] : undefined;
    return bodySpec(doc, rb['required'] === true, Object.keys(content), schemaRaw);
  }
  // Swagger 2: one `in: body` parameter, or `in: formData` parameters.
  const bodyParam = params.find((p) => p['in'] === 'body');
  if (bodyParam) {
    const consumes = op['consumes'] ?? doc.root['consumes'];
    const types = Array.isArray(consumes) ? consumes.map(String) : ['application/json'];
    const schemaRaw = isRecord(bodyParam['schema']) ? bodyParam['schema'] : undefined;
    return bodySpec(doc, bodyParam['required'] === true, types, schemaRaw);
  }
  const form = params.filter((p) => p['in'] === 'formData');
  if (form.length > 0) {
    return {
      bodyRequired: form.some((p) => p['required'] === true),
      mediaTypes: ['multipart/form-data', 'application/x-www-form-urlencoded'],
      required: [],
      properties: null,
      schema: undefined,
    };
  }
  return null;
}

function bodySpec(
  doc: SpecDocument,
  bodyRequired: boolean,
  mediaTypes: string[],
  schemaRaw: RawSchema | undefined,
): RequestBodySpec {
  const schema = schemaRaw ? normalizeSchema(doc, schemaRaw) : undefined;
  return {
    bodyRequired,
    mediaTypes,
    required: schema?.required ?? [],
    properties: schema && isClosed(schema) ? Object.keys(schema.properties) : null,
    schema,
  };
}

/**
 * Closed: the schema lists its properties and does not say `additionalProperties: true` (or give an
 * additionalProperties schema). Atlassian's specs rarely say `additionalProperties: false`, so a listed
 * set is taken as the whole set, as the brief asks; a schema with no properties at all is open.
 */
export function isClosed(schema: NormalizedSchema): boolean {
  if (schema.alternatives.length > 0) return false;
  if (Object.keys(schema.properties).length === 0) return false;
  const extra = schema.additionalProperties;
  return extra === undefined || extra === false;
}

/** Follows `$ref`s and merges `allOf` into one level. Cycles stop at the first repeated ref. */
export function normalizeSchema(
  doc: SpecDocument,
  raw: unknown,
  seen: Set<string> = new Set(),
): NormalizedSchema {
  const out: NormalizedSchema = {
    type: undefined,
    enum: undefined,
    nullable: false,
    readOnly: false,
    deprecated: false,
    minimum: undefined,
    maximum: undefined,
    properties: {},
    required: [],
    additionalProperties: undefined,
    items: undefined,
    alternatives: [],
    doc,
  };
  merge(doc, raw, out, seen);
  return out;
}

function merge(doc: SpecDocument, raw: unknown, out: NormalizedSchema, seen: Set<string>): void {
  if (!isRecord(raw)) return;
  const ref = raw['$ref'];
  if (typeof ref === 'string') {
    if (seen.has(ref)) return;
    seen.add(ref);
    merge(doc, resolveRef(doc, ref), out, seen);
    // OpenAPI 3.1 allows siblings of $ref; 3.0 ignores them. Keep the few that matter.
  }
  if (typeof raw['type'] === 'string') out.type = raw['type'];
  if (Array.isArray(raw['enum'])) out.enum = raw['enum'];
  if (raw['nullable'] === true || raw['x-nullable'] === true) out.nullable = true;
  if (raw['readOnly'] === true) out.readOnly = true;
  if (raw['deprecated'] === true) out.deprecated = true;
  if (typeof raw['minimum'] === 'number') out.minimum = raw['minimum'];
  if (typeof raw['maximum'] === 'number') out.maximum = raw['maximum'];
  if (isRecord(raw['properties'])) {
    for (const [name, schema] of Object.entries(raw['properties'])) {
      if (isRecord(schema)) out.properties[name] = schema;
    }
  }
  if (Array.isArray(raw['required'])) {
    for (const name of raw['required'])
      if (typeof name === 'string' && !out.required.includes(name)) out.required.push(name);
  }
  const extra = raw['additionalProperties'];
  if (typeof extra === 'boolean' || isRecord(extra)) {
    // Any allOf member that opens the object opens the merge.
    if (out.additionalProperties === undefined || out.additionalProperties === false)
      out.additionalProperties = extra;
  }
  if (isRecord(raw['items'])) out.items = raw['items'];
  for (const key of ['oneOf', 'anyOf']) {
    const list = raw[key];
    if (Array.isArray(list)) out.alternatives.push(...list.filter(isRecord));
  }
  if (Array.isArray(raw['allOf'])) {
    for (const member of raw['allOf']) merge(doc, member, out, new Set(seen));
  }
}

/** A local JSON pointer (`#/components/schemas/X`, `#/definitions/X`…). */
export function resolveRef(doc: SpecDocument, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`${doc.name}: only local $refs are supported, got ${ref}`);
  let node: unknown = doc.root;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isRecord(node) || !(key in node)) throw new Error(`${doc.name}: unresolvable $ref ${ref}`);
    node = node[key];
  }
  return node;
}

/** A parameter, path item or request body with its `$ref` chain followed. */
function deref(doc: SpecDocument, raw: unknown): Record<string, unknown> | undefined {
  let node = raw;
  for (let hops = 0; isRecord(node) && typeof node['$ref'] === 'string'; hops++) {
    if (hops > 20) throw new Error(`${doc.name}: $ref chain too long at ${node['$ref']}`);
    node = resolveRef(doc, node['$ref']);
  }
  return isRecord(node) ? node : undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
