/**
 * A DependencyStore in memory over an InMemoryStore's records, with the rules of
 * DynamoDependencyStore (for unit tests): a child registers on the parents that have not finished,
 * a finished parent releases (completed/cached) or fails (failed/dead/missing, cascading) its
 * waiting children.
 */
import {
  dependencyFailedError,
  dependencyVerdict,
  isFailedState,
  isUnfinishedState,
  waitParents,
  waitsOnlyForFinish,
  type DependencyState,
  type FailedDependencyState,
} from '../../lambdas/core/domain/dependencies.js';
import type {
  DependencyRegisterOptions,
  DependencyRegisterOutcome,
  DependencyRelease,
  DependencyReleaseOptions,
  DependencyStore,
  WaitingQuery,
} from '../../lambdas/core/ports/index.js';
import type { RequestRecord } from '../../model/request-record.js';
import type { InMemoryStore } from './in-memory-store.js';

type Stored = RequestRecord & { dependents?: string[] };

export class InMemoryDependencyStore implements DependencyStore {
  constructor(private readonly store: InMemoryStore) {}

  async register(
    child: RequestRecord,
    dependsOn: readonly string[],
    options: DependencyRegisterOptions,
  ): Promise<DependencyRegisterOutcome> {
    if (options.idempotency) {
      const existing = this.store.keys.get(options.idempotency.key);
      if (existing)
        return { kind: 'duplicate', existingToken: existing.token, fingerprint: existing.fingerprint };
    }
    const iso = new Date(options.now).toISOString();
    const spec = { depends_on: dependsOn, after_write: child.after_write };
    const verdict = dependencyVerdict(
      waitParents(spec).map((token) => ({ token, state: this.stateOf(token) })),
      spec,
    );
    const base: RequestRecord = {
      ...structuredClone(child),
      ...(dependsOn.length > 0 ? { depends_on: [...dependsOn] } : {}),
      updated_at: iso,
    };
    let record: RequestRecord;
    if (verdict.kind === 'failed') {
      record = {
        ...base,
        status: 'failed',
        error: dependencyFailedError(verdict.dependency, verdict.state).toBody(),
        completed_at: iso,
        expires_at: options.failedExpiresAt,
      };
    } else if (verdict.kind === 'ready') {
      record = { ...base, status: 'queued' };
    } else {
      record = { ...base, status: 'waiting', waiting_on: [...verdict.pending].sort() };
      for (const parent of verdict.pending) {
        const p = this.store.records.get(parent) as Stored;
        p.dependents = [...new Set([...(p.dependents ?? []), child.token])].sort();
      }
    }
    await this.store.insert(record, options.idempotency);
    const stored = (await this.store.get(record.token))!;
    if (verdict.kind === 'failed') return { kind: 'failed', record: stored, dependency: verdict.dependency };
    if (verdict.kind === 'ready') return { kind: 'ready', record: stored };
    return { kind: 'waiting', record: stored, waitingOn: stored.waiting_on ?? [] };
  }

  async releaseDependents(
    parentToken: string,
    options: DependencyReleaseOptions,
  ): Promise<DependencyRelease> {
    const outcome: DependencyRelease = { ready: [], failed: [] };
    const work = [parentToken];
    for (let parent = work.shift(); parent !== undefined; parent = work.shift()) {
      const state = this.stateOf(parent);
      const item = this.store.records.get(parent) as Stored | undefined;
      if (isUnfinishedState(state) || !item?.dependents) continue;
      for (const childToken of item.dependents) {
        const child = this.store.records.get(childToken);
        if (!child || child.status !== 'waiting') continue;
        const iso = new Date(options.now).toISOString();
        if (isFailedState(state) && !waitsOnlyForFinish(child, parent)) {
          Object.assign(child, {
            status: 'failed',
            error: dependencyFailedError(parent, state as FailedDependencyState).toBody(),
            updated_at: iso,
            completed_at: iso,
            expires_at: options.failedExpiresAt,
          });
          delete child.waiting_on;
          outcome.failed.push((await this.store.get(childToken))!);
          work.push(childToken);
        } else {
          const left = (child.waiting_on ?? []).filter((t) => t !== parent);
          child.updated_at = iso;
          if (left.length > 0) {
            child.waiting_on = left;
          } else {
            delete child.waiting_on;
            child.status = 'queued';
            outcome.ready.push((await this.store.get(childToken))!);
          }
        }
      }
    }
    return outcome;
  }

  async reconcileWaiting(childToken: string, options: DependencyReleaseOptions): Promise<DependencyRelease> {
    const outcome: DependencyRelease = { ready: [], failed: [] };
    const child = this.store.records.get(childToken);
    if (!child || child.status !== 'waiting') return outcome;
    for (const parent of [...(child.waiting_on ?? [])]) {
      const state = this.stateOf(parent);
      if (isUnfinishedState(state)) continue;
      if (state === 'missing' && waitsOnlyForFinish(child, parent)) {
        // The write it waited for is gone (purged): that counts as finished.
        const left = (child.waiting_on ?? []).filter((t) => t !== parent);
        child.updated_at = new Date(options.now).toISOString();
        if (left.length > 0) child.waiting_on = left;
        else {
          delete child.waiting_on;
          child.status = 'queued';
          outcome.ready.push((await this.store.get(childToken))!);
        }
        continue;
      }
      if (state === 'missing') {
        // A parent that is gone has no `dependents` to release from: the child fails here.
        const iso = new Date(options.now).toISOString();
        Object.assign(child, {
          status: 'failed',
          error: dependencyFailedError(parent, 'missing').toBody(),
          updated_at: iso,
          completed_at: iso,
          expires_at: options.failedExpiresAt,
        });
        delete child.waiting_on;
        outcome.failed.push((await this.store.get(childToken))!);
        const cascade = await this.releaseDependents(childToken, options);
        outcome.ready.push(...cascade.ready);
        outcome.failed.push(...cascade.failed);
        return outcome;
      }
      const released = await this.releaseDependents(parent, options);
      outcome.ready.push(...released.ready);
      outcome.failed.push(...released.failed);
    }
    return outcome;
  }

  async findWaiting(query: WaitingQuery): Promise<RequestRecord[]> {
    const found = [...this.store.records.values()]
      .filter(
        (r) =>
          r.status === 'waiting' &&
          r.updated_at < query.updatedBefore &&
          !(((r as RequestRecord & { swept_at?: string }).swept_at ?? '') >= query.sweptBefore),
      )
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    return Promise.all(found.slice(0, query.limit).map(async (r) => (await this.store.get(r.token))!));
  }

  private stateOf(token: string): DependencyState {
    return this.store.records.get(token)?.status ?? 'missing';
  }
}
