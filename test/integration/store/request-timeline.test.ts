/**
 * The request timeline as DynamoRequestStore keeps it on DynamoDB Local: each state change's entry
 * written by the change's own UpdateItem, the newest 20 kept, records from before timelines, and
 * the operator listing read from the by-status index alone.
 */
import { PutCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ErrorBody } from '../../../model/errors.js';
import { TIMELINE_LIMIT, type RequestRecord } from '../../../model/request-record.js';
import { newRequestToken } from '../../../lambdas/core/domain/tokens.js';
import { DynamoRequestStore } from '../../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import type { Lease } from '../../../lambdas/core/ports/index.js';
import { createRequestsTable } from '../../../local/resources.js';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { countingLocalDynamo, isolatedConfig } from '../../support/aws-local.js';

const { client, doc, sent } = countingLocalDynamo(inject('dynamoEndpoint'));
const config = isolatedConfig();
let tableName: string;
let store: DynamoRequestStore;
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  tableName = await createRequestsTable(client, config);
  store = new DynamoRequestStore(doc, tableName, 7 * 86400);
});

function newRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
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
    created_at: iso(T0),
    updated_at: iso(T0),
    ...overrides,
  };
}

const unavailable: ErrorBody = {
  code: 'SERVICE_UNAVAILABLE',
  message: 'Jira POST /rest/api/3/issue answered 503',
  retryable: true,
  details: { status: 503, attempt: 1 },
};

async function claimed(token: string, now: number, options = {}): Promise<Lease> {
  const c = await store.claim(token, now, 40, 'QUEUED', { beginAttempt: true, ...options });
  if (c.kind !== 'claimed') throw new Error(`not claimed: ${c.kind}`);
  return { token, leaseId: c.leaseId, attempt: c.record.attempts };
}

async function rawItem(token: string): Promise<Record<string, unknown>> {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: { pk: `REQ#${token}` }, ConsistentRead: true }),
  );
  return out.Item ?? {};
}

describe('DynamoRequestStore: the request timeline', () => {
  it('records each change of a request that is deferred, retried, killed, retried by the operator and completed', async () => {
    const r = newRecord();
    await store.insert(r);
    let lease = await claimed(r.token, T0 + 1_000);
    await store.defer(lease, T0 + 1_500, 'no_token', T0 + 4_500, { refundAttempt: true });
    lease = await claimed(r.token, T0 + 5_000);
    await store.release(lease, unavailable, T0 + 6_000, T0 + 16_000);
    lease = await claimed(r.token, T0 + 17_000);
    await store.markDead(lease, { ...unavailable, details: { status: 503, attempt: 2 } }, T0 + 18_000);
    await store.requeueDead(r.token, T0 + 60_000);
    lease = await claimed(r.token, T0 + 61_000);
    await store.complete(lease, { result: { key: 'MD-1' } }, T0 + 62_000, 1);

    const stored = await store.get(r.token);
    const error = 'SERVICE_UNAVAILABLE: Jira POST /rest/api/3/issue answered 503';
    expect(stored?.timeline).toEqual([
      { at: iso(T0), event: 'submitted' },
      { at: iso(T0 + 1_000), event: 'attempt_started' },
      { at: iso(T0 + 1_500), event: 'deferred', reason: 'no_token', delay_seconds: 3 },
      { at: iso(T0 + 5_000), event: 'attempt_started' },
      {
        at: iso(T0 + 6_000),
        event: 'failed_attempt',
        attempt: 1,
        status_code: 503,
        error,
        delay_seconds: 10,
      },
      { at: iso(T0 + 17_000), event: 'attempt_started' },
      { at: iso(T0 + 18_000), event: 'dead', attempt: 2, status_code: 503, error },
      { at: iso(T0 + 60_000), event: 'retried' },
      { at: iso(T0 + 61_000), event: 'attempt_started' },
      { at: iso(T0 + 62_000), event: 'succeeded', attempt: 1 },
    ]);
  });

  it('adds each entry to the write that makes the change: one UpdateItem per change, no read', async () => {
    const r = newRecord();
    await store.insert(r);
    sent.length = 0;
    const lease = await claimed(r.token, T0 + 1_000);
    await store.fail(lease, { ...unavailable, code: 'PERMISSION_DENIED', retryable: false }, T0 + 2_000, 1);
    expect(sent).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
    expect((await store.get(r.token))?.timeline?.map((e) => e.event)).toEqual([
      'submitted',
      'attempt_started',
      'failed',
    ]);
  });

  it(`keeps the newest ${TIMELINE_LIMIT} of 25 entries, oldest first, in a list of exactly ${TIMELINE_LIMIT} slots`, async () => {
    const r = newRecord();
    await store.insert(r); // entry 1
    for (let i = 0; i < 12; i++) {
      const at = T0 + (i + 1) * 10_000;
      const lease = await claimed(r.token, at); // entries 2, 4, … 24
      await store.defer(lease, at + 1_000, 'breaker_open', at + 6_000, { refundAttempt: true }); // 3, 5, … 25
    }
    const timeline = (await store.get(r.token))?.timeline ?? [];
    expect(timeline).toHaveLength(TIMELINE_LIMIT);
    // Entries 1–5 were dropped: the oldest kept is the 6th, the third claim.
    expect(timeline[0]).toEqual({ at: iso(T0 + 30_000), event: 'attempt_started' });
    expect(timeline[1]).toEqual({
      at: iso(T0 + 30_000 + 1_000),
      event: 'deferred',
      reason: 'breaker_open',
      delay_seconds: 5,
    });
    expect(timeline.at(-1)).toMatchObject({ at: iso(T0 + 120_000 + 1_000), event: 'deferred' });
    const times = timeline.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect((await rawItem(r.token))['timeline']).toHaveLength(TIMELINE_LIMIT);
  });

  it('starts a DIRECT request with its submit and its call, and a redriven dead one with attempt 1', async () => {
    const r = newRecord({
      status: 'processing',
      routing_path: 'DIRECT',
      attempts: 1,
      updated_at: iso(T0 + 5),
    });
    await store.insert(r, undefined, { leaseId: 'direct-lease' });
    await store.markDead({ token: r.token, leaseId: 'direct-lease', attempt: 1 }, unavailable, T0 + 100);
    await claimed(r.token, T0 + 200, { reviveDead: true });
    expect((await store.get(r.token))?.timeline).toEqual([
      { at: iso(T0), event: 'submitted' },
      { at: iso(T0 + 5), event: 'direct_call', attempt: 1 },
      expect.objectContaining({ at: iso(T0 + 100), event: 'dead', attempt: 1 }),
      { at: iso(T0 + 200), event: 'redriven', attempt: 1 },
    ]);
  });

  it('gives a record stored before timelines a new one on its next change', async () => {
    const r = newRecord();
    const { timeline: _none, ...legacy } = r;
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: `REQ#${r.token}`, ...legacy, [REQUESTS_TABLE.statusIndex.partitionKey]: 'queued' },
      }),
    );
    expect((await store.get(r.token))?.timeline).toBeUndefined();
    const lease = await claimed(r.token, T0 + 1_000);
    expect((await store.get(r.token))?.timeline).toEqual([{ at: iso(T0 + 1_000), event: 'attempt_started' }]);
    await store.complete(lease, { result: null }, T0 + 2_000, 1);
    expect((await store.get(r.token))?.timeline?.map((e) => e.event)).toEqual([
      'attempt_started',
      'succeeded',
    ]);
    expect((await rawItem(r.token))['timeline']).toHaveLength(TIMELINE_LIMIT);
  });

  it('refuses a change whose condition fails without writing an entry', async () => {
    const r = newRecord();
    await store.insert(r);
    const lease = await claimed(r.token, T0 + 1_000);
    expect(
      await store.complete({ ...lease, leaseId: 'not-ours' }, { result: null }, T0 + 2_000, 1),
    ).toBeUndefined();
    expect((await store.get(r.token))?.timeline?.map((e) => e.event)).toEqual([
      'submitted',
      'attempt_started',
    ]);
  });
});

describe('DynamoRequestStore.listSummaries', () => {
  it('lists from the index alone, filtered by operation and service, oldest first, paged', async () => {
    const owner = `arn:aws:iam::1:user/${newRequestToken()}`;
    const made: RequestRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const r = newRecord({
        owner,
        operation: i % 2 === 0 ? 'jira.add_comment' : 'jira.get_task',
        created_at: iso(T0 + 1_000_000 + i),
        updated_at: iso(T0 + 1_000_000 + i),
      });
      made.push(r);
      await store.insert(r);
    }
    const comments = made.filter((r) => r.operation === 'jira.add_comment').map((r) => r.token);
    sent.length = 0;
    const seen: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await store.listSummaries('queued', {
        limit: 2,
        operation: 'jira.add_comment',
        service: 'jira',
        ...(startKey ? { startKey } : {}),
      });
      for (const rec of page.records) {
        expect(rec.operation).toBe('jira.add_comment');
        expect(rec).toMatchObject({ status: 'queued', attempts: 0, priority: 'normal' });
        expect(rec).not.toHaveProperty('payload');
        seen.push(rec.token);
      }
      startKey = page.nextKey;
    } while (startKey);
    expect(seen.filter((t) => comments.includes(t))).toEqual(comments);
    expect(new Set(sent)).toEqual(new Set(['QueryCommand']));
  });

  it('shows the error of a request waiting out a retry', async () => {
    const r = newRecord({ operation: 'confluence.get_page', service: 'confluence' });
    await store.insert(r);
    const lease = await claimed(r.token, T0 + 1_000);
    await store.release(lease, unavailable, T0 + 2_000, T0 + 3_000);
    const found = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await store.listSummaries('queued', {
        limit: 100,
        service: 'confluence',
        ...(startKey ? { startKey } : {}),
      });
      found.push(...page.records.filter((x) => x.token === r.token));
      startKey = page.nextKey;
    } while (startKey);
    expect(found).toEqual([expect.objectContaining({ attempts: 1, error: unavailable })]);
  });
});
