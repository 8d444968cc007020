/**
 * The simulated Jira search, `POST` and `GET /rest/api/3/search/jql` (the enhanced search): JQL from
 * jql.ts, paging by an opaque `nextPageToken` (absent on the last page, no `total`), ids only unless
 * `fields` is set, and eventual consistency with `reconcileIssues` when `searchIndexLagMs` is set.
 * The removed `/rest/api/3/search` answers 410 like Jira Cloud.
 */
import { createHash } from 'node:crypto';
import { ALL_FIELDS, issueFields, issueSelf, requestedFields } from './jira-fields.js';
import { statusNamed } from './jira-workflow.js';
import { JqlError, parseJql, searchIssues, type JqlClause, type JqlQuery } from './jql.js';
import { jiraError, json, type Router, type SimRequest, type SimResponse } from './router.js';
import type { SimState } from './state.js';

export const SEARCH_PATH = '/rest/api/3/search/jql';
/** `maxResults` when the request has none (the spec's default). */
export const SEARCH_DEFAULT_MAX_RESULTS = 50;
/** The most issues one page holds when only ids / keys are asked for (the spec: "max 5000"). */
export const SEARCH_MAX_RESULTS = 5_000;
/** The most issues one page holds when fields are asked for: Jira answers fewer than asked then. */
export const SEARCH_MAX_RESULTS_WITH_FIELDS = 100;
/** `reconcileIssues` accepts at most this many ids. */
export const MAX_RECONCILE_ISSUES = 50;

export const REMOVED_SEARCH_MESSAGE =
  'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. ' +
  'A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046';

/** The keys of the spec's SearchAndReconcileRequestBean (additionalProperties: false). */
const BODY_KEYS = new Set([
  'expand',
  'fields',
  'fieldsByKeys',
  'jql',
  'maxResults',
  'nextPageToken',
  'properties',
  'reconcileIssues',
]);

interface SearchParams {
  jql: string;
  maxResults: number;
  nextPageToken: string | undefined;
  fields: string[];
  reconcileIssues: number[];
}

export function registerJiraSearchRoutes(router: Router, state: SimState): void {
  router.add('POST', SEARCH_PATH, (req) => {
    const params = paramsFromBody(req.body);
    return 'status' in params ? params : search(state, req, params);
  });
  router.add('GET', SEARCH_PATH, (req) => {
    const params = paramsFromQuery(req.query);
    return 'status' in params ? params : search(state, req, params);
  });
  const gone = (): SimResponse => jiraError(410, [REMOVED_SEARCH_MESSAGE]);
  router.add('GET', '/rest/api/3/search', gone);
  router.add('POST', '/rest/api/3/search', gone);
}

function paramsFromBody(body: unknown): SearchParams | SimResponse {
  if (!isRecord(body)) return jiraError(400, ['The request body is missing or is not a JSON object.']);
  for (const key of Object.keys(body)) {
    if (!BODY_KEYS.has(key)) return jiraError(400, [`Unrecognized field "${key}".`]);
  }
  const { jql, maxResults, nextPageToken, fields, reconcileIssues } = body;
  if (jql !== undefined && jql !== null && typeof jql !== 'string') return badType('jql', 'a string');
  if (maxResults !== undefined && maxResults !== null && !Number.isInteger(maxResults)) {
    return badType('maxResults', 'an integer');
  }
  if (nextPageToken !== undefined && nextPageToken !== null && typeof nextPageToken !== 'string') {
    return badType('nextPageToken', 'a string');
  }
  if (fields !== undefined && !isStringArray(fields)) return badType('fields', 'an array of strings');
  if (reconcileIssues !== undefined && !isIntegerArray(reconcileIssues)) {
    return badType('reconcileIssues', 'an array of issue ids (integers)');
  }
  return checked({
    jql: typeof jql === 'string' ? jql : '',
    maxResults: typeof maxResults === 'number' ? maxResults : SEARCH_DEFAULT_MAX_RESULTS,
    nextPageToken: typeof nextPageToken === 'string' ? nextPageToken : undefined,
    fields: isStringArray(fields) ? fields : [],
    reconcileIssues: isIntegerArray(reconcileIssues) ? reconcileIssues : [],
  });
}

function paramsFromQuery(query: URLSearchParams): SearchParams | SimResponse {
  const max = query.get('maxResults');
  if (max !== null && !/^-?\d+$/.test(max)) return badType('maxResults', 'an integer');
  const reconcile = query
    .getAll('reconcileIssues')
    .flatMap((v) => v.split(','))
    .filter((v) => v.trim() !== '');
  if (!reconcile.every((v) => /^\d+$/.test(v.trim()))) {
    return badType('reconcileIssues', 'a list of issue ids (integers)');
  }
  return checked({
    jql: query.get('jql') ?? '',
    maxResults: max === null ? SEARCH_DEFAULT_MAX_RESULTS : Number(max),
    nextPageToken: query.get('nextPageToken') ?? undefined,
    fields: query.getAll('fields'),
    reconcileIssues: reconcile.map(Number),
  });
}

function checked(params: SearchParams): SearchParams | SimResponse {
  if (params.maxResults < 1) return jiraError(400, ['maxResults must be a positive integer.']);
  if (params.reconcileIssues.length > MAX_RECONCILE_ISSUES) {
    return jiraError(400, [`reconcileIssues accepts at most ${MAX_RECONCILE_ISSUES} issue ids.`]);
  }
  return params;
}

function search(state: SimState, req: SimRequest, params: SearchParams): SimResponse {
  let query: JqlQuery;
  try {
    query = parseJql(params.jql);
  } catch (err) {
    if (err instanceof JqlError) return jiraError(400, [err.message]);
    throw err;
  }
  const resolved = resolveValues(state, query);
  if ('status' in resolved) return resolved;

  const fingerprint = queryFingerprint(params.jql);
  let offset = 0;
  if (params.nextPageToken !== undefined) {
    const decoded = decodePageToken(params.nextPageToken, fingerprint);
    if (decoded === undefined) return jiraError(400, ['The nextPageToken is invalid or has expired.']);
    offset = decoded;
  }

  const now = Date.now();
  const reconcile = new Set(params.reconcileIssues.map(String));
  const lag = state.searchIndexLagMs;
  const indexed = state
    .issues()
    .filter((issue) => lag <= 0 || now - issue.created >= lag || reconcile.has(issue.id));
  const matches = searchIssues(resolved, indexed);

  const wanted = requestedFields(params.fields, 'none');
  const withFields = ALL_FIELDS.some((f) => wanted.has(f));
  const pageSize = Math.min(
    params.maxResults,
    withFields ? SEARCH_MAX_RESULTS_WITH_FIELDS : SEARCH_MAX_RESULTS,
    state.searchPageLimit ?? Number.POSITIVE_INFINITY,
  );
  const page = matches.slice(offset, offset + pageSize);
  const end = offset + page.length;
  const isLast = end >= matches.length;

  const issues = page.map((issue) => {
    if (!withFields && !wanted.has('key')) return { id: issue.id };
    return {
      id: issue.id,
      key: issue.key,
      self: issueSelf(req.baseUrl, issue),
      fields: issueFields(state, issue, wanted, req.baseUrl),
    };
  });
  return json(200, {
    issues,
    ...(isLast ? {} : { nextPageToken: encodePageToken(end, fingerprint) }),
    isLast,
  });
}

/**
 * Checks the values Jira checks against its data (`project`, `status`, `key` must exist) and
 * normalizes project references (key, id or name) to the project key.
 */
function resolveValues(state: SimState, query: JqlQuery): JqlQuery | SimResponse {
  const clauses: JqlClause[] = [];
  for (const clause of query.clauses) {
    if (clause.field === 'project') {
      const wanted = clause.value.toLowerCase();
      const project =
        state.project(clause.value.toUpperCase()) ??
        state.project(clause.value) ??
        [...state.projects.values()].find((p) => p.name.toLowerCase() === wanted);
      if (!project) return noSuchValue(clause);
      clauses.push({ ...clause, value: project.key });
    } else if (clause.field === 'status') {
      if (!statusNamed(clause.value)) return noSuchValue(clause);
      clauses.push(clause);
    } else if (clause.field === 'key') {
      if (!state.issue(clause.value)) {
        return jiraError(400, [`An issue with key '${clause.value}' does not exist for field 'key'.`]);
      }
      clauses.push(clause);
    } else {
      clauses.push(clause);
    }
  }
  return { ...query, clauses };
}

function noSuchValue(clause: JqlClause): SimResponse {
  return jiraError(400, [`The value '${clause.value}' does not exist for the field '${clause.field}'.`]);
}

/** Tokens name the offset of the next page and the query they belong to; opaque to clients. */
export function encodePageToken(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: fingerprint })).toString('base64url');
}

function decodePageToken(token: string, fingerprint: string): number | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (!isRecord(value) || value['q'] !== fingerprint) return undefined;
    const offset = value['o'];
    return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : undefined;
  } catch {
    return undefined;
  }
}

function queryFingerprint(jql: string): string {
  return createHash('sha256').update(jql).digest('base64url').slice(0, 16);
}

function badType(field: string, expected: string): SimResponse {
  return jiraError(400, [`Invalid request: '${field}' must be ${expected}.`]);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isIntegerArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((n) => Number.isInteger(n));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
