/**
 * DynamoWriteLocks on DynamoDB Local: the conditional semantics that serialize writes to one issue or
 * page across workers (absent / expired / own lock only), expiry takeover, and owner-only release;
 * and, through processRequest, a second write to an issue being written is deferred `object_busy`.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { WriteLockKey } from '../../../lambdas/core/ports/flow-control.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import { callScopeOf } from '../../../lambdas/core/domain/token-bucket.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { DynamoWriteLocks, writeLockKey } from '../../../lambdas/adapters/dynamodb/dynamo-write-lock.js';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';
import { InMemoryRateGate } from '../../support/in-memory-rate-gate.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
let tableName: string;

beforeAll(async () => {
  tableName = await createRequestsTable(client, isolatedConfig());
});

const T0 = 1_700_000_000_000;
const A = `req_${'a'.repeat(32)}`;
const B = `req_${'b'.repeat(32)}`;
let n = 0;
/** A fresh object per test, so tests sharing the table do not see each other's locks. */
const freshIssue = (): WriteLockKey => ({ service: 'jira', objectId: `MD-${++n}` });

async function item(key: WriteLockKey) {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: writeLockKey(key), ConsistentRead: true }),
  );
  return out.Item;
}

describe('DynamoWriteLocks on DynamoDB Local', () => {
  it('grants the lock to one owner and refuses another while it runs, naming its expiry', async () => {
    const locks = new DynamoWriteLocks(doc, tableName);
    const key = freshIssue();
    expect(await locks.acquire(key, A, T0, T0 + 40_000)).toEqual({ acquired: true });
    expect(await locks.acquire(key, B, T0 + 1_000, T0 + 41_000)).toEqual({
      acquired: false,
      heldUntil: T0 + 40_000,
    });
    expect(await item(key)).toMatchObject({
      pk: `LOCK#jira#${key.objectId}`,
      owner: A,
      lock_until: T0 + 40_000,
      [REQUESTS_TABLE.ttlAttribute]: Math.ceil((T0 + 40_000) / 1000) + 3600,
    });
    // Not a request: never in the by-status index.
    expect((await item(key))?.['status']).toBeUndefined();
  });

  it('lets exactly one of many workers racing for a free lock win', async () => {
    const workers = Array.from({ length: 8 }, () => new DynamoWriteLocks(doc, tableName));
    const key = freshIssue();
    const owners = workers.map((_, i) => `req_${String(i).padStart(32, '0')}`);
    const decisions = await Promise.all(workers.map((w, i) => w.acquire(key, owners[i]!, T0, T0 + 40_000)));
    expect(decisions.filter((d) => d.acquired)).toHaveLength(1);
    const winner = owners[decisions.findIndex((d) => d.acquired)];
    expect((await item(key))?.['owner']).toBe(winner);
  });

  it('lets the same owner take its own lock again (its earlier worker lost the claim)', async () => {
    const locks = new DynamoWriteLocks(doc, tableName);
    const key = freshIssue();
    await locks.acquire(key, A, T0, T0 + 40_000);
    expect(await locks.acquire(key, A, T0 + 5_000, T0 + 45_000)).toEqual({ acquired: true });
    expect((await item(key))?.['lock_until']).toBe(T0 + 45_000);
  });

  it('hands an expired lock to the next writer', async () => {
    const locks = new DynamoWriteLocks(doc, tableName);
    const key = freshIssue();
    await locks.acquire(key, A, T0, T0 + 40_000);
    expect((await locks.acquire(key, B, T0 + 39_999, T0 + 80_000)).acquired).toBe(false);
    expect(await locks.acquire(key, B, T0 + 40_000, T0 + 80_000)).toEqual({ acquired: true });
    expect((await item(key))?.['owner']).toBe(B);
  });

  it('releases only its owner’s lock: a late first holder leaves the new owner’s alone', async () => {
    const locks = new DynamoWriteLocks(doc, tableName);
    const key = freshIssue();
    await locks.acquire(key, A, T0, T0 + 40_000);
    await locks.acquire(key, B, T0 + 50_000, T0 + 90_000); // A's expired, B took over
    await locks.release(key, A); // A's call finally returned: not its lock any more
    expect((await item(key))?.['owner']).toBe(B);
    await locks.release(key, B);
    expect(await item(key)).toBeUndefined();
    // Releasing what is gone is no error, and the object is free again.
    await locks.release(key, B);
    expect(await locks.acquire(key, A, T0 + 91_000, T0 + 131_000)).toEqual({ acquired: true });
  });

  it('defers a worker’s second write to an issue another worker is writing, and runs it after', async () => {
    const locks = new DynamoWriteLocks(doc, tableName);
    const key = freshIssue();
    const clock = new FakeClock();
    const store = new InMemoryStore();
    let calls = 0;
    let releaseFirst!: () => void;
    const firstRunning = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const deps: ProcessDeps = {
      store,
      clock,
      config: DEFAULT_CONFIG,
      leaseSeconds: 40,
      random: () => 0,
      executor: {
        execute: async (_op, _payload, context) => {
          calls++;
          if (context.token === A) {
            firstStarted();
            await firstRunning;
          }
          return { ok: true };
        },
      },
      flow: {
        breaker: new InMemoryCircuitBreaker(),
        rate: new InMemoryRateGate(),
        scopeOf: (r) => callScopeOf(r.operation, r.payload, r.priority),
        writeLocks: locks,
      },
    };
    for (const token of [A, B]) {
      const record: RequestRecord = {
        token,
        owner: 'o',
        operation: 'jira.add_comment',
        service: 'jira',
        priority: 'normal',
        payload: { task_id: key.objectId, comment: `from ${token}` },
        status: 'queued',
        routing_path: 'QUEUED',
        attempts: 0,
        created_at: new Date(clock.now()).toISOString(),
        updated_at: new Date(clock.now()).toISOString(),
      };
      await store.insert(record);
    }

    const first = processRequest(deps, { token: A, receiveCount: 1 });
    await started;
    const second = await processRequest(deps, { token: B, receiveCount: 1 });
    expect(second).toMatchObject({ action: 'defer', outcome: 'object_busy' });
    expect(await store.get(B)).toMatchObject({
      status: 'queued',
      attempts: 0,
      deferred_reason: 'object_busy',
    });

    releaseFirst();
    expect((await first).outcome).toBe('completed');
    expect(await item(key)).toBeUndefined();
    expect((await processRequest(deps, { token: B, receiveCount: 1 })).outcome).toBe('completed');
    expect(calls).toBe(2);
  });
});
