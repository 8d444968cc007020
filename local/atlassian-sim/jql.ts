/**
 * A small JQL parser and evaluator for the simulated Jira search: clauses joined by `AND`, an
 * optional `ORDER BY`. Anything else (OR, parentheses, functions, IN, IS…) is a JqlError, which the
 * route answers with Jira's 400 `errorMessages`. Pure functions, no simulator state.
 *
 *   query   := [clause (AND clause)*] [ORDER BY sort (, sort)*]
 *   clause  := field op value          value: "quoted", 'quoted' or bare
 *   fields  := project | key (issuekey) | labels | status   with = and !=
 *            | text | summary | description                with ~ and !~
 *   sort    := created | updated | key   [ASC | DESC]
 */
import { adfToText } from '../../lambdas/adapters/atlassian/adf.js';

export type JqlField = 'project' | 'key' | 'labels' | 'status' | 'text' | 'summary' | 'description';
export type JqlOperator = '=' | '!=' | '~' | '!~';
export type JqlSortField = 'created' | 'updated' | 'key';

export interface JqlClause {
  field: JqlField;
  operator: JqlOperator;
  value: string;
}

export interface JqlSort {
  field: JqlSortField;
  direction: 'ASC' | 'DESC';
}

export interface JqlQuery {
  /** All must hold. Never empty: an unbounded query is a JqlError. */
  clauses: JqlClause[];
  /** Empty when the query has no ORDER BY (the search then uses DEFAULT_ORDER). */
  orderBy: JqlSort[];
}

/** The issue data a query reads; the simulator's SimIssue fits. */
export interface JqlIssue {
  id: string;
  key: string;
  projectKey: string;
  summary: string;
  labels: string[];
  status: { name: string };
  /** ADF or null. */
  description: unknown;
  comments?: { body: unknown }[];
  /** Epoch milliseconds. */
  created: number;
  updated: number;
}

/** Syntax Jira would refuse, or syntax this simulator does not support. */
export class JqlError extends Error {
  override readonly name = 'JqlError';
}

/** Jira's answer to a query without a search restriction (`ORDER BY key` alone, or nothing). */
export const UNBOUNDED_MESSAGE =
  'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.';

/** The order without ORDER BY: newest first, as Jira's issue navigator. */
export const DEFAULT_ORDER: readonly JqlSort[] = [{ field: 'created', direction: 'DESC' }];

const FIELD_ALIASES: Record<string, JqlField> = {
  project: 'project',
  key: 'key',
  issuekey: 'key',
  labels: 'labels',
  status: 'status',
  text: 'text',
  summary: 'summary',
  description: 'description',
};
const EQUALITY_FIELDS = new Set<JqlField>(['project', 'key', 'labels', 'status']);
const SORT_FIELDS = new Set<string>(['created', 'updated', 'key']);

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'operator'; text: string; at: number }
  | { kind: 'punct'; text: string; at: number }
  | { kind: 'end'; text: string; at: number };

/** Splits JQL into tokens; `at` is the 0-based character offset. */
function tokenize(jql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < jql.length) {
    const ch = jql.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const at = i;
    if (ch === '"' || ch === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= jql.length) throw syntax(`The quoted string starting at character ${at + 1} is not closed.`);
        const c = jql.charAt(i);
        if (c === '\\' && i + 1 < jql.length) {
          text += jql.charAt(i + 1);
          i += 2;
        } else if (c === ch) {
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      }
      tokens.push({ kind: 'string', text, at });
      continue;
    }
    const op = /^(!=|!~|<=|>=|=|~|<|>)/.exec(jql.slice(i));
    if (op) {
      tokens.push({ kind: 'operator', text: op[0], at });
      i += op[0].length;
      continue;
    }
    if ('(),'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch, at });
      i++;
      continue;
    }
    const word = /^[^\s=!~<>(),"']+/.exec(jql.slice(i));
    // Cannot fail: every other first character was handled above. `!` alone is the one left.
    const text = word ? word[0] : ch;
    tokens.push({ kind: 'word', text, at });
    i += text.length;
  }
  tokens.push({ kind: 'end', text: '', at: jql.length });
  return tokens;
}

/** Parses JQL; throws JqlError with a Jira-like message for anything unsupported or malformed. */
export function parseJql(jql: string): JqlQuery {
  const tokens = tokenize(jql);
  let pos = 0;
  const peek = (): Token => tokens[pos] ?? { kind: 'end', text: '', at: jql.length };
  const next = (): Token => {
    const t = peek();
    if (t.kind !== 'end') pos++;
    return t;
  };
  const isKeyword = (t: Token, word: string) => t.kind === 'word' && t.text.toUpperCase() === word;

  const clauses: JqlClause[] = [];
  const orderBy: JqlSort[] = [];

  if (peek().kind !== 'end' && !isKeyword(peek(), 'ORDER')) {
    for (;;) {
      clauses.push(parseClause());
      const t = peek();
      if (isKeyword(t, 'AND')) {
        next();
        continue;
      }
      if (t.kind === 'end' || isKeyword(t, 'ORDER')) break;
      if (isKeyword(t, 'OR')) throw unsupported(t, "'OR' (the simulator supports only AND)");
      throw expecting("either 'OR' or 'AND'", t);
    }
  }

  if (isKeyword(peek(), 'ORDER')) {
    next();
    const by = next();
    if (!isKeyword(by, 'BY')) throw expecting("'by'", by);
    for (;;) {
      const field = next();
      if (field.kind !== 'word' && field.kind !== 'string') throw expecting('a field name', field);
      const name = field.text.toLowerCase();
      if (!SORT_FIELDS.has(name)) {
        throw new JqlError(`Field '${field.text}' does not exist or you do not have permission to view it.`);
      }
      let direction: JqlSort['direction'] = 'ASC';
      if (isKeyword(peek(), 'ASC') || isKeyword(peek(), 'DESC')) {
        direction = next().text.toUpperCase() as JqlSort['direction'];
      }
      orderBy.push({ field: name as JqlSortField, direction });
      if (peek().kind === 'punct' && peek().text === ',') {
        next();
        continue;
      }
      break;
    }
  }

  const rest = peek();
  if (rest.kind !== 'end') throw expecting('the end of the query', rest);
  if (clauses.length === 0) throw new JqlError(UNBOUNDED_MESSAGE);
  return { clauses, orderBy };

  function parseClause(): JqlClause {
    const fieldToken = next();
    if (fieldToken.kind !== 'word' && fieldToken.kind !== 'string') {
      throw expecting('a field name', fieldToken);
    }
    if (peek().kind === 'punct' && peek().text === '(') {
      throw unsupported(fieldToken, `the function '${fieldToken.text}()'`);
    }
    const field = FIELD_ALIASES[fieldToken.text.toLowerCase()];
    if (!field) {
      throw new JqlError(
        `Field '${fieldToken.text}' does not exist or you do not have permission to view it.`,
      );
    }
    const opToken = next();
    if (opToken.kind !== 'operator') {
      if (opToken.kind === 'word' && /^(IN|IS|WAS|CHANGED|NOT)$/i.test(opToken.text)) {
        throw unsupported(opToken, `the operator '${opToken.text.toUpperCase()}'`);
      }
      throw expecting('operator', opToken);
    }
    const operator = opToken.text as JqlOperator;
    const allowed = EQUALITY_FIELDS.has(field) ? ['=', '!='] : ['~', '!~'];
    if (!allowed.includes(operator)) {
      throw new JqlError(`The operator '${operator}' is not supported by the '${fieldToken.text}' field.`);
    }
    const valueToken = next();
    if (valueToken.kind !== 'word' && valueToken.kind !== 'string') {
      throw expecting('either a value, list or function', valueToken);
    }
    if (valueToken.kind === 'word' && peek().kind === 'punct' && peek().text === '(') {
      throw unsupported(valueToken, `the function '${valueToken.text}()'`);
    }
    if (valueToken.kind === 'word' && /^(EMPTY|NULL)$/i.test(valueToken.text)) {
      throw unsupported(valueToken, `'${valueToken.text}'`);
    }
    return { field, operator, value: valueToken.text };
  }
}

/** True when the issue satisfies every clause. */
export function matchesJql(query: JqlQuery, issue: JqlIssue): boolean {
  return query.clauses.every((clause) => matchesClause(clause, issue));
}

function matchesClause(clause: JqlClause, issue: JqlIssue): boolean {
  const negated = clause.operator === '!=' || clause.operator === '!~';
  return matchesPositive(clause, issue) !== negated;
}

function matchesPositive({ field, value }: JqlClause, issue: JqlIssue): boolean {
  const wanted = value.toLowerCase();
  switch (field) {
    case 'project':
      return issue.projectKey.toLowerCase() === wanted;
    case 'key':
      return issue.key.toLowerCase() === wanted || issue.id === value;
    case 'labels':
      return issue.labels.some((l) => l.toLowerCase() === wanted);
    case 'status':
      return issue.status.name.toLowerCase() === wanted;
    case 'summary':
      return contains(issue.summary, wanted);
    case 'description':
      return contains(descriptionText(issue), wanted);
    case 'text':
      // Jira's `text` covers the summary, the description and the comments.
      return (
        contains(issue.summary, wanted) ||
        contains(descriptionText(issue), wanted) ||
        (issue.comments ?? []).some((c) => contains(adfToText(c.body), wanted))
      );
  }
}

function contains(haystack: string, lowerNeedle: string): boolean {
  return haystack.toLowerCase().includes(lowerNeedle);
}

function descriptionText(issue: JqlIssue): string {
  return issue.description === null || issue.description === undefined ? '' : adfToText(issue.description);
}

/** The matching issues, sorted by the query's ORDER BY (or DEFAULT_ORDER), ties broken by id in the last sort's direction. */
export function searchIssues<T extends JqlIssue>(query: JqlQuery, issues: readonly T[]): T[] {
  const order = query.orderBy.length > 0 ? query.orderBy : DEFAULT_ORDER;
  const tieDirection = order[order.length - 1]?.direction ?? 'DESC';
  return issues
    .filter((issue) => matchesJql(query, issue))
    .sort((a, b) => {
      for (const sort of order) {
        const c = compareBy(sort.field, a, b);
        if (c !== 0) return sort.direction === 'ASC' ? c : -c;
      }
      const byId = Number(a.id) - Number(b.id);
      return tieDirection === 'ASC' ? byId : -byId;
    });
}

function compareBy(field: JqlSortField, a: JqlIssue, b: JqlIssue): number {
  switch (field) {
    case 'created':
      return a.created - b.created;
    case 'updated':
      return a.updated - b.updated;
    case 'key': {
      const byProject = a.projectKey.localeCompare(b.projectKey);
      return byProject !== 0 ? byProject : keyNumber(a.key) - keyNumber(b.key);
    }
  }
}

function keyNumber(key: string): number {
  return Number(key.slice(key.lastIndexOf('-') + 1));
}

function syntax(problem: string): JqlError {
  return new JqlError(`Error in the JQL Query: ${problem}`);
}

function expecting(what: string, got: Token): JqlError {
  const found = got.kind === 'end' ? 'the end of the query' : `'${got.text}'`;
  return syntax(`Expecting ${what} but got ${found}. (line 1, character ${got.at + 1})`);
}

function unsupported(token: Token, what: string): JqlError {
  return syntax(`${what} is not supported by the RIQ simulator. (line 1, character ${token.at + 1})`);
}
