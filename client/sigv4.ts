/**
 * SigV4 request signing with the AWS SDK's own signer (`SignatureV4` from `@smithy/signature-v4`,
 * node's SHA-256 through `@smithy/core/checksum`). `signRequest` is the one function the client
 * signs with; the unit test checks it against AWS's published `get-vanilla` vector.
 *
 * The signer is imported on the first signature: a `riq` command against the local stack never
 * signs, and loading the signer would be most of its start-up.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export type { AwsCredentialIdentity, AwsCredentialIdentityProvider };

/** What to sign: the request as the client sends it. */
export interface RequestToSign {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface SigningParams {
  region: string;
  /** @default 'execute-api' */
  service?: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Injected for tests. @default now */
  signingDate?: Date;
}

/**
 * Answers the request's headers with the signature added (`authorization`, `x-amz-date`, and
 * `x-amz-security-token` for session credentials). The `host` header is signed and answered too;
 * `fetch` sets the same value from the URL, so callers may drop it.
 */
export async function signRequest(
  req: RequestToSign,
  params: SigningParams,
): Promise<Record<string, string>> {
  const url = new URL(req.url);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const prev = query[key];
    if (prev === undefined) query[key] = value;
    else query[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'host')) headers['host'] = url.host;

  const [{ Sha256 }, { SignatureV4 }] = await Promise.all([
    import('@smithy/core/checksum'),
    import('@smithy/signature-v4'),
  ]);
  const signer = new SignatureV4({
    credentials: params.credentials,
    region: params.region,
    service: params.service ?? 'execute-api',
    sha256: Sha256,
    // The payload hash is always part of the signature; `x-amz-content-sha256` is only for S3.
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: req.method.toUpperCase(),
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
    },
    params.signingDate ? { signingDate: params.signingDate } : {},
  );
  return { ...(signed.headers as Record<string, string>) };
}

/** True when requests to `endpoint` must be signed: a region is given or the host is AWS's. */
export function shouldSign(endpoint: string, region: string | undefined): boolean {
  if (region) return true;
  return new URL(endpoint).hostname.toLowerCase().endsWith('.amazonaws.com');
}

/** `abc.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`; undefined for any other host. */
export function regionFromEndpoint(endpoint: string): string | undefined {
  const host = new URL(endpoint).hostname.toLowerCase();
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1];
}

/** The AWS SDK's default credential chain (env, SSO, shared ini, web identity, ECS/EC2 metadata), memoized. */
export async function defaultCredentialProvider(): Promise<AwsCredentialIdentityProvider> {
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider();
}
