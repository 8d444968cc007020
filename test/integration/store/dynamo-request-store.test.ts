import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ValidationError } from '../../../model/errors.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { newRequestToken } from '../../../lambdas/core/domain/tokens.js';
import { DynamoRequestStore } from '../../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import { createRequestsTable } from '../../../local/resources.js';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const config = isolatedConfig();
let tableName: string;
let store: DynamoRequestStore;
const LISTED = REQUESTS_TABLE.statusIndex.partitionKey;

beforeAll(async () => {
  tableName = await createRequestsTable(client, config);
  store = new DynamoRequestStore(doc, tableName, 7 * 86400);
});

function newRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  const now = new Date().toISOString();
  return {
    token: newRequestToken(),
    owner: 'arn:aws:iam::1:user/a',
    operation: 'jira.create_task',
    service: 'jira',
    priority: 'normal',
    payload: { title: 'T', project_id: 'MD', labels: [] },
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

/** A record as insert stores it: with its first timeline entry, `submitted` when it was created. */
function asStored(r: RequestRecord): RequestRecord {
  return { ...r, timeline: [{ at: r.created_at, event: 'submitted' }] };
}

async function itemsWithKeyPrefix(prefix: string): Promise<number> {
  const out = await doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (out.Items ?? []).filter((i) => String(i['pk']).startsWith(prefix)).length;
}

/**
 * A DynamoDB client whose first PutItem reaches DynamoDB Local and commits, and then fails as a
 * dropped connection does: the SDK's retry strategy sends the same put again.
 */
function clientDroppingFirstPutAnswer(): { doc: DynamoDBDocumentClient; puts: () => number } {
  const { client: flaky } = localDynamo(inject('dynamoEndpoint'));
  let puts = 0;
  flaky.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === 'PutItemCommand' && ++puts === 1) {
        throw Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
      }
      return out;
    },
    // Inside the retry loop (finalizeRequest), after the answer is read.
    { step: 'deserialize', name: 'dropFirstPutAnswer' },
  );
  return {
    doc: DynamoDBDocumentClient.from(flaky, { marshallOptions: { removeUndefinedValues: true } }),
    puts: () => puts,
  };
}

describe('DynamoRequestStore on DynamoDB Local', () => {
  describe('insert without an idempotency key, retried by the SDK after its put committed', () => {
    it('reads its own record back and counts it inserted', async () => {
      const flaky = clientDroppingFirstPutAnswer();
      const flakyStore = new DynamoRequestStore(flaky.doc, tableName, 7 * 86400);
      const r = newRecord();
      expect(await flakyStore.insert(r)).toEqual({ kind: 'inserted' });
      expect(flaky.puts()).toBe(2); // the retry met the first put's record
      expect(await store.get(r.token)).toEqual(asStored(r));
    });

    it('still refuses a different request stored under the same token', async () => {
      const r = newRecord();
      await store.insert(r);
      await expect(
        store.insert({ ...r, payload: { title: 'Other', project_id: 'MD', labels: [] } }),
      ).rejects.toThrow(ConditionalCheckFailedException);
      await expect(store.insert({ ...r, owner: 'arn:aws:iam::1:user/b' })).rejects.toThrow(
        ConditionalCheckFailedException,
      );
      expect(await store.get(r.token)).toEqual(asStored(r));
    });
  });

  it('stores and reads back a record', async () => {
    const r = newRecord();
    expect(await store.insert(r)).toEqual({ kind: 'inserted' });
    expect(await store.get(r.token)).toEqual(asStored(r));
    expect(await store.get(newRequestToken())).toBeUndefined();
  });

  it('writes one record for ten concurrent submits with the same idempotency key', async () => {
    const key = { key: `owner\nrace-${Date.now()}`, fingerprint: 'f1' };
    const records = Array.from({ length: 10 }, () => newRecord());
    const outcomes = await Promise.all(records.map((r) => store.insert(r, key)));
    const inserted = outcomes.filter((o) => o.kind === 'inserted');
    expect(inserted).toHaveLength(1);
    const winner = records[outcomes.findIndex((o) => o.kind === 'inserted')]!;
    for (const o of outcomes) if (o.kind === 'duplicate') expect(o.existingToken).toBe(winner.token);
    const stored = await Promise.all(records.map((r) => store.get(r.token)));
    expect(stored.filter(Boolean)).toHaveLength(1);
  });

  it('lets exactly one of several workers claim a request', async () => {
    const r = newRecord();
    await store.insert(r);
    const now = Date.now();
    const claims = await Promise.all(Array.from({ length: 5 }, () => store.claim(r.token, now, 40)));
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'busy')).toHaveLength(4);
    // A claim is not an attempt: the worker may still defer.
    expect((await store.get(r.token))?.attempts).toBe(0);
  });

  it('lets a new worker take over an expired lease, and the old lease can no longer settle', async () => {
    const r = newRecord();
    await store.insert(r);
    const now = Date.now();
    // Each claim begins its attempt in the same write.
    const first = await store.claim(r.token, now, 1, 'QUEUED', { beginAttempt: true });
    expect(first.kind).toBe('claimed');
    if (first.kind !== 'claimed') return;
    expect(first.record.attempts).toBe(1);
    const second = await store.claim(r.token, now + 2_000, 40, 'QUEUED', { beginAttempt: true });
    expect(second.kind).toBe('claimed');
    if (second.kind !== 'claimed') return;
    expect(second.record).toMatchObject({ attempts: 2, calls: 2 });
    // The old lease gives nothing back; the live one does.
    expect(
      await store.defer({ token: r.token, leaseId: first.leaseId }, now, 'no_token', now, {
        refundAttempt: true,
      }),
    ).toBeUndefined();
    expect((await store.get(r.token))?.attempts).toBe(2);
    expect(
      await store.complete({ token: r.token, leaseId: first.leaseId }, { result: { stale: true } }, now, 1),
    ).toBeUndefined();
    // The settling write answers the record as written.
    expect(
      await store.complete({ token: r.token, leaseId: second.leaseId }, { result: { key: 'MD-1' } }, now, 1),
    ).toMatchObject({ token: r.token, status: 'completed', result: { key: 'MD-1' }, attempts: 2 });
    expect(await store.get(r.token)).toMatchObject({
      status: 'completed',
      result: { key: 'MD-1' },
      attempts: 2,
    });
  });

  it('never claims a finished request again', async () => {
    const r = newRecord();
    await store.insert(r);
    const c = await store.claim(r.token, Date.now(), 40);
    if (c.kind !== 'claimed') throw new Error('not claimed');
    await store.fail(
      { token: r.token, leaseId: c.leaseId },
      { code: 'NOT_FOUND', message: 'x', retryable: false },
      Date.now(),
      99,
    );
    expect((await store.claim(r.token, Date.now(), 40)).kind).toBe('finished');
    expect((await store.claim(newRequestToken(), Date.now(), 40)).kind).toBe('missing');
  });

  it('releases for retry, marks dead without expiry, and re-claims a dead request', async () => {
    const r = newRecord();
    await store.insert(r);
    const err = { code: 'SERVICE_UNAVAILABLE' as const, message: 'down', retryable: true };
    const c1 = await store.claim(r.token, Date.now(), 40);
    if (c1.kind !== 'claimed') throw new Error('not claimed');
    const retryAt = Date.now() + 30_000;
    expect(
      await store.release({ token: r.token, leaseId: c1.leaseId }, err, Date.now(), retryAt),
    ).toMatchObject({ status: 'queued', error: err });
    expect(await store.get(r.token)).toMatchObject({
      status: 'queued',
      error: err,
      deferred_until: new Date(retryAt).toISOString(),
    });
    const c2 = await store.claim(r.token, Date.now(), 40);
    if (c2.kind !== 'claimed') throw new Error('not claimed');
    expect(await store.markDead({ token: r.token, leaseId: c2.leaseId }, err, Date.now())).toMatchObject({
      status: 'dead',
    });
    const dead = await store.get(r.token);
    expect(dead?.status).toBe('dead');
    expect(dead?.expires_at).toBeUndefined();
    expect(await store.countByStatus('dead')).toBeGreaterThanOrEqual(1);
    // Only an operator's redrive revives it: any other message finds it finished.
    expect((await store.claim(r.token, Date.now(), 40)).kind).toBe('finished');
    expect((await store.get(r.token))?.status).toBe('dead');
    const redriven = await store.claim(r.token, Date.now(), 40, 'QUEUED', { reviveDead: true });
    expect(redriven.kind).toBe('claimed');
    // A redriven dead request gets a full set of attempts again.
    expect(redriven.kind === 'claimed' && redriven.record.attempts).toBe(0);
  });

  it('defers without counting an attempt and shows why until the next claim', async () => {
    const r = newRecord();
    await store.insert(r);
    const now = Date.now();
    const c = await store.claim(r.token, now, 40);
    if (c.kind !== 'claimed') throw new Error('not claimed');
    expect(
      await store.defer({ token: r.token, leaseId: c.leaseId }, now, 'no_token', now + 3_000),
    ).toMatchObject({ status: 'queued', deferred_reason: 'no_token' });
    expect(await store.get(r.token)).toMatchObject({
      status: 'queued',
      attempts: 0,
      deferred_reason: 'no_token',
      deferred_until: new Date(now + 3_000).toISOString(),
    });
    const again = await store.claim(r.token, now + 3_000, 40);
    if (again.kind !== 'claimed') throw new Error('not claimed');
    expect(again.record.deferred_reason).toBeUndefined();
    expect(again.record.lease_expires_at).toBe(now + 3_000 + 40_000);
  });

  it('keeps idempotency keys as separate items', async () => {
    const before = await itemsWithKeyPrefix('IDEM#');
    await store.insert(newRecord(), { key: `owner\nk-${Date.now()}`, fingerprint: 'f' });
    expect(await itemsWithKeyPrefix('IDEM#')).toBe(before + 1);
  });

  it('refuses a start key that is not a key of the status index as a bad cursor, not a 500', async () => {
    for (const startKey of [
      { zz: '1' },
      { pk: 'REQ#x', [LISTED]: 'dead' },
      { pk: 1, [LISTED]: 'dead', created_at: 'T' },
    ]) {
      const err = await store.listByStatus('dead', { limit: 5, startKey }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).details?.['field']).toBe('cursor');
    }
    // The key of a real dead record pages on as before.
    const page = await store.listByStatus('dead', {
      limit: 5,
      startKey: { pk: 'REQ#x', [LISTED]: 'dead', created_at: 'T' },
    });
    expect(Array.isArray(page.records)).toBe(true);
  });
});

describe('DynamoRequestStore: the sparse by-status index', () => {
  const { name: indexName, projected } = REQUESTS_TABLE.statusIndex;

  /** The request's entry in the index (a consistent read of the table first, then the index). */
  async function indexed(token: string): Promise<Record<string, unknown> | undefined> {
    for (let tries = 0; tries < 50; tries++) {
      const out = await doc.send(
        new ScanCommand({
          TableName: tableName,
          IndexName: indexName,
          FilterExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': `REQ#${token}` },
        }),
      );
      const item = out.Items?.[0];
      // The index is updated asynchronously: wait for it to agree with the table.
      const stored = await store.get(token);
      if ((item?.['status'] ?? undefined) === (stored && isListed(stored.status) ? stored.status : undefined))
        return item;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the index never caught up with ${token}`);
  }

  const isListed = (status: string) => Object.hasOwn(REQUESTS_TABLE.statusIndex.partitions, status);

  it('lists a request while queued or processing, and drops it once completed', async () => {
    const r = newRecord();
    await store.insert(r);
    expect(await indexed(r.token)).toMatchObject({ [LISTED]: 'queued', status: 'queued' });
    const c = await store.claim(r.token, Date.now(), 40);
    if (c.kind !== 'claimed') throw new Error('not claimed');
    // Waiting for a worker or in one: the same partition, so the claim moves no index key.
    expect(await indexed(r.token)).toMatchObject({ [LISTED]: 'queued', status: 'processing' });
    await store.complete({ token: r.token, leaseId: c.leaseId }, { result: { key: 'MD-1' } }, Date.now(), 1);
    expect(await indexed(r.token)).toBeUndefined();
    // The record itself keeps its status, and never shows the index's copy of it.
    const stored = await store.get(r.token);
    expect(stored?.status).toBe('completed');
    expect(stored).not.toHaveProperty(LISTED);
  });

  it('lists, counts and summarises queued and processing apart, though they share a partition', async () => {
    const service = 'confluence';
    const operation = 'confluence.get_page';
    const queued = newRecord({ service, operation });
    const claimed = newRecord({ service, operation });
    for (const r of [queued, claimed]) await store.insert(r);
    const c = await store.claim(claimed.token, Date.now(), 40);
    if (c.kind !== 'claimed') throw new Error('not claimed');
    await indexed(claimed.token);

    const tokens = async (status: 'queued' | 'processing') =>
      (await store.listByStatus(status, { limit: 1000, service })).records.map((r) => r.token);
    expect(await tokens('queued')).toContain(queued.token);
    expect(await tokens('queued')).not.toContain(claimed.token);
    expect(await tokens('processing')).toContain(claimed.token);
    expect(await tokens('processing')).not.toContain(queued.token);

    const summaries = async (status: 'queued' | 'processing') =>
      (await store.listSummaries(status, { limit: 1000, service, operation })).records.map((r) => r.token);
    expect(await summaries('queued')).toEqual([queued.token]);
    expect(await summaries('processing')).toEqual([claimed.token]);

    const counted = {
      queued: await store.countByStatus('queued'),
      processing: await store.countByStatus('processing'),
    };
    await store.complete({ token: claimed.token, leaseId: c.leaseId }, { result: {} }, Date.now(), 1);
    await indexed(claimed.token);
    expect(await store.countByStatus('queued')).toBe(counted.queued);
    expect(await store.countByStatus('processing')).toBe(counted.processing - 1);
  });

  it('projects only the keys, what the sweeper reads and what the request listing shows', async () => {
    const r = newRecord();
    await store.insert(r);
    const item = await indexed(r.token);
    expect(Object.keys(item ?? {}).sort()).toEqual(
      ['pk', LISTED, 'created_at', ...projected].filter((k) => k in (item ?? {})).sort(),
    );
    expect(item).not.toHaveProperty('payload');
    expect(item).not.toHaveProperty('owner');
    expect(item).not.toHaveProperty('timeline');
    expect(item).toMatchObject({ operation: r.operation, attempts: 0 });
  });

  it('lists dead letters whole, read from the table, and drops a failed request and a requeued one', async () => {
    const err = { code: 'SERVICE_UNAVAILABLE' as const, message: 'down', retryable: true };
    const dead = newRecord({ service: 'confluence', operation: 'confluence.create_page' });
    const failed = newRecord({ service: 'confluence', operation: 'confluence.create_page' });
    for (const r of [dead, failed]) await store.insert(r);
    const c1 = await store.claim(dead.token, Date.now(), 40);
    const c2 = await store.claim(failed.token, Date.now(), 40);
    if (c1.kind !== 'claimed' || c2.kind !== 'claimed') throw new Error('not claimed');
    await store.markDead({ token: dead.token, leaseId: c1.leaseId }, err, Date.now());
    await store.fail(
      { token: failed.token, leaseId: c2.leaseId },
      { ...err, retryable: false },
      Date.now(),
      1,
    );
    expect(await indexed(dead.token)).toMatchObject({ [LISTED]: 'dead' });
    expect(await indexed(failed.token)).toBeUndefined();

    const page = await store.listByStatus('dead', { limit: 1000, service: 'confluence' });
    const listed = page.records.find((r) => r.token === dead.token);
    expect(listed).toMatchObject({ payload: dead.payload, owner: dead.owner, error: err, status: 'dead' });
    expect(page.records.map((r) => r.token)).not.toContain(failed.token);

    await store.requeueDead(dead.token, Date.now());
    expect(await indexed(dead.token)).toMatchObject({ [LISTED]: 'queued' });
    const after = await store.listByStatus('dead', { limit: 1000, service: 'confluence' });
    expect(after.records.map((r) => r.token)).not.toContain(dead.token);
  });
});
