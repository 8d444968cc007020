/**
 * What an operation costs in Atlassian's points, the unit of the hourly quota of OAuth 2.0 (3LO),
 * Connect and Forge apps (Jira and Confluence Cloud "Rate limiting"): each call costs 1 point plus
 * 1 per core object (issue, page, comment) it returns; a write costs a flat 1. A GET of one issue is
 * 2; a search answering 50 issues is 51.
 *
 * An operation is charged its **estimate** before it is called (`estimatePoints`: the calls the
 * adapters make for it, with every object a read may return) and **settled** afterwards against its
 * result (`settlePoints`: the objects that actually came back), which gives back the difference: a
 * search for 50 issues that found 3 is charged 51 and gives back 47.
 *
 * The calls counted are the ones lambdas/adapters/atlassian makes on its usual path:
 *
 * | operation                 | calls                                                    | estimate             |
 * | ------------------------- | -------------------------------------------------------- | -------------------- |
 * | `jira.get_task`           | GET the issue                                            | 2                    |
 * | `jira.create_task`        | POST; a retry first searches its marker label (≤ 1 hit)  | 1; a retry 3         |
 * | `jira.update_task`        | PUT the issue (`returnIssue`)                            | 1                    |
 * | `jira.transition_task`    | GET the issue's status, GET its transitions, POST one    | 4                    |
 * | `jira.add_comment`        | POST; named by numeric id: GET the issue first (+2);     | 1 (+2) (+202)        |
 * |                           | a retry: one page of 100 comments, then their properties |                      |
 * |                           | by id (`POST /comment/list`) first (+101 each)           |                      |
 * | `jira.search_tasks`       | one POST per page of up to 100 issues                    | pages + max_results  |
 * | `confluence.get_page`     | GET the page                                             | 2                    |
 * | `confluence.create_page`  | POST; a retry first looks its title up (≤ 1 hit)         | 1; a retry 3         |
 * | `confluence.update_page`  | GET the page's version, PUT                              | 3                    |
 * | `confluence.search_pages` | one GET per call of up to 50 results                     | calls + max_results  |
 *
 * GET transitions answers transitions, not core objects: 1 point. Not counted, being rare or cached:
 * the space-key lookup of `confluence.create_page` (once per key for the adapter's life), the GET
 * after a `jira.update_task` answered 204 instead of the issue, the re-read and second PUT of a
 * `confluence.update_page` after a version conflict, comment pages past the first on a retried
 * `jira.add_comment` (and on an issue without comments its one look-up call is charged, not made). Where Atlassian sends its own count (`RateLimit: …;r=`, read by
 * rate-limit-signals.ts), that count is the truth these figures are measured against.
 *
 * Pure: no clock, no I/O. Payloads and results are read defensively (a stored payload or result may
 * be any JSON): a value that is not what the operation produces counts as the estimate's.
 */
import { DEFAULT_MAX_RESULTS, type OperationName } from '../../../model/operations.js';

/**
 * The adapters' paging and keys, as the cost model counts them (the unit tests pin these to the
 * adapters' own constants).
 */
export const ADAPTER_PAGING = {
  /** Issues one Jira search page asks for (jira-adapter DEFAULT_SEARCH_PAGE_SIZE). */
  jiraSearchPageSize: 100,
  /** Results one Confluence search call asks for (confluence-adapter DEFAULT_SEARCH_PAGE_SIZE). */
  confluenceSearchPageSize: 50,
  /** Comments one page of a retried comment's look-up lists (jira-adapter COMMENT_PAGE_SIZE). */
  jiraCommentPageSize: 100,
} as const;

/** An issue key (`MD-12`); a task named by numeric id is looked up first (jira-adapter ISSUE_KEY). */
const ISSUE_KEY = /^[A-Z][A-Z0-9_]*-[1-9][0-9]*$/;

/** Points, and the calls and core objects they are made of (`points = calls + objects`). */
export interface PointsCost {
  readonly points: number;
  /** HTTP calls: 1 point each, writes included. */
  readonly calls: number;
  /** Core objects (issues, pages, comments) the reads return: 1 point each. */
  readonly objects: number;
}

/** Which attempt of the request the call is: a retry (attempt > 1) first looks for an earlier write. */
export interface PointsContext {
  /** @default 1 */
  readonly attempt?: number;
}

/** What an operation was charged, what it cost, and what goes back to the budget. */
export interface PointsSettlement {
  readonly estimated: number;
  readonly actual: number;
  /** `estimated − actual`: 0 or more for every result the adapters produce. */
  readonly giveBack: number;
}

type Payload = Readonly<Record<string, unknown>>;

/** The points `operation` is charged before it is called: its calls and every object they may return. */
export function estimatePoints(
  operation: OperationName,
  payload: Payload,
  context: PointsContext = {},
): PointsCost {
  const retry = (context.attempt ?? 1) > 1;
  switch (operation) {
    case 'jira.get_task':
    case 'confluence.get_page':
      return read(1);
    case 'jira.create_task':
    case 'confluence.create_page':
      // A retry first looks for what an earlier attempt may have made: a search for one object.
      return retry ? sum(read(1), write()) : write();
    case 'jira.update_task':
      return write();
    case 'jira.transition_task':
      return sum(read(1), read(0), write());
    case 'jira.add_comment':
      return sum(
        namedById(payload) ? read(1) : NOTHING,
        retry ? read(ADAPTER_PAGING.jiraCommentPageSize) : NOTHING,
        retry ? read(ADAPTER_PAGING.jiraCommentPageSize) : NOTHING,
        write(),
      );
    case 'confluence.update_page':
      return sum(read(1), write());
    case 'jira.search_tasks':
    case 'confluence.search_pages':
      return search(operation, maxResults(operation, payload));
  }
}

/**
 * What `operation` cost, from its result: a search costs its calls plus the objects it returned; a
 * transition that found the issue already in the target status made no further call; a retried
 * create costs 2 either way (its look-up found the object: 1 + 1; or found none and it wrote: 1 + 1).
 * Where the result does not tell (or is not the operation's shape), the estimate.
 */
export function actualPoints(
  operation: OperationName,
  payload: Payload,
  result: unknown,
  context: PointsContext = {},
): PointsCost {
  const estimate = estimatePoints(operation, payload, context);
  switch (operation) {
    case 'jira.create_task':
    case 'confluence.create_page':
      return (context.attempt ?? 1) > 1 ? sum(read(0), write()) : estimate;
    case 'jira.transition_task': {
      const transitioned = field(result, 'transitioned');
      return transitioned === false ? read(1) : estimate;
    }
    case 'jira.search_tasks':
    case 'confluence.search_pages': {
      const found = field(result, operation === 'jira.search_tasks' ? 'issues' : 'pages');
      if (!Array.isArray(found)) return estimate;
      const pageSize = pageSizeOf(operation);
      const calls = Math.max(1, Math.ceil(found.length / pageSize));
      return { points: calls + found.length, calls, objects: found.length };
    }
    default:
      return estimate;
  }
}

/** The estimate, the actual cost from the result, and what goes back (`estimate − actual`). */
export function settlePoints(
  operation: OperationName,
  payload: Payload,
  result: unknown,
  context: PointsContext = {},
): PointsSettlement {
  const estimated = estimatePoints(operation, payload, context).points;
  const actual = actualPoints(operation, payload, result, context).points;
  return { estimated, actual, giveBack: estimated - actual };
}

const NOTHING: PointsCost = { points: 0, calls: 0, objects: 0 };

/** One read call returning `objects` core objects. */
function read(objects: number): PointsCost {
  return { points: 1 + objects, calls: 1, objects };
}

/** One write call: a flat point. */
function write(): PointsCost {
  return { points: 1, calls: 1, objects: 0 };
}

function sum(...costs: PointsCost[]): PointsCost {
  return costs.reduce(
    (a, b) => ({ points: a.points + b.points, calls: a.calls + b.calls, objects: a.objects + b.objects }),
    NOTHING,
  );
}

/** A search for up to `max` objects: one call per page of the adapter's page size, and every object. */
function search(operation: 'jira.search_tasks' | 'confluence.search_pages', max: number): PointsCost {
  const calls = Math.max(1, Math.ceil(max / pageSizeOf(operation)));
  return { points: calls + max, calls, objects: max };
}

function pageSizeOf(operation: 'jira.search_tasks' | 'confluence.search_pages'): number {
  return operation === 'jira.search_tasks'
    ? ADAPTER_PAGING.jiraSearchPageSize
    : ADAPTER_PAGING.confluenceSearchPageSize;
}

/** The payload's `max_results` (an integer of 1–100, as the schema allows), else the default. */
function maxResults(operation: 'jira.search_tasks' | 'confluence.search_pages', payload: Payload): number {
  const max = payload['max_results'];
  return typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= 100
    ? max
    : DEFAULT_MAX_RESULTS[operation];
}

/** A `jira.add_comment` naming its issue by numeric id: the adapter reads the issue for its key. */
function namedById(payload: Payload): boolean {
  const id = payload['task_id'];
  return typeof id === 'string' && !ISSUE_KEY.test(id);
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}
