/**
 * What one answered call costs in Atlassian's points (Jira and Confluence Cloud "Rate limiting"):
 * 1 per call plus 1 per core object (issue, page, comment) the answer returns; a write (POST, PUT,
 * DELETE) costs a flat 1. A GET of one issue is 2, a search answering 50 issues 51, GET transitions
 * 1 (transitions are not core objects). Spaces are not core objects either.
 */
import type { SimResponse } from './router.js';

/** Route templates (as TemplatedRouter names them) → the core objects in a 2xx answer's body. */
const CORE_OBJECTS: Record<string, (body: Record<string, unknown>) => number> = {
  'GET /rest/api/3/issue/:issueIdOrKey': () => 1,
  'GET /rest/api/3/issue/:issueIdOrKey/comment': (b) => lengthOf(b['comments']),
  'GET /rest/api/3/search/jql': (b) => lengthOf(b['issues']),
  'POST /rest/api/3/search/jql': (b) => lengthOf(b['issues']),
  'POST /rest/api/3/comment/list': (b) => lengthOf(b['values']),
  'GET /wiki/api/v2/pages': (b) => lengthOf(b['results']),
  'GET /wiki/api/v2/pages/:id': () => 1,
  'GET /wiki/rest/api/search': (b) => lengthOf(b['results']),
};

/** POSTs that only read (Jira's enhanced search, comments by id): charged as reads. */
export const READ_ONLY_POSTS = new Set([
  'POST /rest/api/3/search/jql',
  'POST /rest/api/3/search',
  'POST /rest/api/3/comment/list',
]);

const WRITES = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** Whether the call writes (POST/PUT/DELETE/PATCH, but not a read-only search POST). */
export function isWrite(method: string, template: string): boolean {
  return WRITES.has(method.toUpperCase()) && !READ_ONLY_POSTS.has(template);
}

/** The points of one call to `template` answered `response`; an error answer returns no objects. */
export function callPoints(method: string, template: string, response: SimResponse): number {
  if (isWrite(method, template)) return 1;
  const ok = response.status >= 200 && response.status <= 299;
  const count = CORE_OBJECTS[template];
  return 1 + (ok && count && isRecord(response.body) ? count(response.body) : 0);
}

function lengthOf(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
