/**
 * Forwards one console call to the RIQ endpoint as the `riq` CLI would send it: against AWS signed
 * with SigV4 for `execute-api` with the operator's credentials (client/sigv4.ts, the SDK's signer),
 * locally as plain HTTP. Only `accept` and `content-type` travel with the body: no cookie, no
 * browser header reaches the API, and only the answer's status, body, `content-type` and `allow`
 * come back.
 */
import {
  defaultCredentialProvider,
  regionFromEndpoint,
  shouldSign,
  signRequest,
  type AwsCredentialIdentity,
  type AwsCredentialIdentityProvider,
} from '../sigv4.js';

export interface UpstreamOptions {
  /** RIQ's base URL, e.g. `http://localhost:3000` or `https://abc.execute-api.eu-west-1.amazonaws.com`. */
  endpoint: string;
  /** Sign for this region (required for an AWS endpoint whose host does not name one). */
  region?: string;
  /** @default the AWS SDK's default credential chain, as the CLI uses */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /**
   * Longer than the API's 25 s long poll and API Gateway's 29 s integration timeout.
   * @default 35_000
   */
  timeoutMs?: number;
}

export interface ProxiedCall {
  method: string;
  /** Path and query as the browser sent them, e.g. `/api/queue/dead-letters?limit=20`. */
  pathAndQuery: string;
  accept?: string;
  contentType?: string;
  body?: string;
}

export type UpstreamAnswer =
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'signing-failed'; message: string };

export interface Upstream {
  readonly endpoint: string;
  /** The region calls are signed for; undefined when they are sent unsigned (a local endpoint). */
  readonly signingRegion: string | undefined;
  forward(call: ProxiedCall): Promise<UpstreamAnswer>;
}

export function createUpstream(options: UpstreamOptions): Upstream {
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const signing = shouldSign(endpoint, options.region);
  const region = options.region ?? (signing ? regionFromEndpoint(endpoint) : undefined);
  if (signing && !region) throw new TypeError(`cannot tell the AWS region of ${endpoint}; pass --region`);
  const timeoutMs = options.timeoutMs ?? 35_000;
  let credentials: Promise<AwsCredentialIdentity | AwsCredentialIdentityProvider> | undefined;
  const credentialSource = () =>
    (credentials ??= options.credentials
      ? Promise.resolve(options.credentials)
      : defaultCredentialProvider());

  async function headersFor(call: ProxiedCall, url: string): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: call.accept ?? 'application/json' };
    if (call.body !== undefined) headers['content-type'] = call.contentType ?? 'application/json';
    if (!signing) return headers;
    const signed = await signRequest(
      { method: call.method, url, headers, ...(call.body !== undefined ? { body: call.body } : {}) },
      { region: region!, service: 'execute-api', credentials: await credentialSource() },
    );
    // fetch sets `host` from the URL (the value signed).
    delete signed['host'];
    return signed;
  }

  return {
    endpoint,
    signingRegion: signing ? region : undefined,
    async forward(call) {
      const url = `${endpoint}${call.pathAndQuery}`;
      let headers: Record<string, string>;
      try {
        headers = await headersFor(call, url);
      } catch (err) {
        return { kind: 'signing-failed', message: `cannot sign the call: ${messageOf(err)}` };
      }
      try {
        const res = await fetch(url, {
          method: call.method,
          headers,
          ...(call.body !== undefined ? { body: call.body } : {}),
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        const kept: Record<string, string> = {};
        for (const name of ['content-type', 'allow']) {
          const value = res.headers.get(name);
          if (value !== null) kept[name] = value;
        }
        return { kind: 'answer', status: res.status, headers: kept, body: await res.text() };
      } catch (err) {
        return { kind: 'unreachable', message: `${call.method} ${endpoint} failed: ${messageOf(err)}` };
      }
    },
  };
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}
