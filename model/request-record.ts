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
