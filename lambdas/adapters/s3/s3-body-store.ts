/**
 * BodyStore on S3: large payloads and results (claim check, lambdas/core/domain/claim-check.ts) as JSON
 * objects in the bodies bucket, and presigned GET URLs for results too large to answer inline.
 *
 * A put the bucket refuses for good (a 4xx that is not about time or throttling: EntityTooLarge,
 * AccessDenied, NoSuchBucket…) is a `BodyRejectedError`; anything else is rethrown as transient
 * (after the retries of s3-objects.ts). A key that does not exist reads as undefined (the bucket's
 * lifecycle deleted it, or it was never written). IAM: PutObject to store, GetObject to read and to
 * presign.
 */
import { BodyRejectedError } from '../../../model/errors.js';
import type { BodyStore } from '../../core/ports/index.js';
import { S3ResponseError, type S3Objects } from './s3-objects.js';

/** 4xx answers of S3 that a later try may not meet: not a refusal of the body. */
const TRANSIENT_CLIENT_ERRORS = new Set([
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'ExpiredToken',
  'TokenRefreshRequired',
  'OperationAborted',
]);

const JSON_TYPE = 'application/json';

export class S3BodyStore implements BodyStore {
  constructor(private readonly objects: S3Objects) {}

  async put(key: string, text: string): Promise<void> {
    try {
      await this.objects.put(key, text, JSON_TYPE);
    } catch (err) {
      if (isRefusal(err)) throw new BodyRejectedError(`S3 refused the body: ${err.name}`, { cause: err });
      throw err;
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await this.objects.get(key);
    } catch (err) {
      if (err instanceof S3ResponseError && (err.name === 'NoSuchKey' || err.status === 404))
        return undefined;
      throw err;
    }
  }

  presignedUrl(key: string, seconds: number): Promise<string> {
    return this.objects.presignedGetUrl(key, seconds, { 'response-content-type': JSON_TYPE });
  }
}

function isRefusal(err: unknown): err is S3ResponseError {
  if (!(err instanceof S3ResponseError)) return false;
  if (err.status < 400 || err.status >= 500 || err.status === 408 || err.status === 429) return false;
  return !TRANSIENT_CLIENT_ERRORS.has(err.name);
}
