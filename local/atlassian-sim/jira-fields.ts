/**
 * How the simulated Jira shows an issue: the field values of `GET /issue/{key}` and of search
 * results, and Jira's `fields` selection (`summary,status`, `*all`, `-description`).
 */
import { statusNamed } from './jira-workflow.js';
import { jiraTimestamp, type SimIssue, type SimState } from './state.js';

/** Every field the simulator knows, which is what `*all` and `*navigable` select. */
export const ALL_FIELDS = [
  'summary',
  'status',
  'project',
  'issuetype',
  'labels',
  'description',
  'created',
  'updated',
] as const;

export const ISSUE_NOT_FOUND = 'Issue does not exist or you do not have permission to see it.';

/**
 * Jira's `fields` selection: comma-separated items (and repeated parameters), `*all` / `*navigable`,
 * `-name` excludes. `fallback` applies when nothing is asked for (all for GET issue, none for search).
 */
export function requestedFields(items: readonly string[], fallback: 'all' | 'none'): Set<string> {
  const list = items
    .flatMap((i) => i.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) return new Set(fallback === 'all' ? ALL_FIELDS : []);
  const wanted = new Set<string>();
  if (list.some((i) => i === '*all' || i === '*navigable')) ALL_FIELDS.forEach((f) => wanted.add(f));
  for (const item of list) {
    if (item.startsWith('-')) wanted.delete(item.slice(1));
    else if (!item.startsWith('*')) wanted.add(item);
  }
  return wanted;
}

/** The issue's field values Jira would answer, limited to `wanted` (unknown names are ignored). */
export function issueFields(
  state: SimState,
  issue: SimIssue,
  wanted: ReadonlySet<string>,
  baseUrl: string,
): Record<string, unknown> {
  const project = state.project(issue.projectKey);
  const all: Record<(typeof ALL_FIELDS)[number], () => unknown> = {
    summary: () => issue.summary,
    status: () => statusView(issue.status.name, baseUrl),
    project: () => ({
      self: `${baseUrl}/rest/api/3/project/${project?.id ?? ''}`,
      id: project?.id ?? '',
      key: issue.projectKey,
      name: project?.name ?? issue.projectKey,
    }),
    issuetype: () => ({ id: issue.issueType.id, name: issue.issueType.name, subtask: false }),
    labels: () => issue.labels,
    description: () => issue.description,
    created: () => jiraTimestamp(issue.created),
    updated: () => jiraTimestamp(issue.updated),
  };
  const fields: Record<string, unknown> = {};
  for (const name of ALL_FIELDS) if (wanted.has(name)) fields[name] = all[name]();
  return fields;
}

/** A status as Jira shows it (in `fields.status` and in a transition's `to`). */
export function statusView(name: string, baseUrl: string): Record<string, unknown> {
  const status = statusNamed(name);
  const category = status?.category ?? { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' };
  return {
    self: `${baseUrl}/rest/api/3/status/${status?.id ?? ''}`,
    description: '',
    iconUrl: `${baseUrl}/images/icons/statuses/generic.png`,
    name: status?.name ?? name,
    id: status?.id ?? '',
    statusCategory: {
      self: `${baseUrl}/rest/api/3/statuscategory/${category.id}`,
      id: category.id,
      key: category.key,
      colorName: category.colorName,
      name: category.name,
    },
  };
}

export function issueSelf(baseUrl: string, issue: SimIssue): string {
  return `${baseUrl}/rest/api/3/issue/${issue.id}`;
}
