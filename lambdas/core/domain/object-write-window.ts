/**
 * The write window of one Jira issue or Confluence page: Atlassian counts writes per issue in
 * sliding windows (`jira-per-issue-on-write`: 20 per 2 s and 100 per 30 s), and a write lock alone
 * (dynamo-write-lock.ts) only makes them one at a time, not slow enough. Pure, so the DynamoDB
 * locks and the in-memory ones of the unit tests (test/support/in-memory-write-locks.ts) cannot
 * differ.
 *
 * GCRA (the generic cell rate algorithm, a token bucket kept as one number): an object's state is
 * its theoretical arrival time `tat` (epoch ms), the time at which it would be idle again. A write
 * at `now` passes when `tat − now ≤ (burst − 1) × interval`, and moves `tat` to
 * `max(tat, now) + interval`. One number fits in the write-lock item, where a counter of recent
 * writes per window would not; `tat ≤ now` means the object is idle, so the common first write
 * needs no read.
 *
 * GCRA lets at most `burst + span / interval` writes through in any span of time, so for each
 * window (`writes` per `seconds`) `burst + seconds × rate ≤ writes` keeps it: half the smallest
 * window's writes as the burst, and the slowest rate the windows leave after it. For 20/2 s and
 * 100/30 s: burst 10, rate min(10/2, 90/30) = 3/s, so at most 16 in 2 s and 100 in 30 s.
 */
import type { RiqConfig, Service } from '../../../model/config/riq-config.js';

/** One of Atlassian's per-object windows: at most `writes` writes in any `seconds`. */
export interface WriteWindow {
  writes: number;
  seconds: number;
}

/** The GCRA of an object's writes. */
export interface WriteWindowParams {
  /** Writes an idle object takes at once. */
  burst: number;
  /** Milliseconds one write moves the object's `tat` (whole ms, rounded up: never faster). */
  intervalMs: number;
}

/** The answer for one write: it passes (store `tat`), or it must wait `waitMs`. */
export type WriteWindowDecision = { allowed: true; tat: number } | { allowed: false; waitMs: number };

/**
 * The GCRA that keeps every window, or undefined when there is none (no window, no limit). A window
 * must allow at least 2 writes (the config checks it): with 1 the burst takes it all and no rate is
 * left.
 */
export function writeWindowParams(windows: readonly WriteWindow[]): WriteWindowParams | undefined {
  if (windows.length === 0) return undefined;
  const burst = Math.ceil(Math.min(...windows.map((w) => w.writes)) / 2);
  const intervalMs = Math.max(
    ...windows.map((w) => {
      const left = w.writes - burst;
      if (left <= 0) throw new Error(`a write window must allow at least 2 writes, got ${w.writes}`);
      return Math.ceil((w.seconds * 1000) / left);
    }),
  );
  return { burst, intervalMs };
}

/**
 * Whether a write at `now` passes the window of an object whose stored `tat` is given (undefined:
 * never written, or its state expired).
 */
export function decideWrite(
  params: WriteWindowParams,
  tat: number | undefined,
  now: number,
): WriteWindowDecision {
  const from = tat === undefined ? now : Math.max(tat, now);
  const tolerance = (params.burst - 1) * params.intervalMs;
  const early = from - now - tolerance;
  if (early > 0) return { allowed: false, waitMs: early };
  return { allowed: true, tat: from + params.intervalMs };
}

/** The `tat` a write to an idle object (`tat ≤ now`) stores: what `decideWrite` answers then. */
export function idleTat(params: WriteWindowParams, now: number): number {
  return now + params.intervalMs;
}

/** Each service's window GCRA; undefined: its objects take writes as fast as their lock lets them. */
export type ServiceWriteWindows = Readonly<Record<Service, WriteWindowParams | undefined>>;

/** Each service's window GCRA from the config (`services.<s>.objectWriteWindows`). */
export function writeWindowParamsOf(config: RiqConfig): ServiceWriteWindows {
  return {
    jira: writeWindowParams(config.services.jira.objectWriteWindows),
    confluence: writeWindowParams(config.services.confluence.objectWriteWindows),
  };
}
