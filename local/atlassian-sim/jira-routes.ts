/**
 * Jira REST v3 routes of the simulator: create and get an issue, validated and shaped like Jira
 * Cloud (see shared/atlassian/specs/jira-platform-v3.json). Transitions, comments, edit and JQL
 * search are added here later.
 */
import { isAdfDoc } from '../../lambdas/atlassian/adf.js';
import { jiraError, json, type Router, type SimRequest, type SimResponse } from './router.js';
import { jiraTimestamp, type SimIssue, type SimIssueType, type SimProject, type SimState } from './state.js';

const ISSUE_NOT_FOUND = 'Issue does not exist or you do not have permission to see it.';
const SUMMARY_MAX = 255;
/** Fields POST /issue accepts; others are rejected as Jira does for fields not on the create screen. */
const CREATE_FIELDS = new Set(['project', 'summary', 'issuetype', 'description', 'labels']);
const ALL_FIELDS = [
  'summary',
  'status',
  'project',
  'issuetype',
  'labels',
  'description',
  'created',
  'updated',
];

export function registerJiraRoutes(router: Router, state: SimState): void {
  router.add('POST', '/rest/api/3/issue', (req) => createIssue(state, req));
  router.add('GET', '/rest/api/3/issue/:issueIdOrKey', (req) => getIssue(state, req));
}

function createIssue(state: SimState, req: SimRequest): SimResponse {
  const fields = isRecord(req.body) && isRecord(req.body['fields']) ? req.body['fields'] : {};

  const project = resolveProject(state, fields['project']);
  if (!project) return jiraError(400, [], { project: 'valid project is required' });

  const errors: Record<string, string> = {};
  const issueType = resolveIssueType(project, fields['issuetype'], errors);

  const summary = fields['summary'];
  if (typeof summary !== 'string' || summary.trim() === '') {
    errors['summary'] = 'You must specify a summary of the issue.';
  } else if (summary.length > SUMMARY_MAX) {
    errors['summary'] = `Summary must be less than ${SUMMARY_MAX} characters.`;
  }

  const description = fields['description'];
  if (description !== undefined && description !== null && !isAdfDoc(description)) {
    errors['description'] =
      'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
  }

  const labels = fields['labels'];
  if (labels !== undefined) {
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
      errors['labels'] = 'data was not an array of strings';
    } else {
      const bad = labels.find((l) => /\s/.test(l) || l === '');
      if (bad !== undefined) errors['labels'] = `The label '${bad}' contains spaces which is invalid.`;
    }
  }

  for (const name of Object.keys(fields)) {
    if (!CREATE_FIELDS.has(name)) {
      errors[name] = `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`;
    }
  }

  if (Object.keys(errors).length > 0 || !issueType || typeof summary !== 'string') {
    return jiraError(400, [], errors);
  }
  const issue = state.createIssue({
    project,
    summary,
    issueType,
    labels: Array.isArray(labels) ? (labels as string[]) : [],
    description: description ?? null,
  });
  return json(201, { id: issue.id, key: issue.key, self: selfUrl(req, issue) });
}

function getIssue(state: SimState, req: SimRequest): SimResponse {
  const issue = state.issue(req.params['issueIdOrKey'] ?? '');
  if (!issue) return jiraError(404, [ISSUE_NOT_FOUND]);
  const project = state.project(issue.projectKey);
  const all: Record<string, unknown> = {
    summary: issue.summary,
    status: { name: issue.status.name, statusCategory: { key: issue.status.categoryKey } },
    project: { key: issue.projectKey, name: project?.name ?? issue.projectKey, id: project?.id ?? '' },
    issuetype: { id: issue.issueType.id, name: issue.issueType.name },
    labels: issue.labels,
    description: issue.description,
    created: jiraTimestamp(issue.created),
    updated: jiraTimestamp(issue.updated),
  };
  const wanted = requestedFields(req.query.get('fields'));
  const fields = Object.fromEntries(Object.entries(all).filter(([name]) => wanted.has(name)));
  return json(200, { id: issue.id, key: issue.key, self: selfUrl(req, issue), fields });
}

/** Jira's `fields` parameter: a comma list, `*all` / `*navigable`, `-name` excludes; all when absent. */
function requestedFields(param: string | null): Set<string> {
  if (param === null || param.trim() === '') return new Set(ALL_FIELDS);
  const items = param
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const wanted = new Set<string>();
  if (items.some((i) => i === '*all' || i === '*navigable')) ALL_FIELDS.forEach((f) => wanted.add(f));
  for (const item of items) {
    if (item.startsWith('-')) wanted.delete(item.slice(1));
    else if (!item.startsWith('*')) wanted.add(item);
  }
  return wanted;
}

function resolveProject(state: SimState, value: unknown): SimProject | undefined {
  if (!isRecord(value)) return undefined;
  const ref = value['key'] ?? value['id'];
  return typeof ref === 'string' || typeof ref === 'number' ? state.project(String(ref)) : undefined;
}

function resolveIssueType(
  project: SimProject,
  value: unknown,
  errors: Record<string, string>,
): SimIssueType | undefined {
  if (!isRecord(value) || (value['name'] === undefined && value['id'] === undefined)) {
    errors['issuetype'] = 'valid issue type is required';
    return undefined;
  }
  const found = project.issueTypes.find((t) =>
    value['id'] !== undefined ? t.id === String(value['id']) : t.name === value['name'],
  );
  if (!found) errors['issuetype'] = 'The issue type selected is invalid.';
  return found;
}

function selfUrl(req: SimRequest, issue: SimIssue): string {
  return `${req.baseUrl}/rest/api/3/issue/${issue.id}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
