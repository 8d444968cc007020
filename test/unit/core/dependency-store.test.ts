/**
 * The depends_on store over the in-memory records: the same cases as over DynamoDB Local, then
 * the registration's decisions at the moments a parent finishes while a child registers.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_REGISTER_RETRIES,
  StoredDependencyStore,
} from '../../../lambdas/core/domain/dependency-store.js';
import type { DependencyRecord, WaitingChildWrite } from '../../../lambdas/core/ports/dependency-records.js';
import type { IdempotencyClaim, RequestStore } from '../../../lambdas/core/ports/index.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { describeDependencyStore } from '../../support/dependency-store-suite.js';
import { InMemoryDependencyRecords } from '../../support/in-memory-dependencies.js';
import { FakeClock, InMemoryStore, queuedRecord } from '../../support/in-memory-store.js';

describeDependencyStore('StoredDependencyStore over InMemoryDependencyRecords', async () => {
  const requests = new InMemoryStore();
  const records = new InMemoryDependencyRecords(requests);
  return {
    requests,
    deps: new StoredDependencyStore(records),
    records,
    expire: async (token) => {
      requests.records.delete(token);
    },
  };
});

/** In-memory records that run a step of another caller around the child's atomic write. */
class InterleavedRecords extends InMemoryDependencyRecords {
  before: Array<() => Promise<unknown>> = [];
  after: Array<() => Promise<unknown>> = [];
  waitingPuts = 0;

  override async putWaitingChild(
    record: DependencyRecord,
    parents: readonly string[],
    idempotency?: IdempotencyClaim,
  ): Promise<WaitingChildWrite> {
    this.waitingPuts += 1;
    await this.before.shift()?.();
    const out = await super.putWaitingChild(record, parents, idempotency);
    await this.after.shift()?.();
    return out;
  }
}

describe('StoredDependencyStore: a parent finishing while a child registers', () => {
  const clock = new FakeClock();
  const options = { now: clock.now(), failedExpiresAt: Math.floor(clock.now() / 1000) + 3600 };
  let n = 0;
  const newRecord = (): RequestRecord =>
    queuedRecord(clock, {
      token: `req_${String(++n).padStart(32, '0')}`,
      owner: 'arn:aws:iam::1:user/a',
      operation: 'jira.add_comment',
      service: 'jira',
      payload: { task_id: 'MD-1', comment: 'hi' },
    });

  function setup() {
    const store = new InMemoryStore();
    const requests: RequestStore = store;
    const records = new InterleavedRecords(store);
    const deps = new StoredDependencyStore(records);
    /** A parent claimed by a worker; `end` is its finishing write. */
    const parent = async () => {
      const record = newRecord();
      await requests.insert(record);
      const claim = await requests.claim(record.token, clock.now(), 60);
      if (claim.kind !== 'claimed') throw new Error(claim.kind);
      const lease = { token: record.token, leaseId: claim.leaseId };
      const error = { code: 'PERMISSION_DENIED' as const, message: 'no', retryable: false };
      return {
        token: record.token,
        end: (how: 'complete' | 'fail' | 'dead') =>
          how === 'complete'
            ? requests.complete(lease, { result: { key: 'MD-9' } }, clock.now(), options.failedExpiresAt)
            : how === 'fail'
              ? requests.fail(lease, error, clock.now(), options.failedExpiresAt)
              : requests.markDead(lease, error, clock.now()),
      };
    };
    return { requests, records, deps, parent };
  }

  it('a parent completing just before the write refuses it: the child is stored queued, the release finds none', async () => {
    const { records, deps, parent } = setup();
    const a = await parent();
    records.before.push(() => a.end('complete'));
    const child = newRecord();
    const out = await deps.register(child, [a.token], options);
    expect(out.kind).toBe('ready');
    expect((await records.get(child.token))?.status).toBe('queued');
    expect((await records.get(a.token))?.dependents).toBeUndefined();
    expect(await deps.releaseDependents(a.token, options)).toEqual({ ready: [], failed: [] });
  });

  it('a parent completing just after the write: its release enqueues the child, once', async () => {
    const { records, deps, parent } = setup();
    const a = await parent();
    records.after.push(() => a.end('complete'));
    const child = newRecord();
    expect((await deps.register(child, [a.token], options)).kind).toBe('waiting');
    const released = await deps.releaseDependents(a.token, options);
    expect(released.ready.map((r) => r.token)).toEqual([child.token]);
    expect(await deps.releaseDependents(a.token, options)).toEqual({ ready: [], failed: [] });
  });

  it('a parent failing just before the write: the child is stored failed, naming it', async () => {
    const { records, deps, parent } = setup();
    const [a, b] = [await parent(), await parent()];
    records.before.push(async () => {
      await a.end('complete');
      await b.end('fail');
    });
    const child = newRecord();
    const out = await deps.register(child, [a.token, b.token], options);
    expect(out).toMatchObject({ kind: 'failed', dependency: b.token, state: 'failed' });
    expect(await records.get(child.token)).toMatchObject({
      status: 'failed',
      error: { code: 'DEPENDENCY_FAILED', details: { dependency: b.token, dependency_status: 'failed' } },
      expires_at: options.failedExpiresAt,
    });
  });

  it('drops a completed parent that refused the write and registers on the others', async () => {
    const { records, deps, parent } = setup();
    const [a, b] = [await parent(), await parent()];
    records.before.push(() => a.end('complete'));
    const child = newRecord();
    const out = await deps.register(child, [a.token, b.token], options);
    expect(out).toMatchObject({ kind: 'waiting', waitingOn: [b.token] });
    expect(records.waitingPuts).toBe(2);
    expect((await records.get(b.token))?.dependents).toEqual([child.token]);
    expect((await records.get(a.token))?.dependents).toBeUndefined();
  });

  it('tries again on a parent that refused the write yet reads unfinished (a dead parent redriven)', async () => {
    const { requests, records, deps, parent } = setup();
    const a = await parent();
    await a.end('dead');
    records.after.push(() => requests.requeueDead(a.token, clock.now()));
    const child = newRecord();
    const out = await deps.register(child, [a.token], options);
    expect(out).toMatchObject({ kind: 'waiting', waitingOn: [a.token] });
    expect((await records.get(a.token))?.dependents).toEqual([child.token]);
  });

  it(`gives up after ${MAX_REGISTER_RETRIES} retries when the parent keeps refusing yet reads unfinished`, async () => {
    const { records, deps, parent } = setup();
    const a = await parent();
    const refuse: WaitingChildWrite = { kind: 'parents_finished', parents: [a.token] };
    records.putWaitingChild = async () => {
      records.waitingPuts += 1;
      return refuse;
    };
    const child = newRecord();
    await expect(deps.register(child, [a.token], options)).rejects.toThrow(/refused the registration/);
    expect(records.waitingPuts).toBe(MAX_REGISTER_RETRIES + 1);
    expect(await records.get(child.token)).toBeUndefined();
  });
});
