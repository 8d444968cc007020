/**
 * The depends_on storage in memory over an InMemoryStore's records (for unit tests): the same
 * atomic writes and conditions as DynamoDependencyRecords, each one synchronous step, and the
 * core's StoredDependencyStore over them. No rule of its own: what is released, failed or left
 * waiting is decided in lambdas/core/domain/dependency-store.ts.
 */
import { StoredDependencyStore } from '../../lambdas/core/domain/dependency-store.js';
import { UNFINISHED_DEPENDENCY_STATES } from '../../lambdas/core/domain/dependencies.js';
import type {
  ChildFailure,
  ChildWrite,
  DependencyRecord,
  DependencyRecords,
  WaitingChildWrite,
} from '../../lambdas/core/ports/dependency-records.js';
import type { IdempotencyClaim, WaitingQuery } from '../../lambdas/core/ports/index.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryDependencyRecords implements DependencyRecords {
  constructor(private readonly store: InMemoryStore) {}

  get(token: string): Promise<DependencyRecord | undefined> {
    return this.store.get(token);
  }

  async putChild(record: DependencyRecord, idempotency?: IdempotencyClaim): Promise<ChildWrite> {
    return this.duplicateOf(idempotency) ?? this.insert(record, idempotency);
  }

  async putWaitingChild(
    record: DependencyRecord,
    parents: readonly string[],
    idempotency?: IdempotencyClaim,
  ): Promise<WaitingChildWrite> {
    const duplicate = this.duplicateOf(idempotency);
    if (duplicate) return duplicate;
    if (this.store.records.has(record.token)) throw new Error(`request ${record.token} already exists`);
    const finished = parents.filter((t) => {
      const status = this.store.records.get(t)?.status;
      return status === undefined || !(UNFINISHED_DEPENDENCY_STATES as readonly string[]).includes(status);
    });
    if (finished.length > 0) return { kind: 'parents_finished', parents: finished };
    for (const parent of parents) {
      const p = this.record(parent)!;
      p.dependents = asSet([...(p.dependents ?? []), record.token]);
    }
    return this.insert(record, idempotency);
  }

  async removeWaitingOn(child: string, parent: string, now: number): Promise<boolean> {
    const r = this.record(child);
    if (r?.status !== 'waiting' || !r.waiting_on?.includes(parent)) return false;
    const left = r.waiting_on.filter((t) => t !== parent);
    if (left.length > 0) r.waiting_on = left;
    else delete r.waiting_on;
    r.updated_at = new Date(now).toISOString();
    return true;
  }

  async markReady(child: string, now: number): Promise<DependencyRecord | undefined> {
    const r = this.record(child);
    if (r?.status !== 'waiting' || (r.waiting_on?.length ?? 0) > 0) return undefined;
    Object.assign(r, { status: 'queued', updated_at: new Date(now).toISOString() });
    return this.store.get(child);
  }

  async markFailed(
    child: string,
    parent: string,
    failure: ChildFailure,
  ): Promise<DependencyRecord | undefined> {
    const r = this.record(child);
    // As the DynamoDB condition: waiting, and `parent` is not only its after_write.
    const afterWriteOnly = r?.after_write === parent && !(r.depends_on ?? []).includes(parent);
    if (r?.status !== 'waiting' || afterWriteOnly) return undefined;
    const iso = new Date(failure.now).toISOString();
    Object.assign(r, {
      status: 'failed',
      error: structuredClone(failure.error),
      updated_at: iso,
      completed_at: iso,
      expires_at: failure.expiresAt,
    });
    delete r.waiting_on;
    return this.store.get(child);
  }

  async findWaiting(query: WaitingQuery): Promise<DependencyRecord[]> {
    const found = [...this.store.records.values()]
      .filter(
        (r) =>
          r.status === 'waiting' &&
          r.updated_at < query.updatedBefore &&
          !(((r as DependencyRecord & { swept_at?: string }).swept_at ?? '') >= query.sweptBefore),
      )
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    return Promise.all(found.slice(0, query.limit).map(async (r) => (await this.store.get(r.token))!));
  }

  private record(token: string): DependencyRecord | undefined {
    return this.store.records.get(token);
  }

  private duplicateOf(idempotency: IdempotencyClaim | undefined): ChildWrite | undefined {
    const existing = idempotency && this.store.keys.get(idempotency.key);
    return existing
      ? { kind: 'duplicate', existingToken: existing.token, fingerprint: existing.fingerprint }
      : undefined;
  }

  /** Stores the record as DynamoDB reads it back: sets as sorted arrays, an empty one left out. */
  private async insert(record: DependencyRecord, idempotency?: IdempotencyClaim): Promise<ChildWrite> {
    const { waiting_on, dependents, ...rest } = record;
    const stored: DependencyRecord = {
      ...rest,
      ...(waiting_on && waiting_on.length > 0 ? { waiting_on: asSet(waiting_on) } : {}),
      ...(dependents && dependents.length > 0 ? { dependents: asSet(dependents) } : {}),
    };
    await this.store.insert(stored, idempotency);
    return { kind: 'stored' };
  }
}

/** The depends_on store of the unit tests: the core's logic over InMemoryDependencyRecords. */
export class InMemoryDependencyStore extends StoredDependencyStore {
  constructor(store: InMemoryStore) {
    super(new InMemoryDependencyRecords(store));
  }
}

function asSet(tokens: readonly string[]): string[] {
  return [...new Set(tokens)].sort();
}
