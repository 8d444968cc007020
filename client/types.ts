/**
 * The contract of RIQ's TypeScript client: what `QueueClient` (client/queue-client.ts)
 * offers and answers. The queued adapters (client/adapters.ts) and the `riq` CLI (client/cli/)
 * are written against this file. Shapes follow the HTTP API (docs/api.md); field names stay the
 * API's snake_case where they are the server's data.
 */
import type { Priority } from '../model/config/riq-config.js';
import type { OperationName, OperationPayload } from '../model/operations.js';
import type { RoutingPath, Status } from '../model/request-record.js';

export type { OperationName, OperationPayload, Priority, RoutingPath };
/** A stored request's status (`cached` is only ever a submit's answer). */
export type RequestStatus = Exclude<Status, 'cached'>;

/** The error body of every RIQ answer other than 2xx. */
export interface RiqErrorBody {
  code: string;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

export interface ClientOptions {
  /** API base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/dev` or `http://localhost:3000`. */
  endpoint: string;
  /**
   * AWS region to sign for. Given (or an `*.amazonaws.com` endpoint): requests are signed with SigV4
   * (service `execute-api`) using the AWS SDK's signer and default credential chain. Absent with a
   * non-AWS endpoint: plain HTTP (the local stack).
   */
  region?: string;
  /** Local stack only: the caller identity header (`X-Riq-Caller`). */
  caller?: string;
  /** Network failures and 5xx retried this many times (with backoff) per call. @default 3 */
  retries?: number;
  /** First retry's backoff, ms; doubled per retry (capped at 5 s), with jitter. @default 250 */
  retryBaseDelayMs?: number;
  /** Per HTTP request timeout, ms. @default 30_000 */
  timeoutMs?: number;
  /** Injected for tests: the fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Injected for tests: AWS credentials provider (SDK `AwsCredentialIdentityProvider`). */
  credentials?: unknown;
}

export interface SubmitOptions {
  priority?: Priority;
  /**
   * Writes: generated (a UUID) when absent, so a retried submit never duplicates. Reads: sent only
   * when given, since a key makes the server skip the read cache (a repeated read is harmless).
   */
  idempotencyKey?: string;
  fresh?: boolean;
  routing?: 'adaptive' | 'queued';
  fireAndForget?: boolean;
  dependsOn?: string[];
  afterConsistencyToken?: string;
}

/** The answer of a stored request (status not `cached`). */
export interface SubmittedRequest {
  status: Exclude<RequestStatus, 'processing'> | 'processing';
  token: string;
  poll_url: string;
  routing_path: 'QUEUED' | 'DIRECT';
  consistency_token?: string;
  /** The result, also when the API answered it as a presigned `result_url` (the client fetched it). */
  result?: unknown;
  error?: RiqErrorBody;
  /** HTTP 202: accepted fire-and-forget. */
  accepted?: boolean;
}

/** The answer of a read served from the cache: no token, nothing to poll. */
export interface CachedAnswer {
  status: 'cached';
  routing_path: 'CACHE';
  result: unknown;
  cached_at: string;
}

export type SubmitAnswer = SubmittedRequest | CachedAnswer;

/** `GET /api/queue/result/{token}`: the server's own answer type, read with the client's error body. */
export interface RequestView extends Omit<ResultResponse, 'status' | 'error'> {
  status: RequestStatus;
  error?: RiqErrorBody;
}

export interface WaitOptions {
  /** Give up after this many ms (the call then throws `RiqWaitTimeoutError`). @default 60_000 */
  timeoutMs?: number;
}

/** The dead-letter listing (operator routes): the server's own types, so the two cannot drift. */
export type { DeadLetterEntry, DeadLetterPage } from '../model/api-views.js';
/** The operator's request listing and view, and the timeline entries: the server's own types. */
export type {
  ListedStatus,
  OperatorRequestView,
  RequestSummary,
  RequestSummaryPage,
} from '../model/api-views.js';
export type { TimelineEntry, TimelineEvent } from '../model/request-record.js';
import type { ResultResponse } from '../model/api-views.js';
import type {
  DeadLetterPage,
  ListedStatus,
  OperatorRequestView,
  RequestSummaryPage,
} from '../model/api-views.js';

/** `GET /api/queue/requests` (operator): all given filters apply together. */
export interface ListRequestsOptions {
  /** One listed status; absent: processing, queued, waiting and dead, one after another. */
  status?: ListedStatus;
  /** Exact operation name, e.g. `jira.create_task`. */
  operation?: string;
  service?: string;
  /** 1–100. @default 25 */
  limit?: number;
  /** The `next_cursor` of the previous page. */
  cursor?: string;
}

export interface QueueClientApi {
  submit<O extends OperationName>(
    operation: O,
    payload: OperationPayload<O>,
    options?: SubmitOptions,
  ): Promise<SubmitAnswer>;
  getResult(token: string): Promise<RequestView>;
  /** Long-polls (`?wait=`, the server's cap) until the request is terminal or the timeout passes. */
  waitForResult(token: string, options?: WaitOptions): Promise<RequestView>;
  health(): Promise<Record<string, unknown>>;
  circuitBreakers(): Promise<Record<string, unknown>>;
  metrics(): Promise<Record<string, unknown>>;
  listDeadLetters(options?: { service?: string; limit?: number; cursor?: string }): Promise<DeadLetterPage>;
  /** Operator: requests in flight or dead, any owner's, oldest first within each status. */
  listRequests(options?: ListRequestsOptions): Promise<RequestSummaryPage>;
  /** Operator: any request by token with its timeline (no payload, no result). */
  getRequest(token: string): Promise<OperatorRequestView>;
  retryDeadLetter(token: string): Promise<Record<string, unknown>>;
  purgeDeadLetter(token: string): Promise<Record<string, unknown>>;
  redriveDeadLetters(service?: string): Promise<Record<string, unknown>>;
}
