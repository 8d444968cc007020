/**
 * The simulator's in-memory data: projects (seeded), issues, and the call statistics the control
 * API reports. Reset clears issues and statistics and seeds the projects again.
 */

export interface SimIssueType {
  id: string;
  name: string;
}

export interface SimProject {
  id: string;
  key: string;
  name: string;
  issueTypes: SimIssueType[];
}

export interface SimIssue {
  id: string;
  key: string;
  projectKey: string;
  summary: string;
  issueType: SimIssueType;
  labels: string[];
  /** The ADF document as sent, or null. */
  description: unknown;
  status: { name: string; categoryKey: string };
  /** Epoch milliseconds. */
  created: number;
  updated: number;
  /** Oldest first. */
  comments: SimComment[];
}

/** A Jira entity property (`{key, value}`), e.g. on a comment. */
export interface SimEntityProperty {
  key: string;
  value: unknown;
}

export interface SimComment {
  id: string;
  /** The ADF document as sent. */
  body: unknown;
  /** Entity properties set on create (`properties` in the body); shown with `expand=properties`. */
  properties: SimEntityProperty[];
  /** Epoch milliseconds. */
  created: number;
  updated: number;
}

export interface SimCall {
  method: string;
  path: string;
  /** The status answered; 0 when the connection was dropped without an answer. */
  status: number;
  /** Epoch milliseconds. */
  at: number;
}

/** The body of `GET /__sim/stats`. */
export interface SimStats {
  calls: SimCall[];
  created: { issues: number; comments: number; pages: number };
  rate_limited: number;
}

/** Initial data; replaces the default projects when given. */
export interface SimSeed {
  projects?: { key: string; name?: string; issueTypes?: string[] }[];
}

export const DEFAULT_ISSUE_TYPES = ['Task', 'Bug', 'Story'] as const;

export const DEFAULT_SEED: Required<SimSeed> = {
  projects: [
    { key: 'MD', name: 'Managed Docs' },
    { key: 'RIQ', name: 'Resilient Integration Queue' },
  ],
};

/** Calls kept for stats; older ones are dropped so a long local run does not grow without bound. */
export const MAX_RECORDED_CALLS = 10_000;

const FIRST_ISSUE_ID = 10_000;
const FIRST_COMMENT_ID = 10_000;

export class SimState {
  readonly projects = new Map<string, SimProject>();
  private readonly issuesById = new Map<string, SimIssue>();
  private readonly idsByKey = new Map<string, string>();
  private readonly nextNumber = new Map<string, number>();
  private nextIssueId = FIRST_ISSUE_ID;
  private calls: SimCall[] = [];
  private createdIssues = 0;
  private createdComments = 0;
  private createdPages = 0;
  /** Run by reset(): the Confluence data lives in its own object (confluence-state.ts). */
  private readonly resetHooks: (() => void)[] = [];
  private nextCommentId = FIRST_COMMENT_ID;
  /** Jira search: the most issues one page answers (Jira may answer fewer than asked). Cleared by reset. */
  searchPageLimit: number | undefined;
  /**
   * Jira search is eventually consistent: issues created less than this many milliseconds ago are
   * not found unless named in `reconcileIssues` (config `search_index_lag_ms`). Not cleared by reset.
   */
  searchIndexLagMs = 0;
  private rateLimited = 0;
  /** Delay before answering each non-control request. Not cleared by reset. */
  latencyMs: number;

  constructor(
    private readonly seed: SimSeed = DEFAULT_SEED,
    latencyMs = 0,
    private readonly now: () => number = Date.now,
  ) {
    this.latencyMs = latencyMs;
    this.reset();
  }

  reset(): void {
    this.projects.clear();
    this.issuesById.clear();
    this.idsByKey.clear();
    this.nextNumber.clear();
    this.nextIssueId = FIRST_ISSUE_ID;
    this.calls = [];
    this.createdIssues = 0;
    this.createdComments = 0;
    this.createdPages = 0;
    this.nextCommentId = FIRST_COMMENT_ID;
    this.searchPageLimit = undefined;
    this.rateLimited = 0;
    for (const hook of this.resetHooks) hook();
    let projectId = 10_000;
    let typeId = 10_001;
    for (const p of this.seed.projects ?? DEFAULT_SEED.projects) {
      const issueTypes = (p.issueTypes ?? DEFAULT_ISSUE_TYPES).map((name) => ({
        id: String(typeId++),
        name,
      }));
      this.projects.set(p.key, { id: String(projectId++), key: p.key, name: p.name ?? p.key, issueTypes });
    }
  }

  /** A project by key or numeric id. */
  project(keyOrId: string): SimProject | undefined {
    const byKey = this.projects.get(keyOrId);
    if (byKey) return byKey;
    for (const p of this.projects.values()) if (p.id === keyOrId) return p;
    return undefined;
  }

  /** An issue by key (case-insensitive, as Jira) or numeric id. */
  issue(idOrKey: string): SimIssue | undefined {
    const id = this.idsByKey.get(idOrKey.toUpperCase()) ?? idOrKey;
    return this.issuesById.get(id);
  }

  get issueCount(): number {
    return this.issuesById.size;
  }

  /** Every issue, in creation order. */
  issues(): SimIssue[] {
    return [...this.issuesById.values()];
  }

  /** Applies a Jira edit or transition and bumps `updated`. */
  editIssue(
    issue: SimIssue,
    changes: Partial<Pick<SimIssue, 'summary' | 'description' | 'labels' | 'status'>>,
  ): void {
    Object.assign(issue, changes);
    issue.updated = Math.max(this.now(), issue.updated);
  }

  /** Adds a comment (bumping the issue's `updated`, as Jira does) and counts it. */
  addComment(issue: SimIssue, body: unknown, properties: SimEntityProperty[] = []): SimComment {
    const at = this.now();
    const comment: SimComment = {
      id: String(this.nextCommentId++),
      body,
      properties,
      created: at,
      updated: at,
    };
    issue.comments.push(comment);
    issue.updated = Math.max(at, issue.updated);
    this.createdComments++;
    return comment;
  }

  createIssue(input: {
    project: SimProject;
    summary: string;
    issueType: SimIssueType;
    labels: string[];
    description: unknown;
  }): SimIssue {
    const number = this.nextNumber.get(input.project.key) ?? 1;
    this.nextNumber.set(input.project.key, number + 1);
    const at = this.now();
    const issue: SimIssue = {
      id: String(this.nextIssueId++),
      key: `${input.project.key}-${number}`,
      projectKey: input.project.key,
      summary: input.summary,
      issueType: input.issueType,
      labels: input.labels,
      description: input.description,
      status: { name: 'To Do', categoryKey: 'new' },
      created: at,
      updated: at,
      comments: [],
    };
    this.issuesById.set(issue.id, issue);
    this.idsByKey.set(issue.key, issue.id);
    this.createdIssues++;
    return issue;
  }

  /** Runs `hook` on every reset, after the Jira data is cleared. */
  onReset(hook: () => void): void {
    this.resetHooks.push(hook);
  }

  /** Counts a Confluence page created through the API (for `created.pages`). */
  recordPageCreated(): void {
    this.createdPages++;
  }

  recordCall(method: string, path: string, status: number): void {
    this.calls.push({ method, path, status, at: this.now() });
    if (this.calls.length > MAX_RECORDED_CALLS) this.calls.splice(0, this.calls.length - MAX_RECORDED_CALLS);
    if (status === 429) this.rateLimited++;
  }

  stats(): SimStats {
    return {
      calls: this.calls.map((c) => ({ ...c })),
      created: { issues: this.createdIssues, comments: this.createdComments, pages: this.createdPages },
      rate_limited: this.rateLimited,
    };
  }
}

/** Jira's timestamp format: `2026-11-23T10:15:30.000+0000`. */
export function jiraTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}
