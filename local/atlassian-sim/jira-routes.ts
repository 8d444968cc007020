/**
 * Jira REST v3 routes of the simulator: create, get and edit an issue, its transitions (the workflow
 * in jira-workflow.ts) and comments, validated and shaped like Jira Cloud (see
 * shared/atlassian/specs/jira-platform-v3.json). JQL search is in jira-search.ts. Every issue route
 * answers a missing issue with Jira's 404.
 */
import { adfToText, isAdfDoc } from '../../lambdas/adapters/atlassian/adf.js';
import { ISSUE_NOT_FOUND, issueFields, issueSelf, requestedFields, statusView } from './jira-fields.js';
import { registerJiraSearchRoutes } from './jira-search.js';
import { statusNamed, transitionsFrom, type SimTransition } from './jira-workflow.js';
import { jiraError, json, type Router, type SimRequest, type SimResponse } from './router.js';
import {
  jiraTimestamp,
  type SimComment,
  type SimEntityProperty,
  type SimIssue,
  type SimIssueType,
  type SimProject,
  type SimState,
} from './state.js';

const SUMMARY_MAX = 255;
const LABEL_MAX = 255;
/** Jira's limit on a comment's text. */
export const COMMENT_MAX_CHARS = 32_767;
/** Fields POST /issue accepts; others are rejected as Jira does for fields not on the create screen. */
const CREATE_FIELDS = new Set(['project', 'summary', 'issuetype', 'description', 'labels']);
/** Fields PUT /issue/{key} can change (the simulated edit screen). */
const EDIT_FIELDS = new Set(['summary', 'description', 'labels']);
const NOT_ADF = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
const COMMENT_EMPTY = 'Comment body can not be empty!';

/** The account every simulated write is attributed to. */
export const SIM_USER = {
  accountId: '5b10a2844c20165700ede21g',
  displayName: 'RIQ Simulator',
  active: true,
} as const;

export function registerJiraRoutes(router: Router, state: SimState): void {
  router.add('POST', '/rest/api/3/issue', (req) => createIssue(state, req));
  router.add('GET', '/rest/api/3/issue/:issueIdOrKey', (req) => withIssue(state, req, getIssue));
  router.add('PUT', '/rest/api/3/issue/:issueIdOrKey', (req) => withIssue(state, req, editIssue));
  router.add('GET', '/rest/api/3/issue/:issueIdOrKey/transitions', (req) =>
    withIssue(state, req, getTransitions),
  );
  router.add('POST', '/rest/api/3/issue/:issueIdOrKey/transitions', (req) =>
    withIssue(state, req, doTransition),
  );
  router.add('GET', '/rest/api/3/issue/:issueIdOrKey/comment', (req) => withIssue(state, req, getComments));
  router.add('POST', '/rest/api/3/issue/:issueIdOrKey/comment', (req) => withIssue(state, req, addComment));
  router.add('POST', '/rest/api/3/comment/list', (req) => listComments(state, req));
  registerJiraSearchRoutes(router, state);
}

type IssueHandler = (state: SimState, req: SimRequest, issue: SimIssue) => SimResponse;

function withIssue(state: SimState, req: SimRequest, handler: IssueHandler): SimResponse {
  const issue = state.issue(req.params['issueIdOrKey'] ?? '');
  if (!issue) return jiraError(404, [ISSUE_NOT_FOUND]);
  return handler(state, req, issue);
}

function createIssue(state: SimState, req: SimRequest): SimResponse {
  const fields = isRecord(req.body) && isRecord(req.body['fields']) ? req.body['fields'] : {};

  const project = resolveProject(state, fields['project']);
  if (!project) return jiraError(400, [], { project: 'valid project is required' });

  const errors: Record<string, string> = {};
  const issueType = resolveIssueType(project, fields['issuetype'], errors);
  const summary = checkSummary(fields['summary'], errors);
  const description = checkDescription(fields['description'], errors);
  const labels = fields['labels'] === undefined ? [] : checkLabels(fields['labels'], errors);

  for (const name of Object.keys(fields)) {
    if (!CREATE_FIELDS.has(name)) errors[name] = cannotBeSet(name);
  }

  if (Object.keys(errors).length > 0 || !issueType || summary === undefined) {
    return jiraError(400, [], errors);
  }
  const issue = state.createIssue({
    project,
    summary,
    issueType,
    labels: labels ?? [],
    description: description ?? null,
  });
  return json(201, { id: issue.id, key: issue.key, self: issueSelf(req.baseUrl, issue) });
}

function getIssue(state: SimState, req: SimRequest, issue: SimIssue): SimResponse {
  const wanted = requestedFields(req.query.getAll('fields'), 'all');
  return json(200, issueView(state, req, issue, wanted));
}

function issueView(
  state: SimState,
  req: SimRequest,
  issue: SimIssue,
  wanted: ReadonlySet<string>,
): Record<string, unknown> {
  return {
    id: issue.id,
    key: issue.key,
    self: issueSelf(req.baseUrl, issue),
    fields: issueFields(state, issue, wanted, req.baseUrl),
  };
}

type EditChanges = Partial<Pick<SimIssue, 'summary' | 'description' | 'labels'>>;

/**
 * `PUT /issue/{key}`: `fields` sets summary / description (ADF or null) / labels; `update` takes
 * `[{set}]` for all three and `[{add}]` / `[{remove}]` for labels. One field may not be in both.
 * 204, or 200 with the edited fields when `returnIssue=true`.
 */
function editIssue(state: SimState, req: SimRequest, issue: SimIssue): SimResponse {
  if (!isRecord(req.body)) return jiraError(400, ['The request body is missing or is not a JSON object.']);
  const fields = req.body['fields'] ?? {};
  const update = req.body['update'] ?? {};
  if (!isRecord(fields)) return jiraError(400, ["'fields' must be an object of field values."]);
  if (!isRecord(update)) return jiraError(400, ["'update' must be an object of field operations."]);

  const errors: Record<string, string> = {};
  const changes: EditChanges = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!EDIT_FIELDS.has(name)) errors[name] = cannotBeSet(name);
    else if (name in update) errors[name] = `Field '${name}' cannot be set in both 'fields' and 'update'.`;
    else setField(name, value, changes, errors);
  }
  for (const [name, operations] of Object.entries(update)) {
    if (!EDIT_FIELDS.has(name)) errors[name] = cannotBeSet(name);
    else if (!(name in fields)) applyOperations(name, operations, issue, changes, errors);
  }
  if (Object.keys(errors).length > 0) return jiraError(400, [], errors);

  const edited = Object.keys(changes);
  if (edited.length > 0) state.editIssue(issue, changes);
  if (req.query.get('returnIssue') === 'true') {
    return json(200, issueView(state, req, issue, new Set(edited)));
  }
  return { status: 204 };
}

function setField(name: string, value: unknown, changes: EditChanges, errors: Record<string, string>): void {
  if (name === 'summary') {
    const summary = checkSummary(value, errors);
    if (summary !== undefined) changes.summary = summary;
  } else if (name === 'description') {
    const description = checkDescription(value, errors);
    if (description !== undefined) changes.description = description;
  } else if (name === 'labels') {
    const labels = checkLabels(value, errors);
    if (labels !== undefined) changes.labels = labels;
  }
}

function applyOperations(
  name: string,
  operations: unknown,
  issue: SimIssue,
  changes: EditChanges,
  errors: Record<string, string>,
): void {
  if (!Array.isArray(operations)) {
    errors[name] = `Field '${name}': operations must be an array like [{"set": value}].`;
    return;
  }
  for (const op of operations) {
    const verbs = isRecord(op) ? Object.keys(op) : [];
    const verb = verbs[0];
    if (!isRecord(op) || verbs.length !== 1 || verb === undefined) {
      errors[name] = `Field '${name}': each operation must have exactly one of set, add, remove.`;
      return;
    }
    const value = op[verb];
    if (verb === 'set') {
      setField(name, value, changes, errors);
    } else if (name === 'labels' && (verb === 'add' || verb === 'remove')) {
      const [label] = checkLabels([value], errors) ?? [];
      if (label === undefined) return;
      const current = changes.labels ?? issue.labels;
      changes.labels =
        verb === 'add'
          ? [...new Set([...current, label])]
          : current.filter((l) => l.toLowerCase() !== label.toLowerCase());
    } else {
      errors[name] = `Field '${name}' does not support the '${verb}' operation.`;
      return;
    }
  }
}

function getTransitions(_state: SimState, req: SimRequest, issue: SimIssue): SimResponse {
  const only = req.query.get('transitionId');
  const transitions = transitionsFrom(issue.status.name)
    .filter((t) => only === null || t.id === only)
    .map((t) => transitionView(t, req.baseUrl));
  return json(200, { expand: 'transitions', transitions });
}

function transitionView(t: SimTransition, baseUrl: string): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    to: statusView(t.to, baseUrl),
    hasScreen: false,
    isGlobal: false,
    isInitial: false,
    isAvailable: true,
    isConditional: false,
    isLooped: false,
  };
}

/** `POST …/transitions` `{"transition":{"id"}}`: the id must be available from the current status. */
function doTransition(state: SimState, req: SimRequest, issue: SimIssue): SimResponse {
  const body = isRecord(req.body) ? req.body : {};
  const transition = body['transition'];
  const id = isRecord(transition) ? transition['id'] : undefined;
  if (typeof id !== 'string' && typeof id !== 'number') {
    return jiraError(400, ["Missing 'transition' identifier"]);
  }
  const errors: Record<string, string> = {};
  for (const part of ['fields', 'update'] as const) {
    const value = body[part];
    if (isRecord(value)) for (const name of Object.keys(value)) errors[name] = cannotBeSet(name);
  }
  if (Object.keys(errors).length > 0) return jiraError(400, [], errors);

  const chosen = transitionsFrom(issue.status.name).find((t) => t.id === String(id));
  const to = chosen ? statusNamed(chosen.to) : undefined;
  if (!to) return jiraError(400, [`Transition id '${String(id)}' is not valid for this issue.`]);
  state.editIssue(issue, { status: { name: to.name, categoryKey: to.category.key } });
  return { status: 204 };
}

function addComment(state: SimState, req: SimRequest, issue: SimIssue): SimResponse {
  const body = isRecord(req.body) ? req.body['body'] : undefined;
  if (body === undefined || body === null) return jiraError(400, [], { comment: COMMENT_EMPTY });
  if (!isAdfDoc(body)) return jiraError(400, [], { comment: NOT_ADF });
  const text = adfToText(body);
  if (text.trim() === '') return jiraError(400, [], { comment: COMMENT_EMPTY });
  if (text.length > COMMENT_MAX_CHARS) {
    return jiraError(400, [], {
      comment: `The entered text is too long. It exceeds the allowed limit of ${COMMENT_MAX_CHARS.toLocaleString('en-US')} characters.`,
    });
  }
  const properties = checkProperties(isRecord(req.body) ? req.body['properties'] : undefined);
  if (typeof properties === 'string') return jiraError(400, [properties]);
  const comment = state.addComment(issue, body, properties);
  return json(201, commentView(req.baseUrl, issue, comment, expands(req, 'properties')));
}

/** Jira's limits on an entity property. */
const PROPERTY_KEY_MAX = 255;
const PROPERTY_VALUE_MAX = 32_768;

/** A comment's `properties` on create: absent, or `[{key, value}]`; a string is the error message. */
function checkProperties(value: unknown): SimEntityProperty[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return "'properties' must be a list of entity properties.";
  const out: SimEntityProperty[] = [];
  for (const entry of value) {
    if (!isRecord(entry) || typeof entry['key'] !== 'string' || entry['key'].trim() === '') {
      return 'The property key cannot be null or empty.';
    }
    if (entry['key'].length > PROPERTY_KEY_MAX) {
      return `The property key is too long: it exceeds ${PROPERTY_KEY_MAX} characters.`;
    }
    if (entry['value'] === undefined || JSON.stringify(entry['value']).length > PROPERTY_VALUE_MAX) {
      return `The property value must be JSON of at most ${PROPERTY_VALUE_MAX} characters.`;
    }
    // A key set twice keeps the last value, as setting a property again does.
    const at = out.findIndex((p) => p.key === entry['key']);
    if (at >= 0) out.splice(at, 1);
    out.push({ key: entry['key'], value: structuredClone(entry['value']) });
  }
  return out;
}

/** True when the `expand` parameter (comma-separated) names `what`. */
function expands(req: SimRequest, what: string): boolean {
  return (req.query.get('expand') ?? '')
    .split(',')
    .map((e) => e.trim())
    .includes(what);
}

/**
 * `GET …/comment`: `startAt`, `maxResults` (default 100), `orderBy` `created` / `-created` /
 * `+created`. Its `expand` takes only `renderedBody` (not rendered here): the comments' entity
 * properties come from `POST /comment/list?expand=properties` alone, as Jira documents.
 */
function getComments(_state: SimState, req: SimRequest, issue: SimIssue): SimResponse {
  const startAt = intParam(req.query.get('startAt'), 0);
  const maxResults = intParam(req.query.get('maxResults'), 100);
  const orderBy = req.query.get('orderBy') ?? 'created';
  if (startAt === undefined || startAt < 0 || maxResults === undefined || maxResults < 0) {
    return jiraError(400, ['startAt and maxResults must be non-negative integers.']);
  }
  if (!['created', '+created', '-created'].includes(orderBy)) {
    return jiraError(400, [`Invalid orderBy '${orderBy}': comments can only be ordered by created.`]);
  }
  const ordered = orderBy === '-created' ? [...issue.comments].reverse() : issue.comments;
  return json(200, {
    startAt,
    maxResults,
    total: issue.comments.length,
    comments: ordered.slice(startAt, startAt + maxResults).map((c) => commentView(req.baseUrl, issue, c)),
  });
}

/** Jira's limit on the ids of one `POST /comment/list`. */
const COMMENT_LIST_MAX_IDS = 1000;

/**
 * `POST /comment/list` `{ids: [int64…]}` (at most 1000, unique), `expand=properties`: the comments
 * of those ids on any issue, in one page; ids of no comment are left out.
 */
function listComments(state: SimState, req: SimRequest): SimResponse {
  const body = req.body;
  const ids = isRecord(body) ? body['ids'] : undefined;
  if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && (id as number) >= 0)) {
    return jiraError(400, ['The request body must be {"ids": [comment ids as integers]}.']);
  }
  if (ids.length > COMMENT_LIST_MAX_IDS) {
    return jiraError(400, [`A maximum of ${COMMENT_LIST_MAX_IDS} IDs can be specified.`]);
  }
  const wanted = new Set(ids.map(String));
  const values = state
    .issues()
    .flatMap((issue) => issue.comments.filter((c) => wanted.has(c.id)).map((c) => ({ issue, c })))
    .map(({ issue, c }) => commentView(req.baseUrl, issue, c, expands(req, 'properties')));
  return json(200, {
    startAt: 0,
    maxResults: COMMENT_LIST_MAX_IDS,
    total: values.length,
    isLast: true,
    values,
  });
}

function commentView(
  baseUrl: string,
  issue: SimIssue,
  comment: SimComment,
  withProperties = false,
): Record<string, unknown> {
  const user = { self: `${baseUrl}/rest/api/3/user?accountId=${SIM_USER.accountId}`, ...SIM_USER };
  return {
    self: `${issueSelf(baseUrl, issue)}/comment/${comment.id}`,
    id: comment.id,
    author: user,
    body: comment.body,
    updateAuthor: user,
    created: jiraTimestamp(comment.created),
    updated: jiraTimestamp(comment.updated),
    jsdPublic: true,
    ...(withProperties ? { properties: structuredClone(comment.properties) } : {}),
  };
}

function checkSummary(value: unknown, errors: Record<string, string>): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    errors['summary'] = 'You must specify a summary of the issue.';
    return undefined;
  }
  if (value.length > SUMMARY_MAX) {
    errors['summary'] = `Summary must be less than ${SUMMARY_MAX} characters.`;
    return undefined;
  }
  return value;
}

/** An ADF document, null (no description), or undefined after recording the error. */
function checkDescription(value: unknown, errors: Record<string, string>): unknown {
  if (value === undefined || value === null) return null;
  if (!isAdfDoc(value)) {
    errors['description'] = NOT_ADF;
    return undefined;
  }
  return value;
}

function checkLabels(value: unknown, errors: Record<string, string>): string[] | undefined {
  if (!Array.isArray(value) || !value.every((l) => typeof l === 'string')) {
    errors['labels'] = 'data was not an array of strings';
    return undefined;
  }
  const labels = value as string[];
  const bad = labels.find((l) => /\s/.test(l) || l === '');
  if (bad !== undefined) {
    errors['labels'] = `The label '${bad}' contains spaces which is invalid.`;
    return undefined;
  }
  const long = labels.find((l) => l.length > LABEL_MAX);
  if (long !== undefined) {
    errors['labels'] = `The label '${long.slice(0, 20)}…' exceeds the ${LABEL_MAX} character limit.`;
    return undefined;
  }
  return [...new Set(labels)];
}

function cannotBeSet(name: string): string {
  return `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`;
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

function intParam(value: string | null, fallback: number): number | undefined {
  if (value === null || value === '') return fallback;
  return /^-?\d+$/.test(value) ? Number(value) : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
