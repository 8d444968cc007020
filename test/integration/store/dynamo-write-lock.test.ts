/**
 * DynamoWriteLocks on DynamoDB Local: the conditional semantics that serialize writes to one issue or
 * page across workers (absent / expired / own lock only), expiry takeover, and owner-only release;
 * the write window kept in the same item (one request for an idle issue, the 11th write of a burst
 * refused with its wait, the window kept across release); and, through processRequest, a second
 * write to an issue being written is deferred `object_busy`.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { WriteLockKey } from '../../../lambdas/core/ports/flow-control.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import { callScopeOf } from '../../../lambdas/core/domain/token-bucket.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { DynamoWriteLocks, writeLockKey } from '../../../lambdas/adapters/dynamodb/dynamo-write-lock.js';
import { writeWindowParamsOf } from '../../../lambdas/core/domain/object-write-window.js';
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
/** Jira's default windows (20 per 2 s, 100 per 30 s): burst 10, then one write per 334 ms. */
const WINDOWS = writeWindowParamsOf(DEFAULT_CONFIG);
const INTERVAL_MS = 334;

/**
 * Locks on a client that counts the requests it sends to DynamoDB; `before(n)` runs before the n-th
 * (1-based) is sent, to let another writer in between two of them.
 */
function countingLocks(before?: (n: number) => Promise<void>): {
  locks: DynamoWriteLocks;
  requests: () => string[];
} {
  const { client: counted } = localDynamo(inject('dynamoEndpoint'));
  const sent: string[] = [];
  counted.middlewareStack.add(
    (next, context) => async (args) => {
      await before?.(sent.length + 1);
      sent.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const countedDoc = DynamoDBDocumentClient.from(counted, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { locks: new DynamoWriteLocks(countedDoc, tableName, WINDOWS), requests: () => [...sent] };
}

/** Ten writes to `key` at T0, each released: the burst spent, the tat ten intervals ahead. */
async function spendBurst(locks: DynamoWriteLocks, key: WriteLockKey): Promise<void> {
  for (let i = 0; i < 10; i++) {
    expect(await locks.acquire(key, `req_${i}`, T0, T0 + 100)).toEqual({ acquired: true });
    await locks.release(key, `req_${i}`);
  }
}

async function item(key: WriteLockKey) {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: writeLockKey(key), ConsistentRead: true }),
  );
  return out.Item;
}

describe('DynamoWriteLocks on DynamoDB Local', () => {
  it('grants the lock to one owner and refuses another while it runs, naming its expiry', async () => {
    const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
    const key = freshIssue();
    expect(await locks.acquire(key, A, T0, T0 + 40_000)).toEqual({ acquired: true });
    expect(await locks.acquire(key, B, T0 + 1_000, T0 + 41_000)).toEqual({
      acquired: false,
      reason: 'locked',
      heldUntil: T0 + 40_000,
    });
    expect(await item(key)).toMatchObject({
      pk: `LOCK#jira#${key.objectId}`,
      owner: A,
      lock_until: T0 + 40_000,
      [REQUESTS_TABLE.ttlAttribute]: Math.ceil((T0 + 40_000) / 1000) + 3600,
    });
    // Not a request: never in the by-status index.
    expect((await item(key))?.[REQUESTS_TABLE.statusIndex.partitionKey]).toBeUndefined();
  });

  it('lets exactly one of many workers racing for a free lock win', async () => {
    const workers = Array.from({ length: 8 }, () => new DynamoWriteLocks(doc, tableName, WINDOWS));
    const key = freshIssue();
    const owners = workers.map((_, i) => `req_${String(i).padStart(32, '0')}`);
    const decisions = await Promise.all(workers.map((w, i) => w.acquire(key, owners[i]!, T0, T0 + 40_000)));
    expect(decisions.filter((d) => d.acquired)).toHaveLength(1);
    const winner = owners[decisions.findIndex((d) => d.acquired)];
    expect((await item(key))?.['owner']).toBe(winner);
  });

  it('lets the same owner take its own lock again (its earlier worker lost the claim)', async () => {
    const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
    const key = freshIssue();
    await locks.acquire(key, A, T0, T0 + 40_000);
    expect(await locks.acquire(key, A, T0 + 5_000, T0 + 45_000)).toEqual({ acquired: true });
    expect((await item(key))?.['lock_until']).toBe(T0 + 45_000);
  });

  it('hands an expired lock to the next writer', async () => {
    const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
    const key = freshIssue();
    await locks.acquire(key, A, T0, T0 + 40_000);
    expect((await locks.acquire(key, B, T0 + 39_999, T0 + 80_000)).acquired).toBe(false);
    expect(await locks.acquire(key, B, T0 + 40_000, T0 + 80_000)).toEqual({ acquired: true });
    expect((await item(key))?.['owner']).toBe(B);
  });

  it('releases only its owner’s lock: a late first holder leaves the new owner’s alone', async () => {
    const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
    const key = freshIssue();
    await locks.acquire(key, A, T0, T0 + 40_000);
    await locks.acquire(key, B, T0 + 50_000, T0 + 90_000); // A's expired, B took over
    await locks.release(key, A); // A's call finally returned: not its lock any more
    expect((await item(key))?.['owner']).toBe(B);
    await locks.release(key, B);
    expect((await item(key))?.['owner']).toBeUndefined();
    // Releasing what is not held is no error, and the object is free again.
    await locks.release(key, B);
    expect(await locks.acquire(key, A, T0 + 91_000, T0 + 131_000)).toEqual({ acquired: true });
  });

  it('releasing what was never taken is no error and creates nothing', async () => {
    const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
    const key = freshIssue();
    await locks.release(key, A);
    expect(await item(key)).toBeUndefined();
  });

  describe('the write window in the lock item', () => {
    it('takes a write to an idle issue in one request, storing its tat', async () => {
      const { locks, requests } = countingLocks();
      const key = freshIssue();
      expect(await locks.acquire(key, A, T0, T0 + 40_000)).toEqual({ acquired: true });
      expect(requests()).toEqual(['UpdateItemCommand']);
      expect(await item(key)).toMatchObject({ owner: A, lock_until: T0 + 40_000, tat: T0 + INTERVAL_MS });

      // Idle again a minute later: still one request.
      await locks.release(key, A);
      expect(await locks.acquire(key, B, T0 + 60_000, T0 + 100_000)).toEqual({ acquired: true });
      expect(requests()).toEqual(['UpdateItemCommand', 'UpdateItemCommand', 'UpdateItemCommand']);
    });

    it('takes the burst at once, one writer after another, and refuses the 11th with its wait', async () => {
      const { locks, requests } = countingLocks();
      const key = freshIssue();
      for (let i = 0; i < 10; i++) {
        const at = T0 + i * 10;
        expect(await locks.acquire(key, `req_${i}`, at, at + 40_000), `write ${i + 1}`).toEqual({
          acquired: true,
        });
        await locks.release(key, `req_${i}`);
      }
      expect((await item(key))?.['tat']).toBe(T0 + 10 * INTERVAL_MS);
      const sent = requests().length;
      // 10 writes moved the tat 10 intervals ahead; 9 of them are the burst's tolerance: the 11th
      // may go one interval after T0, 234 ms after it asks at T0 + 100.
      expect(await locks.acquire(key, A, T0 + 100, T0 + 40_100)).toEqual({
        acquired: false,
        reason: 'window',
        waitMs: INTERVAL_MS - 100,
      });
      // Refused from the first request's old item, and nothing taken.
      expect(requests().length - sent).toBe(1);
      expect(await item(key)).toMatchObject({ tat: T0 + 10 * INTERVAL_MS });
      expect((await item(key))?.['owner']).toBeUndefined();
      expect(await locks.acquire(key, A, T0 + INTERVAL_MS, T0 + 40_334)).toEqual({ acquired: true });
      expect((await item(key))?.['tat']).toBe(T0 + 11 * INTERVAL_MS);
    });

    it('lets a busy window take a write once it has room, in a second request conditioned on its tat', async () => {
      const { locks, requests } = countingLocks();
      const key = freshIssue();
      expect(await locks.acquire(key, A, T0, T0 + 40_000)).toEqual({ acquired: true });
      await locks.release(key, A);
      const sent = requests().length;
      expect(await locks.acquire(key, B, T0 + 100, T0 + 40_100)).toEqual({ acquired: true });
      expect(requests().length - sent).toBe(2);
      expect(await item(key)).toMatchObject({ owner: B, tat: T0 + 2 * INTERVAL_MS });
    });

    it('keeps the tat when the lock is released, and lets DynamoDB drop the item only after it', async () => {
      const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
      const key = freshIssue();
      // Leases of 100 ms: the window's tat (T0 + 3340) outlasts them.
      await spendBurst(locks, key);
      expect(await item(key)).toEqual({
        pk: `LOCK#jira#${key.objectId}`,
        tat: T0 + 10 * INTERVAL_MS,
        [REQUESTS_TABLE.ttlAttribute]: Math.ceil((T0 + 10 * INTERVAL_MS) / 1000) + 3600,
      });
    });

    it('refuses a write whose room another writer took between its two requests', async () => {
      const key = freshIssue();
      const other = new DynamoWriteLocks(doc, tableName, WINDOWS);
      await spendBurst(other, key);
      // At T0 + 334 the window has room for one write.
      const at = T0 + INTERVAL_MS;
      const { locks, requests } = countingLocks(async (n) => {
        if (n !== 2) return;
        expect(await other.acquire(key, B, at, at + 40_000)).toEqual({ acquired: true });
        await other.release(key, B);
      });
      expect(await locks.acquire(key, A, at, at + 40_000)).toEqual({
        acquired: false,
        reason: 'window',
        waitMs: INTERVAL_MS,
      });
      expect(requests()).toHaveLength(2);
      expect(await item(key)).toMatchObject({ tat: T0 + 11 * INTERVAL_MS });
      expect((await item(key))?.['owner']).toBeUndefined();
    });

    it('answers a lock held by another owner as locked, not as the window', async () => {
      const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
      const key = freshIssue();
      await locks.acquire(key, A, T0, T0 + 40_000);
      expect(await locks.acquire(key, B, T0 + 10, T0 + 40_010)).toEqual({
        acquired: false,
        reason: 'locked',
        heldUntil: T0 + 40_000,
      });
    });

    it('hands an expired lock of another owner to the next writer, counting the write', async () => {
      const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
      const key = freshIssue();
      await locks.acquire(key, A, T0, T0 + 1_000);
      expect(await locks.acquire(key, B, T0 + 1_000, T0 + 41_000)).toEqual({ acquired: true });
      expect(await item(key)).toMatchObject({
        owner: B,
        lock_until: T0 + 41_000,
        tat: T0 + 1_000 + INTERVAL_MS,
      });
    });

    it('neither stores nor reads a window for a service without one (Confluence)', async () => {
      const { locks, requests } = countingLocks();
      const page: WriteLockKey = { service: 'confluence', objectId: `page-${++n}` };
      for (let i = 0; i < 15; i++) {
        expect(await locks.acquire(page, `req_${i}`, T0 + i, T0 + i + 40_000)).toEqual({ acquired: true });
        await locks.release(page, `req_${i}`);
      }
      expect(requests()).toHaveLength(30);
      expect((await item(page))?.['tat']).toBeUndefined();
    });
  });

  it('defers a worker’s second write to an issue another worker is writing, and runs it after', async () => {
    const locks = new DynamoWriteLocks(doc, tableName, WINDOWS);
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
    expect((await item(key))?.['owner']).toBeUndefined();
    expect((await processRequest(deps, { token: B, receiveCount: 1 })).outcome).toBe('completed');
    expect(calls).toBe(2);
  });
});
