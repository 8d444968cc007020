/**
 * The views the HTTP API answers with: a request's state and result (`GET /api/queue/result/{token}`)
 * and a page of dead letters (`GET /api/queue/dead-letters`).
 */
import type { Priority, Service } from './config/riq-config.js';
import type { ErrorBody } from './errors.js';
import type { OperationName } from './operations.js';
import type { RequestRecord, RoutingPath, Status } from './request-record.js';

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
