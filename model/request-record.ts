/** The stored request and its life cycle. */
import type { Priority, Service } from './config/riq-config.js';
import type { ErrorBody } from './errors.js';
import type { OperationName } from './operations.js';

/** `waiting`: submitted with `depends_on`, some dependency has not finished yet (not terminal). */
export const STATUSES = ['waiting', 'queued', 'processing', 'completed', 'failed', 'cached', 'dead'] as const;
export type Status = (typeof STATUSES)[number];

/** A caller waiting on a result stops waiting at these. */
export const TERMINAL_STATUSES: readonly Status[] = ['completed', 'failed', 'cached', 'dead'];

export function isTerminal(status: Status): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** How long a completed fire-and-forget record (and its result) is kept: one hour. */
export const FIRE_AND_FORGET_RETENTION_SECONDS = 3600;

export type RoutingPath = 'QUEUED' | 'DIRECT' | 'CACHE';

/**
 * What happened to a request, one entry per state change (lambdas/core/domain/timeline.ts builds them):
 * - `submitted`: stored by submit (`reason: depends_on` when it waits for its dependencies);
 * - `direct_call`: submit called Atlassian at once (DIRECT), attempt `attempt`;
 * - `attempt_started`: a worker took the request for attempt `attempt` (a `deferred` right after
 *   means the attempt was given back before any call);
 * - `deferred`: not called now, looked at again in `delay_seconds` (`reason`: no_token, no_points,
 *   paused, breaker_open, probe_taken, busy, not_before, object_busy, object_window,
 *   store_unavailable);
 * - `succeeded`; `failed_attempt`: a retryable failure, retried in `delay_seconds`; `failed`: a
 *   failure that is not retried; `dead`: the last attempt failed;
 * - `dependencies_met`: every dependency finished, queued; `retried`: an operator's retry of a dead
 *   request; `redriven`: a dead request taken again from its dead-letter queue (attempt `attempt`).
 */
export const TIMELINE_EVENTS = [
  'submitted',
  'direct_call',
  'attempt_started',
  'deferred',
  'succeeded',
  'failed_attempt',
  'failed',
  'dead',
  'dependencies_met',
  'retried',
  'redriven',
] as const;
export type TimelineEvent = (typeof TIMELINE_EVENTS)[number];

/** The newest entries a record keeps: when it is full, each new entry drops the oldest. */
export const TIMELINE_LIMIT = 20;

/** One entry of a request's timeline (snake_case, stored and answered as is). */
export interface TimelineEntry {
  /** ISO 8601, from the clock of the code that wrote it. */
  at: string;
  event: TimelineEvent;
  /** The attempt's number (1 first) when the event belongs to one. */
  attempt?: number;
  /** Atlassian's HTTP status, when a call answered one. */
  status_code?: number;
  /** `<code>: <message>` of the error, at most TIMELINE_ERROR_CHARS characters. */
  error?: string;
  /** Why a request was deferred or is waiting. */
  reason?: string;
  /** Seconds until the request is looked at again (a deferral or a retry's backoff). */
  delay_seconds?: number;
}

export interface RequestRecord {
  token: string;
  /** The caller's IAM identity (ARN); only the owner may read the request. */
  owner: string;
  operation: OperationName;
  service: Service;
  priority: Priority;
  /** The payload as submitted; `{}` when it is in the body store (`payload_ref`). */
  payload: Record<string, unknown>;
  /** A payload larger than `bodies.offloadBytes`: where it is in the body store (claim check). */
  payload_ref?: BodyRef;
  status: Status;
  routing_path: RoutingPath;
  idempotency_key?: string;
  consistency_token?: string;
  /**
   * Submitted with `fire_and_forget: true`: once completed, the record (and so its result) is kept
   * only `FIRE_AND_FORGET_RETENTION_SECONDS`; failed and dead records follow the normal rules.
   */
  fire_and_forget?: boolean;
  /** The tokens this request depends on, as submitted. */
  depends_on?: string[];
  /**
   * `after_consistency_token`: the token of the write (`req_<hex>` of the `cst_<hex>`) this request
   * waits to finish (any final state) before it runs; also where a search finds its reconcile ids.
   */
  after_write?: string;
  /** While `waiting`: the dependencies (and the after_write) that have not finished yet. */
  waiting_on?: string[];
  /** Real calls made to Atlassian for this request; an operator's retry or redrive resets it. */
  attempts: number;
  /**
   * Every call ever made to Atlassian for this request, never reset (absent: none yet). The next
   * call's number (`CallContext.attempt`) comes from it, so a create retried after a redrive still
   * reconciles with the calls before the redrive.
   */
  calls?: number;
  created_at: string;
  updated_at: string;
  completed_at?: string;
  /** Set while a worker deferred the request (no token, paused, breaker open…), until it runs. */
  deferred_reason?: string;
  /** ISO 8601: when the deferred request is looked at again. */
  deferred_until?: string;
  /** Epoch ms until which the worker that claimed the request owns it. */
  lease_expires_at?: number;
  result?: unknown;
  /** A result larger than `bodies.offloadBytes`: where it is in the body store (`result` absent). */
  result_ref?: BodyRef;
  error?: ErrorBody;
  /** Epoch seconds; DynamoDB TTL removes the record after it. Absent while not final, and on dead. */
  expires_at?: number;
  /** The error of a dead request an operator retried, kept while it runs again. */
  last_error?: ErrorBody | null;
  /** What happened to the request, oldest first, at most TIMELINE_LIMIT entries. */
  timeline?: TimelineEntry[];
}

/** Where a payload or result larger than `bodies.offloadBytes` is kept (claim check). */
export interface BodyRef {
  /** The object key in the body store: `requests/<token>/payload.json` or `…/result.json`. */
  key: string;
  /** Size of the stored JSON text, bytes. */
  size_bytes: number;
}

/** A result as a record keeps it: inline, or a pointer to the body store. */
export type StoredResult = { result: unknown } | { result_ref: BodyRef };
