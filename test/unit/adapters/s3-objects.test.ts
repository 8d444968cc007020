/**
 * S3Objects against a loopback S3 stand-in that checks each signature as S3 documents it, computed
 * independently of the SDK's signer: object PUT and GET, presigned GETs, session tokens, key
 * escaping, and the SDK's retry rules (throttling and server errors retried, refusals not).
 */
import { StandardRetryStrategy } from '@smithy/core/retry';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3BodyStore } from '../../../lambdas/adapters/s3/s3-body-store.js';
import { S3Objects, S3ResponseError } from '../../../lambdas/adapters/s3/s3-objects.js';
import { BodyRejectedError } from '../../../model/errors.js';
import { startS3StandIn, type S3StandIn } from '../../support/s3-stand-in.js';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const session = { ...credentials, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars' };

/** The SDK's standard strategy with 1 ms between tries, so the retries take no time. */
function quickRetries(): StandardRetryStrategy {
  return new StandardRetryStrategy({
    maxAttempts: 3,
    baseDelay: 1,
    backoff: { computeNextBackoffDelay: () => 1, setDelayBase: () => undefined },
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let s3: S3StandIn;
let sessionS3: S3StandIn;

beforeAll(async () => {
  s3 = await startS3StandIn(credentials);
  sessionS3 = await startS3StandIn(session);
});
afterAll(async () => {
  await s3.close();
  await sessionS3.close();
});
beforeEach(() => {
  s3.received.length = 0;
});

function objects(standIn = s3, creds: typeof credentials = credentials): S3Objects {
  return new S3Objects({ url: `${standIn.endpoint}/bodies`, region: 'us-east-1' }, async () => creds, {
    retryStrategy: quickRetries(),
  });
}

describe('S3Objects', () => {
  it('puts and gets an object with a signature S3 accepts (host with port, body hash, content type)', async () => {
    const text = JSON.stringify({ body: 'é'.repeat(300_000) });
    await objects().put('requests/req_1/payload.json', text, 'application/json');
    expect(await objects().get('requests/req_1/payload.json')).toBe(text);
    expect(s3.received.map((r) => [r.method, r.auth])).toEqual([
      ['PUT', 'header'],
      ['GET', 'header'],
    ]);
    expect(s3.objects.get('/bodies/requests/req_1/payload.json')?.contentType).toBe('application/json');
  });

  it('signs keys whose characters a URL path must escape, and S3 finds them under the same key', async () => {
    const keys = ['requests/a b/c+d=e&f.json', "requests/it's (1)*!.json", 'requests/é/ü~%.json'];
    for (const key of keys) {
      await objects().put(key, key, 'application/json');
      expect(await objects().get(key)).toBe(key);
      expect(s3.objects.has(`/bodies/${key}`)).toBe(true);
    }
    expect(s3.received.every((r) => r.auth === 'header')).toBe(true);
  });

  it('sends a key with each segment percent-encoded but RFC 3986 unreserved characters, slashes kept', async () => {
    await objects().put("requests/a b/it's (1)*!+=&~é.json", '{}', 'application/json');
    expect(s3.received[0]?.target).toBe('/bodies/requests/a%20b/it%27s%20%281%29%2A%21%2B%3D%26~%C3%A9.json');
  });

  it("signs the session token of temporary credentials (a Lambda role's)", async () => {
    const store = objects(sessionS3, session);
    await store.put('requests/req_2/payload.json', '{}', 'application/json');
    expect(await store.get('requests/req_2/payload.json')).toBe('{}');
    const url = await store.presignedGetUrl('requests/req_2/payload.json', 60);
    expect((await fetch(url)).status).toBe(200);
    expect(sessionS3.received.map((r) => r.auth)).toEqual(['header', 'header', 'query']);
  });

  it('is refused by S3 when signed with the wrong secret (the stand-in checks signatures)', async () => {
    const wrong = objects(s3, { ...credentials, secretAccessKey: 'not-the-secret' });
    const err = await wrong
      .put('requests/req_3/payload.json', '{}', 'application/json')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3ResponseError);
    expect(err).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    expect(s3.received).toHaveLength(1);
  });

  it('presigns a GET that a plain fetch reads, with the response content type it asks for', async () => {
    await objects().put("requests/req 4/it's.json", '{"key":"MD-1"}', 'text/plain');
    const url = await objects().presignedGetUrl("requests/req 4/it's.json", 900, {
      'response-content-type': 'application/json',
    });
    expect(url).toContain('X-Amz-Expires=900');
    expect(url).toContain('X-Amz-Content-Sha256=UNSIGNED-PAYLOAD');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ key: 'MD-1' });
    const tampered = url.replace(
      'response-content-type=application%2Fjson',
      'response-content-type=text%2Fhtml',
    );
    expect(tampered).not.toBe(url);
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('retries throttling and server errors as the SDK does, up to 3 tries in all', async () => {
    s3.failNext({ status: 503, code: 'SlowDown' }, { status: 500, code: 'InternalError' });
    await objects().put('requests/req_5/payload.json', '{"n":5}', 'application/json');
    expect(s3.received).toHaveLength(3);
    expect(s3.objects.get('/bodies/requests/req_5/payload.json')?.body).toBe('{"n":5}');

    s3.received.length = 0;
    s3.failNext(
      { status: 503, code: 'SlowDown' },
      { status: 503, code: 'SlowDown' },
      { status: 503, code: 'SlowDown' },
    );
    const err = await objects()
      .get('requests/req_5/payload.json')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SlowDown', status: 503 });
    expect(s3.received).toHaveLength(3);
  });

  it('does not retry a refusal', async () => {
    s3.failNext({ status: 400, code: 'EntityTooLarge' });
    const err = await objects()
      .put('requests/req_6/payload.json', '{}', 'application/json')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'EntityTooLarge', status: 400 });
    expect(s3.received).toHaveLength(1);
  });

  it('retries a connection refused, then passes the network error on', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/bodies`;
    let calls = 0;
    const down = new S3Objects({ url, region: 'us-east-1' }, async () => credentials, {
      retryStrategy: quickRetries(),
      fetch: (input, init) => {
        calls += 1;
        return fetch(input, init);
      },
    });
    const err = await down.get('requests/x.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(3);
  });
});

describe('S3BodyStore over S3Objects', () => {
  it('reads a missing key as undefined and turns a lasting refusal into BodyRejectedError', async () => {
    const store = new S3BodyStore(objects());
    expect(await store.get('requests/none.json')).toBeUndefined();
    s3.failNext({ status: 403, code: 'AccessDenied' });
    await expect(store.put('requests/req_7.json', '{}')).rejects.toBeInstanceOf(BodyRejectedError);
    s3.failNext(
      { status: 400, code: 'RequestTimeout' },
      { status: 400, code: 'RequestTimeout' },
      {
        status: 400,
        code: 'RequestTimeout',
      },
    );
    const err = await store.put('requests/req_8.json', '{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3ResponseError);
    expect(err).not.toBeInstanceOf(BodyRejectedError);
  });
});
