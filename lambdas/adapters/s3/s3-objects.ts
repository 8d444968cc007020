/**
 * The three S3 requests the bodies bucket needs: PUT and GET of one object, and a presigned GET
 * URL. Each is a `fetch` signed by the AWS SDK's own SigV4 signer (`@smithy/signature-v4`) or
 * presigned by its S3 presigner (`@aws-sdk/s3-request-presigner`), and retried by the SDK's standard
 * retry strategy with the SDK's own error classification (`@smithy/core/retry`).
 *
 * Why not `@aws-sdk/client-s3`: for these three requests it adds about 155 KB to every bundle that
 * touches bodies (the schema of each of S3's operations, its endpoint rules, checksums and event
 * streams) and about 35 ms to the function's module init (`npm run bench -- coldstart`). The S3
 * REST requests made here are the documented PutObject and GetObject; where the bucket is comes
 * from the deployment (env.ts), so no endpoint rules are needed.
 */
import { formatUrl } from '@aws-sdk/core/util';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { Sha256 } from '@smithy/core/checksum';
import { escapeUriPath } from '@smithy/core/protocols';
import {
  isServerError,
  isThrottlingError,
  isTransientError,
  StandardRetryStrategy,
} from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, HttpRequest, RetryErrorType, SdkError } from '@smithy/types';

/** Where a bucket's objects are and how to sign for them. */
export interface S3BucketAddress {
  /**
   * The URL an object's key is appended to: `https://<bucket>.s3.<region>.amazonaws.com`
   * (virtual-hosted), or `<endpoint>/<bucket>` (path-style).
   */
  readonly url: string;
  readonly region: string;
}

/** An error answer of S3: its HTTP status and the `<Code>` of its XML body. */
export class S3ResponseError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { readonly httpStatusCode: number };

  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status };
  }
}

/** At most this many tries of one request, as the SDK's clients make by default. */
export const S3_MAX_ATTEMPTS = 3;

export interface S3ObjectsOptions {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Injected for tests. @default the SDK's standard retry strategy, 3 attempts */
  readonly retryStrategy?: StandardRetryStrategy;
}

/** What a request carries besides its method and key. */
interface RequestParts {
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
}

export class S3Objects {
  private readonly signer: SignatureV4;
  private readonly presigner: S3RequestPresigner;
  private readonly retries: StandardRetryStrategy;
  private readonly fetch: typeof fetch;
  private readonly base: URL;
  /** The base URL's path without its trailing slash: keys follow it after one. */
  private readonly basePath: string;

  constructor(
    bucket: S3BucketAddress,
    credentials: AwsCredentialIdentityProvider,
    options: S3ObjectsOptions = {},
  ) {
    const signing = { credentials, region: bucket.region, service: 's3', sha256: Sha256 };
    // S3 keys are signed as sent (no second escaping); `x-amz-content-sha256` is required by S3.
    this.signer = new SignatureV4({ ...signing, uriEscapePath: false, applyChecksum: true });
    this.presigner = new S3RequestPresigner(signing);
    this.retries = options.retryStrategy ?? new StandardRetryStrategy(S3_MAX_ATTEMPTS);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.base = new URL(bucket.url);
    this.basePath = this.base.pathname.replace(/\/$/, '');
  }

  /** PutObject; resolves once S3 has stored it. */
  async put(key: string, body: string, contentType: string): Promise<void> {
    await this.send('PUT', key, { body, headers: { 'content-type': contentType } });
  }

  /** GetObject's body as UTF-8 text. */
  async get(key: string): Promise<string> {
    const res = await this.send('GET', key, {});
    return res.text();
  }

  /** A GET URL valid for `seconds`, answering with the given `response-*` overrides. */
  async presignedGetUrl(
    key: string,
    seconds: number,
    overrides: Readonly<Record<string, string>> = {},
  ): Promise<string> {
    const signed = await this.presigner.presign(this.request('GET', key, { query: overrides }), {
      expiresIn: seconds,
    });
    return formatUrl(signed);
  }

  /** One request with the SDK's retries: the successful response, or the last error. */
  private async send(method: 'GET' | 'PUT', key: string, parts: RequestParts): Promise<Response> {
    let token = await this.retries.acquireInitialRetryToken('s3');
    for (;;) {
      try {
        const res = await this.sendOnce(method, key, parts);
        this.retries.recordSuccess(token);
        return res;
      } catch (err) {
        try {
          token = await this.retries.refreshRetryTokenForRetry(token, { errorType: retryErrorType(err) });
        } catch {
          throw err;
        }
      }
    }
  }

  private async sendOnce(method: 'GET' | 'PUT', key: string, parts: RequestParts): Promise<Response> {
    const request = this.request(method, key, parts);
    const signed = await this.signer.sign(request);
    const headers = { ...(signed.headers as Record<string, string>) };
    // fetch sends the URL's host itself (the value signed).
    delete headers['host'];
    const res = await this.fetch(formatUrl(signed), {
      method,
      headers,
      ...(parts.body !== undefined ? { body: parts.body } : {}),
    });
    if (res.ok) return res;
    throw await responseError(res);
  }

  private request(method: 'GET' | 'PUT', key: string, parts: RequestParts): HttpRequest {
    const base = this.base;
    return {
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      // Each segment of the key percent-encoded as RFC 3986 asks, `/` kept: S3's object path.
      path: `${this.basePath}/${escapeUriPath(key)}`,
      query: { ...parts.query },
      headers: { ...parts.headers, host: base.host },
      ...(parts.body !== undefined ? { body: parts.body } : {}),
    };
  }
}

/** What the SDK's retry middleware calls an error (its `getRetryErrorType`). */
function retryErrorType(err: unknown): RetryErrorType {
  const e = err as SdkError;
  if (isThrottlingError(e)) return 'THROTTLING';
  if (isTransientError(e)) return 'TRANSIENT';
  if (isServerError(e)) return 'SERVER_ERROR';
  return 'CLIENT_ERROR';
}

async function responseError(res: Response): Promise<S3ResponseError> {
  const text = await res.text().catch(() => '');
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `Http${res.status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `S3 answered ${res.status}`;
  return new S3ResponseError(res.status, code, message);
}
