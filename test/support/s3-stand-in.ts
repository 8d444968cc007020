/**
 * A stand-in for S3 on loopback that checks every request's SigV4 signature the way S3 documents it
 * (header auth with `x-amz-content-sha256`, and presigned query auth with `UNSIGNED-PAYLOAD`),
 * computed here from the bytes that arrived, independently of the SDK's signer. A request whose
 * signature does not match, or whose body does not match its stated SHA-256, is answered as S3
 * answers it. Tests can queue error answers ahead of the next requests.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface ReceivedRequest {
  readonly method: string;
  /** The path and query as sent. */
  readonly target: string;
  readonly headers: IncomingMessage['headers'];
  /** How it was authorized: `header`, `query` or `refused`. */
  readonly auth: 'header' | 'query' | 'refused';
}

export interface S3StandIn {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly objects: Map<string, { body: string; contentType: string }>;
  readonly received: ReceivedRequest[];
  /** The next requests are answered with these statuses and error codes, in order. */
  failNext(...answers: { status: number; code: string }[]): void;
  close(): Promise<void>;
}

const RFC3986_UNRESERVED = /[A-Za-z0-9\-._~]/;

/** URI-encodes every byte but RFC 3986's unreserved characters, as SigV4's canonical forms ask. */
function uriEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += RFC3986_UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function signature(
  secret: string,
  scope: { date: string; region: string; service: string },
  amzDate: string,
  canonicalRequest: string,
): string {
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secret}`, scope.date);
  key = hmac(key, scope.region);
  key = hmac(key, scope.service);
  key = hmac(key, 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** The raw query's pairs, decoded, without `skip`. */
function queryPairs(rawQuery: string, skip?: string): [string, string][] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .map((part) => {
      const i = part.indexOf('=');
      const k = i < 0 ? part : part.slice(0, i);
      const v = i < 0 ? '' : part.slice(i + 1);
      return [decodeURIComponent(k), decodeURIComponent(v)] as [string, string];
    })
    .filter(([k]) => k !== skip);
}

function canonicalRequest(
  req: IncomingMessage,
  path: string,
  pairs: [string, string][],
  signedHeaders: string[],
  payloadHash: string,
): string {
  const query = pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : x! > y! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders
    .map(
      (h) =>
        `${h}:${String(req.headers[h] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  // S3 signs the key's path encoded once, from the key it decoded.
  const canonicalPath = path
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
  return [req.method, canonicalPath, query, headers, signedHeaders.join(';'), payloadHash].join('\n');
}

export async function startS3StandIn(
  credentials: StandInCredentials,
  region = 'us-east-1',
): Promise<S3StandIn> {
  const objects = new Map<string, { body: string; contentType: string }>();
  const received: ReceivedRequest[] = [];
  const failures: { status: number; code: string }[] = [];

  function verify(req: IncomingMessage, body: Buffer): 'header' | 'query' | string {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const rawQuery = q < 0 ? '' : target.slice(q + 1);
    const auth = req.headers['authorization'];
    if (auth !== undefined) {
      const m =
        /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
          auth,
        );
      if (!m) return 'AuthorizationHeaderMalformed';
      const [, keyId, date, reqRegion, service, signed, sig] = m;
      if (keyId !== credentials.accessKeyId) return 'InvalidAccessKeyId';
      if (reqRegion !== region || service !== 's3') return 'AuthorizationHeaderMalformed';
      const signedHeaders = signed!.split(';');
      for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date']) {
        if (!signedHeaders.includes(required)) return 'AccessDenied';
      }
      if (credentials.sessionToken !== undefined) {
        if (req.headers['x-amz-security-token'] !== credentials.sessionToken) return 'InvalidToken';
        if (!signedHeaders.includes('x-amz-security-token')) return 'AccessDenied';
      }
      const payloadHash = String(req.headers['x-amz-content-sha256']);
      if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256Hex(body))
        return 'XAmzContentSHA256Mismatch';
      const expected = signature(
        credentials.secretAccessKey,
        { date: date!, region, service: 's3' },
        String(req.headers['x-amz-date']),
        canonicalRequest(req, path, queryPairs(rawQuery), signedHeaders, payloadHash),
      );
      return expected === sig ? 'header' : 'SignatureDoesNotMatch';
    }
    const params = new Map(queryPairs(rawQuery));
    if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'AccessDenied';
    const [keyId, date, reqRegion, service] = (params.get('X-Amz-Credential') ?? '').split('/');
    if (keyId !== credentials.accessKeyId) return 'InvalidAccessKeyId';
    if (reqRegion !== region || service !== 's3') return 'AuthorizationQueryParametersError';
    if (
      credentials.sessionToken !== undefined &&
      params.get('X-Amz-Security-Token') !== credentials.sessionToken
    ) {
      return 'InvalidToken';
    }
    const amzDate = params.get('X-Amz-Date') ?? '';
    const issued = Date.parse(
      amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    if (Date.now() > issued + Number(params.get('X-Amz-Expires')) * 1000) return 'AccessDenied';
    const expected = signature(
      credentials.secretAccessKey,
      { date: date!, region, service: 's3' },
      amzDate,
      canonicalRequest(
        req,
        path,
        queryPairs(rawQuery, 'X-Amz-Signature'),
        (params.get('X-Amz-SignedHeaders') ?? '').split(';'),
        'UNSIGNED-PAYLOAD',
      ),
    );
    return expected === params.get('X-Amz-Signature') ? 'query' : 'SignatureDoesNotMatch';
  }

  function answerError(res: ServerResponse, status: number, code: string): void {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
    );
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const verdict = verify(req, body);
      const auth = verdict === 'header' || verdict === 'query' ? verdict : 'refused';
      received.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers, auth });
      if (auth === 'refused') return answerError(res, 403, verdict);
      const failure = failures.shift();
      if (failure) return answerError(res, failure.status, failure.code);
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const key = decodeURIComponent(url.pathname);
      if (req.method === 'PUT') {
        objects.set(key, {
          body: body.toString('utf8'),
          contentType: String(req.headers['content-type'] ?? ''),
        });
        res.writeHead(200, { etag: `"${sha256Hex(body).slice(0, 32)}"` });
        return res.end();
      }
      const object = objects.get(key);
      if (req.method !== 'GET') return answerError(res, 405, 'MethodNotAllowed');
      if (!object) return answerError(res, 404, 'NoSuchKey');
      res.writeHead(200, {
        'content-type': url.searchParams.get('response-content-type') ?? object.contentType,
      });
      res.end(object.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    received,
    failNext: (...answers) => failures.push(...answers),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
