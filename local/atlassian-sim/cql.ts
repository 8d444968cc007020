/**
 * A small CQL (Confluence Query Language) parser and evaluator for the simulator's v1 search: the
 * fields `type`, `space` (alias `space.key`), `title` and `text`; the operators `=`, `!=`, `~`, `!~`;
 * values as words or single/double-quoted strings with backslash escapes; AND, OR, NOT and
 * parentheses (AND binds tighter than OR). Anything else is a CqlSyntaxError, which the route answers
 * with Confluence's 400 "Could not parse cql".
 *
 * Simplifications: `~` is a case-insensitive substring match (Confluence uses word-based text search
 * with stemming); `=` is a case-insensitive exact match; `text` covers the title and the body text.
 */

export type CqlField = 'type' | 'space' | 'title' | 'text';
export type CqlOperator = '=' | '!=' | '~' | '!~';

export type CqlNode =
  | { kind: 'and' | 'or'; operands: CqlNode[] }
  | { kind: 'not'; operand: CqlNode }
  | { kind: 'clause'; field: CqlField; operator: CqlOperator; value: string };

/** What a clause is tested against: one piece of content. */
export interface CqlDocument {
  /** `page`. */
  type: string;
  spaceKey: string;
  title: string;
  /** The body as plain text (tags stripped). */
  bodyText: string;
}

export class CqlSyntaxError extends Error {
  override readonly name = 'CqlSyntaxError';
}

/** Nesting deeper than this (parentheses, NOT) is refused rather than recursed into. */
export const MAX_CQL_DEPTH = 32;
export const MAX_CQL_LENGTH = 10_000;

const FIELD_ALIASES: Record<string, CqlField> = {
  type: 'type',
  space: 'space',
  'space.key': 'space',
  title: 'title',
  text: 'text',
};

const FIELD_OPERATORS: Record<CqlField, readonly CqlOperator[]> = {
  type: ['=', '!='],
  space: ['=', '!='],
  title: ['=', '!=', '~', '!~'],
  text: ['~', '!~'],
};

type Token =
  | { kind: 'lparen' | 'rparen'; at: number }
  | { kind: 'operator'; value: CqlOperator; at: number }
  | { kind: 'word'; value: string; at: number }
  | { kind: 'string'; value: string; at: number };

/** Parses a CQL query into a tree; throws CqlSyntaxError naming the problem and its position. */
export function parseCql(cql: string): CqlNode {
  if (cql.length > MAX_CQL_LENGTH) throw new CqlSyntaxError(`query longer than ${MAX_CQL_LENGTH} characters`);
  const parser = new Parser(tokenize(cql));
  return parser.parseQuery();
}

/** Whether the document matches the parsed query. */
export function matchesCql(node: CqlNode, doc: CqlDocument): boolean {
  switch (node.kind) {
    case 'and':
      return node.operands.every((n) => matchesCql(n, doc));
    case 'or':
      return node.operands.some((n) => matchesCql(n, doc));
    case 'not':
      return !matchesCql(node.operand, doc);
    case 'clause':
      return matchesClause(node, doc);
  }
}

/** The values of the positive `~` clauses (for highlighting excerpts). */
export function containsTerms(node: CqlNode): string[] {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.operands.flatMap(containsTerms);
    case 'not':
      return [];
    case 'clause':
      return node.operator === '~' && node.value !== '' ? [node.value] : [];
  }
}

function matchesClause(clause: Extract<CqlNode, { kind: 'clause' }>, doc: CqlDocument): boolean {
  const subject = {
    type: doc.type,
    space: doc.spaceKey,
    title: doc.title,
    text: `${doc.title}\n${doc.bodyText}`,
  }[clause.field].toLowerCase();
  const value = clause.value.toLowerCase();
  switch (clause.operator) {
    case '=':
      return subject === value;
    case '!=':
      return subject !== value;
    case '~':
      return subject.includes(value);
    case '!~':
      return !subject.includes(value);
  }
}

const KEYWORDS = new Set(['and', 'or', 'not']);

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseQuery(): CqlNode {
    if (this.tokens.length === 0) throw new CqlSyntaxError('empty query');
    const node = this.parseOr();
    const extra = this.peek();
    if (extra) throw new CqlSyntaxError(`unexpected ${describe(extra)} at position ${extra.at}`);
    return node;
  }

  private parseOr(): CqlNode {
    const operands = [this.parseAnd()];
    while (this.acceptKeyword('or')) operands.push(this.parseAnd());
    return operands.length === 1 ? (operands[0] as CqlNode) : { kind: 'or', operands };
  }

  private parseAnd(): CqlNode {
    const operands = [this.parseUnary()];
    while (this.acceptKeyword('and')) operands.push(this.parseUnary());
    return operands.length === 1 ? (operands[0] as CqlNode) : { kind: 'and', operands };
  }

  private parseUnary(): CqlNode {
    this.enter();
    try {
      if (this.acceptKeyword('not')) return { kind: 'not', operand: this.parseUnary() };
      const token = this.peek();
      if (token?.kind === 'lparen') {
        this.index++;
        const inner = this.parseOr();
        const close = this.next();
        if (close?.kind !== 'rparen') throw new CqlSyntaxError(`missing ) for ( at position ${token.at}`);
        return inner;
      }
      return this.parseClause();
    } finally {
      this.depth--;
    }
  }

  private parseClause(): CqlNode {
    const fieldToken = this.next();
    if (fieldToken?.kind !== 'word' || KEYWORDS.has(fieldToken.value.toLowerCase())) {
      throw new CqlSyntaxError(
        fieldToken ? `expected a field at position ${fieldToken.at}` : 'expected a field at the end',
      );
    }
    const field = FIELD_ALIASES[fieldToken.value.toLowerCase()];
    if (!field) throw new CqlSyntaxError(`unsupported field '${fieldToken.value}'`);
    const operatorToken = this.next();
    if (operatorToken?.kind !== 'operator') {
      throw new CqlSyntaxError(`expected an operator after '${fieldToken.value}'`);
    }
    if (!FIELD_OPERATORS[field].includes(operatorToken.value)) {
      throw new CqlSyntaxError(`the operator '${operatorToken.value}' is not supported for '${field}'`);
    }
    const valueToken = this.next();
    if (
      valueToken?.kind === 'string' ||
      (valueToken?.kind === 'word' && !KEYWORDS.has(valueToken.value.toLowerCase()))
    ) {
      return { kind: 'clause', field, operator: operatorToken.value, value: valueToken.value };
    }
    throw new CqlSyntaxError(`expected a value after '${fieldToken.value} ${operatorToken.value}'`);
  }

  private enter(): void {
    if (++this.depth > MAX_CQL_DEPTH) throw new CqlSyntaxError(`nested deeper than ${MAX_CQL_DEPTH}`);
  }

  private acceptKeyword(keyword: string): boolean {
    const token = this.peek();
    if (token?.kind === 'word' && token.value.toLowerCase() === keyword) {
      this.index++;
      return true;
    }
    return false;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private next(): Token | undefined {
    return this.tokens[this.index++];
  }
}

const WORD_END = /[\s()"'=!~]/;

function tokenize(cql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < cql.length) {
    const c = cql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'lparen' : 'rparen', at: i });
      i++;
    } else if (c === '=' || c === '~') {
      tokens.push({ kind: 'operator', value: c, at: i });
      i++;
    } else if (c === '!') {
      const op = cql[i + 1];
      if (op !== '=' && op !== '~') throw new CqlSyntaxError(`unexpected '!' at position ${i}`);
      tokens.push({ kind: 'operator', value: op === '=' ? '!=' : '!~', at: i });
      i += 2;
    } else if (c === '"' || c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        const d = cql[i];
        if (d === undefined) throw new CqlSyntaxError(`unterminated string at position ${start}`);
        if (d === '\\') {
          const escaped = cql[i + 1];
          if (escaped === undefined) throw new CqlSyntaxError(`unterminated string at position ${start}`);
          value += escaped;
          i += 2;
        } else if (d === c) {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ kind: 'string', value, at: start });
    } else {
      const start = i;
      while (i < cql.length && !WORD_END.test(cql[i] as string)) i++;
      tokens.push({ kind: 'word', value: cql.slice(start, i), at: start });
    }
  }
  return tokens;
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'lparen':
      return "'('";
    case 'rparen':
      return "')'";
    case 'operator':
      return `'${token.value}'`;
    case 'word':
      return `'${token.value}'`;
    case 'string':
      return 'a string';
  }
}
