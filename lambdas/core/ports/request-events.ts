/**
 * What happened to a request, told by the use cases that move it (the worker's `processRequest`
 * and the DIRECT path, through `callAndSettle`) to whoever watches: the handlers turn each event
 * into one structured log line and the CloudWatch metrics of model/config/metrics.ts. The use cases
 * stay free of logging and metrics libraries; an absent observer hears nothing.
 */
import type { ErrorBody } from '../../../model/errors.js';
import type { DeferReason } from './index.js';
import type { RequestRecord } from '../../../model/request-record.js';

/** The fields of the request an observer reports by. */
export type EventRecord = Pick<
  RequestRecord,
  'token' | 'operation' | 'service' | 'priority' | 'created_at' | 'routing_path'
>;

export type RequestEvent =
  /** Stored `completed`. `at`: epoch ms of the completion. */
  | { kind: 'completed'; record: EventRecord; at: number; attempt: number }
  /** Stored `failed` (not retryable, or its payload could not be resolved). */
  | { kind: 'failed'; record: EventRecord; at: number; attempt?: number; error: ErrorBody }
  /** Stored `dead`: the last attempt failed; the message goes to the DLQ. */
  | { kind: 'dead'; record: EventRecord; at: number; attempt: number; error: ErrorBody }
  /** Back to `queued` after a retryable failure, retried after `delaySeconds`. */
  | {
      kind: 'retry';
      record: EventRecord;
      at: number;
      attempt: number;
      error: ErrorBody;
      delaySeconds: number;
    }
  /** Back to `queued` without a call (no attempt spent). */
  | { kind: 'deferred'; record: EventRecord; at: number; reason: DeferReason; waitMs: number };

export type RequestObserver = (event: RequestEvent) => void;
