/**
 * What the chaos run must show at its end, as a pure function of what was observed:
 * - every submit was answered with a token (or a cache hit), a second submit of a key with the same
 *   token;
 * - every request ended `completed`, `failed` with a non-retryable cause, or `dead` and listed in
 *   the dead-letter listing: none lost, none stuck;
 * - nothing was done twice: each create's marker is found at most once in the simulator, and every
 *   completed create's marker exactly once;
 * - the calls that reached Atlassian during the outage stay within the breakers' allowance
 *   (threshold + one probe per recovery period, per service);
 * - the 429s RIQ provoked itself (all 429s minus the injected storm's);
 * - a page of about 1 MB is created, updated and read back whole;
 * - stray copies of ended requests' messages change no record and call Atlassian not once.
 */
import { ERROR_CODES, type ErrorCode } from '../model/errors.js';
import type { SimObjects } from '../local/atlassian-sim/control.js';
import type { ChaosSettings } from './settings.js';
import type { CreateKind } from './plan.js';

export interface RequestOutcome {
  index: number;
  operation: string;
  priority: string;
  /** The submit's HTTP status (0: no answer). */
  submitStatus: number;
  /** The submit's error code or network error, when not 2xx. */
  submitError?: string;
  token?: string;
  /** Answered from the read cache at submit: nothing was stored, nothing to follow. */
  cached?: boolean;
  /** The second submit of an idempotency key: its status and token. */
  resubmit?: { status: number; token?: string };
  /** The record at the end. */
  final?: { status: string; errorCode?: string; attempts?: number };
  creates?: { kind: CreateKind; marker: string };
}

/** Stray copies of ended requests' messages, sent once all had ended. */
export interface StrayCopies {
  sent: number;
  /** `request <i> (<token>): <status/attempts> became <status/attempts>`, one per record a copy changed. */
  changed: string[];
  /** Calls that reached Atlassian while the copies were consumed. */
  callsAfter: number;
}

/** The big page's round trip: what its fresh read answered after the update. */
export interface BigPageCheck {
  bytes: number;
  /** `whole`, or what was wrong. */
  readBack: string;
}

export interface ChaosObservations {
  settings: ChaosSettings;
  outcomes: RequestOutcome[];
  /** Tokens in `GET /api/queue/dead-letters`. */
  deadListed: readonly string[];
  objects: SimObjects;
  /** Calls the outage refused, per service (jira/confluence), counted by the simulator. */
  outageCalls: Record<string, number>;
  /**
   * Every 429 the simulator answered, how many of them the injected storm sent, and all of them by
   * their `RateLimit-Reason` (`(none)`: the storm's, which gives none).
   */
  tooManyRequests: { total: number; injected: number; byReason: Record<string, number> };
  /** Calls to the Atlassian routes in the whole run. */
  upstreamCalls: number;
  strays: StrayCopies;
  bigPage: BigPageCheck;
}

export interface ChaosVerdict {
  figures: Record<string, number | string>;
  /** One line per broken promise; empty when the run passed. */
  violations: string[];
}

const SERVICES = ['jira', 'confluence'] as const;

export function isNonRetryable(code: string | undefined): boolean {
  return code !== undefined && code in ERROR_CODES && !ERROR_CODES[code as ErrorCode].retryable;
}

/** How many of `marker`'s objects exist (issues by label, pages by title, comments by exact text). */
export function countMarker(objects: SimObjects, kind: CreateKind, marker: string): number {
  switch (kind) {
    case 'issue':
      return objects.issues.filter((i) => i.labels.includes(marker)).length;
    case 'page':
      return objects.pages.filter((p) => p.title === marker).length;
    case 'comment': {
      // The comment's ADF as JSON: the marker is a whole text node, quoted.
      const quoted = JSON.stringify(marker);
      return objects.issues.reduce((n, i) => n + i.comments.filter((c) => c.includes(quoted)).length, 0);
    }
  }
}

/** The most calls the outage may see per service: the threshold, then one probe per recovery period. */
export function outageAllowance(settings: ChaosSettings): number {
  const probes = Math.floor(settings.outage.durationMs / (settings.breaker.recoverySeconds * 1000)) + 1;
  return settings.breaker.failureThreshold + probes;
}

/** `CODE×n, …` (or `operation CODE×n, …` when `withOperation`) of the requests that ended in `status`, or `none`. */
function byCode(outcomes: readonly RequestOutcome[], status: string, withOperation = false): string {
  const counts = new Map<string, number>();
  for (const r of outcomes.filter((x) => x.final?.status === status)) {
    const code = `${withOperation ? `${r.operation} ` : ''}${r.final?.errorCode ?? 'no code'}`;
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  return tally(counts.entries());
}

/** `name×n, …` in name order, or `none` when there are none. */
function tally(counts: Iterable<[string, number]>): string {
  const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => `${c}×${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export function judge(o: ChaosObservations): ChaosVerdict {
  const violations: string[] = [];
  const count = (status: string) => o.outcomes.filter((r) => r.final?.status === status).length;
  const dead = new Set(o.deadListed);

  for (const r of o.outcomes) {
    const label = `request ${r.index} (${r.operation})`;
    if (r.submitStatus < 200 || r.submitStatus > 299 || (!r.token && !r.cached)) {
      violations.push(`${label}: submit answered ${r.submitStatus} ${r.submitError ?? ''}`.trim());
      continue;
    }
    if (r.resubmit && (r.resubmit.status < 200 || r.resubmit.status > 299 || r.resubmit.token !== r.token)) {
      violations.push(
        `${label}: the second submit of its key answered ${r.resubmit.status} with token ${r.resubmit.token ?? 'none'}, not ${r.token}`,
      );
    }
    if (r.cached) continue;
    const status = r.final?.status ?? 'unknown';
    if (status === 'completed') continue;
    if (status === 'failed') {
      if (!isNonRetryable(r.final?.errorCode)) {
        violations.push(`${label}: failed with a retryable cause ${r.final?.errorCode ?? 'none'}`);
      }
      continue;
    }
    if (status === 'dead') {
      if (!dead.has(r.token!)) violations.push(`${label}: dead but not in the dead-letter listing`);
      continue;
    }
    violations.push(`${label}: ${status === 'unknown' ? 'lost (no record)' : `stuck in ${status}`}`);
  }

  const creates = o.outcomes.filter((r) => r.creates);
  let found = 0;
  let completedCreates = 0;
  // A dead create's write may have happened (Atlassian committed, the answer was lost, and every
  // later attempt failed): its redrive adopts the object. Any other create that did not complete
  // must have made nothing.
  let foundOfDead = 0;
  for (const r of creates) {
    const n = countMarker(o.objects, r.creates!.kind, r.creates!.marker);
    found += Math.min(n, 1);
    if (n > 1)
      violations.push(`request ${r.index}: ${r.creates!.kind} ${r.creates!.marker} exists ${n} times`);
    if (r.final?.status === 'completed') {
      completedCreates += 1;
      if (n === 0) violations.push(`request ${r.index}: completed but its ${r.creates!.kind} is missing`);
    } else if (r.final?.status === 'dead') {
      foundOfDead += Math.min(n, 1);
    } else if (n > 0) {
      violations.push(
        `request ${r.index}: ${r.final?.status ?? 'unknown'} but its ${r.creates!.kind} exists`,
      );
    }
  }

  const allowance = outageAllowance(o.settings);
  for (const service of SERVICES) {
    const calls = o.outageCalls[service] ?? 0;
    if (calls > allowance) {
      violations.push(
        `${service}: ${calls} calls reached the dead service during the outage (allowed ${allowance})`,
      );
    }
  }
  const riq429 = o.tooManyRequests.total - o.tooManyRequests.injected;
  if (o.bigPage.readBack !== 'whole') {
    violations.push(`the ${o.bigPage.bytes}-byte page was not read back whole: ${o.bigPage.readBack}`);
  }
  for (const c of o.strays.changed) violations.push(`a stray copy changed ${c}`);
  if (o.strays.callsAfter > 0) {
    violations.push(`stray copies of ended requests made ${o.strays.callsAfter} calls to Atlassian`);
  }

  const submitted = o.outcomes.length;
  return {
    figures: {
      requests: submitted,
      submits_with_a_second_key_submit: o.outcomes.filter((r) => r.resubmit).length,
      cached_at_submit: o.outcomes.filter((r) => r.cached).length,
      completed: count('completed'),
      failed_non_retryable: o.outcomes.filter(
        (r) => r.final?.status === 'failed' && isNonRetryable(r.final.errorCode),
      ).length,
      failed_by_code: byCode(o.outcomes, 'failed'),
      failed_by_operation: byCode(o.outcomes, 'failed', true),
      dead_and_listed: o.outcomes.filter((r) => r.final?.status === 'dead' && dead.has(r.token!)).length,
      dead_by_code: byCode(o.outcomes, 'dead'),
      dead_by_operation: byCode(o.outcomes, 'dead', true),
      lost_or_stuck: violations.filter((v) => / lost | stuck /.test(v)).length,
      distinct_creates_submitted: creates.length,
      creates_completed: completedCreates,
      created_objects_found: found,
      created_objects_of_dead_creates: foundOfDead,
      duplicates: violations.filter((v) => / exists \d+ times/.test(v)).length,
      outage_calls_jira: o.outageCalls['jira'] ?? 0,
      outage_calls_confluence: o.outageCalls['confluence'] ?? 0,
      outage_allowance_per_service: allowance,
      upstream_calls: o.upstreamCalls,
      '429_injected': o.tooManyRequests.injected,
      '429_caused_by_riq': riq429,
      '429_by_reason': tally(Object.entries(o.tooManyRequests.byReason)),
      big_page_bytes: o.bigPage.bytes,
      big_page_read_back: o.bigPage.readBack,
      stray_copies_sent: o.strays.sent,
      stray_copies_that_changed_a_record: o.strays.changed.length,
      calls_made_by_stray_copies: o.strays.callsAfter,
    },
    violations,
  };
}
