/**
 * Bodies of any size (DESIGN invariant 1), by the claim-check pattern: a payload or result whose
 * JSON is larger than `bodies.offloadBytes` is kept in the body store (S3) under the request's token,
 * and the record (and a read-cache entry) holds a pointer (`BodyRef`) instead of the body. DynamoDB's
 * 400 KB item limit then never refuses a record, so a large result can never leave a request
 * `processing` to be called again on every delivery.
 *
 * - `requests/<token>/payload.json`: stored by submit before the record is written; loaded by the
 *   worker before the call.
 * - `requests/<token>/result.json`: stored after the call, before the record is completed. A result
 *   larger than `bodies.maxResultBytes`, or one the store refuses for good, is a RESULT_TOO_LARGE
 *   failure (`ResultTooLargeError`): the request ends `failed`, it is never called again. Anything
 *   else the store throws is transient and the caller defers, as for DynamoDB trouble.
 * - Answers (GET /result, submit) carry a result inline up to `bodies.inlineResultBytes`; a larger
 *   one as `result_url`, a presigned GET valid `bodies.resultUrlSeconds`, with `result_size_bytes`.
 *
 * The bucket's lifecycle deletes bodies after the retention: a `dead` record kept longer than that
 * by an operator has lost its payload, and a retry of it fails NOT_FOUND instead of calling.
 */
import type { RiqConfig } from '../../../model/config/riq-config.js';
import { BodyRejectedError, NotFoundError, RiqError } from '../../../model/errors.js';
import type { BodyStore } from '../ports/index.js';
import type { BodyRef, StoredResult } from '../../../model/request-record.js';
import type { RequestRecord } from '../../../model/request-record.js';

export type BodyLimits = RiqConfig['bodies'];

/** The object key of a request's payload or result. */
export function bodyKey(token: string, part: 'payload' | 'result'): string {
  return `requests/${token}/${part}.json`;
}

/** The result could not be stored: the request ends `failed` with RESULT_TOO_LARGE. */
export class ResultTooLargeError extends RiqError {
  override readonly name = 'ResultTooLargeError';
  constructor(message: string, details: Record<string, unknown>, options?: { cause?: unknown }) {
    super('RESULT_TOO_LARGE', message, details, options);
  }
}

/** JSON text and its size in bytes. */
function serialize(value: unknown): { text: string; size: number } {
  const text = JSON.stringify(value) ?? 'null';
  return { text, size: Buffer.byteLength(text, 'utf8') };
}

/**
 * The payload fields of a new record: the payload itself, or `{}` and a pointer once the payload is
 * stored. A failure of the store propagates (nothing is written yet: the submit fails whole).
 */
export async function storePayload(
  bodies: BodyStore,
  limits: Pick<BodyLimits, 'offloadBytes'>,
  token: string,
  payload: Record<string, unknown>,
): Promise<Pick<RequestRecord, 'payload' | 'payload_ref'>> {
  const { text, size } = serialize(payload);
  if (size <= limits.offloadBytes) return { payload };
  const key = bodyKey(token, 'payload');
  await bodies.put(key, text);
  return { payload: {}, payload_ref: { key, size_bytes: size } };
}

/**
 * The record's payload, loaded from the body store when it holds a pointer. A payload that is gone
 * (the bucket's lifecycle deleted it) is NOT_FOUND: not retryable, the request ends `failed`.
 */
export async function loadPayload(
  bodies: BodyStore | undefined,
  record: Pick<RequestRecord, 'token' | 'payload' | 'payload_ref'>,
): Promise<Record<string, unknown>> {
  if (record.payload_ref === undefined) return record.payload;
  const text = await readBody(bodies, record.payload_ref);
  if (text === undefined) {
    throw new NotFoundError(`the stored payload of ${record.token} is gone (bodies are kept retentionDays)`, {
      field: 'payload',
      key: record.payload_ref.key,
    });
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * A call's result as the record will keep it: inline up to `offloadBytes`, else stored under
 * `requests/<token>/result.json`. Throws ResultTooLargeError for a result over `maxResultBytes` or
 * one the store refuses for good; any other error is the store's (transient).
 */
export async function storeResult(
  bodies: BodyStore | undefined,
  limits: Pick<BodyLimits, 'offloadBytes' | 'maxResultBytes'>,
  token: string,
  result: unknown,
): Promise<StoredResult> {
  const { text, size } = serialize(result);
  if (size <= limits.offloadBytes) return { result };
  if (size > limits.maxResultBytes) {
    throw new ResultTooLargeError(`the result is ${size} bytes; the limit is ${limits.maxResultBytes}`, {
      size,
      limit: limits.maxResultBytes,
    });
  }
  if (!bodies) {
    throw new ResultTooLargeError(
      `the result is ${size} bytes and no body store is configured; the limit is ${limits.offloadBytes}`,
      { size, limit: limits.offloadBytes },
    );
  }
  const key = bodyKey(token, 'result');
  try {
    await bodies.put(key, text);
  } catch (err) {
    if (!(err instanceof BodyRejectedError)) throw err;
    throw new ResultTooLargeError(
      `the result (${size} bytes) could not be stored: ${err.message}`,
      { size },
      { cause: err },
    );
  }
  return { result_ref: { key, size_bytes: size } };
}

/** The result a stored one stands for, loaded when it is a pointer (undefined when it is gone). */
export async function loadResult(bodies: BodyStore | undefined, stored: StoredResult): Promise<unknown> {
  if (!('result_ref' in stored)) return stored.result;
  const text = await readBody(bodies, stored.result_ref);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

/** The record's result as a StoredResult, or undefined when it has none. */
export function storedResultOf(
  record: Pick<RequestRecord, 'result' | 'result_ref'>,
): StoredResult | undefined {
  if (record.result_ref !== undefined) return { result_ref: record.result_ref };
  return record.result !== undefined ? { result: record.result } : undefined;
}

/** How an answer carries a result: inline, or as a presigned URL with its size. */
export type ResultAnswer =
  { result: unknown } | { result_url: string; result_size_bytes: number; result_url_expires_at: string };

/**
 * A result for an answer (GET /result, submit): inline when it is inline or its stored JSON is at
 * most `inlineResultBytes` (loaded from the store), else a presigned URL valid `resultUrlSeconds`.
 * A stored result that is gone is NOT_FOUND.
 */
export async function answerResult(
  bodies: BodyStore | undefined,
  limits: Pick<BodyLimits, 'inlineResultBytes' | 'resultUrlSeconds'>,
  stored: StoredResult,
  now: number,
): Promise<ResultAnswer> {
  if (!('result_ref' in stored)) return { result: stored.result };
  const ref = stored.result_ref;
  if (ref.size_bytes <= limits.inlineResultBytes) {
    const result = await loadResult(bodies, stored);
    if (result === undefined) throw goneResult(ref);
    return { result };
  }
  if (!bodies) throw goneResult(ref);
  return {
    result_url: await bodies.presignedUrl(ref.key, limits.resultUrlSeconds),
    result_size_bytes: ref.size_bytes,
    result_url_expires_at: new Date(now + limits.resultUrlSeconds * 1000).toISOString(),
  };
}

function goneResult(ref: BodyRef): NotFoundError {
  return new NotFoundError('the stored result is gone (bodies are kept retentionDays)', {
    field: 'result',
    key: ref.key,
  });
}

async function readBody(bodies: BodyStore | undefined, ref: BodyRef): Promise<string | undefined> {
  if (!bodies) return undefined;
  return bodies.get(ref.key);
}
