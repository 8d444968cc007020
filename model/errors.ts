/**
 * RIQ's typed errors. Each carries the error code of the HTTP contract, whether a retry may help,
 * and the HTTP status it maps to (lambdas/api/http.ts is the one place that maps them).
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: { retryable: false, httpStatus: 400 },
  NOT_FOUND: { retryable: false, httpStatus: 404 },
  /** A request listing asked for a status the by-status index does not hold. */
  INVALID_STATUS: { retryable: false, httpStatus: 400 },
  /** A route's path with a method it does not serve; the answer's `Allow` header lists those it does. */
  METHOD_NOT_ALLOWED: { retryable: false, httpStatus: 405 },
  IDEMPOTENCY_CONFLICT: { retryable: false, httpStatus: 409 },
  /** An operator action on a dead letter whose request is no longer `dead`. */
  NOT_DEAD: { retryable: false, httpStatus: 409 },
  PAYLOAD_TOO_LARGE: { retryable: false, httpStatus: 413 },
  /** A request body whose `content-type` is not JSON. */
  UNSUPPORTED_MEDIA_TYPE: { retryable: false, httpStatus: 415 },
  NOT_IMPLEMENTED: { retryable: false, httpStatus: 501 },
  RATE_LIMITED: { retryable: true, httpStatus: 429 },
  AUTH_FAILED: { retryable: true, httpStatus: 502 },
  TIMEOUT: { retryable: true, httpStatus: 504 },
  SERVICE_UNAVAILABLE: { retryable: true, httpStatus: 503 },
  PERMISSION_DENIED: { retryable: false, httpStatus: 403 },
  DEPENDENCY_FAILED: { retryable: false, httpStatus: 424 },
  /**
   * The call's result could not be stored: larger than `bodies.maxResultBytes`, or refused for good
   * by the body store. The request ends `failed`; calling again would give the same result.
   */
  RESULT_TOO_LARGE: { retryable: false, httpStatus: 413 },
  INTERNAL_ERROR: { retryable: true, httpStatus: 500 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The `error` object of the HTTP contract and of a failed request's record. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** Always set by RiqError.toBody; a record stored without it is answered with `{}` (withDetails). */
  details?: Record<string, unknown>;
}

/** A stored error body as the contract answers it: with `details`, `{}` when it has none. */
export function withDetails(error: ErrorBody): ErrorBody & { details: Record<string, unknown> } {
  return { ...error, details: error.details ?? {} };
}

export class RiqError extends Error {
  override readonly name: string = 'RiqError';
  readonly retryable: boolean;
  readonly httpStatus: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = ERROR_CODES[code].retryable;
    this.httpStatus = ERROR_CODES[code].httpStatus;
  }

  toBody(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      // Always there, empty when there is nothing to add: the contract's error body has four fields.
      details: this.details ?? {},
    };
  }
}

/** One problem with the input, named by its path (`payload.task_id`). */
export interface FieldIssue {
  field: string;
  message: string;
}

export class ValidationError extends RiqError {
  override readonly name = 'ValidationError';
  constructor(message: string, issues: FieldIssue[]) {
    super('VALIDATION_ERROR', message, { field: issues[0]?.field ?? '', issues });
  }

  static forField(field: string, message: string): ValidationError {
    return new ValidationError(`${field}: ${message}`, [{ field, message }]);
  }
}

export class NotFoundError extends RiqError {
  override readonly name = 'NotFoundError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('NOT_FOUND', message, details);
  }
}

export class IdempotencyConflictError extends RiqError {
  override readonly name = 'IdempotencyConflictError';
  constructor(idempotencyKey: string, existingToken: string) {
    super(
      'IDEMPOTENCY_CONFLICT',
      'idempotency_key was already used with a different request (operation, payload, priority, depends_on, after_consistency_token or fire_and_forget)',
      {
        idempotency_key: idempotencyKey,
        token: existingToken,
      },
    );
  }
}

export class PayloadTooLargeError extends RiqError {
  override readonly name = 'PayloadTooLargeError';
  constructor(size: number, limit: number) {
    super('PAYLOAD_TOO_LARGE', `request body is ${size} bytes; the limit is ${limit}`, {
      field: 'body',
      size,
      limit,
    });
  }
}

/** An error from the upstream service (Atlassian), as classified by the adapters. */
export class UpstreamError extends RiqError {
  override readonly name = 'UpstreamError';
  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown> & { status?: number; retryAfterSeconds?: number },
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }

  /** The upstream's `Retry-After`, when it gave one. */
  get retryAfterSeconds(): number | undefined {
    const v = this.details?.['retryAfterSeconds'];
    return typeof v === 'number' ? v : undefined;
  }
}

/** The body store refused a body for good (too large, access denied, no such bucket): never retried. */
export class BodyRejectedError extends Error {
  override readonly name = 'BodyRejectedError';
}

/**
 * RIQ's own bookkeeping of an external call (the done-once record) failed before the call was
 * made: nothing reached Atlassian, so it is neither an attempt nor a breaker failure.
 */
export class CallNotMadeError extends Error {
  override readonly name = 'CallNotMadeError';
}

/** Turns anything thrown into a RiqError without leaking internals of unknown errors. */
export function toRiqError(err: unknown): RiqError {
  if (err instanceof RiqError) return err;
  return new RiqError('INTERNAL_ERROR', 'internal error', undefined, { cause: err });
}
