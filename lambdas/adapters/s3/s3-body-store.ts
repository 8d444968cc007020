/**
 * BodyStore on S3: large payloads and results (claim check, lambdas/core/domain/claim-check.ts) as JSON
 * objects in the bodies bucket, and presigned GET URLs for results too large to answer inline.
 *
 * A put the bucket refuses for good (a 4xx that is not about time or throttling: EntityTooLarge,
 * AccessDenied, NoSuchBucket…) is a `BodyRejectedError`; anything else is rethrown as transient.
 * A key that does not exist reads as undefined (the bucket's lifecycle deleted it, or it was never
 * written). IAM: PutObject to store, GetObject to read and to presign.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BodyRejectedError } from '../../../model/errors.js';
import type { BodyStore } from '../../core/ports/index.js';

/** S3 client errors (4xx) that a later try may not meet: not a refusal of the body. */
const TRANSIENT_CLIENT_ERRORS = new Set([
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'ExpiredToken',
  'TokenRefreshRequired',
  'OperationAborted',
]);

interface SdkError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

export class S3BodyStore implements BodyStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, text: string): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: 'application/json' }),
      );
    } catch (err) {
      if (isRefusal(err)) {
        const e = err as SdkError;
        throw new BodyRejectedError(`S3 refused the body: ${e.name ?? 'error'}`, { cause: err });
      }
      throw err;
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await out.Body?.transformToString('utf-8')) ?? '';
    } catch (err) {
      const e = err as SdkError;
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }

  presignedUrl(key: string, seconds: number): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentType: 'application/json' }),
      { expiresIn: seconds },
    );
  }
}

function isRefusal(err: unknown): boolean {
  const e = err as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined || status < 400 || status >= 500) return false;
  if (status === 408 || status === 429) return false;
  return !TRANSIENT_CLIENT_ERRORS.has(e.name ?? '');
}
