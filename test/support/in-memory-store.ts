/** A RequestStore in memory with the same conditional semantics as DynamoRequestStore (for unit tests). */
import { randomUUID } from 'node:crypto';
import type { ErrorBody } from '../../model/errors.js';
import type {
  ClaimOptions,
  ClaimOutcome,
  ClaimRoutingPath,
  DeferReason,
  IdempotencyClaim,
  InsertOptions,
  InsertOutcome,
  DeadLetterChange,
  Lease,
  ListedRecord,
  ListQuery,
  RecordPage,
  RequestStore,
  SettledRecord,
  StrandedQuery,
  SummaryPage,
  SummaryQuery,
} from '../../lambdas/core/ports/index.js';
import type { StoredResult } from '../../model/request-record.js';
import type { RequestRecord, Status } from '../../model/request-record.js';

export class InMemoryStore implements RequestStore {
  readonly records = new Map<string, RequestRecord & { lease_id?: string }>();
  readonly keys = new Map<string, { token: string; fingerprint: string }>();

  async insert(
    record: RequestRecord,
    idem?: IdempotencyClaim,
    options: InsertOptions = {},
  ): Promise<InsertOutcome> {
    if (idem) {
      const existing = this.keys.get(idem.key);
      if (existing)
        return { kind: 'duplicate', existingToken: existing.token, fingerprint: existing.fingerprint };
      this.keys.set(idem.key, { token: record.token, fingerprint: idem.fingerprint });
    }
    if (this.records.has(record.token)) throw new Error('duplicate token');
    this.records.set(record.token, {
      ...structuredClone(record),
      ...(options.leaseId !== undefined ? { lease_id: options.leaseId } : {}),
    });
    return { kind: 'inserted' };
  }

  async get(token: string): Promise<RequestRecord | undefined> {
    const r = this.records.get(token);
    if (!r) return undefined;
    const { lease_id: _l, ...rest } = structuredClone(r);
    return rest;
  }

  async claim(
    token: string,
    now: number,
    leaseSeconds: number,
    routingPath: ClaimRoutingPath = 'QUEUED',
    options: ClaimOptions = {},
  ): Promise<ClaimOutcome> {
    const r = this.records.get(token);
    if (!r) return { kind: 'missing' };
    const expired = r.status === 'processing' && (r.lease_expires_at ?? 0) < now;
    if (r.status === 'queued' || (r.status === 'dead' && options.reviveDead === true) || expired) {
      const leaseId = options.leaseId ?? randomUUID();
      if (r.status === 'dead') r.attempts = 0; // a DLQ redrive: a full set of attempts again
      Object.assign(r, {
        status: 'processing',
        lease_id: leaseId,
        lease_expires_at: now + leaseSeconds * 1000,
        routing_path: routingPath,
      });
      delete r.deferred_reason;
      delete r.deferred_until;
      if (options.beginAttempt === true) {
        r.attempts += 1;
        r.calls = (r.calls ?? 0) + 1;
      }
      return { kind: 'claimed', record: (await this.get(token))!, leaseId };
    }
    if (r.status === 'processing') return { kind: 'busy', record: (await this.get(token))! };
    return { kind: 'finished', record: (await this.get(token))! };
  }

  defer(
    lease: Lease,
    _now: number,
    reason: DeferReason,
    until: number,
    options: { refundAttempt?: boolean } = {},
  ) {
    this.refund(lease, options);
    return this.settle(lease, 'queued', {
      deferred_reason: reason,
      deferred_until: new Date(until).toISOString(),
    });
  }

  private settle(
    lease: Lease,
    status: Status,
    fields: Partial<RequestRecord>,
    remove: (keyof RequestRecord)[] = [],
  ): Promise<SettledRecord | undefined> {
    const r = this.records.get(lease.token);
    if (!r || r.status !== 'processing' || r.lease_id !== lease.leaseId) return Promise.resolve(undefined);
    if (!('deferred_reason' in fields)) delete r.deferred_reason;
    if (!('deferred_until' in fields)) delete r.deferred_until;
    Object.assign(r, fields, { status });
    delete r.lease_id;
    delete r.lease_expires_at;
    for (const k of remove) delete r[k];
    return this.get(lease.token);
  }

  complete(lease: Lease, result: StoredResult, _now: number, expiresAt: number) {
    return this.settle(lease, 'completed', { ...result, expires_at: expiresAt }, [
      'error',
      'result' in result ? 'result_ref' : 'result',
    ]);
  }
  fail(
    lease: Lease,
    error: ErrorBody,
    _now: number,
    expiresAt: number,
    options: { refundAttempt?: boolean } = {},
  ) {
    this.refund(lease, options);
    return this.settle(lease, 'failed', { error, expires_at: expiresAt });
  }

  /** Takes back the attempt the claim began, while `lease` holds the record. */
  private refund(lease: Lease, options: { refundAttempt?: boolean }): void {
    const r = this.records.get(lease.token);
    if (options.refundAttempt !== true || r?.status !== 'processing' || r.lease_id !== lease.leaseId) return;
    r.attempts -= 1;
    r.calls = (r.calls ?? 1) - 1;
  }
  release(lease: Lease, error: ErrorBody, _now: number, retryAt: number) {
    return this.settle(lease, 'queued', {
      error,
      routing_path: 'QUEUED',
      deferred_until: new Date(retryAt).toISOString(),
    });
  }
  markDead(lease: Lease, error: ErrorBody) {
    return this.settle(lease, 'dead', { error, routing_path: 'QUEUED' }, ['expires_at']);
  }
  async countByStatus(status: Status) {
    return [...this.records.values()].filter((r) => r.status === status).length;
  }

  /** Oldest first by created_at then token; the page key is the last record's token. */
  async listByStatus(status: Status, query: ListQuery): Promise<RecordPage> {
    const all = [...this.records.values()]
      .filter((r) => r.status === status)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.token.localeCompare(b.token));
    const after = query.startKey?.['token'];
    const start = after === undefined ? 0 : all.findIndex((r) => r.token === after) + 1;
    const page = all.slice(start, start + query.limit);
    const records = await Promise.all(
      page.filter((r) => !query.service || r.service === query.service).map((r) => this.get(r.token)),
    );
    const last = page.at(-1);
    return {
      records: records as RequestRecord[],
      ...(last && start + query.limit < all.length ? { nextKey: { token: last.token } } : {}),
    };
  }

  /** As listByStatus, with the operation filter too, answering the summaries' fields only. */
  async listSummaries(status: Status, query: SummaryQuery): Promise<SummaryPage> {
    const all = [...this.records.values()]
      .filter((r) => r.status === status)
      .filter(
        (r) =>
          (!query.service || r.service === query.service) &&
          (!query.operation || r.operation === query.operation),
      )
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.token.localeCompare(b.token));
    const after = query.startKey?.['token'];
    const start = after === undefined ? 0 : all.findIndex((r) => r.token === after) + 1;
    const page = all.slice(start, start + query.limit);
    const last = page.at(-1);
    return {
      records: page.map((r) => ({
        token: r.token,
        status: r.status,
        service: r.service,
        operation: r.operation,
        priority: r.priority,
        attempts: r.attempts,
        created_at: r.created_at,
        updated_at: r.updated_at,
        ...(r.error !== undefined ? { error: r.error } : {}),
        ...(r.last_error != null ? { last_error: r.last_error } : {}),
      })),
      ...(last && start + query.limit < all.length ? { nextKey: { token: last.token } } : {}),
    };
  }

  async requeueDead(token: string, now: number): Promise<DeadLetterChange> {
    const r = this.records.get(token);
    if (!r) return { kind: 'missing' };
    if (r.status !== 'dead') return { kind: 'not_dead', status: r.status };
    const lastError = r.error;
    Object.assign(r, { status: 'queued', attempts: 0, updated_at: new Date(now).toISOString() });
    if (lastError) (r as RequestRecord & { last_error?: ErrorBody }).last_error = lastError;
    delete r.error;
    return { kind: 'changed', record: (await this.get(token))! };
  }

  async deleteDead(token: string): Promise<DeadLetterChange> {
    const r = await this.get(token);
    if (!r) return { kind: 'missing' };
    if (r.status !== 'dead') return { kind: 'not_dead', status: r.status };
    this.records.delete(token);
    return { kind: 'changed', record: r };
  }

  async findStranded(query: StrandedQuery): Promise<RequestRecord[]> {
    const found = [...this.records.values()].filter(
      (r) =>
        (query.status === 'queued'
          ? r.status === 'queued' &&
            r.updated_at < query.updatedBefore &&
            (r.deferred_until === undefined || r.deferred_until < query.updatedBefore)
          : r.status === 'processing' && (r.lease_expires_at ?? 0) < query.leaseExpiredBefore) &&
        !((sweptAt(r) ?? '') >= query.sweptBefore),
    );
    return Promise.all(found.slice(0, query.limit).map(async (r) => (await this.get(r.token))!));
  }

  async markSwept(seen: ListedRecord, now: number): Promise<boolean> {
    const r = this.records.get(seen.token);
    if (
      !r ||
      r.status !== seen.status ||
      r.updated_at !== seen.updated_at ||
      r.lease_expires_at !== seen.lease_expires_at ||
      sweptAt(r) !== sweptAt(seen)
    )
      return false;
    (r as RequestRecord & { swept_at?: string }).swept_at = new Date(now).toISOString();
    return true;
  }
}

function sweptAt(r: RequestRecord | ListedRecord): string | undefined {
  return (r as RequestRecord & { swept_at?: string }).swept_at;
}

export class FakeClock {
  constructor(public ms = Date.parse('2026-11-23T10:00:00Z')) {}
  now = () => this.ms;
  advance(ms: number) {
    this.ms += ms;
  }
}

/** A `queued` record created now by `clock`, as submit stores it; `over` sets the rest. */
export function queuedRecord(
  clock: FakeClock,
  over: Pick<RequestRecord, 'token' | 'owner' | 'operation' | 'service' | 'payload'>,
): RequestRecord {
  const now = new Date(clock.now()).toISOString();
  return {
    ...over,
    priority: 'normal',
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: now,
    updated_at: now,
  };
}
