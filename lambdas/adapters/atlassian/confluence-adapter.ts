/**
 * Confluence Cloud for RIQ's Confluence operations: REST v2 for spaces and pages, v1 for CQL search
 * (v2 has none). Only I/O and shape mapping: the results are RIQ's stable documented shapes, not
 * Confluence's; failures are UpstreamErrors from the HTTP client (classify-error.ts), except an
 * unknown space key, which is the caller's ValidationError.
 *
 * The client's base URL is the Confluence base including `/wiki`, so paths here start at `/api/v2`
 * and `/rest/api`.
 */
import * as z from 'zod/mini';
import '../../../model/zod-messages.js';
import { UpstreamError, ValidationError } from '../../../model/errors.js';
import { DEFAULT_MAX_RESULTS, type OperationPayload } from '../../../model/operations.js';
import type {
  ConfluencePage,
  CreatedConfluencePage,
  UpdatedConfluencePage,
  ConfluenceSearchHit,
  ConfluenceSearchResult,
} from '../../../model/results.js';
import type { CallContext } from '../../core/ports/index.js';
import { createFailure, parseAnswer, reconcileWindowOf, unexpectedResponse } from './classify-error.js';
import type { AtlassianHttpClient, AtlassianResponse } from './http-client.js';

export type GetPageInput = OperationPayload<'confluence.get_page'>;
export type CreatePageInput = OperationPayload<'confluence.create_page'>;
export type UpdatePageInput = OperationPayload<'confluence.update_page'>;
export type SearchPagesInput = OperationPayload<'confluence.search_pages'>;

export interface ConfluenceAdapterOptions {
  /**
   * Confluence site URL including `/wiki`, for links when a response carries no `_links.base`.
   * @default the client's base URL
   */
  readonly wikiUrl?: string;
  /** Results asked for per search call (Confluence may answer fewer). @default DEFAULT_SEARCH_PAGE_SIZE */
  readonly searchPageSize?: number;
  /**
   * Seconds a page create whose outcome is unknown waits before its retry looks the title up (config
   * `upstream.reconcileWindowSeconds`). @default DEFAULT_CONFIG.upstream.reconcileWindowSeconds
   */
  readonly reconcileWindowSeconds?: number;
}

/** An update re-reads the version and tries again after a version conflict, this many times in all. */
export const MAX_UPDATE_ATTEMPTS = 3;
/** The most search calls (cursor pages) one searchPages makes. */
export const MAX_SEARCH_REQUESTS = 5;
/** `max_results` when the payload gives none (Confluence's own default limit). */
export const DEFAULT_SEARCH_RESULTS = DEFAULT_MAX_RESULTS['confluence.search_pages'];
/** Results asked for per search call unless the options say otherwise. */
export const DEFAULT_SEARCH_PAGE_SIZE = 50;

const PAGES_PATH = '/api/v2/pages';
const SPACES_PATH = '/api/v2/spaces';
const SEARCH_PATH = '/rest/api/search';

const links = z.nullish(z.object({ webui: z.optional(z.string()), base: z.optional(z.string()) }));
/**
 * How much earlier than the request's submission a page found by a retried create may say it was
 * made and still be adopted: Confluence's clock and RIQ's are not the same clock.
 */
export const ADOPT_CLOCK_ALLOWANCE_MS = 5 * 60_000;

/** The page says it was made before `submittedAt` (less the allowance); unknown either way: false. */
function madeBefore(page: { readonly createdAt?: string | null }, submittedAt: number | undefined): boolean {
  const created = page.createdAt ? Date.parse(page.createdAt) : NaN;
  return (
    submittedAt !== undefined && Number.isFinite(created) && created < submittedAt - ADOPT_CLOCK_ALLOWANCE_MS
  );
}

/** Page statuses a `PUT … status: current` restores without writing the body (the v2 API's docs). */
const RESTORED_BY_PUT = new Set(['trashed', 'deleted']);

const pageSchema = z.object({
  id: z.string(),
  status: z.string(),
  title: z.string(),
  spaceId: z.string(),
  parentId: z.nullish(z.string()),
  createdAt: z.nullish(z.string()),
  version: z.object({ number: z.int() }),
  body: z.nullish(z.object({ storage: z.nullish(z.object({ value: z.string() })) })),
  _links: links,
});
type PageBody = z.infer<typeof pageSchema>;
const pageListSchema = z.object({ results: z.array(pageSchema) });

const spacesSchema = z.object({
  results: z.array(z.object({ id: z.string(), key: z.string() })),
});

const searchSchema = z.object({
  results: z.array(
    z.object({
      content: z.nullish(
        z.object({
          id: z.string(),
          type: z.string(),
          title: z.nullish(z.string()),
          space: z.nullish(z.object({ key: z.string() })),
          _expandable: z.nullish(z.object({ space: z.nullish(z.string()) })),
          _links: links,
        }),
      ),
      title: z.nullish(z.string()),
      excerpt: z.nullish(z.string()),
      url: z.nullish(z.string()),
      resultGlobalContainer: z.nullish(z.object({ displayUrl: z.nullish(z.string()) })),
    }),
  ),
  _links: z.nullish(z.object({ base: z.optional(z.string()), next: z.optional(z.string()) })),
});
type SearchResultBody = z.infer<typeof searchSchema>['results'][number];

export class ConfluenceAdapter {
  private readonly wikiUrl: string;
  private readonly searchPageSize: number;
  private readonly reconcileWindowSeconds: number;
  /** Space key → id. Ids never change, so entries never expire; failed lookups are not kept. */
  private readonly spaceIds = new Map<string, Promise<string>>();

  constructor(
    private readonly client: AtlassianHttpClient,
    options: ConfluenceAdapterOptions = {},
  ) {
    this.wikiUrl = (options.wikiUrl ?? client.baseUrl).replace(/\/+$/, '');
    const size = options.searchPageSize ?? DEFAULT_SEARCH_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > 250) {
      throw new Error(`searchPageSize must be an integer from 1 to 250, got ${size}`);
    }
    this.searchPageSize = size;
    this.reconcileWindowSeconds = reconcileWindowOf(options.reconcileWindowSeconds);
  }

  /** `GET /api/v2/pages/{id}?body-format=storage`. */
  async getPage(input: GetPageInput): Promise<ConfluencePage> {
    const path = pagePath(input.page_id);
    const response = await this.client.get(path, { 'body-format': 'storage' });
    const page = parse(pageSchema, response, 'GET', path);
    const body = page.body?.storage?.value;
    if (body === undefined)
      throw unexpectedResponse(context('GET', path), response.status, 'no storage body');
    return {
      id: page.id,
      title: page.title,
      space_id: page.spaceId,
      status: page.status,
      version: page.version.number,
      body,
      parent_id: page.parentId ?? null,
      url: this.pageUrl(page),
      created_at: page.createdAt ?? null,
    };
  }

  /**
   * Resolves the space key (cached), then `POST /api/v2/pages`. A title already used in the space
   * is Confluence's 400, i.e. VALIDATION_ERROR with Atlassian's message in `details.errors`. A POST
   * whose outcome is unknown (`writeOutcomeUnknown`) fails with `retryAfterSeconds` of at least the
   * reconcile window, so the retry's look-up by title comes once the page can be listed.
   */
  async createPage(
    input: CreatePageInput,
    context: Partial<CallContext> = {},
  ): Promise<CreatedConfluencePage> {
    const spaceId = await this.spaceId(input.space_id);
    if ((context.attempt ?? 1) > 1) {
      // A retry: an earlier attempt whose answer was lost may have created the page. Titles are
      // unique in a space, so the page with this title is adopted instead of failing as a duplicate,
      // unless it was made before the request was submitted: then it is someone else's, and the
      // POST answers the duplicate title as the first attempt would have.
      const earlier = await this.pageByTitle(spaceId, input.title);
      if (earlier && !madeBefore(earlier, context.submittedAt)) {
        return {
          id: earlier.id,
          title: earlier.title,
          space_id: earlier.spaceId,
          space_key: input.space_id,
          parent_id: earlier.parentId ?? null,
          version: earlier.version.number,
          url: this.pageUrl(earlier),
        };
      }
    }
    const request = {
      spaceId,
      status: 'current',
      title: input.title,
      ...(input.parent_id !== undefined ? { parentId: input.parent_id } : {}),
      body: { representation: 'storage', value: input.content },
    };
    let page: PageBody;
    try {
      page = parse(pageSchema, await this.client.post(PAGES_PATH, request), 'POST', PAGES_PATH);
    } catch (err) {
      throw createFailure(err, this.reconcileWindowSeconds);
    }
    return {
      id: page.id,
      title: page.title,
      space_id: page.spaceId,
      space_key: input.space_id,
      parent_id: page.parentId ?? null,
      version: page.version.number,
      url: this.pageUrl(page),
    };
  }

  /**
   * Reads the current version (and title, when none is given), then `PUT /api/v2/pages/{id}` with
   * version + 1. A version conflict (409, or a 400 "Version must be incremented") means someone else
   * wrote in between: read again and retry, MAX_UPDATE_ATTEMPTS in all, then throw the last error.
   * A trashed or deleted page is refused (`payload.page_id`), not written: Confluence answers that
   * PUT by restoring the page with its old content.
   */
  async updatePage(input: UpdatePageInput): Promise<UpdatedConfluencePage> {
    const path = pagePath(input.page_id);
    for (let attempt = 1; ; attempt++) {
      const currentResponse = await this.client.get(path);
      const current = parse(pageSchema, currentResponse, 'GET', path);
      if (RESTORED_BY_PUT.has(current.status)) {
        throw ValidationError.forField(
          'payload.page_id',
          `page ${current.id} is ${current.status}: restore it in Confluence before updating it`,
        );
      }
      const request = {
        id: current.id,
        status: 'current',
        title: input.title ?? current.title,
        body: { representation: 'storage', value: input.content },
        version: { number: current.version.number + 1 },
      };
      try {
        const response = await this.client.put(path, request);
        const page = parse(pageSchema, response, 'PUT', path);
        return { id: page.id, title: page.title, version: page.version.number, url: this.pageUrl(page) };
      } catch (err) {
        if (attempt >= MAX_UPDATE_ATTEMPTS || !isVersionConflict(err)) throw err;
      }
    }
  }

  /**
   * v1 `GET /rest/api/search` with `type=page [AND space="KEY"] AND (title~"q" OR text~"q")`, the
   * user's text quoted and escaped; follows `_links.next` cursors until `max_results` pages are
   * collected, Confluence has no more, or MAX_SEARCH_REQUESTS calls were made.
   */
  async searchPages(input: SearchPagesInput): Promise<ConfluenceSearchResult> {
    const max = input.max_results ?? DEFAULT_SEARCH_RESULTS;
    const cql = buildSearchCql(input.query, input.space_id);
    const pages: ConfluenceSearchHit[] = [];
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let call = 0; call < MAX_SEARCH_REQUESTS && pages.length < max; call++) {
      const response = await this.client.get(SEARCH_PATH, {
        cql,
        limit: Math.min(max - pages.length, this.searchPageSize),
        expand: 'content.space',
        ...(cursor !== null ? { cursor } : {}),
      });
      const body = parse(searchSchema, response, 'GET', SEARCH_PATH);
      const base = (body._links?.base ?? this.wikiUrl).replace(/\/+$/, '');
      for (const result of body.results) {
        if (pages.length >= max) break;
        const hit = searchHit(result, base, input.space_id);
        if (hit && !seen.has(hit.id)) {
          seen.add(hit.id);
          pages.push(hit);
        }
      }
      cursor = cursorOf(body._links?.next);
      if (cursor === null || body.results.length === 0) break;
    }
    return { pages, next_cursor: cursor, truncated: cursor !== null };
  }

  /** `GET /api/v2/pages?space-id=…&title=…`: the current page with exactly this title, if any. */
  private async pageByTitle(spaceId: string, title: string): Promise<PageBody | undefined> {
    const response = await this.client.get(PAGES_PATH, {
      'space-id': spaceId,
      title,
      status: 'current',
      limit: 1,
    });
    const found = parse(pageListSchema, response, 'GET', PAGES_PATH);
    return found.results.find((p) => p.title === title);
  }

  /** The space's id for its key: `GET /api/v2/spaces?keys=KEY`, once per key per adapter. */
  private spaceId(key: string): Promise<string> {
    let id = this.spaceIds.get(key);
    if (!id) {
      id = this.lookUpSpace(key);
      this.spaceIds.set(key, id);
      id.catch(() => this.spaceIds.delete(key));
    }
    return id;
  }

  private async lookUpSpace(key: string): Promise<string> {
    const response = await this.client.get(SPACES_PATH, { keys: key });
    const spaces = parse(spacesSchema, response, 'GET', SPACES_PATH);
    const space = spaces.results.find((s) => s.key === key);
    if (!space) {
      throw ValidationError.forField(
        'payload.space_id',
        `no Confluence space with key ${key} exists or is visible to RIQ's account`,
      );
    }
    return space.id;
  }

  private pageUrl(page: PageBody): string {
    const base = (page._links?.base ?? this.wikiUrl).replace(/\/+$/, '');
    const webui = page._links?.webui;
    return webui
      ? joinUrl(base, webui)
      : `${base}/pages/viewpage.action?pageId=${encodeURIComponent(page.id)}`;
  }
}

/**
 * Escapes text for use inside a double-quoted CQL string: `\` becomes `\\` and `"` becomes `\"`, so
 * the text cannot end the string; control characters (newlines…) become spaces.
 */
export function escapeCqlString(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** `value` as a double-quoted, escaped CQL string literal. */
export function cqlString(value: string): string {
  return `"${escapeCqlString(value)}"`;
}

/** The CQL of `confluence.search_pages`: pages whose title or text contains `query`, optionally in one space. */
export function buildSearchCql(query: string, spaceKey?: string): string {
  const text = cqlString(query);
  const space = spaceKey !== undefined ? ` AND space=${cqlString(spaceKey)}` : '';
  return `type=page${space} AND (title~${text} OR text~${text})`;
}

function searchHit(
  result: SearchResultBody,
  base: string,
  requestedSpace?: string,
): ConfluenceSearchHit | undefined {
  const content = result.content;
  if (!content || content.type !== 'page') return undefined;
  const path = result.url ?? content._links?.webui;
  const spaceKey =
    content.space?.key ??
    lastSegmentAfter(content._expandable?.space, '/rest/api/space/') ??
    lastSegmentAfter(result.resultGlobalContainer?.displayUrl, '/spaces/') ??
    requestedSpace ??
    null;
  return {
    id: content.id,
    title: content.title ?? stripHighlight(result.title ?? ''),
    space_key: spaceKey,
    url: path
      ? joinUrl(base, path)
      : `${base}/pages/viewpage.action?pageId=${encodeURIComponent(content.id)}`,
    excerpt: decodeEntities(stripHighlight(result.excerpt ?? '')).trim(),
  };
}

/** The `cursor` parameter of a `_links.next` URL (relative or absolute), or null. */
function cursorOf(next: string | undefined): string | null {
  if (next === undefined || next === '') return null;
  try {
    return new URL(next, 'http://next.invalid').searchParams.get('cursor') || null;
  } catch {
    return null;
  }
}

function lastSegmentAfter(path: string | null | undefined, prefix: string): string | undefined {
  if (!path?.startsWith(prefix)) return undefined;
  const segment = path.slice(prefix.length).split(/[/?#]/)[0];
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function stripHighlight(text: string): string {
  return text.replace(/@@@(end)?hl@@@/g, '');
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  hellip: '…',
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]+);/gi, (match, entity: string) => {
    const lower = entity.toLowerCase();
    const code = lower.startsWith('#x')
      ? parseInt(lower.slice(2), 16)
      : lower.startsWith('#')
        ? parseInt(lower.slice(1), 10)
        : undefined;
    if (code === undefined) return ENTITIES[lower] ?? match;
    return code <= 0x10ffff ? String.fromCodePoint(code) : match;
  });
}

function isVersionConflict(err: unknown): boolean {
  if (!(err instanceof UpstreamError)) return false;
  if (err.details?.['conflict'] === true) return true;
  return err.details?.['status'] === 400 && /version must be incremented/i.test(err.message);
}

function joinUrl(base: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  return `${base}${path.startsWith('/') ? '' : '/'}${path}`;
}

function pagePath(id: string): string {
  return `${PAGES_PATH}/${encodeURIComponent(id)}`;
}

function context(method: string, path: string) {
  return { service: 'confluence' as const, method, path };
}

function parse<T>(schema: z.ZodMiniType<T>, response: AtlassianResponse, method: string, path: string): T {
  return parseAnswer(schema, response, context(method, path));
}
