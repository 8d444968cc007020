/**
 * The results of RIQ's Jira and Confluence operations: RIQ's own stable shapes (not Atlassian's),
 * as `GET /api/queue/result/{token}` answers them and the client returns them.
 */

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

/** A Jira field `updateTask` can set. */
export type JiraEditableField = 'summary' | 'description' | 'labels';

/**
 * `jira.update_task` result. The edit is `PUT /issue/{key}` with the given fields only: labels are
 * replaced as a whole, an empty or blank description clears it.
 */
export interface UpdatedJiraTask {
  id: string;
  key: string;
  url: string;
  /** The Jira fields the edit set, in the order summary, description, labels. */
  updated_fields: JiraEditableField[];
}

/**
 * `jira.transition_task` result. When the issue already is in the target status nothing is posted:
 * `transitioned` is false, `transition_id` null and `status` equals `previous_status`.
 */
export interface TransitionedJiraTask {
  id: string;
  key: string;
  url: string;
  /** The status now, spelled as Jira spells it (`In Progress` for a target of `in progress`). */
  status: string;
  /** The status before the call. */
  previous_status: string;
  /** The Jira transition used, or null when none was needed. */
  transition_id: string | null;
  transitioned: boolean;
}

/** `jira.add_comment` result. */
export interface CreatedJiraComment {
  /** The comment's id. */
  id: string;
  /** The commented issue's key (resolved first when the task was named by numeric id). */
  issue_key: string;
  /** Browser link to the comment: `${site}/browse/${key}?focusedCommentId=${id}`. */
  url: string;
  /** ISO 8601 timestamp as Jira gives it. */
  created: string;
}

/**
 * `jira.search_tasks` result: at most `max_results` issues in Jira's order, gathered over at most
 * MAX_SEARCH_PAGES pages.
 */
export interface JiraSearchResult {
  issues: JiraTask[];
  /**
   * Jira's opaque token for the page after the last issue returned; null when the search is complete
   * (or, rarely, when Jira answered more issues than asked and the page was cut).
   */
  next_page_token: string | null;
  /** True when more issues may match than were returned (max_results or the page bound was reached). */
  truncated: boolean;
}

/** `confluence.get_page` result. */
export interface ConfluencePage {
  /** Numeric string. */
  id: string;
  title: string;
  /** The space's numeric id (Confluence v2 pages carry no key). */
  space_id: string;
  /** `current`, `draft`, `archived`… as Confluence gives it. */
  status: string;
  /** The current version number: an update sends this plus one. */
  version: number;
  /** The body in storage format (XHTML). */
  body: string;
  /** The parent page's id; null for a space's root pages. */
  parent_id: string | null;
  /** Browser link to the page. */
  url: string;
  /** ISO 8601, or null when Confluence does not say. */
  created_at: string | null;
}

/** `confluence.create_page` result. */
export interface CreatedConfluencePage {
  id: string;
  title: string;
  /** The space's numeric id, resolved from `space_key`. */
  space_id: string;
  /** The space key the request named. */
  space_key: string;
  /** The parent page's id: the one requested, else the space's home page. */
  parent_id: string | null;
  /** Always 1 for a new page. */
  version: number;
  url: string;
}

/** `confluence.update_page` result. */
export interface UpdatedConfluencePage {
  id: string;
  title: string;
  /** The version this update created. */
  version: number;
  url: string;
}

/** One hit of `confluence.search_pages`. */
export interface ConfluenceSearchHit {
  id: string;
  /** Plain title (no highlight markers). */
  title: string;
  /** Null when Confluence does not say which space the page is in. */
  space_key: string | null;
  url: string;
  /** Plain text around the match, without Confluence's highlight markers; may be empty. */
  excerpt: string;
}

/** `confluence.search_pages` result. */
export interface ConfluenceSearchResult {
  /** At most `max_results` pages, in Confluence's order (relevance), without duplicates. */
  pages: ConfluenceSearchHit[];
  /** Confluence's cursor for the results after the last page read; null when there are no more. */
  next_cursor: string | null;
  /**
   * True when more pages may match than were returned (`max_results` or the MAX_SEARCH_REQUESTS
   * bound was reached and Confluence offered a next cursor): the same meaning as Jira's.
   */
  truncated: boolean;
}
