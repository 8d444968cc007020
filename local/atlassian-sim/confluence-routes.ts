/**
 * Confluence Cloud routes of the simulator, under `/wiki`: REST v2 spaces and pages (get, create,
 * update with version checks) and the v1 CQL search, shaped like shared/atlassian/specs/confluence-
 * v2.json and confluence-v1.json. Errors use Confluence's shapes: v2 `{errors:[{status, code, title,
 * detail}]}`, v1 `{statusCode, data, message}`.
 *
 * Simulator choices where Confluence leaves room: only `current` pages and the `storage`
 * representation; a stale `version.number` on update answers 409 CONFLICT "Version must be
 * incremented on update…" (what clients see; the spec lists no 409); a missing space or parent page
 * answers 404 as the spec's createPage/updatePage describe; search results are in page-id order and
 * at most SEARCH_MAX_LIMIT per call.
 */
import { containsTerms, CqlSyntaxError, matchesCql, parseCql, type CqlNode } from './cql.js';
import { SIM_ACCOUNT_ID, type ConfluenceState, type SimPage, type SimSpace } from './confluence-state.js';
import { json, type Router, type SimRequest, type SimResponse } from './router.js';

export const WIKI_PREFIX = '/wiki';
const V2 = `${WIKI_PREFIX}/api/v2`;
const SEARCH_PATH = `${WIKI_PREFIX}/rest/api/search`;

/** Confluence's per-call cap on search results ("may be restricted by fixed system limits"). */
export const SEARCH_MAX_LIMIT = 50;
export const SEARCH_DEFAULT_LIMIT = 25;
const SPACES_DEFAULT_LIMIT = 25;
const SPACES_MAX_LIMIT = 250;
const TITLE_MAX = 255;
/** Bodies over 5 MB answer 413, as Confluence Cloud. */
export const MAX_PAGE_BODY_BYTES = 5 * 1024 * 1024;
const EXCERPT_LENGTH = 200;
const BODY_FORMATS = new Set([
  'storage',
  'atlas_doc_format',
  'view',
  'export_view',
  'anonymous_export_view',
  'styled_view',
  'editor',
]);

export const DUPLICATE_TITLE_MESSAGE =
  'A page with this title already exists: A page already exists with the same TITLE in this space';

/** Where the simulator reports a created page (SimState's statistics). */
export interface PageCreationCounter {
  recordPageCreated(): void;
}

export function registerConfluenceRoutes(
  router: Router,
  confluence: ConfluenceState,
  stats: PageCreationCounter,
): void {
  router.add('GET', `${V2}/spaces`, (req) => getSpaces(confluence, req));
  router.add('POST', `${V2}/pages`, (req) => createPage(confluence, stats, req));
  router.add('GET', `${V2}/pages`, (req) => listPages(confluence, req));
  router.add('GET', `${V2}/pages/:id`, (req) => getPage(confluence, req));
  router.add('PUT', `${V2}/pages/:id`, (req) => updatePage(confluence, req));
  router.add('GET', SEARCH_PATH, (req) => search(confluence, req));
}

// ---------------------------------------------------------------------------------------- v2 spaces

function getSpaces(confluence: ConfluenceState, req: SimRequest): SimResponse {
  const limit = intParam(req.query.get('limit'), SPACES_DEFAULT_LIMIT, 1, SPACES_MAX_LIMIT);
  if (limit === undefined) return invalidParameter('limit', `must be between 1 and ${SPACES_MAX_LIMIT}`);
  const offset = req.query.has('cursor') ? decodeCursor(req.query.get('cursor'), 'spaces') : 0;
  if (offset === undefined) return invalidParameter('cursor', 'is not a valid cursor');
  const keys = listParam(req.query.getAll('keys'));
  const ids = listParam(req.query.getAll('ids'));

  const matching = [...confluence.spaces.values()].filter(
    (s) => (keys.length === 0 || keys.includes(s.key)) && (ids.length === 0 || ids.includes(s.id)),
  );
  const page = matching.slice(offset, offset + limit);
  const links: Record<string, string> = { base: wikiBase(req) };
  if (offset + limit < matching.length) {
    const next = new URLSearchParams(req.query);
    next.set('cursor', encodeCursor(offset + limit, 'spaces'));
    links['next'] = `/wiki/api/v2/spaces?${next.toString()}`;
  }
  return json(200, { results: page.map(spaceJson), _links: links });
}

function spaceJson(space: SimSpace): Record<string, unknown> {
  return {
    id: space.id,
    key: space.key,
    name: space.name,
    type: 'global',
    status: 'current',
    authorId: SIM_ACCOUNT_ID,
    spaceOwnerId: SIM_ACCOUNT_ID,
    currentActiveAlias: space.key,
    createdAt: new Date(space.createdAt).toISOString(),
    homepageId: space.homepageId,
    description: null,
    icon: null,
    _links: { webui: `/spaces/${encodeURIComponent(space.key)}` },
  };
}

// ----------------------------------------------------------------------------------------- v2 pages

/**
 * `GET /pages` filtered by `space-id` and exact `title` (what RIQ uses to find a page an earlier
 * attempt may have created); one page of at most `limit` results, no cursor.
 */
function listPages(confluence: ConfluenceState, req: SimRequest): SimResponse {
  const limit = intParam(req.query.get('limit'), 25, 1, 250);
  if (limit === undefined) return invalidParameter('limit', 'must be between 1 and 250');
  const spaceIds = listParam(req.query.getAll('space-id'));
  const title = req.query.get('title');
  const pages = confluence
    .allPages()
    .filter((p) => spaceIds.length === 0 || spaceIds.includes(p.spaceId))
    .filter((p) => title === null || p.title === title)
    .slice(0, limit);
  return json(200, { results: pages.map((p) => pageJson(confluence, p, req, false)), _links: {} });
}

function getPage(confluence: ConfluenceState, req: SimRequest): SimResponse {
  const found = findPage(confluence, req.params['id']);
  if ('response' in found) return found.response;
  const format = req.query.get('body-format');
  if (format !== null && !BODY_FORMATS.has(format)) {
    return invalidParameter('body-format', `must be one of ${[...BODY_FORMATS].join(', ')}`);
  }
  return json(200, pageJson(confluence, found.page, req, format === 'storage'));
}

function createPage(confluence: ConfluenceState, stats: PageCreationCounter, req: SimRequest): SimResponse {
  const body = req.body;
  if (!isRecord(body)) return badRequest('The request body must be a JSON object.');

  const spaceRef = body['spaceId'];
  if (typeof spaceRef !== 'string' && typeof spaceRef !== 'number') {
    return badRequest('spaceId is required.');
  }
  const space = confluence.spaces.get(String(spaceRef));
  if (!space) return notFound(`No space with id ${String(spaceRef)} exists or is visible.`);

  const status = body['status'] ?? 'current';
  if (status !== 'current')
    return badRequest(`status '${String(status)}' is not supported by the simulator.`);
  const title = checkTitle(body['title']);
  if (typeof title !== 'string') return title;
  const value = storageValue(body['body'] ?? { representation: 'storage', value: '' });
  if (typeof value !== 'string') return value;

  let parentId = space.homepageId;
  if (body['parentId'] !== undefined && body['parentId'] !== null) {
    const parent = confluence.page(String(body['parentId']));
    if (!parent) return notFound(`No parent page with id ${String(body['parentId'])} exists or is visible.`);
    if (parent.spaceId !== space.id) return badRequest('The parent page must be in the same space.');
    parentId = parent.id;
  }
  if (confluence.pageByTitle(space.id, title)) return badRequest(DUPLICATE_TITLE_MESSAGE);

  const page = confluence.createPage({ spaceId: space.id, parentId, title, body: value });
  stats.recordPageCreated();
  return json(200, pageJson(confluence, page, req, true));
}

function updatePage(confluence: ConfluenceState, req: SimRequest): SimResponse {
  const found = findPage(confluence, req.params['id']);
  if ('response' in found) return found.response;
  const page = found.page;
  const body = req.body;
  if (!isRecord(body)) return badRequest('The request body must be a JSON object.');

  if (String(body['id']) !== page.id) return badRequest('The id in the body must match the id in the path.');
  if (body['status'] !== 'current') {
    return badRequest(`status must be 'current' (the simulator keeps no drafts).`);
  }
  const title = checkTitle(body['title']);
  if (typeof title !== 'string') return title;
  if (body['body'] === undefined) return badRequest('body is required.');
  const value = storageValue(body['body']);
  if (typeof value !== 'string') return value;

  const version = isRecord(body['version']) ? body['version']['number'] : undefined;
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    return badRequest('version.number is required and must be an integer.');
  }
  if (body['spaceId'] !== undefined && String(body['spaceId']) !== page.spaceId) {
    return badRequest('A page cannot be moved to a different space.');
  }
  if (version !== page.version + 1) {
    return v2Error(
      409,
      'CONFLICT',
      `Version must be incremented on update. Current version is: ${page.version}`,
      `version.number was ${version}; expected ${page.version + 1}.`,
    );
  }
  const sameTitle = confluence.pageByTitle(page.spaceId, title);
  if (sameTitle && sameTitle.id !== page.id) return badRequest(DUPLICATE_TITLE_MESSAGE);

  confluence.updatePage(page, { title, body: value });
  return json(200, pageJson(confluence, page, req, true));
}

function findPage(
  confluence: ConfluenceState,
  id: string | undefined,
): { page: SimPage } | { response: SimResponse } {
  if (id === undefined || !/^\d{1,19}$/.test(id)) {
    return { response: invalidParameter('id', 'must be a numeric page id') };
  }
  const page = confluence.page(id);
  return page ? { page } : { response: v2Error(404, 'NOT_FOUND', 'Not Found') };
}

function checkTitle(value: unknown): string | SimResponse {
  if (typeof value !== 'string' || value.trim() === '') {
    return badRequest('Title is required for a page that is not a draft.');
  }
  if (value.length > TITLE_MAX) return badRequest(`Title cannot be longer than ${TITLE_MAX} characters.`);
  return value;
}

/** The storage value from `{representation, value}` or the nested `{storage: {…}}` form. */
function storageValue(body: unknown): string | SimResponse {
  const write = isRecord(body) && isRecord(body['storage']) ? body['storage'] : body;
  if (!isRecord(write)) return badRequest('body must be an object with representation and value.');
  if (write['representation'] !== 'storage') {
    return badRequest(`body.representation must be 'storage' (the only one the simulator keeps).`);
  }
  const value = write['value'];
  if (typeof value !== 'string') return badRequest('body.value must be a string.');
  if (Buffer.byteLength(value, 'utf8') > MAX_PAGE_BODY_BYTES) {
    return v2Error(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request entity too large', 'The body is over 5 MB.');
  }
  return value;
}

function pageJson(
  confluence: ConfluenceState,
  page: SimPage,
  req: SimRequest,
  withBody: boolean,
): Record<string, unknown> {
  return {
    id: page.id,
    status: 'current',
    title: page.title,
    spaceId: page.spaceId,
    parentId: page.parentId,
    parentType: page.parentId === null ? null : 'page',
    position: null,
    authorId: SIM_ACCOUNT_ID,
    ownerId: SIM_ACCOUNT_ID,
    lastOwnerId: null,
    createdAt: new Date(page.createdAt).toISOString(),
    version: {
      createdAt: new Date(page.versionCreatedAt).toISOString(),
      message: '',
      number: page.version,
      minorEdit: false,
      authorId: SIM_ACCOUNT_ID,
    },
    body: withBody ? { storage: { representation: 'storage', value: page.body } } : {},
    _links: { ...pageLinks(confluence, page), base: wikiBase(req) },
  };
}

function pageLinks(confluence: ConfluenceState, page: SimPage): Record<string, string> {
  const key = confluence.spaces.get(page.spaceId)?.key ?? '';
  const slug = encodeURIComponent(page.title).replace(/%20/g, '+');
  return {
    webui: `/spaces/${encodeURIComponent(key)}/pages/${page.id}/${slug}`,
    editui: `/pages/resumedraft.action?draftId=${page.id}`,
    edituiv2: `/spaces/${encodeURIComponent(key)}/pages/edit-v2/${page.id}`,
    tinyui: `/x/${Buffer.from(page.id).toString('base64url')}`,
  };
}

// ---------------------------------------------------------------------------------------- v1 search

function search(confluence: ConfluenceState, req: SimRequest): SimResponse {
  const cql = req.query.get('cql') ?? '';
  if (cql.trim() === '') return v1Error(400, 'CQL query parameter is required but was empty');
  let query: CqlNode;
  try {
    query = parseCql(cql);
  } catch (err) {
    if (err instanceof CqlSyntaxError) return v1Error(400, `Could not parse cql : ${cql} (${err.message})`);
    throw err;
  }
  const requested = intParam(req.query.get('limit'), SEARCH_DEFAULT_LIMIT, 0, Number.MAX_SAFE_INTEGER);
  if (requested === undefined) return v1Error(400, 'limit must be a non-negative integer');
  const limit = Math.min(Math.max(requested, 1), SEARCH_MAX_LIMIT);
  let offset: number | undefined;
  if (req.query.has('cursor')) {
    offset = decodeCursor(req.query.get('cursor'), cql);
    if (offset === undefined) return v1Error(400, 'The cursor is not valid for this query');
  } else {
    offset = intParam(req.query.get('start'), 0, 0, Number.MAX_SAFE_INTEGER);
    if (offset === undefined) return v1Error(400, 'start must be a non-negative integer');
  }
  const expand = listParam(req.query.getAll('expand'));
  const excerptMode = req.query.get('excerpt') ?? 'highlight';

  const terms = containsTerms(query);
  const matching = confluence.allPages().filter((page) => {
    const space = confluence.spaces.get(page.spaceId);
    return (
      space !== undefined &&
      matchesCql(query, {
        type: 'page',
        spaceKey: space.key,
        title: page.title,
        bodyText: plainText(page.body),
      })
    );
  });
  const slice = matching.slice(offset, offset + limit);
  const base = wikiBase(req);
  const links: Record<string, string> = {
    base,
    context: WIKI_PREFIX,
    self: `${base}/rest/api/search?${new URLSearchParams(req.query).toString()}`,
  };
  if (offset + limit < matching.length) {
    const next = new URLSearchParams({ cql, limit: String(limit) });
    if (expand.length > 0) next.set('expand', expand.join(','));
    next.set('cursor', encodeCursor(offset + limit, cql));
    next.set('next', 'true');
    links['next'] = `/rest/api/search?${next.toString()}`;
  }
  return json(200, {
    results: slice.map((page) =>
      searchResult(confluence, page, {
        base,
        terms,
        withSpace: expand.includes('content.space'),
        excerpt: excerptMode !== 'none',
      }),
    ),
    start: offset,
    limit,
    size: slice.length,
    totalSize: matching.length,
    cqlQuery: cql,
    searchDuration: 1,
    _links: links,
  });
}

function searchResult(
  confluence: ConfluenceState,
  page: SimPage,
  options: { base: string; terms: string[]; withSpace: boolean; excerpt: boolean },
): Record<string, unknown> {
  const space = confluence.spaces.get(page.spaceId);
  const key = space?.key ?? '';
  const links = pageLinks(confluence, page);
  const text = plainText(page.body);
  const content: Record<string, unknown> = {
    id: page.id,
    type: 'page',
    status: 'current',
    title: page.title,
    childTypes: {},
    macroRenderedOutput: {},
    restrictions: {},
    _expandable: {
      container: '',
      metadata: '',
      extensions: '',
      operations: '',
      children: '',
      history: `/rest/api/content/${page.id}/history`,
      ancestors: '',
      body: '',
      version: '',
      descendants: '',
      space: `/rest/api/space/${encodeURIComponent(key)}`,
    },
    _links: {
      webui: links['webui'],
      self: `${options.base}/rest/api/content/${page.id}`,
      tinyui: links['tinyui'],
    },
  };
  if (options.withSpace && space) {
    content['space'] = {
      id: Number(space.id),
      key: space.key,
      name: space.name,
      type: 'global',
      status: 'current',
    };
    delete (content['_expandable'] as Record<string, unknown>)['space'];
  }
  return {
    content,
    title: highlight(page.title, options.terms, page.title.length),
    excerpt: options.excerpt ? highlight(text, options.terms, EXCERPT_LENGTH) : '',
    url: links['webui'],
    resultGlobalContainer: { title: space?.name ?? key, displayUrl: `/spaces/${encodeURIComponent(key)}` },
    breadcrumbs: [],
    entityType: 'content',
    iconCssClass: 'aui-icon content-type-page',
    lastModified: new Date(page.versionCreatedAt).toISOString(),
    friendlyLastModified: 'just a moment ago',
    score: 1,
  };
}

/** Up to `length` characters of `text` around the first term found, HTML-escaped, the term wrapped in Confluence's `@@@hl@@@…@@@endhl@@@` markers. */
function highlight(text: string, terms: string[], length: number): string {
  const lower = text.toLowerCase();
  let at = -1;
  let term = '';
  for (const t of terms) {
    const i = lower.indexOf(t.toLowerCase());
    if (i >= 0 && (at < 0 || i < at)) {
      at = i;
      term = t;
    }
  }
  if (at < 0) return escapeHtml(text.slice(0, length));
  const start = Math.max(0, Math.min(at - 60, text.length - length));
  const window = text.slice(start, start + length);
  const rel = at - start;
  const end = Math.min(rel + term.length, window.length);
  return (
    escapeHtml(window.slice(0, rel)) +
    '@@@hl@@@' +
    escapeHtml(window.slice(rel, end)) +
    '@@@endhl@@@' +
    escapeHtml(window.slice(end))
  );
}

/** Storage XHTML as plain text: CDATA kept, tags dropped, common entities decoded, spaces collapsed. */
export function plainText(storage: string): string {
  return storage
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, ' $1 ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi, (_m, entity: string) => decodeEntity(entity))
    .replace(/\s+/g, ' ')
    .trim();
}

function decodeEntity(entity: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
  const lower = entity.toLowerCase();
  if (lower.startsWith('#x')) return safeCodePoint(parseInt(lower.slice(2), 16));
  if (lower.startsWith('#')) return safeCodePoint(parseInt(lower.slice(1), 10));
  return named[lower] ?? '';
}

function safeCodePoint(n: number): string {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

// ------------------------------------------------------------------------------------------ helpers

function wikiBase(req: SimRequest): string {
  return `${req.baseUrl}${WIKI_PREFIX}`;
}

/** Confluence v2's error body. */
export function v2Error(
  status: number,
  code: string,
  title: string,
  detail: string | null = null,
): SimResponse {
  return json(status, { errors: [{ status, code, title, detail }] });
}

/** Confluence v1's error body. */
export function v1Error(status: number, message: string): SimResponse {
  return json(status, {
    statusCode: status,
    data: { authorized: true, valid: false, errors: [], successful: false },
    message,
  });
}

function badRequest(title: string): SimResponse {
  return v2Error(400, 'BAD_REQUEST', title);
}

function notFound(detail: string): SimResponse {
  return v2Error(404, 'NOT_FOUND', 'Not Found', detail);
}

function invalidParameter(name: string, problem: string): SimResponse {
  return v2Error(
    400,
    'INVALID_REQUEST_PARAMETER',
    `Invalid value for the query parameter ${name}`,
    `${name} ${problem}`,
  );
}

/** An integer query parameter within [min, max]; the default when absent, undefined when invalid. */
function intParam(raw: string | null, fallback: number, min: number, max: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,15}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

/** Values of a repeated and/or comma-separated parameter. */
function listParam(values: string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** An opaque cursor: the next offset, tied to the query it belongs to. */
function encodeCursor(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: scope }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | null, scope: string): number | undefined {
  if (cursor === null) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!isRecord(decoded) || decoded['q'] !== scope) return undefined;
    const offset = decoded['o'];
    return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
