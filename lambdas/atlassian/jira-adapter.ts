/**
 * Jira Cloud REST v3 for RIQ's Jira operations. Only I/O and shape mapping: the results are RIQ's
 * stable documented shapes, not Jira's; failures are UpstreamErrors from the HTTP client.
 */
import { z } from 'zod';
import type { OperationPayload } from '../core/operations.js';
import { adfToText, textToAdf, type AdfDoc } from './adf.js';
import { unexpectedResponse } from './classify-error.js';
import type { AtlassianHttpClient, AtlassianResponse } from './http-client.js';

/** `jira.get_task` result. */
export interface JiraTask {
  id: string;
  key: string;
  /** Browser link: `${site}/browse/${key}`. */
  url: string;
  summary: string;
  /** Status name, e.g. `To Do`. */
  status: string;
  project_key: string;
  issue_type: string;
  labels: string[];
  /** The description as plain text, or null when the issue has none. */
  description: string | null;
  /** ISO 8601 timestamps as Jira gives them. */
  created: string;
  updated: string;
}

/** `jira.create_task` result. */
export interface CreatedJiraTask {
  id: string;
  key: string;
  url: string;
}

export type GetTaskInput = OperationPayload<'jira.get_task'>;
export type CreateTaskInput = OperationPayload<'jira.create_task'>;

export interface JiraAdapterOptions {
  /** Issue type name when the payload names none. @default 'Task' */
  readonly defaultIssueType?: string;
  /** Site URL for browse links, when the API base is not the site (OAuth). @default the client's base URL */
  readonly siteUrl?: string;
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

const ISSUE_PATH = '/rest/api/3/issue';

const named = z.object({ name: z.string() });
const issueSchema = z.object({
  id: z.string(),
  key: z.string(),
  fields: z.object({
    summary: z.string(),
    status: named,
    project: z.object({ key: z.string() }),
    issuetype: named,
    labels: z.array(z.string()).nullish(),
    description: z.unknown(),
    created: z.string(),
    updated: z.string(),
  }),
});
const createdSchema = z.object({ id: z.string(), key: z.string() });

export class JiraAdapter {
  private readonly defaultIssueType: string;
  private readonly siteUrl: string;

  constructor(
    private readonly client: AtlassianHttpClient,
    options: JiraAdapterOptions = {},
  ) {
    this.defaultIssueType = options.defaultIssueType ?? 'Task';
    this.siteUrl = (options.siteUrl ?? client.baseUrl).replace(/\/+$/, '');
  }

  async getTask(input: GetTaskInput): Promise<JiraTask> {
    const path = `${ISSUE_PATH}/${encodeURIComponent(input.task_id)}`;
    const response = await this.client.get(path, { fields: JIRA_TASK_FIELDS.join(',') });
    const issue = parse(issueSchema, response, 'GET', path);
    const f = issue.fields;
    return {
      id: issue.id,
      key: issue.key,
      url: this.browseUrl(issue.key),
      summary: f.summary,
      status: f.status.name,
      project_key: f.project.key,
      issue_type: f.issuetype.name,
      labels: f.labels ?? [],
      description: f.description === null || f.description === undefined ? null : adfToText(f.description),
      created: f.created,
      updated: f.updated,
    };
  }

  async createTask(input: CreateTaskInput): Promise<CreatedJiraTask> {
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
    if (input.labels !== undefined) fields.labels = input.labels;

    const response = await this.client.post(ISSUE_PATH, { fields });
    const created = parse(createdSchema, response, 'POST', ISSUE_PATH);
    return { id: created.id, key: created.key, url: this.browseUrl(created.key) };
  }

  private browseUrl(key: string): string {
    return `${this.siteUrl}/browse/${encodeURIComponent(key)}`;
  }
}

function parse<T>(schema: z.ZodType<T>, response: AtlassianResponse, method: string, path: string): T {
  const parsed = schema.safeParse(response.body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid';
  throw unexpectedResponse({ service: 'jira', method, path }, response.status, where);
}
