/**
 * What one Atlassian answer says about its rate limits, read from its headers into one typed value.
 * Pure: the adapters hand in the answer's headers (anything with `get(name)`) and the time.
 *
 * The headers (docs: Jira and Confluence Cloud "Rate limiting"; /work/shared/atlassian facts):
 * - `RateLimit-Reason`: which limit refused a 429, and so how far the refusal reaches (its scope).
 * - `Retry-After` (seconds or an HTTP date; `Beta-Retry-After` for a limit not yet enforced).
 * - `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (ISO 8601),
 *   `X-RateLimit-NearLimit: true` when under 20 % of a budget is left.
 * - The structured `RateLimit-Policy: "global-app-quota";q=65000;w=3600` (a quota of `q` points per
 *   window of `w` seconds) and `RateLimit: "global-app-quota";r=1200;t=1800` (`r` points left, shown
 *   only once about 80 % is spent; `t` seconds to the reset), each possibly listing several
 *   comma-separated entries, and each also sent `Beta-` prefixed. One answer may carry both forms:
 *   an entry of the unprefixed header wins over the `Beta-` entry of the same name.
 *
 * Nothing here throws on what Atlassian sends: a value that cannot be read is left out of the result
 * and named in `malformed`, for the log.
 */
import type { RateLimitedReason, RateLimitReasonName } from '../../../model/config/metrics.js';

/** The part of `Headers` the parser reads; it asks for names in lower case, so a plain map works too. */
export interface HeaderSource {
  get(name: string): string | null;
}

/** A `Retry-After` above this is treated as this (one was seen at 9223372036854775807). */
export const MAX_RETRY_AFTER_SECONDS = 3600;

/** `X-RateLimit-NearLimit`'s threshold, also applied to `r` against `q`: under 20 % left is near. */
export const NEAR_LIMIT_SHARE = 0.2;

/** Header texts kept (reason, reset, malformed values) are cut to this many characters. */
const MAX_TEXT_LENGTH = 128;

/**
 * How far a 429 reaches:
 * - `quota`: the hourly points quota is spent: every call of the service is refused until the reset;
 * - `burst`: the per-second limit of one endpoint × method: only calls to that endpoint should wait;
 * - `per_issue`: the write limit of one issue: only writes to that issue should wait;
 * - `unknown`: a reason RIQ does not know, or none: the whole service waits `Retry-After`.
 */
export type RateLimitScope = 'quota' | 'burst' | 'per_issue' | 'unknown';

/**
 * The `RateLimit-Reason` values Atlassian documents, with the scope of each: exactly the names of
 * model/config/metrics.ts (the `satisfies` refuses a missing or an extra one).
 */
export const RATE_LIMIT_REASONS = {
  'jira-quota-global-based': 'quota',
  'jira-quota-tenant-based': 'quota',
  'jira-burst-based': 'burst',
  'jira-per-issue-on-write': 'per_issue',
  'confluence-quota-global-based': 'quota',
  'confluence-quota-tenant-based': 'quota',
} as const satisfies Record<RateLimitReasonName, Exclude<RateLimitScope, 'unknown'>>;

export type KnownRateLimitReason = keyof typeof RATE_LIMIT_REASONS;

/** `RateLimit-Reason` as read: a known reason, or `unknown` (e.g. `jira-cost-based`) with its text. */
export interface RateLimitReason {
  /** The known reason (matched case-insensitively), or `unknown`. */
  readonly name: KnownRateLimitReason | 'unknown';
  /** The header's text, trimmed and cut to 128 characters. */
  readonly text: string;
  readonly scope: RateLimitScope;
}

/** One entry of `RateLimit-Policy` / `Beta-RateLimit-Policy`. */
export interface RateLimitPolicy {
  /** The policy's name, e.g. `global-app-quota`. */
  readonly name: string;
  /** `q`: the quota, in the policy's units (points for Atlassian's quotas). */
  readonly quota: number;
  /** `w`: the window the quota applies to, in seconds. Absent when the entry gives none. */
  readonly windowSeconds?: number;
  /** True when read from the `Beta-` header (no unprefixed entry of that name). */
  readonly beta: boolean;
}

/** One entry of `RateLimit` / `Beta-RateLimit`: where the named policy stands now. */
export interface RateLimitStatus {
  readonly name: string;
  /** `r`: what is left of the quota. Atlassian sends it only once about 80 % is spent. */
  readonly remaining?: number;
  /** `t`: seconds until the quota resets. */
  readonly resetSeconds?: number;
  /** True when read from the `Beta-` header (no unprefixed entry of that name). */
  readonly beta: boolean;
}

/** A header value that could not be read (or a part of one), for the log. */
export interface MalformedRateLimitHeader {
  /** The header's name as Atlassian documents it, e.g. `RateLimit-Policy`. */
  readonly header: string;
  /** The value (or the entry of a list), cut to 128 characters. */
  readonly value: string;
  readonly problem: string;
}

/** Everything one answer's headers say about Atlassian's rate limits. */
export interface RateLimitSignals {
  /** `RateLimit-Reason`, when present. */
  readonly reason?: RateLimitReason;
  /** `Retry-After` in seconds (an HTTP date counted from `now`), capped at MAX_RETRY_AFTER_SECONDS. */
  readonly retryAfterSeconds?: number;
  /** `Beta-Retry-After`, read the same way: a limit Atlassian announces without enforcing it yet. */
  readonly betaRetryAfterSeconds?: number;
  /** `X-RateLimit-Limit`. */
  readonly limit?: number;
  /** `X-RateLimit-Remaining`. */
  readonly remaining?: number;
  /**
   * `X-RateLimit-Reset`: its text (cut to 128 characters, kept even when unreadable) and, when it is
   * an ISO 8601 time, that time in epoch ms.
   */
  readonly reset?: { readonly text: string; readonly at?: number };
  /**
   * `X-RateLimit-NearLimit`: true for `true` (any case); false for any other value (a value other
   * than `true`/`false` is also listed in `malformed`). Absent without the header.
   */
  readonly nearLimitHeader?: boolean;
  /** The quota policies announced, unprefixed entries first, then `Beta-` ones of other names. */
  readonly policies: readonly RateLimitPolicy[];
  /** Where those quotas stand, merged from `RateLimit` and `Beta-RateLimit` the same way. */
  readonly statuses: readonly RateLimitStatus[];
  /**
   * Whether the answer says a budget is nearly spent: `X-RateLimit-NearLimit: true`, or some status
   * whose `r` is under NEAR_LIMIT_SHARE of the `q` of the policy of the same name.
   */
  readonly nearLimit: boolean;
  /**
   * Whether `X-RateLimit-NearLimit: true` speaks of the request rate (a burst limit), not of the
   * points quota: the header is there and no quota of the same answer is itself nearly spent (`r`
   * under NEAR_LIMIT_SHARE of `q`). The header names no budget; once the quota is that low it is
   * the quota's, which the points budget paces, and the request rate should not be cut for it.
   */
  readonly nearBurstLimit: boolean;
  /** Values that could not be read and were left out. */
  readonly malformed: readonly MalformedRateLimitHeader[];
}

/**
 * Which limit a `RateLimit-Reason` text names, read leniently: case-insensitively, quotes around a
 * name dropped, and a list (a repeated header arrives joined by commas) read as its broadest member
 * (`quota`, then an unknown reason, then `burst`, then `per_issue`), so a refusal is never given a
 * narrower scope than one of its reasons has. Absent or blank: `unknown`.
 */
export function reasonOf(reason: string | null | undefined): {
  readonly name: KnownRateLimitReason | 'unknown';
  readonly scope: RateLimitScope;
} {
  let widest: { name: KnownRateLimitReason | 'unknown'; scope: RateLimitScope } | undefined;
  for (const member of splitList(reason ?? '')) {
    const key = member
      .replace(/^"(.*)"$/, '$1')
      .trim()
      .toLowerCase();
    if (key === '') continue;
    const found = isKnownReason(key)
      ? { name: key, scope: RATE_LIMIT_REASONS[key] }
      : { name: 'unknown' as const, scope: 'unknown' as const };
    if (widest === undefined || SCOPE_BREADTH[found.scope] > SCOPE_BREADTH[widest.scope]) widest = found;
  }
  return widest ?? { name: 'unknown', scope: 'unknown' };
}

/** How far each scope reaches, for a list of reasons: the broadest wins. */
const SCOPE_BREADTH: Record<RateLimitScope, number> = { per_issue: 0, burst: 1, unknown: 2, quota: 3 };

/** The scope of a `RateLimit-Reason` text (read by `reasonOf`; absent, or unknown: `unknown`). */
export function scopeOfReason(reason: string | null | undefined): RateLimitScope {
  return reasonOf(reason).scope;
}

/**
 * A `RateLimit-Reason` text as the `reason` dimension of the `RateLimited` metric: a known reason
 * (read by `reasonOf`) as Atlassian documents it, anything else or none `unknown`, so a stray text
 * cannot add a dimension value.
 */
export function rateLimitedReasonOf(reason: string | null | undefined): RateLimitedReason {
  return reasonOf(reason).name;
}

function isKnownReason(value: string): value is KnownRateLimitReason {
  return Object.hasOwn(RATE_LIMIT_REASONS, value);
}

/**
 * Seconds to wait from a `Retry-After` value: whole (or decimal) seconds, or an HTTP-date relative to
 * `now`. Undefined when absent or unreadable; a date in the past is 0; capped at MAX_RETRY_AFTER_SECONDS.
 * A repeated header (joined by commas, as `Headers.get` gives it) waits for the latest of its
 * readable members: each is a minimum wait.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  const whole = retryAfterSecondsOf(v, now);
  if (whole !== undefined) return whole;
  const members = retryAfterMembers(v)
    .map((member) => retryAfterSecondsOf(member, now))
    .filter((seconds): seconds is number => seconds !== undefined);
  return members.length > 0 ? Math.max(...members) : undefined;
}

function retryAfterSecondsOf(v: string, now: number): number | undefined {
  let seconds: number;
  if (/^\d+(\.\d+)?$/.test(v)) {
    seconds = Math.ceil(Number(v));
  } else {
    // HTTP-date (IMF-fixdate, RFC 850 or asctime) always starts with the day name.
    if (!/^[A-Za-z]{3}/.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    seconds = Math.ceil((at - now) / 1000);
  }
  if (!Number.isFinite(seconds)) return MAX_RETRY_AFTER_SECONDS;
  return Math.min(Math.max(0, seconds), MAX_RETRY_AFTER_SECONDS);
}

/** A day name as an HTTP-date starts: `Wed` (IMF-fixdate) or `Wednesday` (RFC 850). */
const DAY_NAME = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6}$/i;

/**
 * The members of a joined `Retry-After`: split at its commas, a lone day name (`Wed` of
 * `Wed, 21 Oct 2015 07:28:00 GMT`, `Wednesday` of RFC 850) joined again with the date it starts.
 */
function retryAfterMembers(value: string): string[] {
  const members: string[] = [];
  let dayName: string | undefined;
  for (const part of splitList(value)) {
    if (dayName !== undefined) {
      members.push(`${dayName}, ${part}`);
      dayName = undefined;
    } else if (DAY_NAME.test(part)) {
      dayName = part;
    } else if (part !== '') {
      members.push(part);
    }
  }
  return members;
}

/** Reads every rate-limit header of one answer. `now` (epoch ms) dates an HTTP-date `Retry-After`. */
export function readRateLimitSignals(headers: HeaderSource, now: number = Date.now()): RateLimitSignals {
  const malformed: MalformedRateLimitHeader[] = [];
  const report = (header: string, value: string, problem: string) =>
    malformed.push({ header, value: cut(value), problem });

  const reasonText = text(headers, 'RateLimit-Reason');
  const reason: RateLimitReason | undefined =
    reasonText === undefined ? undefined : { ...reasonOf(reasonText), text: cut(reasonText) };

  const retryAfterSeconds = retryAfterOf(headers, 'Retry-After', now, report);
  const betaRetryAfterSeconds = retryAfterOf(headers, 'Beta-Retry-After', now, report);
  const limit = countOf(headers, 'X-RateLimit-Limit', report);
  const remaining = countOf(headers, 'X-RateLimit-Remaining', report);
  const reset = resetOf(headers, report);
  const nearLimitHeader = nearLimitOf(headers, report);

  const policies = preferUnprefixed(
    entriesOf(headers, 'RateLimit-Policy', false, policyOf, report),
    entriesOf(headers, 'Beta-RateLimit-Policy', true, policyOf, report),
  );
  const statuses = preferUnprefixed(
    entriesOf(headers, 'RateLimit', false, statusOf, report),
    entriesOf(headers, 'Beta-RateLimit', true, statusOf, report),
  );

  return {
    ...(reason !== undefined ? { reason } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...(betaRetryAfterSeconds !== undefined ? { betaRetryAfterSeconds } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(reset !== undefined ? { reset } : {}),
    ...(nearLimitHeader !== undefined ? { nearLimitHeader } : {}),
    policies,
    statuses,
    nearLimit: nearLimitHeader === true || quotaNearlySpent(policies, statuses),
    nearBurstLimit: nearLimitHeader === true && !quotaNearlySpent(policies, statuses),
    malformed,
  };
}

type Report = (header: string, value: string, problem: string) => void;

/** Some status with `r` under NEAR_LIMIT_SHARE of its policy's `q`. */
function quotaNearlySpent(
  policies: readonly RateLimitPolicy[],
  statuses: readonly RateLimitStatus[],
): boolean {
  return statuses.some((status) => {
    if (status.remaining === undefined) return false;
    const policy = policies.find((p) => p.name === status.name);
    return policy !== undefined && policy.quota > 0 && status.remaining < policy.quota * NEAR_LIMIT_SHARE;
  });
}

function retryAfterOf(headers: HeaderSource, name: string, now: number, report: Report): number | undefined {
  const value = text(headers, name);
  if (value === undefined) return undefined;
  const seconds = parseRetryAfter(value, now);
  if (seconds === undefined) report(name, value, 'neither seconds nor an HTTP date');
  return seconds;
}

/** A count; of a repeated header (joined by commas), the least of its readable members. */
function countOf(headers: HeaderSource, name: string, report: Report): number | undefined {
  const value = text(headers, name);
  if (value === undefined) return undefined;
  const counts: number[] = [];
  for (const member of splitList(value)) {
    const n = nonNegativeInteger(member);
    if (n === undefined) report(name, member, 'not a non-negative integer');
    else counts.push(n);
  }
  return counts.length > 0 ? Math.min(...counts) : undefined;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** `X-RateLimit-Reset` as read by `resetTimeOf`, its text kept even when unreadable. */
function resetOf(headers: HeaderSource, report: Report): RateLimitSignals['reset'] {
  const value = text(headers, 'X-RateLimit-Reset');
  if (value === undefined) return undefined;
  const at = resetTimeOf(value, (member) => report('X-RateLimit-Reset', member, 'not an ISO 8601 time'));
  return at !== undefined ? { text: cut(value), at } : { text: cut(value) };
}

/**
 * An `X-RateLimit-Reset` value in epoch ms, read leniently: an ISO 8601 time with `T` or a space
 * between date and time, in any case, its offset with or without the colon, and no offset read as
 * UTC (Atlassian's clock). Of a repeated header (joined by commas), the latest readable time.
 * Undefined when no member is readable; `unreadable` hears each member that is not.
 */
export function resetTimeOf(value: string, unreadable?: (member: string) => void): number | undefined {
  const times: number[] = [];
  for (const member of splitList(value)) {
    const normal = member
      .toUpperCase()
      .replace(/^(\d{4}-\d{2}-\d{2})[ T]/, '$1T')
      .replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
      .replace(/(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/, '$1Z');
    const at = ISO_8601.test(normal) ? Date.parse(normal) : NaN;
    if (Number.isNaN(at)) unreadable?.(member);
    else times.push(at);
  }
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** `true` when any member of the value (a repeated header arrives joined by commas) is `true`. */
function nearLimitOf(headers: HeaderSource, report: Report): boolean | undefined {
  const value = text(headers, 'X-RateLimit-NearLimit');
  if (value === undefined) return undefined;
  const members = splitList(value).map((m) => m.toLowerCase());
  if (members.some((m) => m !== 'true' && m !== 'false')) {
    report('X-RateLimit-NearLimit', value, 'neither true nor false');
  }
  return members.includes('true');
}

/** The entries of `unprefixed`, then those of `beta` whose name `unprefixed` does not list. */
function preferUnprefixed<T extends { readonly name: string }>(unprefixed: T[], beta: T[]): T[] {
  const names = new Set(unprefixed.map((e) => e.name));
  return [...unprefixed, ...beta.filter((e) => !names.has(e.name))];
}

function policyOf(entry: StructuredEntry, beta: boolean): { value: RateLimitPolicy } | { problem: string } {
  const q = entry.params.get('q');
  if (q === undefined) return { problem: 'no q' };
  const quota = integerParam(q);
  if (quota === undefined) return { problem: 'q is not a non-negative integer' };
  const w = entry.params.get('w');
  const windowSeconds = w === undefined ? undefined : integerParam(w);
  if (w !== undefined && windowSeconds === undefined) return { problem: 'w is not a non-negative integer' };
  return {
    value: {
      name: entry.name,
      quota,
      ...(windowSeconds !== undefined ? { windowSeconds } : {}),
      beta,
    },
  };
}

function statusOf(entry: StructuredEntry, beta: boolean): { value: RateLimitStatus } | { problem: string } {
  const r = entry.params.get('r');
  const remaining = r === undefined ? undefined : integerParam(r);
  if (r !== undefined && remaining === undefined) return { problem: 'r is not a non-negative integer' };
  const t = entry.params.get('t');
  const resetSeconds = t === undefined ? undefined : integerParam(t);
  if (t !== undefined && resetSeconds === undefined) return { problem: 't is not a non-negative integer' };
  return {
    value: {
      name: entry.name,
      ...(remaining !== undefined ? { remaining } : {}),
      ...(resetSeconds !== undefined ? { resetSeconds } : {}),
      beta,
    },
  };
}

/** The readable entries of one structured list header, each made into a `T` by `make`. */
function entriesOf<T extends { readonly name: string }>(
  headers: HeaderSource,
  header: string,
  beta: boolean,
  make: (entry: StructuredEntry, beta: boolean) => { value: T } | { problem: string },
  report: Report,
): T[] {
  const value = text(headers, header);
  if (value === undefined) return [];
  const found: T[] = [];
  for (const member of splitList(value)) {
    const entry = parseEntry(member);
    if ('problem' in entry) {
      report(header, member, entry.problem);
      continue;
    }
    const made = make(entry, beta);
    if ('problem' in made) {
      report(header, member, made.problem);
    } else if (found.some((e) => e.name === made.value.name)) {
      report(header, member, `a second entry named ${made.value.name}`);
    } else {
      found.push(made.value);
    }
  }
  return found;
}

/** A parameter's value as parsed: an integer, or any other bare item kept as its text. */
type ParamValue = { kind: 'integer'; value: number } | { kind: 'other'; text: string };

/** One member of a structured-field list (RFC 8941): its name and its parameters (keys lowercased). */
interface StructuredEntry {
  readonly name: string;
  readonly params: ReadonlyMap<string, ParamValue>;
}

/** Splits a list at the commas outside quoted strings; members trimmed. */
function splitList(value: string): string[] {
  const members: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === '\\' && i + 1 < value.length) {
      current += c + value[i + 1]!;
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      members.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  members.push(current.trim());
  return members;
}

const TOKEN = /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*/;
const KEY = /^[A-Za-z*][A-Za-z0-9_\-.*]*/;

/** `"name";k=v;k2=v2` or `name;k=v`: a string or token name, then `;`-separated parameters. */
function parseEntry(member: string): StructuredEntry | { problem: string } {
  if (member === '') return { problem: 'an empty entry' };
  let rest = member;
  let name: string;
  if (rest.startsWith('"')) {
    const str = quotedString(rest);
    if (str === undefined) return { problem: 'an unterminated quoted name' };
    name = str.value;
    rest = rest.slice(str.length);
  } else {
    const token = TOKEN.exec(rest);
    if (!token) return { problem: 'no name' };
    name = token[0];
    rest = rest.slice(token[0].length);
  }
  if (name === '') return { problem: 'an empty name' };

  const params = new Map<string, ParamValue>();
  rest = rest.trimStart();
  while (rest !== '') {
    if (!rest.startsWith(';')) return { problem: 'text after the name that is not a parameter' };
    rest = rest.slice(1).trimStart();
    const key = KEY.exec(rest);
    if (!key) return { problem: 'a parameter without a key' };
    rest = rest.slice(key[0].length);
    let value: ParamValue = { kind: 'other', text: '?1' }; // a bare key is boolean true
    // Spaces around `=` are outside RFC 8941, and read anyway: a quota must not be missed for them.
    if (rest.trimStart().startsWith('=')) {
      rest = rest.trimStart().slice(1).trimStart();
      const bare = bareItem(rest);
      if (bare === undefined) return { problem: `an unreadable value of ${key[0]}` };
      value = bare.value;
      rest = rest.slice(bare.length);
    }
    const lower = key[0].toLowerCase();
    if (!params.has(lower)) params.set(lower, value);
    rest = rest.trimStart();
  }
  return { name, params };
}

/** A quoted string at the start of `s`: its unescaped value and the characters it took. */
function quotedString(s: string): { value: string; length: number } | undefined {
  let value = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const next = s[i + 1];
      if (next === undefined) return undefined;
      value += next;
      i++;
    } else if (c === '"') {
      return { value, length: i + 1 };
    } else {
      value += c;
    }
  }
  return undefined;
}

/** A bare item (RFC 8941) at the start of `s`: integers are read, the rest kept as text. */
function bareItem(s: string): { value: ParamValue; length: number } | undefined {
  const number = /^-?\d+(\.\d+)?/.exec(s);
  if (number) {
    const n = Number(number[0]);
    return number[1] === undefined && Number.isSafeInteger(n)
      ? { value: { kind: 'integer', value: n }, length: number[0].length }
      : { value: { kind: 'other', text: number[0] }, length: number[0].length };
  }
  if (s.startsWith('"')) {
    const str = quotedString(s);
    return str && { value: { kind: 'other', text: str.value }, length: str.length };
  }
  const other = /^(\?[01]|:[A-Za-z0-9+/=]*:|[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*)/.exec(s);
  return other ? { value: { kind: 'other', text: other[0] }, length: other[0].length } : undefined;
}

function integerParam(value: ParamValue): number | undefined {
  return value.kind === 'integer' && value.value >= 0 ? value.value : undefined;
}

function nonNegativeInteger(value: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A header's value trimmed, or undefined when absent or blank. Names are asked for in lower case. */
function text(headers: HeaderSource, name: string): string | undefined {
  const v = headers.get(name.toLowerCase())?.trim();
  return v ? v : undefined;
}

function cut(s: string): string {
  return s.length > MAX_TEXT_LENGTH ? `${s.slice(0, MAX_TEXT_LENGTH)}…` : s;
}
