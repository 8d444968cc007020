/**
 * `depends_on`: the pure rules of request graphs (no I/O). lambdas/core/domain/dependency-store.ts
 * registers and releases with them over the storage port, race-free.
 *
 * - **Validation** of a `depends_on` list: at most {@link MAX_DEPENDS_ON} request tokens, each
 *   well-formed, none twice, none the request itself.
 * - **Payload templates**: a payload string `{{<token>.<path>}}` is replaced, when the request is
 *   released, by that field of the named dependency's result. The grammar is strict:
 *   `{{req_<32 hex>.<segment>(.<segment>)*}}` with segments of `[A-Za-z0-9_-]`, no spaces; any other
 *   `{{…}}` text is literal and left alone (Confluence bodies may hold braces). A segment that is a
 *   decimal index (`0`, `12`) indexes an array; on an object it is a key like any other.
 *   - a string that is exactly one placeholder takes the referenced value *with its type*
 *     (`"{{req_….count}}"` → `3`, an object stays an object);
 *   - a placeholder inside a longer string is stringified: strings as they are, numbers and
 *     booleans with `String`, `null`, objects and arrays as JSON.
 *   Only values are templated, never object keys. `__proto__`, `constructor` and `prototype` are
 *   refused as path segments, and paths only follow an object's own properties.
 * - **The verdict** on a child from its parents' states: `ready`, `waiting` or `failed`.
 */
import { RiqError, ValidationError } from '../../../model/errors.js';
import { isRequestToken } from './tokens.js';
import { MAX_DEPENDS_ON } from '../../../model/submit-envelope.js';

/**
 * Checks a `depends_on` value and answers its tokens. Throws a ValidationError naming the field
 * (`depends_on`, or `depends_on.<index>` for one entry) on the first problem.
 */
export function validateDependsOn(value: unknown, ownToken?: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw ValidationError.forField('depends_on', 'must be an array of request tokens');
  if (value.length > MAX_DEPENDS_ON) {
    throw ValidationError.forField(
      'depends_on',
      `at most ${MAX_DEPENDS_ON} dependencies are allowed (got ${value.length})`,
    );
  }
  const seen = new Map<string, number>();
  return value.map((entry: unknown, i) => {
    const field = `depends_on.${i}`;
    if (typeof entry !== 'string' || !isRequestToken(entry)) {
      throw ValidationError.forField(field, 'must be a request token (req_ followed by 32 hex digits)');
    }
    const first = seen.get(entry);
    if (first !== undefined) throw ValidationError.forField(field, `duplicates depends_on.${first}`);
    if (entry === ownToken) throw ValidationError.forField(field, 'a request cannot depend on itself');
    seen.set(entry, i);
    return entry;
  });
}

// ---------------------------------------------------------------------------------------------
// Payload templates

const TOKEN = 'req_[0-9a-f]{32}';
const PATH = '[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*';
const placeholderPattern = () => new RegExp(`\\{\\{(${TOKEN})\\.(${PATH})\\}\\}`, 'g');
const WHOLE_PLACEHOLDER = new RegExp(`^\\{\\{(${TOKEN})\\.(${PATH})\\}\\}$`);
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** One placeholder found in a payload: where (`payload.comment`, `payload.labels.1`) and what. */
export interface Placeholder {
  /** The placeholder as written, `{{req_….key}}`. */
  text: string;
  token: string;
  path: string[];
  /** Where in the payload the string holding it is. */
  field: string;
}

/** Every placeholder of a payload, in document order. */
export function findPlaceholders(payload: unknown): Placeholder[] {
  const found: Placeholder[] = [];
  walkStrings(payload, 'payload', (s, field) => {
    for (const m of s.matchAll(placeholderPattern())) {
      found.push({ text: m[0], token: m[1] ?? '', path: (m[2] ?? '').split('.'), field });
    }
  });
  return found;
}

/** The distinct tokens a payload's placeholders reference, in order of first use. */
export function templateTokens(payload: unknown): string[] {
  return [...new Set(findPlaceholders(payload).map((p) => p.token))];
}

/**
 * Submit-time check of a payload's placeholders: each must name a token of `depends_on` and use no
 * forbidden path segment. Throws a ValidationError naming the field and the placeholder.
 */
export function checkTemplates(payload: unknown, dependsOn: readonly string[]): void {
  for (const p of findPlaceholders(payload)) {
    if (!dependsOn.includes(p.token)) {
      throw templateError(p, `${p.text} references ${p.token}, which is not in depends_on`);
    }
    const bad = p.path.find((s) => FORBIDDEN_SEGMENTS.has(s));
    if (bad !== undefined) throw templateError(p, `${p.text} uses the forbidden path segment '${bad}'`);
  }
}

export type TemplateResolution =
  { ok: true; payload: Record<string, unknown> } | { ok: false; error: RiqError };

/**
 * Replaces every placeholder with the named dependency's result field. `resultsByToken` holds the
 * results of the completed dependencies. A placeholder whose token has no result or whose path does
 * not resolve gives a VALIDATION_ERROR naming it (the request then ends `failed`, not retryable).
 * The input is not changed.
 */
export function resolveTemplates(
  payload: Record<string, unknown>,
  resultsByToken: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>,
): TemplateResolution {
  const lookup = (token: string): { found: boolean; value?: unknown } =>
    resultsByToken instanceof Map
      ? { found: resultsByToken.has(token), value: resultsByToken.get(token) }
      : Object.hasOwn(resultsByToken, token)
        ? { found: true, value: (resultsByToken as Record<string, unknown>)[token] }
        : { found: false };
  try {
    const out = mapStrings(payload, 'payload', (s, field) => {
      const whole = WHOLE_PLACEHOLDER.exec(s);
      if (whole) return valueOf(placeholderOf(whole, field), lookup);
      return s.replace(placeholderPattern(), (...m: string[]) => {
        const value = valueOf(placeholderOf(m, field), lookup);
        return typeof value === 'string'
          ? value
          : typeof value === 'object'
            ? JSON.stringify(value)
            : String(value);
      });
    });
    return { ok: true, payload: out as Record<string, unknown> };
  } catch (err) {
    if (err instanceof RiqError) return { ok: false, error: err };
    throw err;
  }
}

function placeholderOf(m: ArrayLike<string>, field: string): Placeholder {
  return { text: m[0] ?? '', token: m[1] ?? '', path: (m[2] ?? '').split('.'), field };
}

function valueOf(p: Placeholder, lookup: (token: string) => { found: boolean; value?: unknown }): unknown {
  const result = lookup(p.token);
  if (!result.found) throw templateError(p, `${p.text}: no result of ${p.token} is available`);
  let current: unknown = result.value;
  for (const [i, segment] of p.path.entries()) {
    const at = [p.token, ...p.path.slice(0, i + 1)].join('.');
    if (FORBIDDEN_SEGMENTS.has(segment)) {
      throw templateError(p, `${p.text} uses the forbidden path segment '${segment}'`);
    }
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(segment) || Number(segment) >= current.length) {
        throw templateError(p, `${p.text} does not resolve: ${at} is not an index of the array`);
      }
      current = current[Number(segment)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      throw templateError(p, `${p.text} does not resolve: ${at} does not exist`);
    }
  }
  if (current === undefined) throw templateError(p, `${p.text} does not resolve to a value`);
  return current;
}

function templateError(p: Placeholder, message: string): RiqError {
  return new RiqError('VALIDATION_ERROR', `${p.field}: ${message}`, {
    field: p.field,
    placeholder: p.text,
    dependency: p.token,
    issues: [{ field: p.field, message }],
  });
}

/** Calls `visit` for each string value (not keys) of a JSON-like value, with its field path. */
function walkStrings(value: unknown, field: string, visit: (s: string, field: string) => void): void {
  if (typeof value === 'string') visit(value, field);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, `${field}.${i}`, visit));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) walkStrings(v, `${field}.${k}`, visit);
  }
}

/**
 * A copy of a JSON-like value with each string mapped. Objects are rebuilt with
 * `Object.fromEntries`, which defines own properties: an own `__proto__` key (JSON.parse makes one)
 * stays a plain key and never becomes a prototype.
 */
function mapStrings(value: unknown, field: string, map: (s: string, field: string) => unknown): unknown {
  if (typeof value === 'string') return map(value, field);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, `${field}.${i}`, map));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mapStrings(v, `${field}.${k}`, map)]),
    );
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The verdict

/**
 * A parent's state as the child sees it: a request status, `waiting` (the parent has dependencies
 * of its own) or `missing` (purged or expired).
 */
export type DependencyState =
  'queued' | 'processing' | 'waiting' | 'completed' | 'cached' | 'failed' | 'dead' | 'missing';

/** The parent may still complete. */
export const UNFINISHED_DEPENDENCY_STATES = ['queued', 'processing', 'waiting'] as const;
/** The parent's result is there: a cached read is as good as a completed one. */
export const SATISFIED_DEPENDENCY_STATES = ['completed', 'cached'] as const;
/**
 * The child can never run. `dead` counts although an operator may redrive the parent: the child
 * fails when its parent dies, and stays failed.
 */
export const FAILED_DEPENDENCY_STATES = ['failed', 'dead', 'missing'] as const;

export type FailedDependencyState = (typeof FAILED_DEPENDENCY_STATES)[number];

export function isUnfinishedState(state: DependencyState): boolean {
  return (UNFINISHED_DEPENDENCY_STATES as readonly string[]).includes(state);
}

export function isSatisfiedState(state: DependencyState): boolean {
  return (SATISFIED_DEPENDENCY_STATES as readonly string[]).includes(state);
}

export function isFailedState(state: DependencyState): state is FailedDependencyState {
  return (FAILED_DEPENDENCY_STATES as readonly string[]).includes(state);
}

export interface ParentState {
  token: string;
  state: DependencyState;
}

export type DependencyVerdict =
  /** Every parent completed (or was a cached read): enqueue the child. */
  | { kind: 'ready' }
  /** None failed and some have not finished: keep waiting on `pending`. */
  | { kind: 'waiting'; pending: string[] }
  /** The first parent (in `parents` order) that failed, died or is gone: the child ends `failed`. */
  | { kind: 'failed'; dependency: string; state: FailedDependencyState };

/**
 * `after_consistency_token`: the child also waits for the write named by its `after_write`, but only
 * for it to *finish*: a write that failed, died or is gone (its record expired) satisfies it like a
 * completed one. A token that is also in `depends_on` keeps the stricter `depends_on` rule.
 */
export interface WaitSpec {
  depends_on?: readonly string[] | undefined;
  after_write?: string | undefined;
}

/** Every request the child waits on: its `depends_on`, then its `after_write` if not among them. */
export function waitParents(child: WaitSpec): string[] {
  const parents = [...(child.depends_on ?? [])];
  if (child.after_write !== undefined && !parents.includes(child.after_write))
    parents.push(child.after_write);
  return parents;
}

/** Whether `parent` only has to finish (any final state, or gone) for `child`: its after_write. */
export function waitsOnlyForFinish(child: WaitSpec, parent: string): boolean {
  return child.after_write === parent && !(child.depends_on ?? []).includes(parent);
}

/** A parent's state as it counts for `child`: a finished (or gone) after_write counts `completed`. */
export function stateFor(child: WaitSpec, parent: ParentState): ParentState {
  return waitsOnlyForFinish(child, parent.token) && isFailedState(parent.state)
    ? { token: parent.token, state: 'completed' }
    : parent;
}

/**
 * A failed parent decides at once, even while others are still running. With `child`, its
 * after_write is judged by {@link stateFor}.
 */
export function dependencyVerdict(parents: readonly ParentState[], child?: WaitSpec): DependencyVerdict {
  if (child) parents = parents.map((p) => stateFor(child, p));
  const failed = parents.find((p) => isFailedState(p.state));
  if (failed)
    return { kind: 'failed', dependency: failed.token, state: failed.state as FailedDependencyState };
  const pending = parents.filter((p) => isUnfinishedState(p.state)).map((p) => p.token);
  return pending.length > 0 ? { kind: 'waiting', pending } : { kind: 'ready' };
}

/** The error a child ends with when `dependency` failed: DEPENDENCY_FAILED, not retryable. */
export function dependencyFailedError(dependency: string, state: FailedDependencyState): RiqError {
  const why = state === 'missing' ? 'no longer exists' : `ended ${state}`;
  return new RiqError('DEPENDENCY_FAILED', `dependency ${dependency} ${why}`, {
    dependency,
    dependency_status: state,
  });
}
