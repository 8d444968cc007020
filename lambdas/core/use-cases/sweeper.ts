/**
 * The sweeper (DESIGN invariant 1, nothing lost): repairs what a crash or a failed send left behind.
 *
 * - A record `queued` with no progress for `staleQueuedSeconds` (past its `updated_at` and its
 *   `deferred_until`) may have no message: the DynamoDB write succeeded and the SQS send did not.
 * - A record `processing` whose lease expired belongs to a worker that crashed or timed out; its
 *   message may already be gone.
 *
 * Either gets a fresh message. A duplicate is harmless: claims are conditional, a finished record
 * drops the message, and an expired lease is taken over by the claim. Each record is stamped
 * `swept_at` first (conditionally), so overlapping sweeps send once and a record is re-sent at most
 * once per `staleQueuedSeconds` while a backlog drains.
 *
 * - A record `waiting` (depends_on) unchanged for `staleQueuedSeconds` may have missed its release
 *   (its parent's worker crashed between the finishing write and the release, or the parent is
 *   gone: purged or expired): it is reconciled, and the children that became ready are sent; a
 *   child of a parent that is gone fails with DEPENDENCY_FAILED. Each is stamped `swept_at` first,
 *   like the others, so the next sweeps look at the ones after it, not at the same first
 *   `batchSize` children (those still legitimately waiting) again and again.
 */
import { queueKey, recordRetentionSeconds } from '../../../model/config/resources.js';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import type { Clock, DependencyStore, ListedRecord, RequestStore, WorkQueue } from '../ports/index.js';

export interface SweeperDeps {
  store: Pick<RequestStore, 'findStranded' | 'markSwept'>;
  queue: Pick<WorkQueue, 'send'>;
  clock: Clock;
  /** How long a `queued` record may sit without progress before it is re-enqueued. */
  staleQueuedSeconds: number;
  /** Most records of each kind looked at per sweep. */
  batchSize: number;
  onSendFailure?: (token: string, err: unknown) => void;
  /** `depends_on`: reconciles stale `waiting` records; absent, they are not looked at. */
  dependencies?: Pick<DependencyStore, 'findWaiting' | 'reconcileWaiting'>;
  /** Epoch seconds a dependent failed by a reconcile is kept. */
  retentionSeconds?: number;
}

export interface SweepReport {
  /** `queued` records re-enqueued (orphans: no message, or one lost). */
  requeued: number;
  /** `processing` records with an expired lease, re-enqueued for the claim to take over. */
  recovered_leases: number;
  /** Candidates a worker moved (or another sweep stamped) between the read and the stamp. */
  skipped: number;
  failed_sends: number;
  /** With `dependencies`: stale `waiting` records reconciled. */
  reconciled_waiting?: number;
  /** With `dependencies`: dependents a reconcile moved to `queued` and sent. */
  released_dependents?: number;
  /** With `dependencies`: dependents a reconcile failed with DEPENDENCY_FAILED. */
  failed_dependents?: number;
}

export async function sweep(deps: SweeperDeps): Promise<SweepReport> {
  const now = deps.clock.now();
  const staleMs = deps.staleQueuedSeconds * 1000;
  const before = new Date(now - staleMs).toISOString();
  const report: SweepReport = {
    requeued: 0,
    recovered_leases: 0,
    skipped: 0,
    failed_sends: 0,
  };

  const queued = (
    await deps.store.findStranded({
      status: 'queued',
      updatedBefore: before,
      leaseExpiredBefore: now,
      sweptBefore: before,
      limit: deps.batchSize,
    })
  ).filter((r) => !r.deferred_until || Date.parse(r.deferred_until) + staleMs < now);
  const expired = await deps.store.findStranded({
    status: 'processing',
    updatedBefore: before,
    leaseExpiredBefore: now,
    sweptBefore: before,
    limit: deps.batchSize,
  });

  const resend = async (record: ListedRecord, counter: 'requeued' | 'recovered_leases') => {
    if (!(await deps.store.markSwept(record, now))) {
      report.skipped += 1;
      return;
    }
    try {
      await deps.queue.send(queueKey(record.service, record.priority), record.token);
      report[counter] += 1;
    } catch (err) {
      // The stamp stays: the next sweep after `staleQueuedSeconds` tries again.
      report.failed_sends += 1;
      deps.onSendFailure?.(record.token, err);
    }
  };
  for (const record of queued) await resend(record, 'requeued');
  for (const record of expired) await resend(record, 'recovered_leases');
  if (deps.dependencies) await reconcileWaiting(deps, deps.dependencies, before, now, report);
  return report;
}

async function reconcileWaiting(
  deps: SweeperDeps,
  dependencies: NonNullable<SweeperDeps['dependencies']>,
  before: string,
  now: number,
  report: SweepReport,
): Promise<void> {
  const options = {
    now,
    failedExpiresAt:
      Math.floor(now / 1000) + (deps.retentionSeconds ?? recordRetentionSeconds(DEFAULT_CONFIG)),
  };
  report.reconciled_waiting = 0;
  report.released_dependents = 0;
  report.failed_dependents = 0;
  const stale = await dependencies.findWaiting({
    updatedBefore: before,
    sweptBefore: before,
    limit: deps.batchSize,
  });
  for (const waiting of stale) {
    if (!(await deps.store.markSwept(waiting, now))) {
      report.skipped += 1;
      continue;
    }
    const released = await dependencies.reconcileWaiting(waiting.token, options);
    report.reconciled_waiting += 1;
    report.failed_dependents += released.failed.length;
    for (const child of released.ready) {
      try {
        await deps.queue.send(queueKey(child.service, child.priority), child.token);
        report.released_dependents += 1;
      } catch (err) {
        // The child is `queued` now: the next sweep re-enqueues it as an orphan.
        report.failed_sends += 1;
        deps.onSendFailure?.(child.token, err);
      }
    }
  }
}
