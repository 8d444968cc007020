/**
 * The views the HTTP API answers with: a request's state and result (`GET /api/queue/result/{token}`)
 * and a page of dead letters (`GET /api/queue/dead-letters`).
 */
import type { Priority, Service } from './config/riq-config.js';
import type { ErrorBody } from './errors.js';
import type { OperationName } from './operations.js';
import type { RequestRecord, RoutingPath, Status, TimelineEntry } from './request-record.js';

/** A request as `GET /api/queue/result/{token}` answers it. */
export interface ResultResponse {
  token: string;
  status: Status;
  operation: OperationName;
  priority: Priority;
  routing_path: RoutingPath;
  attempts: number;
  created_at: string;
  updated_at: string;
  completed_at?: string;
  /** While `waiting`: the dependencies not finished yet. */
  waiting_on?: string[];
  result?: unknown;
  /** A result over `bodies.inlineResultBytes`: a presigned GET of its JSON (`result` is absent). */
  result_url?: string;
  result_size_bytes?: number;
  /** ISO 8601: when `result_url` stops working (ask again for a new one). */
  result_url_expires_at?: string;
  error?: ErrorBody;
  /** What happened to the request, oldest first (the newest 20 entries). */
  timeline: TimelineEntry[];
}

/** One dead request as the operator list shows it. */
export interface DeadLetterEntry {
  token: string;
  operation: RequestRecord['operation'];
  service: Service;
  priority: RequestRecord['priority'];
  owner: string;
  attempts: number;
  error: RequestRecord['error'] | null;
  created_at: string;
  updated_at: string;
}

export interface DeadLetterPage {
  dead_letters: DeadLetterEntry[];
  count: number;
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** The statuses the operator's request listing can show (those the by-status index holds). */
export const LISTED_STATUSES = ['processing', 'queued', 'waiting', 'dead'] as const;
export type ListedStatus = (typeof LISTED_STATUSES)[number];

/** One request as `GET /api/queue/requests` lists it. */
export interface RequestSummary {
  token: string;
  status: ListedStatus;
  service: Service;
  operation: OperationName;
  priority: Priority;
  attempts: number;
  created_at: string;
  updated_at: string;
  /** The error of the last failed attempt (or, after an operator's retry, the one that killed it). */
  last_error?: ErrorBody;
}

export interface RequestSummaryPage {
  requests: RequestSummary[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  next_cursor?: string;
}

/** Any request as `GET /api/queue/requests/{token}` shows it to the operator: no payload, no result. */
export interface OperatorRequestView {
  token: string;
  status: Status;
  service: Service;
  operation: OperationName;
  priority: Priority;
  /** The caller's IAM identity that submitted it. */
  owner: string;
  routing_path: RoutingPath;
  attempts: number;
  created_at: string;
  updated_at: string;
  completed_at?: string;
  depends_on?: string[];
  /** While `waiting`: the dependencies not finished yet. */
  waiting_on?: string[];
  /** While a deferral holds it: why, and until when (ISO 8601). */
  deferred_reason?: string;
  deferred_until?: string;
  /** The request's error, or (after an operator's retry) the error that killed it. */
  last_error?: ErrorBody;
  timeline: TimelineEntry[];
}
