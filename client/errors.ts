/**
 * The client's typed errors. Every one extends `RiqClientError`, so `instanceof RiqClientError` (or
 * `isRiqClientError`) catches them all; each class can also be told apart with `instanceof`.
 */
import type { RequestView, RiqErrorBody, SubmittedRequest } from './types.js';

export class RiqClientError extends Error {
  override readonly name: string = 'RiqClientError';
}

/** RIQ (or API Gateway) answered a non-2xx status. `code` is RIQ's error code, else `HTTP_<status>`. */
export class RiqApiError extends RiqClientError {
  override readonly name = 'RiqApiError';
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    readonly status: number,
    error: RiqErrorBody,
    /** The answer's body as received (parsed JSON, or `{text}`). */
    readonly body: unknown,
  ) {
    super(error.message);
    this.code = error.code;
    this.retryable = error.retryable;
    this.details = error.details;
  }
}

/** Why nothing listens at the endpoint: the connection was refused, or its host name does not resolve. */
export type Unreachable = 'refused' | 'not_found';

/**
 * The request never got an answer (connection refused or dropped, per-request timeout). A refused
 * connection or an unknown host is thrown at the first attempt (`unreachable` says which); any
 * other failure after every retry.
 */
export class RiqNetworkError extends RiqClientError {
  override readonly name = 'RiqNetworkError';
  readonly unreachable: Unreachable | undefined;
  constructor(
    message: string,
    /** How many HTTP attempts were made. */
    readonly attempts: number,
    options?: { cause?: unknown; unreachable?: Unreachable },
  ) {
    super(message, options);
    this.unreachable = options?.unreachable;
  }
}

/** `waitForResult` gave up before the request reached a terminal state; `lastView` is its last known state. */
export class RiqWaitTimeoutError extends RiqClientError {
  override readonly name = 'RiqWaitTimeoutError';
  constructor(
    readonly token: string,
    readonly timeoutMs: number,
    readonly lastView: RequestView | undefined,
  ) {
    super(
      `request ${token} not finished after ${timeoutMs} ms (last status: ${lastView?.status ?? 'unknown'})`,
    );
  }
}

/** A request (through the adapters) ended `failed` or `dead`; `error` is the request's own error. */
export class RiqRequestFailedError extends RiqClientError {
  override readonly name = 'RiqRequestFailedError';
  readonly code: string;
  readonly retryable: boolean;

  constructor(
    readonly token: string,
    readonly status: 'failed' | 'dead',
    readonly error: RiqErrorBody | undefined,
    /** The request's last view (or the submit answer when it failed on the DIRECT path). */
    readonly view: RequestView | SubmittedRequest,
  ) {
    super(`request ${token} ${status}: ${error ? `${error.code}: ${error.message}` : 'no error recorded'}`);
    this.code = error?.code ?? 'UNKNOWN';
    this.retryable = error?.retryable ?? false;
  }
}

export function isRiqClientError(e: unknown): e is RiqClientError {
  return e instanceof RiqClientError;
}

export function isRiqApiError(e: unknown, code?: string): e is RiqApiError {
  return e instanceof RiqApiError && (code === undefined || e.code === code);
}
