/**
 * The Powertools idempotency layer around the worker's call, on DynamoDB Local: what it saves in
 * the requests table and what a later attempt gets back. The inner executor is a counting fake;
 * the thing under test is the persistence.
 */
import { GetCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { UpstreamError } from '../../../model/errors.js';
import type { OperationName } from '../../../model/operations.js';
import type { CallContext, OperationExecutor } from '../../../lambdas/core/ports/index.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { newRequestToken } from '../../../lambdas/core/domain/tokens.js';
import { DynamoRequestStore } from '../../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import {
  CALL_RECORD_ATTRIBUTES,
  IdempotentExecutor,
  callRecordKey,
} from '../../../lambdas/adapters/dynamodb/idempotent-executor.js';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const config = isolatedConfig();
const RETENTION_SECONDS = config.retentionDays * 86_400;
const WORKER_TIMEOUT_SECONDS = config.worker.timeoutSeconds;
const CREATE: OperationName = 'jira.create_task';
const PAYLOAD = { title: 'T', project_id: 'MD', labels: [] };
let tableName: string;

beforeAll(async () => {
  tableName = await createRequestsTable(client, config);
});

/** Counts its calls; `behaviour` decides each call's answer (n = 1 for the first call). */
class CountingExecutor implements OperationExecutor {
  readonly calls: { operation: OperationName; context: CallContext }[] = [];
  constructor(private readonly behaviour: (n: number) => Promise<unknown> | unknown) {}

  async execute(operation: OperationName, _payload: Record<string, unknown>, context: CallContext) {
    this.calls.push({ operation, context });
    return this.behaviour(this.calls.length);
  }
}

/** One worker container's decorator: a new instance per "container", one shared table. */
function idempotent(inner: OperationExecutor): IdempotentExecutor {
  return new IdempotentExecutor(inner, {
    client,
    tableName,
    retentionSeconds: RETENTION_SECONDS,
    callTimeoutSeconds: WORKER_TIMEOUT_SECONDS,
  });
}

async function callItem(token: string): Promise<Record<string, unknown> | undefined> {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: { pk: callRecordKey(token) }, ConsistentRead: true }),
  );
  return out.Item;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('IdempotentExecutor on DynamoDB Local', () => {
  it('returns the saved result to a second execute with the same token, calling Atlassian once', async () => {
    const inner = new CountingExecutor(() => ({ key: 'MD-1', id: '10001', url: undefined }));
    const executor = idempotent(inner);
    const token = newRequestToken();

    const first = await executor.execute(CREATE, PAYLOAD, { token, attempt: 1 });
    const second = await executor.execute(CREATE, PAYLOAD, { token, attempt: 1 });

    // Returned as saved (JSON: the undefined field is dropped both times).
    expect(first).toEqual({ key: 'MD-1', id: '10001' });
    expect(second).toEqual(first);
    expect(inner.calls).toHaveLength(1);
    // Another token is another call.
    await executor.execute(CREATE, PAYLOAD, { token: newRequestToken(), attempt: 1 });
    expect(inner.calls).toHaveLength(2);
  });

  it('keys on the token only: a later attempt in another container gets the saved result', async () => {
    const inner = new CountingExecutor((n) => ({ key: `MD-${n}` }));
    const token = newRequestToken();

    expect(await idempotent(inner).execute(CREATE, PAYLOAD, { token, attempt: 1 })).toEqual({ key: 'MD-1' });
    expect(await idempotent(inner).execute(CREATE, PAYLOAD, { token, attempt: 2 })).toEqual({ key: 'MD-1' });
    expect(await idempotent(inner).execute(CREATE, PAYLOAD, { token })).toEqual({ key: 'MD-1' });

    expect(inner.calls.map((c) => c.context.attempt)).toEqual([1]);
  });

  it('leaves no record when the call throws, so the retry calls again', async () => {
    const failure = new UpstreamError('SERVICE_UNAVAILABLE', 'Jira answered 503', { status: 503 });
    const inner = new CountingExecutor((n) => {
      if (n === 1) throw failure;
      return { key: 'MD-2' };
    });
    const executor = idempotent(inner);
    const token = newRequestToken();

    // The caller sees the call's own error, unchanged (its code decides the retry).
    await expect(executor.execute(CREATE, PAYLOAD, { token, attempt: 1 })).rejects.toBe(failure);
    expect(await callItem(token)).toBeUndefined();

    expect(await executor.execute(CREATE, PAYLOAD, { token, attempt: 2 })).toEqual({ key: 'MD-2' });
    expect(inner.calls.map((c) => c.context.attempt)).toEqual([1, 2]);
  });

  it('saves records that expire with the retention and never appear in the by-status index', async () => {
    const inner = new CountingExecutor(() => ({ key: 'MD-3' }));
    const token = newRequestToken();
    const before = Math.floor(Date.now() / 1000);
    await idempotent(inner).execute(CREATE, PAYLOAD, { token, attempt: 1 });
    const after = Math.ceil(Date.now() / 1000);

    const item = await callItem(token);
    expect(item).toBeDefined();
    expect(String(item?.['pk'])).toMatch(new RegExp(`^${REQUESTS_TABLE.callKeyPrefix}#`));
    const expiresAt = Number(item?.[REQUESTS_TABLE.ttlAttribute]);
    expect(expiresAt).toBeGreaterThanOrEqual(before + RETENTION_SECONDS);
    expect(expiresAt).toBeLessThanOrEqual(after + RETENTION_SECONDS);
    expect(item?.[CALL_RECORD_ATTRIBUTES.status]).toBe('COMPLETED');
    expect(item?.[CALL_RECORD_ATTRIBUTES.result]).toEqual({ key: 'MD-3' });
    // The index's partition key is `status`: a call record does not carry it.
    expect(item).not.toHaveProperty(REQUESTS_TABLE.statusIndex.partitionKey);

    const { name, partitionKey } = REQUESTS_TABLE.statusIndex;
    const indexed = await doc.send(new ScanCommand({ TableName: tableName, IndexName: name }));
    expect(
      (indexed.Items ?? []).filter((i) => String(i['pk']).startsWith(REQUESTS_TABLE.callKeyPrefix)),
    ).toEqual([]);
    for (const status of ['COMPLETED', 'INPROGRESS']) {
      const out = await doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: name,
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': partitionKey },
          ExpressionAttributeValues: { ':s': status },
        }),
      );
      expect(out.Items ?? [], status).toEqual([]);
    }
  });

  it('does not let the record of a crashed call block the next attempt once its in-progress expiry passed', async () => {
    const token = newRequestToken();
    // Worker A: its invocation has 1.5 s left, and its call never answers (the worker "dies").
    const windowMs = 1500;
    const hung = new CountingExecutor(() => new Promise<never>(() => undefined));
    const workerA = idempotent(hung);
    workerA.registerLambdaContext({ getRemainingTimeInMillis: () => windowMs });
    const started = Date.now();
    void workerA.execute(CREATE, PAYLOAD, { token, attempt: 1 });
    await expect.poll(() => callItem(token)).toBeDefined();

    // Worker B while A's call may still be running: not a failed request, a retry after A's expiry.
    const inner = new CountingExecutor(() => ({ key: 'MD-4' }));
    const workerB = idempotent(inner);
    const busy = await workerB.execute(CREATE, PAYLOAD, { token, attempt: 2 }).catch((e: unknown) => e);
    expect(Date.now() - started, 'the check must run inside the window').toBeLessThan(windowMs);
    expect(busy).toBeInstanceOf(UpstreamError);
    expect(busy).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      retryable: true,
      details: { reason: 'call_in_progress', retryAfterSeconds: WORKER_TIMEOUT_SECONDS },
    });
    expect(inner.calls).toHaveLength(0);

    // A's record: INPROGRESS until A's invocation would have timed out; never in the by-status index.
    const item = await callItem(token);
    expect(item?.[CALL_RECORD_ATTRIBUTES.status]).toBe('INPROGRESS');
    const inProgressUntil = Number(item?.[CALL_RECORD_ATTRIBUTES.inProgressExpiry]);
    expect(inProgressUntil).toBeGreaterThanOrEqual(started + windowMs);
    expect(inProgressUntil).toBeLessThanOrEqual(Date.now() + windowMs);
    const indexed = await doc.send(
      new ScanCommand({ TableName: tableName, IndexName: REQUESTS_TABLE.statusIndex.name }),
    );
    expect((indexed.Items ?? []).some((i) => i['pk'] === callRecordKey(token))).toBe(false);

    // After A's in-progress expiry, B makes the call (the adapters reconcile a create on attempt > 1).
    await sleep(Math.max(0, inProgressUntil - Date.now()) + 50);
    expect(await workerB.execute(CREATE, PAYLOAD, { token, attempt: 3 })).toEqual({ key: 'MD-4' });
    expect(inner.calls.map((c) => c.context.attempt)).toEqual([3]);
    expect((await callItem(token))?.[CALL_RECORD_ATTRIBUTES.status]).toBe('COMPLETED');
    // A's call stays unanswered: a real Lambda cannot outlive its deadline.
  });

  it('passes reads straight through: nothing to protect, nothing saved', async () => {
    const inner = new CountingExecutor((n) => ({ key: 'MD-5', n }));
    const executor = idempotent(inner);
    const token = newRequestToken();
    await executor.execute('jira.get_task', { task_id: 'MD-5' }, { token, attempt: 1 });
    await executor.execute('jira.get_task', { task_id: 'MD-5' }, { token, attempt: 2 });
    expect(inner.calls).toHaveLength(2);
    expect(await callItem(token)).toBeUndefined();
  });
});

describe('processRequest with the idempotent executor and DynamoRequestStore', () => {
  function newRecord(): RequestRecord {
    const now = new Date().toISOString();
    return {
      token: newRequestToken(),
      owner: 'arn:aws:iam::1:user/a',
      operation: CREATE,
      service: 'jira',
      priority: 'normal',
      payload: PAYLOAD,
      status: 'queued',
      routing_path: 'QUEUED',
      attempts: 0,
      created_at: now,
      updated_at: now,
    };
  }

  function worker(store: DynamoRequestStore, executor: OperationExecutor): ProcessDeps {
    return { store, executor, clock: { now: () => Date.now() }, config, leaseSeconds: 40 };
  }

  it('completes with the saved result after the worker lost the request between the call and complete', async () => {
    const store = new DynamoRequestStore(doc, tableName, RETENTION_SECONDS);
    const record = newRecord();
    await store.insert(record);
    const inner = new CountingExecutor(async (n) => {
      if (n === 1) {
        // While the call runs, the record goes back to `queued` (the lease lost, as after a
        // crash whose lease expired): the answer reaches Atlassian but `complete` cannot store it.
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: `REQ#${record.token}` },
            UpdateExpression: 'SET #status = :queued REMOVE lease_id, lease_expires_at',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':queued': 'queued' },
          }),
        );
      }
      return { key: 'MD-7', id: '10007' };
    });

    const first = await processRequest(worker(store, idempotent(inner)), {
      token: record.token,
      receiveCount: 1,
    });
    expect(first).toEqual({ action: 'ack', outcome: 'lease-lost' });
    expect(await store.get(record.token)).toMatchObject({ status: 'queued', attempts: 1 });

    // The redelivery, in another container: attempt 2 gets the saved result without a call.
    const second = await processRequest(worker(store, idempotent(inner)), {
      token: record.token,
      receiveCount: 2,
    });
    expect(second).toEqual({ action: 'ack', outcome: 'completed' });
    expect(await store.get(record.token)).toMatchObject({
      status: 'completed',
      attempts: 2,
      result: { key: 'MD-7', id: '10007' },
    });
    expect(inner.calls.map((c) => c.context.attempt)).toEqual([1]);
  });
});
