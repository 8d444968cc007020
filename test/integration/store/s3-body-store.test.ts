/** S3BodyStore against the S3 emulator (fauxqs): bodies in and out, presigned URLs, refusals. */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { BodyRejectedError } from '../../../model/errors.js';
import { S3BodyStore } from '../../../lambdas/adapters/s3/s3-body-store.js';
import { localS3, localS3Objects } from '../../support/aws-local.js';

const endpoint = inject('s3Endpoint');
const s3 = localS3(endpoint);
const bucket = `t${randomBytes(4).toString('hex')}-bodies`;
const store = new S3BodyStore(localS3Objects(endpoint, bucket));

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('S3BodyStore', () => {
  it('stores a 2 MB body and reads it back whole', async () => {
    const text = JSON.stringify({ body: 'é'.repeat(1024 * 1024) });
    await store.put('requests/req_1/result.json', text);
    expect(await store.get('requests/req_1/result.json')).toBe(text);
  });

  it('replaces a body stored under the same key', async () => {
    await store.put('requests/req_2/result.json', '{"n":1}');
    await store.put('requests/req_2/result.json', '{"n":2}');
    expect(await store.get('requests/req_2/result.json')).toBe('{"n":2}');
  });

  it('stores and reads back keys with characters a URL path must escape', async () => {
    for (const key of [
      'requests/req 6/a+b=c&d.json',
      "requests/req_7/it's (1)*!.json",
      'requests/req_8/é/ü~.json',
    ]) {
      await store.put(key, JSON.stringify({ key }));
      expect(await store.get(key)).toBe(JSON.stringify({ key }));
    }
  });

  it('reads a key that was never stored as undefined', async () => {
    expect(await store.get('requests/req_none/payload.json')).toBeUndefined();
  });

  it('answers a presigned URL that a plain HTTP GET fetches over loopback', async () => {
    await store.put('requests/req_3/result.json', '{"key":"MD-1"}');
    const url = await store.presignedUrl('requests/req_3/result.json', 900);
    expect(url).toContain('X-Amz-Expires=900');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ key: 'MD-1' });
  });

  it('turns a put to a bucket that does not exist into BodyRejectedError (never retried)', async () => {
    const missing = new S3BodyStore(localS3Objects(endpoint, `${bucket}-missing`));
    await expect(missing.put('requests/req_4/result.json', '{}')).rejects.toBeInstanceOf(BodyRejectedError);
  });

  it('passes a failure to reach S3 on as it is (transient)', async () => {
    const unreachable = new S3BodyStore(localS3Objects('http://127.0.0.1:9', bucket));
    const err = await unreachable.put('requests/req_5/result.json', '{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(BodyRejectedError);
  });
});
