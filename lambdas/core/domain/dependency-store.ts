/**
 * `depends_on`, race-free, over any DependencyRecords (lambdas/core/ports/dependency-records.ts):
 * the registration of a child on its parents, the release of the children when a parent finishes,
 * and the sweeper's repair. The pure rules (verdict, after_write, the error) are
 * lambdas/core/domain/dependencies.ts; the storage only does the atomic writes.
 *
 * The one rule that makes both orders agree: **a child is added to a parent's `dependents` only
 * while the parent has not finished**, in the same atomic write as the child's
 * (DependencyRecords.putWaitingChild). A parent's finishing write comes either before it (the
 * write is refused: registration reads the parent and counts it satisfied or failed) or after it
 * (the release, reading `dependents` after the finishing write, sees the child). No third case
 * exists, so no child is ever stranded.
 *
 * Release (when a parent finished): a completed parent is removed from each child's `waiting_on`;
 * that is followed by a conditional `waiting → queued`, which exactly one caller wins (the child
 * to enqueue). A failed, dead or missing parent fails each waiting child with DEPENDENCY_FAILED and
 * the release goes on down the chain. Every write is conditional and repeats harmlessly, so a
 * release may be re-run (by the sweeper via {@link StoredDependencyStore.reconcileWaiting}) after
 * a crash.
 */
import type {
  DependencyRegisterOptions,
  DependencyRegisterOutcome,
  DependencyRelease,
  DependencyReleaseOptions,
  DependencyStore,
  ListedRecord,
  WaitingQuery,
} from '../ports/index.js';
import type { DependencyRecord, DependencyRecords } from '../ports/dependency-records.js';
import type { RequestRecord } from '../../../model/request-record.js';
import {
  dependencyFailedError,
  dependencyVerdict,
  isFailedState,
  isSatisfiedState,
  isUnfinishedState,
  stateFor,
  waitParents,
  waitsOnlyForFinish,
  type DependencyState,
  type FailedDependencyState,
  type ParentState,
} from './dependencies.js';

/**
 * How often a registration tries again when a parent refused it yet reads unfinished (a dead
 * parent redriven between the write and the read).
 */
export const MAX_REGISTER_RETRIES = 10;

export type RegisterOutcome =
  | Exclude<DependencyRegisterOutcome, { kind: 'failed' }>
  /** A parent had already failed, died or gone: stored `failed` with DEPENDENCY_FAILED. */
  | { kind: 'failed'; record: DependencyRecord; dependency: string; state: FailedDependencyState };

export class StoredDependencyStore implements DependencyStore {
  constructor(protected readonly records: DependencyRecords) {}

  /**
   * Stores `child` (a new record, any status: it is replaced) depending on `dependsOn` (validated,
   * distinct, existing and the caller's: submit checks that first) and on its `after_write`.
   */
  async register(
    child: RequestRecord,
    dependsOn: readonly string[],
    options: DependencyRegisterOptions,
  ): Promise<RegisterOutcome> {
    const iso = new Date(options.now).toISOString();
    const base: DependencyRecord = {
      ...child,
      ...(dependsOn.length > 0 ? { depends_on: [...dependsOn] } : {}),
    };
    const spec = { depends_on: dependsOn, after_write: child.after_write };
    let pending = waitParents(spec);
    for (let attempt = 0; ; attempt++) {
      if (pending.length === 0) {
        const record: DependencyRecord = { ...base, status: 'queued', updated_at: iso };
        const put = await this.records.putChild(record, options.idempotency);
        return put.kind === 'duplicate' ? put : { kind: 'ready', record };
      }
      const record: DependencyRecord = { ...base, status: 'waiting', waiting_on: pending, updated_at: iso };
      const put = await this.records.putWaitingChild(record, pending, options.idempotency);
      if (put.kind === 'stored') return { kind: 'waiting', record, waitingOn: pending };
      if (put.kind === 'duplicate') return put;
      // These parents finished before us: their state decides for them (the other order).
      const states = (await Promise.all(put.parents.map((t) => this.stateOf(t)))).map((s) =>
        stateFor(spec, s),
      );
      const verdict = dependencyVerdict(states);
      if (verdict.kind === 'failed')
        return this.storeFailed(base, verdict.dependency, verdict.state, options);
      const satisfied = new Set(states.filter((s) => isSatisfiedState(s.state)).map((s) => s.token));
      pending = pending.filter((t) => !satisfied.has(t));
      if (satisfied.size > 0) continue;
      // A refused parent that reads unfinished again (a dead parent redriven between the two
      // reads): try again, a bounded number of times.
      if (attempt < MAX_REGISTER_RETRIES) continue;
      throw new Error(
        `request ${child.token}: ${put.parents.join(', ')} refused the registration ` +
          `${attempt + 1} times yet read unfinished`,
      );
    }
  }

  /**
   * Called after `parentToken` reached a final state (`completed`, `cached`, `failed`, `dead`; or it
   * is gone): releases its children and, for those it fails, theirs (the cascade). Does nothing for
   * a parent that has not finished. Safe to call again.
   */
  async releaseDependents(
    parentToken: string,
    options: DependencyReleaseOptions,
  ): Promise<DependencyRelease> {
    const outcome: DependencyRelease = { ready: [], failed: [] };
    const work = [parentToken];
    for (let parent = work.shift(); parent !== undefined; parent = work.shift()) {
      const item = await this.records.get(parent);
      const state: DependencyState = item ? item.status : 'missing';
      if (isUnfinishedState(state) || !item?.dependents) continue;
      for (const child of item.dependents) {
        if (isFailedState(state)) {
          const failed = await this.records.markFailed(child, parent, failure(parent, state, options));
          if (failed) {
            outcome.failed.push(failed);
            work.push(child);
            continue;
          }
          // Refused: not waiting (nothing to do), or this parent is only the child's after_write,
          // which it satisfies by finishing at all.
          if (!(await this.waitsOnlyForFinish(child, parent))) continue;
        }
        await this.records.removeWaitingOn(child, parent, options.now);
        const ready = await this.records.markReady(child, options.now);
        if (ready) outcome.ready.push(ready);
      }
    }
    return outcome;
  }

  /**
   * The sweeper's repair for a child left `waiting` (its parent's worker crashed between the
   * finishing write and the release): re-runs the release of each finished parent it waits on, and
   * promotes it if nothing is left to wait on.
   */
  async reconcileWaiting(childToken: string, options: DependencyReleaseOptions): Promise<DependencyRelease> {
    const outcome: DependencyRelease = { ready: [], failed: [] };
    const child = await this.records.get(childToken);
    if (!child || child.status !== 'waiting') return outcome;
    for (const parent of child.waiting_on ?? []) {
      const state = (await this.stateOf(parent)).state;
      if (isUnfinishedState(state)) continue;
      if (state === 'missing') {
        if (waitsOnlyForFinish(child, parent)) {
          // The write it waited for is gone (purged): that counts as finished.
          await this.records.removeWaitingOn(childToken, parent, options.now);
          continue;
        }
        // A parent that is gone (purged, expired) has no `dependents` left to release from: the
        // child fails here, and its own children after it.
        const failed = await this.records.markFailed(childToken, parent, failure(parent, state, options));
        if (failed) {
          outcome.failed.push(failed);
          const cascade = await this.releaseDependents(childToken, options);
          outcome.ready.push(...cascade.ready);
          outcome.failed.push(...cascade.failed);
        }
        return outcome;
      }
      const released = await this.releaseDependents(parent, options);
      outcome.ready.push(...released.ready);
      outcome.failed.push(...released.failed);
    }
    const ready = await this.records.markReady(childToken, options.now);
    if (ready) outcome.ready.push(ready);
    return outcome;
  }

  /**
   * Children `waiting` since before `updatedBefore` and not swept since `sweptBefore`, oldest first:
   * the sweeper's candidates. The sweeper stamps each one it looks at (`swept_at`), so children that
   * still wait on a running parent drop out of the next sweeps' reads and the ones after them come up.
   */
  findWaiting(query: WaitingQuery): Promise<ListedRecord[]> {
    return this.records.findWaiting(query);
  }

  private async storeFailed(
    base: DependencyRecord,
    dependency: string,
    state: FailedDependencyState,
    options: DependencyRegisterOptions,
  ): Promise<RegisterOutcome> {
    const iso = new Date(options.now).toISOString();
    const record: DependencyRecord = {
      ...base,
      status: 'failed',
      error: dependencyFailedError(dependency, state).toBody(),
      updated_at: iso,
      completed_at: iso,
      expires_at: options.failedExpiresAt,
    };
    const put = await this.records.putChild(record, options.idempotency);
    return put.kind === 'duplicate' ? put : { kind: 'failed', record, dependency, state };
  }

  /** Whether `parent` is the child's after_write (not also in its depends_on). */
  private async waitsOnlyForFinish(child: string, parent: string): Promise<boolean> {
    const record = await this.records.get(child);
    return record !== undefined && waitsOnlyForFinish(record, parent);
  }

  private async stateOf(token: string): Promise<ParentState> {
    const record = await this.records.get(token);
    return { token, state: record ? record.status : 'missing' };
  }
}

function failure(parent: string, state: FailedDependencyState, options: DependencyReleaseOptions) {
  return {
    error: dependencyFailedError(parent, state).toBody(),
    now: options.now,
    expiresAt: options.failedExpiresAt,
  };
}
