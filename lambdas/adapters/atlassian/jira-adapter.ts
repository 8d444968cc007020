/**
 * Jira Cloud REST v3 for RIQ's Jira operations. Only I/O and shape mapping: the results are RIQ's
 * stable documented shapes, not Jira's; failures are UpstreamErrors from the HTTP client, except a
 * target status no transition leads to, which is a ValidationError on `payload.target_status`.
 */
import * as z from 'zod/mini';
import '../../../model/zod-messages.js';
import { ValidationError } from '../../../model/errors.js';
import { DEFAULT_MAX_RESULTS, type OperationPayload } from '../../../model/operations.js';
import type {
  JiraTask,
  CreatedJiraTask,
  JiraEditableField,
  UpdatedJiraTask,
  TransitionedJiraTask,
  CreatedJiraComment,
  JiraSearchResult,
} from '../../../model/results.js';
import type { CallContext } from '../../core/ports/index.js';
import { adfToText, textToAdf, type AdfDoc } from './adf.js';
import { createFailure, parseAnswer, reconcileWindowOf } from './classify-error.js';
import type { AtlassianHttpClient, AtlassianResponse } from './http-client.js';

/** One entry of `GET /issue/{key}/transitions`, as far as RIQ reads it. */
export interface JiraTransitionOption {
  id: string;
  /** The transition's own name (`Resolve`), which can differ from the status it leads to. */
  name: string;
  to: { name: string };
  /** Absent means available. */
  isAvailable?: boolean | undefined;
}

export interface SearchTasksOptions {
  /**
   * Issue ids Jira must reconcile with the search (read-after-write for issues RIQ just wrote), at most
   * MAX_RECONCILE_ISSUES; sent with every page.
   */
  readonly reconcileIssues?: readonly number[];
}

export type GetTaskInput = OperationPayload<'jira.get_task'>;
export type CreateTaskInput = OperationPayload<'jira.create_task'>;
export type UpdateTaskInput = OperationPayload<'jira.update_task'>;
export type TransitionTaskInput = OperationPayload<'jira.transition_task'>;
export type AddCommentInput = OperationPayload<'jira.add_comment'>;
export type SearchTasksInput = OperationPayload<'jira.search_tasks'>;

export interface JiraAdapterOptions {
  /** Issue type name when the payload names none. @default 'Task' */
  readonly defaultIssueType?: string;
  /** Site URL for browse links, when the API base is not the site (OAuth). @default the client's base URL */
  readonly siteUrl?: string;
  /** Issues asked for per search page (Jira may answer fewer). @default DEFAULT_SEARCH_PAGE_SIZE */
  readonly searchPageSize?: number;
  /**
   * Seconds a create whose outcome is unknown waits before its retry searches for it (config
   * `upstream.reconcileWindowSeconds`). @default DEFAULT_CONFIG.upstream.reconcileWindowSeconds
   */
  readonly reconcileWindowSeconds?: number;
}

/** The fields `getTask` asks for: exactly what JiraTask needs. */
export const JIRA_TASK_FIELDS = [
  'summary',
  'status',
  'project',
  'issuetype',
  'labels',
  'description',
  'created',
  'updated',
] as const;

/** `max_results` when the payload names none. */
export const DEFAULT_SEARCH_RESULTS = DEFAULT_MAX_RESULTS['jira.search_tasks'];
/** Issues asked for per search page unless the options say otherwise. */
export const DEFAULT_SEARCH_PAGE_SIZE = 100;
/** Search pages fetched at most per call, so a misbehaving paging cannot loop. */
export const MAX_SEARCH_PAGES = 10;
/** Jira's limit on `reconcileIssues`. */
export const MAX_RECONCILE_ISSUES = 50;

const ISSUE_PATH = '/rest/api/3/issue';
const SEARCH_PATH = '/rest/api/3/search/jql';
/** Comments by id, the one Jira endpoint documented to answer their entity properties. */
const COMMENT_LIST_PATH = '/rest/api/3/comment/list';
/** An issue key (`MD-12`), as opposed to a numeric issue id. */
export const ISSUE_KEY = /^[A-Z][A-Z0-9_]*-[1-9][0-9]*$/;

const named = z.object({ name: z.string() });
const issueSchema = z.object({
  id: z.string(),
  key: z.string(),
  fields: z.object({
    summary: z.string(),
    status: named,
    project: z.object({ key: z.string() }),
    issuetype: named,
    labels: z.nullish(z.array(z.string())),
    description: z.unknown(),
    created: z.string(),
    updated: z.string(),
  }),
});
type IssueBody = z.infer<typeof issueSchema>;
const createdSchema = z.object({ id: z.string(), key: z.string() });
const refsSchema = z.object({ issues: z._default(z.array(createdSchema), []) });

/** Labels RIQ adds to the issues it creates: `riq-<request token>`, hidden from results. */
export const MARKER_PREFIX = 'riq-req_';

export function markerLabel(token: string): string {
  return `riq-${token}`;
}

/** The comment entity property RIQ sets on the comments it adds: `{token: <request token>}`. */
export const COMMENT_MARKER_KEY = 'riq.request';
/** Comments asked for per page when a retried comment looks for an earlier attempt's. */
export const COMMENT_PAGE_SIZE = 100;
/** Pages of the newest comments a retried comment looks through. */
export const MAX_COMMENT_RECONCILE_PAGES = 5;

export function commentMarker(token: string): { key: string; value: { token: string } } {
  return { key: COMMENT_MARKER_KEY, value: { token } };
}

function markerToken(value: unknown): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)['token']
    : undefined;
}

const issueRefSchema = z.object({ id: z.string(), key: z.string(), fields: z.object({ status: named }) });
const transitionsSchema = z.object({
  transitions: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      to: named,
      isAvailable: z.optional(z.boolean()),
    }),
  ),
});
const commentSchema = z.object({
  id: z.string(),
  created: z.string(),
  properties: z.nullish(z.array(z.object({ key: z.string(), value: z.unknown() }))),
});
const commentPageSchema = z.object({
  comments: z._default(z.array(commentSchema), []),
  total: z.optional(z.number()),
});
const commentListSchema = z.object({ values: z._default(z.array(commentSchema), []) });
const searchSchema = z.object({
  issues: z._default(z.array(issueSchema), []),
  nextPageToken: z.nullish(z.string()),
  isLast: z.optional(z.boolean()),
});

export class JiraAdapter {
  private readonly defaultIssueType: string;
  private readonly siteUrl: string;
  private readonly searchPageSize: number;
  private readonly reconcileWindowSeconds: number;

  constructor(
    private readonly client: AtlassianHttpClient,
    options: JiraAdapterOptions = {},
  ) {
    this.defaultIssueType = options.defaultIssueType ?? 'Task';
    this.siteUrl = (options.siteUrl ?? client.baseUrl).replace(/\/+$/, '');
    this.searchPageSize = options.searchPageSize ?? DEFAULT_SEARCH_PAGE_SIZE;
    this.reconcileWindowSeconds = reconcileWindowOf(options.reconcileWindowSeconds);
    if (!Number.isInteger(this.searchPageSize) || this.searchPageSize < 1 || this.searchPageSize > 5_000) {
      throw new Error(`searchPageSize must be an integer from 1 to 5000, got ${options.searchPageSize}`);
    }
  }

  async getTask(input: GetTaskInput): Promise<JiraTask> {
    const path = issuePath(input.task_id);
    const response = await this.client.get(path, { fields: JIRA_TASK_FIELDS.join(',') });
    return this.toTask(parse(issueSchema, response, 'GET', path));
  }

  /**
   * `POST /issue`. With the request's token, the issue carries the marker label `riq-<token>`, and a
   * retry (attempt > 1) first searches for that label: an earlier attempt whose answer was lost (a
   * timeout, a dropped connection) may have created the issue, and it is adopted instead of created
   * twice (DESIGN invariant 2). Jira's search is eventually consistent, so an issue created a moment
   * before may not be found yet: a POST whose outcome is unknown (`writeOutcomeUnknown`) fails with
   * `retryAfterSeconds` of at least the reconcile window, so the retry searches only once the index
   * has caught up.
   */
  async createTask(input: CreateTaskInput, context: Partial<CallContext> = {}): Promise<CreatedJiraTask> {
    const marker = context.token !== undefined ? markerLabel(context.token) : undefined;
    if (marker !== undefined && (context.attempt ?? 1) > 1) {
      const earlier = await this.findByLabel(marker);
      if (earlier) return { id: earlier.id, key: earlier.key, url: this.browseUrl(earlier.key) };
    }
    const fields: {
      project: { key: string };
      summary: string;
      issuetype: { name: string };
      description?: AdfDoc;
      labels?: string[];
    } = {
      project: { key: input.project_id },
      summary: input.title,
      issuetype: { name: input.issue_type ?? this.defaultIssueType },
    };
    if (input.description !== undefined && input.description.trim() !== '') {
      fields.description = textToAdf(input.description);
    }
    if (input.labels !== undefined || marker !== undefined) {
      fields.labels = [...(input.labels ?? []), ...(marker !== undefined ? [marker] : [])];
    }

    let created: z.infer<typeof createdSchema>;
    try {
      created = parse(createdSchema, await this.client.post(ISSUE_PATH, { fields }), 'POST', ISSUE_PATH);
    } catch (err) {
      throw createFailure(err, this.reconcileWindowSeconds);
    }
    return { id: created.id, key: created.key, url: this.browseUrl(created.key) };
  }

  /**
   * `PUT /issue/{key}?returnIssue=true` with the given fields (description as ADF; blank clears it).
   * Jira answers the issue, which gives its id and key; should it answer 204 instead, one GET does.
   */
  async updateTask(input: UpdateTaskInput): Promise<UpdatedJiraTask> {
    const fields: { summary?: string; description?: AdfDoc | null; labels?: string[] } = {};
    if (input.title !== undefined) fields.summary = input.title;
    if (input.description !== undefined) {
      fields.description = input.description.trim() === '' ? null : textToAdf(input.description);
    }
    if (input.labels !== undefined) fields.labels = input.labels;

    const path = issuePath(input.task_id);
    const response = await this.client.request({
      method: 'PUT',
      path,
      query: { returnIssue: true },
      body: { fields },
    });
    const issue =
      response.body === undefined
        ? await this.issueRef(input.task_id)
        : parse(createdSchema, response, 'PUT', path);
    return {
      id: issue.id,
      key: issue.key,
      url: this.browseUrl(issue.key),
      updated_fields: Object.keys(fields) as JiraEditableField[],
    };
  }

  /**
   * Moves the issue to `target_status`: reads its status (already there: success, nothing posted),
   * lists its transitions, picks the one whose `to.name` matches (case-insensitively) and posts it.
   * No matching transition (or none at all) is a ValidationError on `payload.target_status` naming
   * the reachable statuses.
   */
  async transitionTask(input: TransitionTaskInput): Promise<TransitionedJiraTask> {
    const issue = await this.issueRef(input.task_id);
    const ref = { id: issue.id, key: issue.key, url: this.browseUrl(issue.key) };
    const current = issue.fields.status.name;
    if (sameStatus(current, input.target_status)) {
      return { ...ref, status: current, previous_status: current, transition_id: null, transitioned: false };
    }

    const path = `${issuePath(issue.key)}/transitions`;
    const listed = parse(transitionsSchema, await this.client.get(path), 'GET', path);
    const chosen = pickTransition(listed.transitions, input.target_status, {
      key: issue.key,
      status: current,
    });
    await this.client.post(path, { transition: { id: chosen.id } });
    return {
      ...ref,
      status: chosen.to.name,
      previous_status: current,
      transition_id: chosen.id,
      transitioned: true,
    };
  }

  /**
   * `POST /issue/{key}/comment` with the text as an ADF document. With the request's token, the
   * comment carries the entity property `riq.request` = `{token}`, and a retry (attempt > 1) first
   * lists the issue's comments, newest first, and reads their properties: a comment an earlier attempt
   * made whose answer was lost (a timeout, a dropped connection) is adopted instead of posted twice
   * (DESIGN invariant 2). Only the newest MAX_COMMENT_RECONCILE_PAGES pages are looked at: the lost
   * comment is among the latest.
   */
  async addComment(input: AddCommentInput, context: Partial<CallContext> = {}): Promise<CreatedJiraComment> {
    const key = ISSUE_KEY.test(input.task_id) ? input.task_id : (await this.issueRef(input.task_id)).key;
    const path = `${issuePath(key)}/comment`;
    const token = context.token;
    if (token !== undefined && (context.attempt ?? 1) > 1) {
      const earlier = await this.findCommentByToken(key, token);
      if (earlier) return this.commentResult(key, earlier);
    }
    const body = {
      body: textToAdf(input.comment),
      ...(token !== undefined ? { properties: [commentMarker(token)] } : {}),
    };
    const comment = parse(commentSchema, await this.client.post(path, body), 'POST', path);
    return this.commentResult(key, comment);
  }

  /**
   * `POST /search/jql` asking for the JiraTask fields, following `nextPageToken` until `max_results`
   * issues (default DEFAULT_SEARCH_RESULTS) or MAX_SEARCH_PAGES pages. An issue seen on an earlier
   * page is not repeated. A JQL error is Jira's 400, so a VALIDATION_ERROR.
   */
  async searchTasks(input: SearchTasksInput, options: SearchTasksOptions = {}): Promise<JiraSearchResult> {
    const limit = input.max_results ?? DEFAULT_SEARCH_RESULTS;
    const reconcileIssues = options.reconcileIssues ?? [];
    if (reconcileIssues.length > MAX_RECONCILE_ISSUES) {
      throw ValidationError.forField('reconcileIssues', `at most ${MAX_RECONCILE_ISSUES} issue ids`);
    }
    const issues: JiraTask[] = [];
    const seen = new Set<string>();
    let token: string | null = null;
    let cut = false;
    for (let page = 0; page < MAX_SEARCH_PAGES && issues.length < limit; page++) {
      const body: Record<string, unknown> = {
        jql: input.jql,
        fields: [...JIRA_TASK_FIELDS],
        maxResults: Math.min(limit - issues.length, this.searchPageSize),
        ...(token !== null ? { nextPageToken: token } : {}),
        ...(reconcileIssues.length > 0 ? { reconcileIssues: [...reconcileIssues] } : {}),
      };
      const result: z.infer<typeof searchSchema> = parse(
        searchSchema,
        await this.client.post(SEARCH_PATH, body),
        'POST',
        SEARCH_PATH,
      );
      const fresh = result.issues.filter((issue) => !seen.has(issue.id));
      const room = limit - issues.length;
      for (const issue of fresh.slice(0, room)) {
        seen.add(issue.id);
        issues.push(this.toTask(issue));
      }
      token = result.isLast === true ? null : (result.nextPageToken ?? null);
      if (fresh.length > room) {
        cut = true; // Jira answered more than asked: its token would skip the issues left out
        token = null;
      }
      if (token === null) break;
    }
    return { issues, next_page_token: token, truncated: cut || token !== null };
  }

  /**
   * The comment on issue `key` carrying RIQ's property with `token`, among the newest
   * MAX_COMMENT_RECONCILE_PAGES pages: each page of ids from `GET …/comment?orderBy=-created`, then
   * their properties from `POST /comment/list?expand=properties` (the listing's own `expand` takes
   * only `renderedBody`).
   */
  private async findCommentByToken(
    key: string,
    token: string,
  ): Promise<z.infer<typeof commentSchema> | undefined> {
    const path = `${issuePath(key)}/comment`;
    let startAt = 0;
    for (let page = 0; page < MAX_COMMENT_RECONCILE_PAGES; page++) {
      const query = { orderBy: '-created', startAt, maxResults: COMMENT_PAGE_SIZE };
      const listed = parse(commentPageSchema, await this.client.get(path, query), 'GET', path);
      const ours = await this.commentWithToken(
        listed.comments.map((c) => c.id),
        token,
      );
      if (ours) return ours;
      startAt += listed.comments.length;
      if (listed.comments.length === 0 || (listed.total !== undefined && startAt >= listed.total)) break;
    }
    return undefined;
  }

  /** Of the comments `ids`, the one whose `riq.request` property holds `token`. */
  private async commentWithToken(
    ids: readonly string[],
    token: string,
  ): Promise<z.infer<typeof commentSchema> | undefined> {
    const numeric = ids.map(Number).filter((id) => Number.isSafeInteger(id));
    if (numeric.length === 0) return undefined;
    const response = await this.client.request({
      method: 'POST',
      path: COMMENT_LIST_PATH,
      query: { expand: 'properties' },
      body: { ids: numeric },
    });
    const listed = parse(commentListSchema, response, 'POST', COMMENT_LIST_PATH);
    return listed.values.find((c) =>
      (c.properties ?? []).some((p) => p.key === COMMENT_MARKER_KEY && markerToken(p.value) === token),
    );
  }

  private commentResult(key: string, comment: { id: string; created: string }): CreatedJiraComment {
    return {
      id: comment.id,
      issue_key: key,
      url: `${this.browseUrl(key)}?focusedCommentId=${encodeURIComponent(comment.id)}`,
      created: comment.created,
    };
  }

  /** The first issue carrying `label`, via the enhanced search. */
  private async findByLabel(label: string): Promise<{ id: string; key: string } | undefined> {
    const body = { jql: `labels = "${label}"`, fields: ['summary'], maxResults: 1 };
    const found = parse(refsSchema, await this.client.post(SEARCH_PATH, body), 'POST', SEARCH_PATH);
    return found.issues[0];
  }

  /** The issue's id, key and status (`GET /issue/{idOrKey}?fields=status`). */
  private async issueRef(taskId: string): Promise<z.infer<typeof issueRefSchema>> {
    const path = issuePath(taskId);
    return parse(issueRefSchema, await this.client.get(path, { fields: 'status' }), 'GET', path);
  }

  private toTask(issue: IssueBody): JiraTask {
    const f = issue.fields;
    return {
      id: issue.id,
      key: issue.key,
      url: this.browseUrl(issue.key),
      summary: f.summary,
      status: f.status.name,
      project_key: f.project.key,
      issue_type: f.issuetype.name,
      labels: (f.labels ?? []).filter((l) => !l.startsWith(MARKER_PREFIX)),
      description: f.description === null || f.description === undefined ? null : adfToText(f.description),
      created: f.created,
      updated: f.updated,
    };
  }

  private browseUrl(key: string): string {
    return `${this.siteUrl}/browse/${encodeURIComponent(key)}`;
  }
}

/**
 * The transition that leads to `targetStatus`: matched on `to.name` (the transition's own name can
 * differ), case- and surrounding-space-insensitively, preferring an exact spelling; unavailable
 * transitions are skipped. None (or an empty list) throws a ValidationError on
 * `payload.target_status` whose message names the statuses that can be reached.
 */
export function pickTransition(
  transitions: readonly JiraTransitionOption[],
  targetStatus: string,
  issue: { key: string; status: string },
): JiraTransitionOption {
  const available = transitions.filter((t) => t.isAvailable !== false);
  const chosen =
    available.find((t) => t.to.name.trim() === targetStatus.trim()) ??
    available.find((t) => sameStatus(t.to.name, targetStatus));
  if (chosen) return chosen;

  const field = 'payload.target_status';
  if (available.length === 0) {
    throw ValidationError.forField(
      field,
      `${issue.key} cannot be moved to '${targetStatus}': no transitions are available from '${issue.status}'`,
    );
  }
  const reachable = [...new Set(available.map((t) => t.to.name))];
  throw ValidationError.forField(
    field,
    `${issue.key} cannot be moved from '${issue.status}' to '${targetStatus}'; available target statuses: ${reachable.join(', ')}`,
  );
}

function sameStatus(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function issuePath(taskId: string): string {
  return `${ISSUE_PATH}/${encodeURIComponent(taskId)}`;
}

function parse<T>(schema: z.ZodMiniType<T>, response: AtlassianResponse, method: string, path: string): T {
  return parseAnswer(schema, response, { service: 'jira', method, path });
}
