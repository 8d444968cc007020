/**
 * The behaviour of the depends_on store (lambdas/core/domain/dependency-store.ts) over one
 * DependencyRecords: run by the unit tests over the in-memory records and by the integration tests
 * over DynamoDB Local, so both storages are held to the same cases, races included.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../model/request-record.js';
import { newRequestToken } from '../../lambdas/core/domain/tokens.js';
import type { RegisterOutcome, StoredDependencyStore } from '../../lambdas/core/domain/dependency-store.js';
import type { DependencyRecords } from '../../lambdas/core/ports/dependency-records.js';
import type { DependencyRelease, RequestStore } from '../../lambdas/core/ports/index.js';

export interface DependencyStoreHarness {
  /** The request store sharing the records (the parents' claims and finishing writes). */
  requests: RequestStore;
  deps: StoredDependencyStore;
  /** The storage under `deps`, to read the dependency fields back. */
  records: DependencyRecords;
  /** Deletes a request's record as the table's TTL does. */
  expire(token: string): Promise<void>;
}

/** Seconds a finished record is kept. */
const TTL = 7 * 86400;

export function describeDependencyStore(name: string, setup: () => Promise<DependencyStoreHarness>): void {
  describe(name, () => {
    let requests: RequestStore;
    let deps: StoredDependencyStore;
    let records: DependencyRecords;
    let expire: (token: string) => Promise<void>;

    beforeAll(async () => {
      ({ requests, deps, records, expire } = await setup());
    });

    const now = () => Date.now();
    const expiresAt = () => Math.floor(Date.now() / 1000) + TTL;
    const releaseOptions = () => ({ now: now(), failedExpiresAt: expiresAt() });
    const registerOptions = () => ({ now: now(), failedExpiresAt: expiresAt() });

    function newRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
      const iso = new Date().toISOString();
      return {
        token: newRequestToken(),
        owner: 'arn:aws:iam::1:user/a',
        operation: 'jira.add_comment',
        service: 'jira',
        priority: 'normal',
        payload: { task_id: 'MD-1', comment: 'hi' },
        status: 'queued',
        routing_path: 'QUEUED',
        attempts: 0,
        created_at: iso,
        updated_at: iso,
        ...overrides,
      };
    }

    /** A parent stored and claimed by a worker, ready to finish. */
    async function claimedParent() {
      const parent = newRecord({ operation: 'jira.create_task' });
      await requests.insert(parent);
      const claim = await requests.claim(parent.token, now(), 60);
      if (claim.kind !== 'claimed') throw new Error(`claim: ${claim.kind}`);
      return { token: parent.token, lease: { token: parent.token, leaseId: claim.leaseId } };
    }

    type Parent = Awaited<ReturnType<typeof claimedParent>>;

    /** The worker's end of a request: the finishing write, then the release of its dependents. */
    async function finish(parent: Parent, how: 'complete' | 'fail' | 'dead'): Promise<DependencyRelease> {
      const error = { code: 'PERMISSION_DENIED' as const, message: 'no', retryable: false };
      const ok =
        how === 'complete'
          ? await requests.complete(parent.lease, { result: { key: 'MD-9' } }, now(), expiresAt())
          : how === 'fail'
            ? await requests.fail(parent.lease, error, now(), expiresAt())
            : await requests.markDead(parent.lease, error, now());
      expect(ok?.status).toBe(how === 'complete' ? 'completed' : how === 'fail' ? 'failed' : 'dead');
      return deps.releaseDependents(parent.token, releaseOptions());
    }

    const tokens = (list: { token: string }[]) => list.map((r) => r.token);
    const jitter = () => new Promise((r) => setTimeout(r, Math.random() * 4));

    describe('register', () => {
      it('stores a child waiting on unfinished parents and records it on each parent', async () => {
        const [a, b] = [await claimedParent(), newRecord()];
        await requests.insert(b);
        const child = newRecord();
        const out = await deps.register(child, [a.token, b.token], registerOptions());
        expect(out).toMatchObject({ kind: 'waiting', waitingOn: [a.token, b.token] });
        const stored = await records.get(child.token);
        expect(stored).toMatchObject({ status: 'waiting', depends_on: [a.token, b.token] });
        expect(stored?.waiting_on).toEqual([a.token, b.token].sort());
        expect((await records.get(a.token))?.dependents).toEqual([child.token]);
        expect((await records.get(b.token))?.dependents).toEqual([child.token]);
      });

      it('stores a child queued at once when every parent already completed', async () => {
        const a = await claimedParent();
        await finish(a, 'complete');
        const child = newRecord();
        const out = await deps.register(child, [a.token], registerOptions());
        expect(out.kind).toBe('ready');
        const stored = await records.get(child.token);
        expect(stored?.status).toBe('queued');
        expect(stored?.waiting_on).toBeUndefined();
        // Nothing was added to a finished parent.
        expect((await records.get(a.token))?.dependents).toBeUndefined();
      });

      it('waits only on the parents still running when some completed', async () => {
        const [a, b] = [await claimedParent(), await claimedParent()];
        await finish(a, 'complete');
        const child = newRecord();
        const out = await deps.register(child, [a.token, b.token], registerOptions());
        expect(out).toMatchObject({ kind: 'waiting', waitingOn: [b.token] });
      });

      it.each([
        ['failed', 'fail'],
        ['dead', 'dead'],
      ] as const)(
        'stores a child failed with DEPENDENCY_FAILED when a parent already ended %s',
        async (state, how) => {
          const [a, b] = [await claimedParent(), await claimedParent()];
          await finish(b, how);
          const child = newRecord();
          const out = await deps.register(child, [a.token, b.token], registerOptions());
          expect(out).toMatchObject({ kind: 'failed', dependency: b.token, state });
          const stored = await records.get(child.token);
          expect(stored?.status).toBe('failed');
          expect(stored?.error).toEqual({
            code: 'DEPENDENCY_FAILED',
            message: `dependency ${b.token} ended ${state}`,
            retryable: false,
            details: { dependency: b.token, dependency_status: state },
          });
          expect(stored?.expires_at).toBeTypeOf('number');
          // The running parent does not carry a child that already failed.
          expect((await records.get(a.token))?.dependents).toBeUndefined();
        },
      );

      it('fails a child whose parent is gone', async () => {
        const gone = newRequestToken();
        const out = await deps.register(newRecord(), [gone], registerOptions());
        expect(out).toMatchObject({ kind: 'failed', dependency: gone, state: 'missing' });
      });

      it('writes one record for concurrent registrations with the same idempotency key', async () => {
        const a = await claimedParent();
        const idempotency = { key: `owner\nchain-${newRequestToken()}`, fingerprint: 'f1' };
        const children = Array.from({ length: 5 }, () => newRecord());
        const outs = await Promise.all(
          children.map((c) => deps.register(c, [a.token], { ...registerOptions(), idempotency })),
        );
        const stored = outs.filter((o) => o.kind === 'waiting');
        expect(stored).toHaveLength(1);
        const winner = (stored[0] as Extract<RegisterOutcome, { kind: 'waiting' }>).record.token;
        for (const o of outs) if (o.kind === 'duplicate') expect(o.existingToken).toBe(winner);
        expect((await records.get(a.token))?.dependents).toEqual([winner]);
      });
    });

    describe('releaseDependents', () => {
      it('enqueues a child only once its last parent completed, and only once', async () => {
        const [a, b] = [await claimedParent(), await claimedParent()];
        const child = newRecord();
        await deps.register(child, [a.token, b.token], registerOptions());
        expect(await finish(a, 'complete')).toEqual({ ready: [], failed: [] });
        expect((await records.get(child.token))?.waiting_on).toEqual([b.token]);
        const out = await finish(b, 'complete');
        expect(tokens(out.ready)).toEqual([child.token]);
        expect(out.ready[0]).toMatchObject({ status: 'queued', service: 'jira', priority: 'normal' });
        // Released again (a retried worker, the sweeper): nothing more to do.
        expect(await deps.releaseDependents(b.token, releaseOptions())).toEqual({ ready: [], failed: [] });
        expect(await deps.releaseDependents(a.token, releaseOptions())).toEqual({ ready: [], failed: [] });
      });

      it('enqueues a child once when its parents complete at the same moment', async () => {
        for (let round = 0; round < 10; round++) {
          const parents = await Promise.all([claimedParent(), claimedParent(), claimedParent()]);
          const child = newRecord();
          await deps.register(
            child,
            parents.map((p) => p.token),
            registerOptions(),
          );
          const outs = await Promise.all(parents.map((p) => finish(p, 'complete')));
          expect(outs.flatMap((o) => tokens(o.ready))).toEqual([child.token]);
        }
      });

      it('does nothing for a parent that has not finished', async () => {
        const a = await claimedParent();
        const child = newRecord();
        await deps.register(child, [a.token], registerOptions());
        expect(await deps.releaseDependents(a.token, releaseOptions())).toEqual({ ready: [], failed: [] });
        expect((await records.get(child.token))?.status).toBe('waiting');
      });

      it('fails the whole chain when a parent fails, each link naming its own parent', async () => {
        const a = await claimedParent();
        const [b, c, d] = [newRecord(), newRecord(), newRecord()];
        await deps.register(b, [a.token], registerOptions());
        await deps.register(c, [b.token], registerOptions());
        const e = await claimedParent();
        await deps.register(d, [c.token, e.token], registerOptions());
        const out = await finish(a, 'fail');
        expect(tokens(out.failed)).toEqual([b.token, c.token, d.token]);
        expect(out.ready).toEqual([]);
        for (const [child, parent] of [
          [b, a.token],
          [c, b.token],
          [d, c.token],
        ] as const) {
          const stored = await records.get(child.token);
          expect(stored?.status).toBe('failed');
          expect(stored?.error).toMatchObject({ code: 'DEPENDENCY_FAILED', details: { dependency: parent } });
          expect(stored?.waiting_on).toBeUndefined();
        }
        // The other parent of d finishing later changes nothing.
        expect(await finish(e, 'complete')).toEqual({ ready: [], failed: [] });
        expect((await records.get(d.token))?.status).toBe('failed');
      });

      it('fails the children of a parent that ended dead', async () => {
        const a = await claimedParent();
        const child = newRecord();
        await deps.register(child, [a.token], registerOptions());
        const out = await finish(a, 'dead');
        expect(tokens(out.failed)).toEqual([child.token]);
        expect((await records.get(child.token))?.error?.details).toEqual({
          dependency: a.token,
          dependency_status: 'dead',
        });
      });

      it('releases a chain step by step as each link completes', async () => {
        const a = await claimedParent();
        const [b, c] = [newRecord(), newRecord()];
        await deps.register(b, [a.token], registerOptions());
        await deps.register(c, [b.token], registerOptions());
        expect(tokens((await finish(a, 'complete')).ready)).toEqual([b.token]);
        expect((await records.get(c.token))?.status).toBe('waiting');
        const claim = await requests.claim(b.token, now(), 60);
        expect(claim.kind).toBe('claimed');
        if (claim.kind !== 'claimed') return;
        expect(
          tokens(
            (await finish({ token: b.token, lease: { token: b.token, leaseId: claim.leaseId } }, 'complete'))
              .ready,
          ),
        ).toEqual([c.token]);
      });
    });

    describe('parent finishing concurrently with the child registering', () => {
      it.each(['complete', 'fail'] as const)(
        'never strands the child: 50 rounds, parent does %s',
        async (how) => {
          let waitedFirst = 0;
          for (let round = 0; round < 50; round++) {
            const parent = await claimedParent();
            const child = newRecord();
            const [released, registered] = await Promise.all([
              jitter().then(() => finish(parent, how)),
              jitter().then(() => deps.register(child, [parent.token], registerOptions())),
            ]);
            if (registered.kind === 'waiting') waitedFirst++;
            const stored = await records.get(child.token);
            expect(stored?.waiting_on).toBeUndefined();
            if (how === 'complete') {
              // Enqueued exactly once: either by the registration or by the release.
              const enqueued = [
                ...(registered.kind === 'ready' ? [child.token] : []),
                ...tokens(released.ready),
              ];
              expect(enqueued).toEqual([child.token]);
              expect(stored?.status).toBe('queued');
            } else {
              const failedBy = registered.kind === 'failed' ? 1 : tokens(released.failed).length;
              expect(failedBy).toBe(1);
              expect(stored?.status).toBe('failed');
              expect(stored?.error).toMatchObject({
                code: 'DEPENDENCY_FAILED',
                details: { dependency: parent.token, dependency_status: 'failed' },
              });
            }
          }
          // Both orders happened (a sanity check on the test, not on the store).
          expect(waitedFirst).toBeGreaterThan(0);
          expect(waitedFirst).toBeLessThan(50);
        },
        60_000,
      );

      it('never strands a child of several parents finishing while it registers', async () => {
        for (let round = 0; round < 20; round++) {
          const parents = await Promise.all([claimedParent(), claimedParent(), claimedParent()]);
          const child = newRecord();
          const [registered, ...released] = await Promise.all([
            jitter().then(() =>
              deps.register(
                child,
                parents.map((p) => p.token),
                registerOptions(),
              ),
            ),
            ...parents.map((p) => jitter().then(() => finish(p, 'complete'))),
          ]);
          const enqueued = [
            ...(registered.kind === 'ready' ? [child.token] : []),
            ...released.flatMap((r) => tokens(r.ready)),
          ];
          expect(enqueued).toEqual([child.token]);
          expect((await records.get(child.token))?.status).toBe('queued');
        }
      }, 60_000);
    });

    describe('reconcileWaiting and findWaiting (the sweeper)', () => {
      it('finds a child whose parent finished without releasing it, and releases it', async () => {
        const a = await claimedParent();
        const child = newRecord();
        await deps.register(child, [a.token], { ...registerOptions(), now: now() - 10 * 60_000 });
        // The worker crashed between its finishing write and the release.
        expect(
          await requests.complete(a.lease, { result: { key: 'MD-9' } }, now(), expiresAt()),
        ).toMatchObject({
          status: 'completed',
        });
        const before = new Date(now() - 60_000).toISOString();
        const stale = await deps.findWaiting({ updatedBefore: before, sweptBefore: before, limit: 1000 });
        expect(tokens(stale)).toContain(child.token);
        const out = await deps.reconcileWaiting(child.token, releaseOptions());
        expect(tokens(out.ready)).toEqual([child.token]);
        expect(await deps.reconcileWaiting(child.token, releaseOptions())).toEqual({ ready: [], failed: [] });
        const at = new Date(now()).toISOString();
        expect(
          tokens(await deps.findWaiting({ updatedBefore: at, sweptBefore: at, limit: 1000 })),
        ).not.toContain(child.token);
      });

      it.each([
        ['deleted (expired by TTL)', 'expired'],
        ['dead without a release, then purged', 'purged'],
      ] as const)(
        'fails with DEPENDENCY_FAILED a child whose parent is gone: %s, and its own child',
        async (_, how) => {
          const a = await claimedParent();
          const child = newRecord();
          const grandchild = newRecord();
          await deps.register(child, [a.token], registerOptions());
          await deps.register(grandchild, [child.token], registerOptions());
          if (how === 'expired') {
            await expire(a.token);
          } else {
            const error = { code: 'SERVICE_UNAVAILABLE' as const, message: '503', retryable: true };
            expect(await requests.markDead(a.lease, error, now())).toMatchObject({ status: 'dead' });
            expect((await requests.deleteDead(a.token)).kind).toBe('changed');
          }
          const out = await deps.reconcileWaiting(child.token, releaseOptions());
          expect(tokens(out.failed)).toEqual([child.token, grandchild.token]);
          expect(out.ready).toEqual([]);
          expect(await records.get(child.token)).toMatchObject({
            status: 'failed',
            error: { code: 'DEPENDENCY_FAILED', retryable: false, details: { dependency: a.token } },
          });
          expect((await records.get(child.token))?.waiting_on).toBeUndefined();
          expect(await records.get(grandchild.token)).toMatchObject({
            status: 'failed',
            error: { code: 'DEPENDENCY_FAILED', details: { dependency: child.token } },
          });
          expect(await deps.reconcileWaiting(child.token, releaseOptions())).toEqual({
            ready: [],
            failed: [],
          });
        },
      );

      it('leaves a child alone while its parent runs', async () => {
        const a = await claimedParent();
        const child = newRecord();
        await deps.register(child, [a.token], registerOptions());
        expect(await deps.reconcileWaiting(child.token, releaseOptions())).toEqual({ ready: [], failed: [] });
        expect((await records.get(child.token))?.status).toBe('waiting');
      });
    });

    describe('after_write (after_consistency_token): waits for the write to finish, in any state', () => {
      it.each(['complete', 'fail', 'dead'] as const)(
        'releases the child when the write does %s',
        async (how) => {
          const write = await claimedParent();
          const child = newRecord({ after_write: write.token });
          const registered = await deps.register(child, [], registerOptions());
          expect(registered.kind).toBe('waiting');
          expect((await records.get(child.token))?.depends_on).toBeUndefined();
          const released = await finish(write, how);
          expect(tokens(released.ready)).toEqual([child.token]);
          expect(released.failed).toEqual([]);
          expect((await records.get(child.token))?.status).toBe('queued');
        },
      );

      it('queues at once after a write that already failed, or is gone', async () => {
        const write = await claimedParent();
        await finish(write, 'fail');
        const after = await deps.register(newRecord({ after_write: write.token }), [], registerOptions());
        expect(after.kind).toBe('ready');
        const gone = await deps.register(
          newRecord({ after_write: newRequestToken() }),
          [],
          registerOptions(),
        );
        expect(gone.kind).toBe('ready');
      });

      it('still fails on a failed depends_on parent, and keeps depends_on rules for a token in both', async () => {
        const [write, parent] = [await claimedParent(), await claimedParent()];
        const child = newRecord({ after_write: write.token });
        await deps.register(child, [parent.token], registerOptions());
        await finish(parent, 'fail');
        expect((await records.get(child.token))?.error).toMatchObject({ code: 'DEPENDENCY_FAILED' });

        const both = await claimedParent();
        const strict = newRecord({ after_write: both.token });
        await deps.register(strict, [both.token], registerOptions());
        const released = await finish(both, 'fail');
        expect(tokens(released.failed)).toEqual([strict.token]);
      });

      it('never strands the child of a write failing while it registers: 30 rounds', async () => {
        for (let round = 0; round < 30; round++) {
          const write = await claimedParent();
          const child = newRecord({ after_write: write.token });
          const [released, registered] = await Promise.all([
            jitter().then(() => finish(write, 'fail')),
            jitter().then(() => deps.register(child, [], registerOptions())),
          ]);
          const enqueued = [...(registered.kind === 'ready' ? [child.token] : []), ...tokens(released.ready)];
          expect(enqueued).toEqual([child.token]);
          expect((await records.get(child.token))?.status).toBe('queued');
        }
      }, 60_000);

      it('the sweeper releases a child whose write was purged (a dead letter deleted) unreleased', async () => {
        const write = await claimedParent();
        const child = newRecord({ after_write: write.token });
        await deps.register(child, [], registerOptions());
        const error = { code: 'INTERNAL_ERROR' as const, message: 'boom', retryable: true };
        expect(await requests.markDead(write.lease, error, now())).toMatchObject({ status: 'dead' });
        expect((await requests.deleteDead(write.token)).kind).toBeDefined();
        expect(await requests.get(write.token)).toBeUndefined();
        const out = await deps.reconcileWaiting(child.token, releaseOptions());
        expect(tokens(out.ready)).toEqual([child.token]);
      });

      it('the sweeper releases a child whose failed write was not released', async () => {
        const write = await claimedParent();
        const child = newRecord({ after_write: write.token });
        await deps.register(child, [], registerOptions());
        const error = { code: 'PERMISSION_DENIED' as const, message: 'no', retryable: false };
        expect(await requests.fail(write.lease, error, now(), expiresAt())).toMatchObject({
          status: 'failed',
        });
        const out = await deps.reconcileWaiting(child.token, releaseOptions());
        expect(tokens(out.ready)).toEqual([child.token]);
      });
    });
  });
}
