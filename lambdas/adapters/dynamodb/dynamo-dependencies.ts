/**
 * `depends_on` in the requests table, race-free.
 *
 * Items (all `REQ#<token>` request items, lambdas/adapters/dynamodb/dynamo-request-store.ts):
 * - a parent carries `dependents`, a string set of the children registered on it;
 * - a child carries `depends_on` (its list, as submitted) and, while `status = waiting`,
 *   `waiting_on`, a string set of the parents that have not finished yet.
 *
 * The one rule that makes both orders agree: **a child is added to a parent's `dependents` only
 * while the parent has not finished** (`status IN (queued, processing, waiting)`), in the same
 * transaction as the child's Put. A parent's finishing write is a single-item write, so DynamoDB
 * orders it either before the transaction (whose condition then fails: registration reads the
 * parent and counts it satisfied or failed) or after it (the release, reading `dependents` after the
 * finishing write, sees the child). No third case exists, so no child is ever stranded.
 *
 * Release (when a parent finished): a completed parent is deleted from each child's `waiting_on`;
 * the write that empties it is followed by a conditional `waiting → queued`, which exactly one
 * caller wins (the child to enqueue). A failed, dead or missing parent fails each waiting child with
 * DEPENDENCY_FAILED and the release goes on down the chain. Every write is conditional and repeats
 * harmlessly, so a release may be re-run (by the sweeper via {@link reconcileWaiting}) after a crash.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import {
  conditionalUpdate,
  findByStatus,
  idempotencyKey,
  recordFromItem,
  requestKey,
} from './request-items.js';
import {
  UNFINISHED_DEPENDENCY_STATES,
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
} from '../../core/domain/dependencies.js';
import type { DependencyStore, WaitingQuery } from '../../core/ports/index.js';
import type { RequestRecord, Status } from '../../../model/request-record.js';

const PK = REQUESTS_TABLE.partitionKey;

/** The status of a child registered on parents that have not all finished. */
export const WAITING = 'waiting';

/** How often a registration retries a transaction that lost a race with a write to the same item. */
const TRANSACTION_CONFLICT_RETRIES = 10;

/** A request record as this module sees it: it may be `waiting`, with its dependency fields. */
export type DependentRecord = Omit<RequestRecord, 'status'> & {
  status: Status | typeof WAITING;
  depends_on?: string[];
  /** Parents not finished yet (only while `waiting`). */
  waiting_on?: string[];
  /** Children registered on this request. */
  dependents?: string[];
};

export interface DependencyIdempotencyClaim {
  key: string;
  fingerprint: string;
}

export interface RegisterOptions {
  now: number;
  /** Written with the child, atomically, as DynamoRequestStore.insert does. */
  idempotency?: DependencyIdempotencyClaim;
  /** Epoch seconds: the TTL of the child if it is stored already `failed`. */
  failedExpiresAt: number;
}

export type RegisterOutcome =
  /** Stored `waiting` on `waitingOn`; a release will enqueue or fail it. */
  | { kind: 'waiting'; record: DependentRecord; waitingOn: string[] }
  /** Every parent had already completed: stored `queued`. Enqueue it now (the sweeper would, late). */
  | { kind: 'ready'; record: DependentRecord }
  /** A parent had already failed, died or gone: stored `failed` with DEPENDENCY_FAILED. */
  | {
      kind: 'failed';
      record: DependentRecord;
      dependency: string;
      state: FailedDependencyState;
    }
  /** The idempotency key was taken: nothing written (as DynamoRequestStore.insert). */
  | { kind: 'duplicate'; existingToken: string; fingerprint: string };

export interface ReleaseOutcome {
  /** Children moved `waiting → queued` by this call: enqueue each (`queueKey(service, priority)`). */
  ready: DependentRecord[];
  /** Children (at any depth) this call failed with DEPENDENCY_FAILED. */
  failed: DependentRecord[];
}

export interface ReleaseOptions {
  now: number;
  /** Epoch seconds: the TTL of the children that fail. */
  failedExpiresAt: number;
}

export class DynamoDependencyStore implements DependencyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Seconds an idempotency key is remembered (the records' retention), as DynamoRequestStore. */
    private readonly idempotencyTtlSeconds: number,
  ) {}

  /**
   * Stores `child` (a new record, any status: it is replaced) depending on `dependsOn` (validated,
   * distinct, existing and the caller's — submit checks that first). See the module comment.
   */
  async register(
    child: RequestRecord,
    dependsOn: readonly string[],
    options: RegisterOptions,
  ): Promise<RegisterOutcome> {
    const iso = new Date(options.now).toISOString();
    const base: DependentRecord = {
      ...child,
      ...(dependsOn.length > 0 ? { depends_on: [...dependsOn] } : {}),
    };
    const spec = { depends_on: dependsOn, after_write: child.after_write };
    let pending = waitParents(spec);
    for (let attempt = 0; ; attempt++) {
      if (pending.length === 0) {
        const record: DependentRecord = { ...base, status: 'queued', updated_at: iso };
        const put = await this.putChild(record, options);
        return put ?? { kind: 'ready', record };
      }
      const record: DependentRecord = { ...base, status: WAITING, waiting_on: pending, updated_at: iso };
      const idem = options.idempotency ? 1 : 0;
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              ...this.childPuts(record, options),
              ...pending.map((parent) => ({
                Update: {
                  TableName: this.tableName,
                  Key: requestKey(parent),
                  ConditionExpression: 'attribute_exists(#pk) AND #status IN (:s0, :s1, :s2)',
                  UpdateExpression: 'ADD #dependents :child',
                  ExpressionAttributeNames: { '#pk': PK, '#status': 'status', '#dependents': 'dependents' },
                  ExpressionAttributeValues: {
                    ...unfinishedValues(),
                    ':child': new Set([child.token]),
                  },
                },
              })),
            ],
          }),
        );
        return { kind: 'waiting', record, waitingOn: pending };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (idem === 1 && reasons[0]?.Code === 'ConditionalCheckFailed') {
          const duplicate = await this.duplicateOf(options.idempotency);
          if (duplicate) return duplicate;
        }
        if (reasons[idem]?.Code === 'ConditionalCheckFailed') {
          throw new Error(`request ${child.token} already exists`, { cause: err });
        }
        const refused = pending.filter((_, i) => reasons[idem + 1 + i]?.Code === 'ConditionalCheckFailed');
        if (refused.length > 0) {
          // These parents finished before us: their state decides for them (the other order).
          const states = (await Promise.all(refused.map((t) => this.stateOf(t)))).map((s) =>
            stateFor(spec, s),
          );
          const verdict = dependencyVerdict(states);
          if (verdict.kind === 'failed') {
            return this.storeFailed(base, verdict.dependency, verdict.state, options);
          }
          const satisfied = new Set(states.filter((s) => isSatisfiedState(s.state)).map((s) => s.token));
          pending = pending.filter((t) => !satisfied.has(t));
          if (satisfied.size > 0) continue;
          // A refused parent that reads unfinished again (a dead parent redriven between the two
          // reads): try again, a bounded number of times.
          if (attempt < TRANSACTION_CONFLICT_RETRIES) continue;
          throw err;
        }
        const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= TRANSACTION_CONFLICT_RETRIES) throw err;
        await sleep(5 + Math.random() * 15 * (attempt + 1));
      }
    }
  }

  /**
   * Called after `parentToken` reached a final state (`completed`, `cached`, `failed`, `dead`; or it
   * is gone): releases its children and, for those it fails, theirs (the cascade). Does nothing for
   * a parent that has not finished. Safe to call again.
   */
  async releaseDependents(parentToken: string, options: ReleaseOptions): Promise<ReleaseOutcome> {
    const outcome: ReleaseOutcome = { ready: [], failed: [] };
    const work = [parentToken];
    for (let parent = work.shift(); parent !== undefined; parent = work.shift()) {
      const item = await this.getItem(parent);
      const state: DependencyState = item ? stateOfStatus(item.status) : 'missing';
      if (isUnfinishedState(state) || !item?.dependents) continue;
      for (const child of item.dependents) {
        // A child whose after_write this parent is only waits for it to finish: it is satisfied.
        const failed = isFailedState(state)
          ? await this.failWaiting(child, parent, state, options)
          : undefined;
        if (failed) {
          outcome.failed.push(failed);
          work.push(child);
        } else if (!isFailedState(state) || (await this.waitsOnlyForFinish(child, parent))) {
          await this.satisfy(child, parent, options.now);
          const ready = await this.promote(child, options.now);
          if (ready) outcome.ready.push(ready);
        }
      }
    }
    return outcome;
  }

  /**
   * The sweeper's repair for a child left `waiting` (its parent's worker crashed between the
   * finishing write and the release): re-runs the release of each finished parent it waits on, and
   * promotes it if nothing is left to wait on.
   */
  async reconcileWaiting(childToken: string, options: ReleaseOptions): Promise<ReleaseOutcome> {
    const outcome: ReleaseOutcome = { ready: [], failed: [] };
    const child = await this.getItem(childToken);
    if (!child || child.status !== WAITING) return outcome;
    for (const parent of child.waiting_on ?? []) {
      const state = (await this.stateOf(parent)).state;
      if (isUnfinishedState(state)) continue;
      if (state === 'missing') {
        if (waitsOnlyForFinish(child, parent)) {
          // The write it waited for is gone (purged): that counts as finished.
          await this.satisfy(childToken, parent, options.now);
          continue;
        }
        // A parent that is gone (purged, expired) has no `dependents` left to release from: the
        // child fails here, and its own children after it.
        const failed = await this.failWaiting(childToken, parent, state, options);
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
    const ready = await this.promote(childToken, options.now);
    if (ready) outcome.ready.push(ready);
    return outcome;
  }

  /**
   * Children `waiting` since before `updatedBefore` and not swept since `sweptBefore`, oldest first:
   * the sweeper's candidates. The sweeper stamps each one it looks at (`swept_at`), so children that
   * still wait on a running parent drop out of the next sweeps' reads and the ones after them come up.
   */
  async findWaiting(query: WaitingQuery): Promise<DependentRecord[]> {
    return findByStatus<DependentRecord>(
      this.client,
      this.tableName,
      WAITING,
      {
        expression: '#updated < :before AND (attribute_not_exists(#swept) OR #swept < :swept)',
        names: { '#updated': 'updated_at', '#swept': 'swept_at' },
        values: { ':before': query.updatedBefore, ':swept': query.sweptBefore },
      },
      query.limit,
    );
  }

  async get(token: string): Promise<DependentRecord | undefined> {
    return this.getItem(token);
  }

  /** Deletes a completed parent from the child's `waiting_on` (DynamoDB drops the set when empty). */
  private satisfy(child: string, parent: string, now: number) {
    return conditionalUpdate(this.client, this.tableName, {
      Key: requestKey(child),
      ConditionExpression: '#status = :waiting AND contains(#waiting_on, :parent)',
      UpdateExpression: 'DELETE #waiting_on :parents SET #updated = :iso',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#waiting_on': 'waiting_on',
        '#updated': 'updated_at',
      },
      ExpressionAttributeValues: {
        ':waiting': WAITING,
        ':parent': parent,
        ':parents': new Set([parent]),
        ':iso': new Date(now).toISOString(),
      },
    });
  }

  /** `waiting` with nothing left to wait on → `queued`; exactly one caller gets the record. */
  private async promote(child: string, now: number): Promise<DependentRecord | undefined> {
    const attributes = await conditionalUpdate(this.client, this.tableName, {
      Key: requestKey(child),
      ConditionExpression: '#status = :waiting AND attribute_not_exists(#waiting_on)',
      UpdateExpression: 'SET #status = :queued, #updated = :iso',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#waiting_on': 'waiting_on',
        '#updated': 'updated_at',
      },
      ExpressionAttributeValues: {
        ':waiting': WAITING,
        ':queued': 'queued',
        ':iso': new Date(now).toISOString(),
      },
      ReturnValues: 'ALL_NEW',
    });
    return attributes === undefined ? undefined : recordFromItem<DependentRecord>(attributes);
  }

  /** Whether `parent` is the child's after_write (not also in its depends_on). */
  private async waitsOnlyForFinish(child: string, parent: string): Promise<boolean> {
    const item = await this.getItem(child);
    return item !== undefined && waitsOnlyForFinish(item, parent);
  }

  /**
   * A `waiting` child → `failed` with DEPENDENCY_FAILED naming `parent`; undefined if not waiting or
   * if `parent` is only its after_write (which a failure satisfies).
   */
  private async failWaiting(
    child: string,
    parent: string,
    state: FailedDependencyState,
    options: ReleaseOptions,
  ): Promise<DependentRecord | undefined> {
    const iso = new Date(options.now).toISOString();
    const attributes = await conditionalUpdate(this.client, this.tableName, {
      Key: requestKey(child),
      ConditionExpression:
        '#status = :waiting AND (attribute_not_exists(#after_write) OR #after_write <> :parent OR contains(#depends_on, :parent))',
      UpdateExpression:
        'SET #status = :failed, #error = :error, #updated = :iso, #completed = :iso, #expires = :exp REMOVE #waiting_on',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#error': 'error',
        '#updated': 'updated_at',
        '#completed': 'completed_at',
        '#expires': REQUESTS_TABLE.ttlAttribute,
        '#waiting_on': 'waiting_on',
        '#after_write': 'after_write',
        '#depends_on': 'depends_on',
      },
      ExpressionAttributeValues: {
        ':waiting': WAITING,
        ':parent': parent,
        ':failed': 'failed',
        ':error': dependencyFailedError(parent, state).toBody(),
        ':iso': iso,
        ':exp': options.failedExpiresAt,
      },
      ReturnValues: 'ALL_NEW',
    });
    return attributes === undefined ? undefined : recordFromItem<DependentRecord>(attributes);
  }

  private async storeFailed(
    base: DependentRecord,
    dependency: string,
    state: FailedDependencyState,
    options: RegisterOptions,
  ): Promise<RegisterOutcome> {
    const iso = new Date(options.now).toISOString();
    const record: DependentRecord = {
      ...base,
      status: 'failed',
      error: dependencyFailedError(dependency, state).toBody(),
      updated_at: iso,
      completed_at: iso,
      expires_at: options.failedExpiresAt,
    };
    const put = await this.putChild(record, options);
    return put ?? { kind: 'failed', record, dependency, state };
  }

  /** Writes the child alone (with its idempotency item): undefined when written, else the duplicate. */
  private async putChild(
    record: DependentRecord,
    options: RegisterOptions,
  ): Promise<RegisterOutcome | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: this.childPuts(record, options) }));
        return undefined;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (options.idempotency && reasons[0]?.Code === 'ConditionalCheckFailed') {
          const duplicate = await this.duplicateOf(options.idempotency);
          if (duplicate) return duplicate;
        }
        const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= TRANSACTION_CONFLICT_RETRIES) throw err;
        await sleep(5 + Math.random() * 15 * (attempt + 1));
      }
    }
  }

  /** The child's Put, after its idempotency item's Put when there is one. */
  private childPuts(record: DependentRecord, options: RegisterOptions) {
    const notThere = {
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK },
    };
    const puts = [];
    if (options.idempotency) {
      puts.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...idempotencyKey(options.idempotency.key),
            token: record.token,
            fingerprint: options.idempotency.fingerprint,
            created_at: record.created_at,
            expires_at: Math.floor(Date.parse(record.created_at) / 1000) + this.idempotencyTtlSeconds,
          },
          ...notThere,
        },
      });
    }
    puts.push({ Put: { TableName: this.tableName, Item: toItem(record), ...notThere } });
    return puts;
  }

  private async duplicateOf(
    claim: DependencyIdempotencyClaim | undefined,
  ): Promise<RegisterOutcome | undefined> {
    if (!claim) return undefined;
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: idempotencyKey(claim.key), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return {
      kind: 'duplicate',
      existingToken: String(out.Item['token']),
      fingerprint: String(out.Item['fingerprint']),
    };
  }

  private async stateOf(token: string): Promise<ParentState> {
    const item = await this.getItem(token);
    return { token, state: item ? stateOfStatus(item.status) : 'missing' };
  }

  private async getItem(token: string): Promise<DependentRecord | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: requestKey(token), ConsistentRead: true }),
    );
    return out.Item ? recordFromItem<DependentRecord>(out.Item) : undefined;
  }
}

function unfinishedValues(): Record<string, string> {
  return Object.fromEntries(UNFINISHED_DEPENDENCY_STATES.map((s, i) => [`:s${i}`, s]));
}

function stateOfStatus(status: DependentRecord['status']): DependencyState {
  return status;
}

/** Sets are stored as DynamoDB string sets (never empty: an empty one is left out). */
function toItem(record: DependentRecord): Record<string, unknown> {
  const { waiting_on, dependents, ...rest } = record;
  return {
    ...requestKey(record.token),
    ...rest,
    ...(waiting_on && waiting_on.length > 0 ? { waiting_on: new Set(waiting_on) } : {}),
    ...(dependents && dependents.length > 0 ? { dependents: new Set(dependents) } : {}),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
