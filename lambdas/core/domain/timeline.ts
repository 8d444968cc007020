/**
 * A request's timeline entries (model/request-record.ts `TimelineEntry`): one per state change,
 * built here from what the writing code already knows, and stored by the write that makes the
 * change (lambdas/adapters/dynamodb/request-items.ts keeps the newest TIMELINE_LIMIT).
 */
import type { ErrorBody } from '../../../model/errors.js';
import type { RequestRecord, TimelineEntry, TimelineEvent } from '../../../model/request-record.js';

/** The longest `error` an entry keeps (longer ones are cut and end with `…`). */
export const TIMELINE_ERROR_CHARS = 300;

/** The optional fields of an entry; undefined ones are left out. */
export interface EntryFields {
  attempt?: number | undefined;
  status_code?: number | undefined;
  error?: string | undefined;
  reason?: string | undefined;
  delay_seconds?: number | undefined;
}

/** An entry of `event` at `now` (epoch ms), with the fields given; `error` is capped. */
export function timelineEntry(event: TimelineEvent, now: number, fields: EntryFields = {}): TimelineEntry {
  const entry: TimelineEntry = { at: new Date(now).toISOString(), event };
  if (fields.attempt !== undefined) entry.attempt = fields.attempt;
  if (fields.status_code !== undefined) entry.status_code = fields.status_code;
  if (fields.error !== undefined) entry.error = capError(fields.error);
  if (fields.reason !== undefined) entry.reason = fields.reason;
  if (fields.delay_seconds !== undefined) entry.delay_seconds = fields.delay_seconds;
  return entry;
}

function capError(text: string): string {
  return text.length <= TIMELINE_ERROR_CHARS ? text : `${text.slice(0, TIMELINE_ERROR_CHARS - 1)}…`;
}

/**
 * What an entry says of an error: `<code>: <message>`, Atlassian's HTTP status (`details.status`)
 * when a call answered one, and the attempt it ended (`details.attempt`) when known.
 */
export function errorFields(error: ErrorBody): EntryFields {
  const status = error.details?.['status'];
  const attempt = error.details?.['attempt'];
  return {
    error: `${error.code}: ${error.message}`,
    ...(typeof status === 'number' && Number.isInteger(status) ? { status_code: status } : {}),
    ...(typeof attempt === 'number' && Number.isInteger(attempt) ? { attempt } : {}),
  };
}

/** Whole seconds from `now` to `until` (epoch ms), never negative. */
export function delaySecondsUntil(now: number, until: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/**
 * The first entries of a record as submit stores it: `submitted` (with `reason: depends_on` when
 * it waits for dependencies), then `direct_call` when it is stored already `processing` (DIRECT).
 */
export function submittedEntries(record: RequestRecord): TimelineEntry[] {
  const at = Date.parse(record.created_at);
  const entries = [
    timelineEntry('submitted', at, record.status === 'waiting' ? { reason: 'depends_on' } : {}),
  ];
  if (record.status === 'processing') {
    entries.push(timelineEntry('direct_call', Date.parse(record.updated_at), { attempt: record.attempts }));
  }
  if (record.status === 'failed' && record.error) {
    entries.push(timelineEntry('failed', Date.parse(record.updated_at), errorFields(record.error)));
  }
  return entries;
}

/** A deferral for `reason` until `until` (epoch ms). */
export function deferredEntry(now: number, reason: string, until: number, attempt?: number): TimelineEntry {
  return timelineEntry('deferred', now, { reason, delay_seconds: delaySecondsUntil(now, until), attempt });
}

/** A retryable failure of an attempt, retried at `retryAt` (epoch ms). */
export function failedAttemptEntry(now: number, error: ErrorBody, retryAt: number): TimelineEntry {
  return timelineEntry('failed_attempt', now, {
    ...errorFields(error),
    delay_seconds: delaySecondsUntil(now, retryAt),
  });
}

/** A final failure (`failed`) or the last attempt's (`dead`). */
export function errorEntry(event: 'failed' | 'dead', now: number, error: ErrorBody): TimelineEntry {
  return timelineEntry(event, now, errorFields(error));
}
