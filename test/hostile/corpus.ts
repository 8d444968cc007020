/**
 * Hostile input, the fixed corpus: hand-written requests covering every category of
 * "hostile input" (wrong types, missing and extra fields, huge and deeply nested JSON, invalid
 * UTF-8, unknown operations and tokens, negative and huge `wait`, injection strings, 10,000
 * `depends_on` entries, unknown routes and methods, junk headers), each with the answer expected.
 * test/e2e/bad-input.test.ts has the basic cases; these are the nastier ones.
 */
import type { HostileRequest, Outcome } from './check.js';
import { SUBMIT } from './generators.js';

export interface Expected {
  status: number;
  code: string;
  /** `details.field` of a VALIDATION_ERROR (or the field a NOT_FOUND names). */
  field?: string;
}

export interface CorpusEntry extends HostileRequest {
  /** The precise rejection, or `accepted` for hostile text that is nevertheless a valid request. */
  expect: Expected | 'accepted';
}

const TOKEN = 'req_0123456789abcdef0123456789abcdef';
const valid = { operation: 'jira.get_task', payload: { task_id: 'MD-1' } };
const json = { 'content-type': 'application/json' };

function nested(depth: number, leaf: string): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth);
}

function submit(name: string, body: unknown, expected: Expected | 'accepted'): CorpusEntry {
  return {
    name,
    method: 'POST',
    path: SUBMIT,
    headers: json,
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    expect: expected,
  };
}

const bad = (field: string): Expected => ({ status: 400, code: 'VALIDATION_ERROR', field });
const notFound = (field?: string): Expected => ({
  status: 404,
  code: 'NOT_FOUND',
  ...(field ? { field } : {}),
});

function get(name: string, path: string, expected: Expected | 'accepted', headers?: Record<string, string>) {
  return {
    name,
    method: 'GET',
    path,
    ...(headers ? { headers } : {}),
    expect: expected,
  } satisfies CorpusEntry;
}

export const CORPUS: CorpusEntry[] = [
  // --- wrong types ----------------------------------------------------------------------------
  submit('operation is a number', { ...valid, operation: 42 }, bad('operation')),
  submit('operation is null', { ...valid, operation: null }, bad('operation')),
  submit('payload is an array', { ...valid, payload: ['MD-1'] }, bad('payload')),
  submit('payload is a string', { ...valid, payload: '{"task_id":"MD-1"}' }, bad('payload')),
  submit('task_id is a number', { ...valid, payload: { task_id: 1 } }, bad('payload.task_id')),
  submit('priority is an object', { ...valid, priority: { high: true } }, bad('priority')),
  submit('fresh is a string', { ...valid, fresh: 'true' }, bad('fresh')),
  submit('fire_and_forget is 1', { ...valid, fire_and_forget: 1 }, bad('fire_and_forget')),
  submit('routing is unknown', { ...valid, routing: 'direct' }, bad('routing')),
  submit(
    'max_results is a float',
    { operation: 'jira.search_tasks', payload: { jql: 'project = MD', max_results: 1.5 } },
    bad('payload.max_results'),
  ),
  submit(
    'max_results is huge',
    { operation: 'jira.search_tasks', payload: { jql: 'project = MD', max_results: 1e308 } },
    bad('payload.max_results'),
  ),
  submit(
    'labels is a string',
    { operation: 'jira.create_task', payload: { title: 'T', project_id: 'MD', labels: 'a b' } },
    bad('payload.labels'),
  ),
  // --- missing and extra fields ---------------------------------------------------------------
  submit('no operation', { payload: { task_id: 'MD-1' } }, bad('operation')),
  submit('no payload', { operation: 'jira.get_task' }, bad('payload')),
  submit('empty object', {}, bad('operation')),
  submit('empty payload', { operation: 'confluence.create_page', payload: {} }, bad('payload.title')),
  submit(
    'extra payload field',
    { ...valid, payload: { task_id: 'MD-1', admin: true } },
    bad('payload.admin'),
  ),
  submit(
    '__proto__ in the envelope',
    '{"__proto__":{"admin":true},"operation":"jira.get_task","payload":{"task_id":"MD-1"}}',
    bad('__proto__'),
  ),
  submit(
    '__proto__ in the payload',
    '{"operation":"jira.get_task","payload":{"task_id":"MD-1","__proto__":{"admin":true}}}',
    bad('payload.__proto__'),
  ),
  submit(
    'constructor in the payload',
    '{"operation":"jira.get_task","payload":{"task_id":"MD-1","constructor":{"prototype":{}}}}',
    bad('payload.constructor'),
  ),
  submit(
    'duplicate keys, the last one wrong',
    '{"operation":"jira.get_task","operation":7,"payload":{"task_id":"MD-1"}}',
    bad('operation'),
  ),
  // --- unknown operations ---------------------------------------------------------------------
  submit('operation __proto__', { ...valid, operation: '__proto__' }, bad('operation')),
  submit('operation toString', { ...valid, operation: 'toString' }, bad('operation')),
  submit('operation in upper case', { ...valid, operation: 'JIRA.GET_TASK' }, bad('operation')),
  submit('operation with a NUL', { ...valid, operation: 'jira.get_task\u0000' }, bad('operation')),
  submit('operation of 100 KB', { ...valid, operation: 'x'.repeat(100_000) }, bad('operation')),
  // --- huge and deeply nested JSON ------------------------------------------------------------
  submit(
    'payload over 5 MiB',
    {
      operation: 'confluence.create_page',
      payload: { title: 'T', space_id: 'MD', content: 'x'.repeat(5 * 1024 * 1024 + 1) },
    },
    { status: 413, code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  ),
  // The HTTP API's own answer, `{"message":"Request Entity Too Large"}`: no function sees it.
  submit(
    'body of 12 MiB (over the gateway limit)',
    JSON.stringify({ ...valid, pad: 'x'.repeat(12 * 1024 * 1024) }),
    { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  ),
  submit(
    'arrays nested 60,000 deep in the payload',
    `{"operation":"jira.get_task","payload":{"task_id":${nested(60_000, '"MD-1"')}}}`,
    bad(`payload.task_id${'.0'.repeat(30)}`),
  ),
  submit(
    'objects nested 20,000 deep in the payload',
    `{"operation":"jira.get_task","payload":{"task_id":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}}`,
    bad(`payload.task_id${'.a'.repeat(30)}`),
  ),
  submit(
    'nested 33 deep in labels',
    `{"operation":"jira.create_task","payload":{"title":"T","project_id":"MD","labels":${nested(33, '"x"')}}}`,
    bad(`payload.labels${'.0'.repeat(30)}`),
  ),
  submit(
    'nested 2 deep (fine) but the wrong type',
    `{"operation":"jira.create_task","payload":{"title":"T","project_id":"MD","labels":[["x"]]}}`,
    bad('payload.labels.0'),
  ),
  submit(
    '600,000 payload fields (over 5 MiB)',
    {
      operation: 'jira.get_task',
      payload: Object.fromEntries(Array.from({ length: 600_000 }, (_v, i) => [`f${i}`, 0])),
    },
    { status: 413, code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  ),
  submit(
    '5,000 payload fields',
    {
      operation: 'jira.get_task',
      payload: Object.fromEntries(Array.from({ length: 5_000 }, (_v, i) => [`f${i}`, 0])),
    },
    bad('payload.f0'),
  ),
  // --- invalid UTF-8 --------------------------------------------------------------------------
  submit(
    'overlong encoding of "/"',
    Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]),
    bad('body'),
  ),
  submit(
    'UTF-16 surrogate as UTF-8',
    Buffer.concat([Buffer.from('{"operation":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
    bad('body'),
  ),
  submit(
    'truncated multi-byte sequence',
    Buffer.concat([
      Buffer.from('{"operation":"jira.get_task","payload":{"task_id":"'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from('"}}'),
    ]),
    bad('body'),
  ),
  submit('UTF-16 with BOM', Buffer.from('\ufeff{}', 'utf16le'), bad('body')),
  submit(
    'UTF-8 BOM then an object',
    '\ufeff{"operation":"jira.get_task","payload":{"task_id":"MD-1"}}',
    bad('body'),
  ),
  // --- tokens ---------------------------------------------------------------------------------
  // A token that does not exist is a 404 whatever its shape; only a segment that cannot be a token
  // at all (a control character, over 128 characters) is a 400.
  get('result of an unknown token', `/api/queue/result/${TOKEN}`, notFound('token')),
  get('result of a short token', '/api/queue/result/req_abc123', notFound('token')),
  get('result of a token in upper case', `/api/queue/result/${TOKEN.toUpperCase()}`, notFound('token')),
  get('result of a consistency token', `/api/queue/result/cst_${TOKEN.slice(4)}`, notFound('token')),
  get('result of a broken percent-escape', '/api/queue/result/%E0%A4%A', notFound('token')),
  get('result of an encoded slash', '/api/queue/result/..%2F..%2Fhealth', notFound('token')),
  get('result of 128 characters', `/api/queue/result/${'a'.repeat(128)}`, notFound('token')),
  get('result of an 8 KB token', `/api/queue/result/${'a'.repeat(8_000)}`, bad('token')),
  get('result of 129 characters', `/api/queue/result/${'a'.repeat(129)}`, bad('token')),
  get('result of an encoded NUL', '/api/queue/result/req_%00', bad('token')),
  get('result of an encoded newline', `/api/queue/result/${TOKEN}%0A`, bad('token')),
  submit(
    'after_consistency_token of a request token',
    { ...valid, after_consistency_token: TOKEN },
    bad('after_consistency_token'),
  ),
  // A token whose write is gone (or never was) counts as satisfied (docs/api.md, Consistency tokens).
  submit(
    'unknown after_consistency_token (satisfied)',
    { ...valid, after_consistency_token: `cst_${TOKEN.slice(4)}`, routing: 'queued' },
    'accepted',
  ),
  // --- wait -----------------------------------------------------------------------------------
  get('wait=-1', `/api/queue/result/${TOKEN}?wait=-1`, bad('wait')),
  get('wait=-99999999999', `/api/queue/result/${TOKEN}?wait=-99999999999`, bad('wait')),
  get('wait=1e3', `/api/queue/result/${TOKEN}?wait=1e3`, bad('wait')),
  get('wait=NaN', `/api/queue/result/${TOKEN}?wait=NaN`, bad('wait')),
  get(
    'wait of 30 digits on an unknown token (clamped, then not found)',
    `/api/queue/result/${TOKEN}?wait=${'9'.repeat(30)}`,
    notFound('token'),
  ),
  get(
    'wait=999999 on an unknown token (clamped, then not found)',
    `/api/queue/result/${TOKEN}?wait=999999`,
    notFound('token'),
  ),
  // --- query parameters a route does not take ------------------------------------------------
  {
    name: 'routing in the submit query instead of the body',
    method: 'POST',
    path: `${SUBMIT}?routing=queued`,
    headers: json,
    body: JSON.stringify(valid),
    expect: bad('routing'),
  },
  get('a misspelt wait (wiat=10)', `/api/queue/result/${TOKEN}?wiat=10`, bad('wiat')),
  // --- injection strings ----------------------------------------------------------------------
  submit(
    'JQL injection (a valid search)',
    {
      operation: 'jira.search_tasks',
      payload: { jql: `project = MD OR 1=1 ORDER BY created` },
      routing: 'queued',
    },
    'accepted',
  ),
  submit(
    'CQL injection (a valid search)',
    { operation: 'confluence.search_pages', payload: { query: `" OR type = page OR "` }, routing: 'queued' },
    'accepted',
  ),
  submit(
    'JQL of whitespace',
    { operation: 'jira.search_tasks', payload: { jql: ' \t\n ' } },
    bad('payload.jql'),
  ),
  submit(
    'JQL of 4,001 characters',
    { operation: 'jira.search_tasks', payload: { jql: 'a'.repeat(4_001) } },
    bad('payload.jql'),
  ),
  submit(
    'SQL in an issue key',
    { ...valid, payload: { task_id: `MD-1' OR '1'='1` } },
    bad('payload.task_id'),
  ),
  submit(
    'path traversal in a page id',
    { operation: 'confluence.get_page', payload: { page_id: '../../admin' } },
    bad('payload.page_id'),
  ),
  submit(
    'CRLF in a space key',
    { operation: 'confluence.search_pages', payload: { query: 'x', space_id: 'MD\r\nX: 1' } },
    bad('payload.space_id'),
  ),
  submit(
    'placeholder on a token not in depends_on',
    { ...valid, payload: { task_id: `{{${TOKEN}.key}}` } },
    bad('payload.task_id'),
  ),
  submit(
    'placeholder reaching for __proto__',
    { ...valid, payload: { task_id: `{{${TOKEN}.__proto__}}` }, depends_on: [TOKEN] },
    bad('payload.task_id'),
  ),
  // --- depends_on -----------------------------------------------------------------------------
  submit(
    '10,000 depends_on tokens',
    {
      ...valid,
      depends_on: Array.from({ length: 10_000 }, (_v, i) => `req_${i.toString(16).padStart(32, '0')}`),
    },
    bad('depends_on'),
  ),
  submit(
    '10,000 depends_on numbers',
    { ...valid, depends_on: Array.from({ length: 10_000 }, () => 1) },
    bad('depends_on'),
  ),
  submit(
    '21 depends_on tokens',
    {
      ...valid,
      depends_on: Array.from({ length: 21 }, (_v, i) => `req_${i.toString(16).padStart(32, '0')}`),
    },
    bad('depends_on'),
  ),
  submit('depends_on is an object', { ...valid, depends_on: { 0: TOKEN } }, bad('depends_on')),
  submit('depends_on with a duplicate', { ...valid, depends_on: [TOKEN, TOKEN] }, bad('depends_on.1')),
  submit('depends_on of an unknown token', { ...valid, depends_on: [TOKEN] }, notFound('depends_on.0')),
  // --- routes, methods, headers ---------------------------------------------------------------
  {
    name: 'PUT on submit',
    method: 'PUT',
    path: SUBMIT,
    headers: json,
    body: JSON.stringify(valid),
    expect: { status: 405, code: 'METHOD_NOT_ALLOWED' },
  },
  {
    name: 'DELETE on health',
    method: 'DELETE',
    path: '/api/queue/health',
    expect: { status: 405, code: 'METHOD_NOT_ALLOWED' },
  },
  get('unknown route', '/api/queue/admin', { status: 404, code: 'NOT_FOUND' }),
  get('unknown route outside the API', '/etc/passwd', { status: 404, code: 'NOT_FOUND' }),
  get('route with a trailing slash', '/api/queue/health/', { status: 404, code: 'NOT_FOUND' }),
  {
    name: 'OPTIONS preflight',
    method: 'OPTIONS',
    path: SUBMIT,
    expect: { status: 405, code: 'METHOD_NOT_ALLOWED' },
  },
  {
    name: 'an empty caller identity',
    method: 'POST',
    path: SUBMIT,
    headers: { ...json, 'x-riq-caller': '' },
    body: JSON.stringify(valid),
    expect: { status: 403, code: 'PERMISSION_DENIED' },
  },
  {
    name: 'form-encoded body',
    method: 'POST',
    path: SUBMIT,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'operation=jira.get_task&payload=x',
    expect: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' },
  },
  {
    name: 'JSON sent as text/plain',
    method: 'POST',
    path: SUBMIT,
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify(valid),
    expect: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' },
  },
  {
    name: 'gzip claimed, plain JSON sent',
    method: 'POST',
    path: SUBMIT,
    headers: { ...json, 'content-encoding': 'gzip' },
    body: '\x1f\x8b\x08garbage',
    expect: bad('body'),
  },
  get('metrics with a junk Accept', '/api/queue/metrics', 'accepted', {
    accept: 'text/plain;q=abc, */*;q=-1',
  }),
  // --- operator routes ------------------------------------------------------------------------
  get('dead letters with an unknown parameter', '/api/queue/dead-letters?page=2', bad('page')),
  get('dead letters with limit=0', '/api/queue/dead-letters?limit=0', bad('limit')),
  get(
    'dead letters with a forged cursor',
    `/api/queue/dead-letters?cursor=${Buffer.from('{"pk":"REQ#x","status":"queued"}').toString('base64url')}`,
    bad('cursor'),
  ),
  get(
    'dead letters with a cursor of foreign keys',
    `/api/queue/dead-letters?cursor=${Buffer.from('{"zz":"1"}').toString('base64url')}`,
    bad('cursor'),
  ),
  {
    name: 'retry of an unknown token',
    method: 'POST',
    path: `/api/queue/dead-letters/${TOKEN}/retry`,
    expect: notFound(),
  },
  {
    name: 'purge of a junk token',
    method: 'DELETE',
    path: '/api/queue/dead-letters/%ZZ',
    expect: notFound('token'),
  },
  {
    name: 'purge of a token with a control character',
    method: 'DELETE',
    path: '/api/queue/dead-letters/req_%07',
    expect: bad('token'),
  },
  {
    name: 'retry of a token over 128 characters',
    method: 'POST',
    path: `/api/queue/dead-letters/${'b'.repeat(200)}/retry`,
    expect: bad('token'),
  },
  {
    name: 'redrive of an unknown service',
    method: 'POST',
    path: '/api/queue/dead-letters/redrive',
    headers: json,
    body: '{"service":"bitbucket"}',
    expect: bad('service'),
  },
  {
    name: 'redrive with an extra field',
    method: 'POST',
    path: '/api/queue/dead-letters/redrive',
    headers: json,
    body: '{"service":"jira","force":true}',
    expect: bad('force'),
  },
  {
    name: 'redrive with an array body',
    method: 'POST',
    path: '/api/queue/dead-letters/redrive',
    headers: json,
    body: '["jira"]',
    expect: bad('body'),
  },
];

/** Why an outcome is not the one a corpus entry expects, or undefined when it is. */
export function expectationProblem(entry: CorpusEntry, outcome: Outcome): string | undefined {
  const v = outcome.verdict;
  if (v.kind === 'violation') return v.problem;
  if (entry.expect === 'accepted')
    return v.kind === 'accepted' ? undefined : `expected acceptance, got ${v.status}`;
  if (v.kind !== 'rejected') return `expected ${entry.expect.status} ${entry.expect.code}, got ${v.status}`;
  const { status, code, field } = entry.expect;
  if (v.status !== status || v.code !== code) return `expected ${status} ${code}, got ${v.status} ${v.code}`;
  if (field !== undefined) {
    const got = (JSON.parse(outcome.answer.text) as { error: { details?: { field?: unknown } } }).error
      .details?.field;
    if (got !== field) return `expected details.field ${field}, got ${String(got)}`;
  }
  return undefined;
}
