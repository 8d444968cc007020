import { describe, expect, it } from 'vitest';
import type { RequestRecord, Status } from '../../../model/request-record.js';
import { sweep, type SweeperDeps } from '../../../lambdas/core/use-cases/sweeper.js';
import type { QueueKey } from '../../../model/config/resources.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

const MIN = 60_000;
const token = (n: number) => `req_${String(n).padStart(32, '0')}`;

function setup() {
  const clock = new FakeClock();
  const store = new InMemoryStore();
  const sent: Array<{ queue: QueueKey; token: string }> = [];
  let failSends = false;
  const deps: SweeperDeps = {
    store,
    queue: {
      send: async (queue, t) => {
        if (failSends) throw new Error('SQS down');
        sent.push({ queue, token: t });
      },
    },
    clock,
    staleQueuedSeconds: 120,
    batchSize: 100,
  };
  const put = (n: number, status: Status, ageMs: number, extra: Partial<RequestRecord> = {}) => {
    const at = new Date(clock.now() - ageMs).toISOString();
    store.records.set(token(n), {
      token: token(n),
      owner: 'arn:aws:iam::1:user/a',
      operation: 'jira.get_task',
      service: 'jira',
      priority: 'high',
      payload: { task_id: 'MD-1' },
      status,
      routing_path: 'QUEUED',
      attempts: 0,
      created_at: at,
      updated_at: at,
      ...extra,
    });
  };
  return { clock, store, sent, deps, put, failSends: () => (failSends = true) };
}

describe('sweeper', () => {
  describe('queued records', () => {
    it('re-enqueues a record queued for longer than the threshold to its own queue', async () => {
      const { deps, sent, put } = setup();
      put(1, 'queued', 3 * MIN, { service: 'confluence', priority: 'low' });
      expect(await sweep(deps)).toEqual({ requeued: 1, recovered_leases: 0, skipped: 0, failed_sends: 0 });
      expect(sent).toEqual([{ queue: 'confluence-low', token: token(1) }]);
    });

    it('leaves recent records, deferred records not yet due, and finished ones alone', async () => {
      const { deps, sent, put, clock } = setup();
      put(1, 'queued', 1 * MIN);
      put(2, 'queued', 10 * MIN, { deferred_until: new Date(clock.now() + 5 * MIN).toISOString() });
      put(3, 'completed', 10 * MIN);
      put(4, 'dead', 10 * MIN);
      put(5, 'failed', 10 * MIN);
      expect(await sweep(deps)).toMatchObject({ requeued: 0, recovered_leases: 0 });
      expect(sent).toEqual([]);
    });

    it('re-enqueues a deferred record once its deferral is long past', async () => {
      const { deps, sent, put, clock } = setup();
      put(1, 'queued', 10 * MIN, { deferred_until: new Date(clock.now() - 3 * MIN).toISOString() });
      await sweep(deps);
      expect(sent.map((s) => s.token)).toEqual([token(1)]);
    });

    it('re-sends a record at most once per threshold, however often it runs', async () => {
      const { deps, sent, put, clock } = setup();
      put(1, 'queued', 3 * MIN);
      await sweep(deps);
      clock.advance(MIN);
      await sweep(deps);
      expect(sent).toHaveLength(1);
      clock.advance(2 * MIN);
      await sweep(deps);
      expect(sent).toHaveLength(2);
    });

    it('counts a failed send and tries again after the threshold', async () => {
      const { deps, sent, put, clock, failSends } = setup();
      put(1, 'queued', 3 * MIN);
      const failures: string[] = [];
      failSends();
      expect(await sweep({ ...deps, onSendFailure: (t) => failures.push(t) })).toMatchObject({
        requeued: 0,
        failed_sends: 1,
      });
      expect(failures).toEqual([token(1)]);
      deps.queue = { send: async (queue, t) => void sent.push({ queue, token: t }) };
      clock.advance(3 * MIN);
      expect(await sweep(deps)).toMatchObject({ requeued: 1 });
    });
  });

  describe('processing records', () => {
    it('re-enqueues a record whose lease expired, and not one whose lease is live', async () => {
      const { deps, sent, put, clock } = setup();
      put(1, 'processing', 5 * MIN, { lease_expires_at: clock.now() - 1_000 });
      put(2, 'processing', 5 * MIN, { lease_expires_at: clock.now() + 30_000 });
      expect(await sweep(deps)).toMatchObject({ requeued: 0, recovered_leases: 1 });
      expect(sent).toEqual([{ queue: 'jira-high', token: token(1) }]);
    });
  });

  it('skips a record a worker moved between the read and the stamp', async () => {
    const { deps, sent, put, store } = setup();
    put(1, 'queued', 3 * MIN);
    const racing: SweeperDeps = {
      ...deps,
      store: {
        findStranded: (q) => store.findStranded(q),
        markSwept: async (seen, now) => {
          store.records.get(seen.token)!.status = 'processing'; // a worker claimed it meanwhile
          return store.markSwept(seen, now);
        },
      },
    };
    expect(await sweep(racing)).toMatchObject({ requeued: 0, skipped: 1 });
    expect(sent).toEqual([]);
  });
});
