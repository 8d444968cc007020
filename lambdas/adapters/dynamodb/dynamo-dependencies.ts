/**
 * `depends_on` in the requests table: the DynamoDB storage of DependencyRecords
 * (lambdas/core/ports/dependency-records.ts). This module only does the I/O; registration, release
 * and the sweeper's repair are decided in lambdas/core/domain/dependency-store.ts.
 *
 * Items (all `REQ#<token>` request items, lambdas/adapters/dynamodb/dynamo-request-store.ts):
 * - a parent carries `dependents`, a string set of the children registered on it;
 * - a child carries `depends_on` (its list, as submitted) and, while `status = waiting`,
 *   `waiting_on`, a string set of the parents that have not finished yet.
 *
 * A waiting child is written in one transaction with an `ADD dependents` on each parent, each
 * conditional on the parent existing and not having finished: a parent's finishing write is a
 * single-item write, so DynamoDB orders it either before the transaction (whose condition then
 * fails) or after it. Every other write is a conditional UpdateItem on the child.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import {
  conditionalUpdate,
  findByStatus,
  idempotencyKey,
  listedPartitionOf,
  listedStatusOf,
  recordFromItem,
  requestKey,
  timelineItem,
} from './request-items.js';
import { errorEntry, submittedEntries, timelineEntry } from '../../core/domain/timeline.js';
import { UNFINISHED_DEPENDENCY_STATES } from '../../core/domain/dependencies.js';
import { StoredDependencyStore } from '../../core/domain/dependency-store.js';
import type {
  ChildFailure,
  ChildWrite,
  DependencyRecord,
  DependencyRecords,
  WaitingChildWrite,
} from '../../core/ports/dependency-records.js';
import type { IdempotencyClaim, ListedRecord, WaitingQuery } from '../../core/ports/index.js';

const PK = REQUESTS_TABLE.partitionKey;

/** The status of a child registered on parents that have not all finished. */
const WAITING = 'waiting';

/** How often a transaction that lost a race with a write to the same item is tried again. */
const TRANSACTION_CONFLICT_RETRIES = 10;

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;

/** Reads and conditionally writes the dependency fields of the request items. */
export class DynamoDependencyRecords implements DependencyRecords {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Seconds an idempotency key is remembered (the records' retention), as DynamoRequestStore. */
    private readonly idempotencyTtlSeconds: number,
  ) {}

  async get(token: string): Promise<DependencyRecord | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: requestKey(token), ConsistentRead: true }),
    );
    return out.Item ? recordFromItem<DependencyRecord>(out.Item) : undefined;
  }

  async putChild(record: DependencyRecord, idempotency?: IdempotencyClaim): Promise<ChildWrite> {
    const refused = await this.transact(this.childPuts(record, idempotency));
    if (refused === undefined) return { kind: 'stored' };
    const duplicate = await this.duplicateOf(idempotency, refused);
    if (duplicate) return duplicate;
    throw refused;
  }

  async putWaitingChild(
    record: DependencyRecord,
    parents: readonly string[],
    idempotency?: IdempotencyClaim,
  ): Promise<WaitingChildWrite> {
    const refused = await this.transact([
      ...this.childPuts(record, idempotency),
      ...parents.map((parent) => ({
        Update: {
          TableName: this.tableName,
          Key: requestKey(parent),
          ConditionExpression: 'attribute_exists(#pk) AND #status IN (:s0, :s1, :s2)',
          UpdateExpression: 'ADD #dependents :child',
          ExpressionAttributeNames: { '#pk': PK, '#status': 'status', '#dependents': 'dependents' },
          ExpressionAttributeValues: {
            ...unfinishedValues(),
            ':child': new Set([record.token]),
          },
        },
      })),
    ]);
    if (refused === undefined) return { kind: 'stored' };
    const duplicate = await this.duplicateOf(idempotency, refused);
    if (duplicate) return duplicate;
    const reasons = refused.CancellationReasons ?? [];
    const idem = idempotency ? 1 : 0;
    if (reasons[idem]?.Code === 'ConditionalCheckFailed') {
      throw new Error(`request ${record.token} already exists`, { cause: refused });
    }
    const finished = parents.filter((_, i) => reasons[idem + 1 + i]?.Code === 'ConditionalCheckFailed');
    if (finished.length > 0) return { kind: 'parents_finished', parents: finished };
    throw refused;
  }

  async removeWaitingOn(child: string, parent: string, now: number): Promise<boolean> {
    // DynamoDB drops the set when the DELETE empties it.
    const attributes = await conditionalUpdate(this.client, this.tableName, {
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
    return attributes !== undefined;
  }

  async markReady(child: string, now: number): Promise<DependencyRecord | undefined> {
    const attributes = await conditionalUpdate(
      this.client,
      this.tableName,
      {
        Key: requestKey(child),
        ConditionExpression: '#status = :waiting AND attribute_not_exists(#waiting_on)',
        UpdateExpression: 'SET #status = :queued, #listed = :listed, #updated = :iso',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#listed': REQUESTS_TABLE.statusIndex.partitionKey,
          '#waiting_on': 'waiting_on',
          '#updated': 'updated_at',
        },
        ExpressionAttributeValues: {
          ':waiting': WAITING,
          ':queued': 'queued',
          ':listed': listedPartitionOf('queued'),
          ':iso': new Date(now).toISOString(),
        },
        ReturnValues: 'ALL_NEW',
      },
      timelineEntry('dependencies_met', now),
    );
    return attributes === undefined ? undefined : recordFromItem<DependencyRecord>(attributes);
  }

  async markFailed(
    child: string,
    parent: string,
    failure: ChildFailure,
  ): Promise<DependencyRecord | undefined> {
    const iso = new Date(failure.now).toISOString();
    const attributes = await conditionalUpdate(
      this.client,
      this.tableName,
      {
        Key: requestKey(child),
        ConditionExpression:
          '#status = :waiting AND (attribute_not_exists(#after_write) OR #after_write <> :parent OR contains(#depends_on, :parent))',
        UpdateExpression:
          'SET #status = :failed, #error = :error, #updated = :iso, #completed = :iso, #expires = :exp REMOVE #waiting_on, #listed',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#listed': REQUESTS_TABLE.statusIndex.partitionKey,
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
          ':error': failure.error,
          ':iso': iso,
          ':exp': failure.expiresAt,
        },
        ReturnValues: 'ALL_NEW',
      },
      errorEntry('failed', failure.now, failure.error),
    );
    return attributes === undefined ? undefined : recordFromItem<DependencyRecord>(attributes);
  }

  async findWaiting(query: WaitingQuery): Promise<ListedRecord[]> {
    return findByStatus<ListedRecord>(
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

  /**
   * Runs a transaction: undefined when it went through, or the cancellation when a condition
   * refused it (its reasons name the items). A transaction that only lost a race with another write
   * (TransactionConflict) is tried again, a bounded number of times.
   */
  private async transact(items: TransactItems): Promise<TransactionCanceledException | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return undefined;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return err;
        const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= TRANSACTION_CONFLICT_RETRIES) throw err;
        await sleep(5 + Math.random() * 15 * (attempt + 1));
      }
    }
  }

  /** The child's Put, after its idempotency item's Put when there is one. */
  private childPuts(record: DependencyRecord, idempotency: IdempotencyClaim | undefined): TransactItems {
    const notThere = {
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK },
    };
    const puts: TransactItems = [];
    if (idempotency) {
      puts.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...idempotencyKey(idempotency.key),
            token: record.token,
            fingerprint: idempotency.fingerprint,
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

  /** The request holding the idempotency key, when its Put (the first item) was refused. */
  private async duplicateOf(
    claim: IdempotencyClaim | undefined,
    refused: TransactionCanceledException,
  ): Promise<ChildWrite | undefined> {
    if (!claim || refused.CancellationReasons?.[0]?.Code !== 'ConditionalCheckFailed') return undefined;
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
}

/** The depends_on store on the requests table: the core's logic over DynamoDependencyRecords. */
export class DynamoDependencyStore extends StoredDependencyStore {
  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    /** Seconds an idempotency key is remembered (the records' retention), as DynamoRequestStore. */
    idempotencyTtlSeconds: number,
  ) {
    super(new DynamoDependencyRecords(client, tableName, idempotencyTtlSeconds));
  }
}

function unfinishedValues(): Record<string, string> {
  return Object.fromEntries(UNFINISHED_DEPENDENCY_STATES.map((s, i) => [`:s${i}`, s]));
}

/** Sets are stored as DynamoDB string sets (never empty: an empty one is left out). */
function toItem(record: DependencyRecord): Record<string, unknown> {
  const { waiting_on, dependents, ...rest } = record;
  return {
    ...requestKey(record.token),
    ...rest,
    ...timelineItem(record.timeline ?? submittedEntries(record)),
    ...listedStatusOf(record.status),
    ...(waiting_on && waiting_on.length > 0 ? { waiting_on: new Set(waiting_on) } : {}),
    ...(dependents && dependents.length > 0 ? { dependents: new Set(dependents) } : {}),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
