/**
 * RequestStore on DynamoDB: one item per request (`REQ#<token>`), one per idempotency key
 * (`IDEM#<hash>`). Every state change is a conditional update, so two workers (or a worker and a
 * duplicate delivery) can never both own a request.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import {
  conditionalUpdate,
  findByStatus,
  idempotencyKey,
  isSameRequest,
  listedPartitionOf,
  listedStatusOf,
  listedStatusUpdate,
  statusQuery,
  recordFromItem,
  requestKey,
  timelineItem,
  updateRequestItem,
} from './request-items.js';
import {
  deferredEntry,
  errorEntry,
  failedAttemptEntry,
  submittedEntries,
  timelineEntry,
} from '../../core/domain/timeline.js';
import { ValidationError, type ErrorBody } from '../../../model/errors.js';
import type {
  ClaimOptions,
  ClaimOutcome,
  ClaimRoutingPath,
  DeadLetterChange,
  DeferReason,
  IdempotencyClaim,
  InsertOptions,
  InsertOutcome,
  Lease,
  ListedRecord,
  ListQuery,
  RecordPage,
  RequestStore,
  SettledRecord,
  StrandedQuery,
  SummaryPage,
  SummaryQuery,
  SummaryRecord,
} from '../../core/ports/index.js';
import type { StoredResult, TimelineEntry } from '../../../model/request-record.js';
import type { RequestRecord, Status } from '../../../model/request-record.js';

const PK = REQUESTS_TABLE.partitionKey;
const LISTED = REQUESTS_TABLE.statusIndex.partitionKey;

/** How often a submit retries a transaction that lost a race with a concurrent one on the same key. */
const TRANSACTION_CONFLICT_RETRIES = 8;

export class DynamoRequestStore implements RequestStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Seconds an idempotency key is remembered (the records' retention). */
    private readonly idempotencyTtlSeconds: number,
  ) {}

  async insert(
    record: RequestRecord,
    idempotency?: IdempotencyClaim,
    options: InsertOptions = {},
  ): Promise<InsertOutcome> {
    const item = {
      ...requestKey(record.token),
      ...record,
      ...timelineItem(record.timeline ?? submittedEntries(record)),
      ...(options.leaseId !== undefined ? { lease_id: options.leaseId } : {}),
      ...listedStatusOf(record.status),
    };
    if (!idempotency) {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PK },
          }),
        );
      } catch (err) {
        // The SDK retries a put whose answer it lost (a dropped connection, a timeout) although the
        // put may have committed: the retry then meets this very record. Ours is inserted; anything
        // else under the token is not.
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        const stored = await this.get(record.token);
        if (!stored || !isSameRequest(stored, record)) throw err;
      }
      return { kind: 'inserted' };
    }
    const idemItem = {
      ...idempotencyKey(idempotency.key),
      token: record.token,
      fingerprint: idempotency.fingerprint,
      created_at: record.created_at,
      expires_at: Math.floor(Date.parse(record.created_at) / 1000) + this.idempotencyTtlSeconds,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: idemItem,
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': PK },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: item,
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': PK },
                },
              },
            ],
          }),
        );
        return { kind: 'inserted' };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') {
          const existing = await this.client.send(
            new GetCommand({
              TableName: this.tableName,
              Key: idempotencyKey(idempotency.key),
              ConsistentRead: true,
            }),
          );
          if (existing.Item) {
            return {
              kind: 'duplicate',
              existingToken: String(existing.Item['token']),
              fingerprint: String(existing.Item['fingerprint']),
            };
          }
        }
        const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= TRANSACTION_CONFLICT_RETRIES) throw err;
        await sleep(10 + Math.random() * 20 * (attempt + 1));
      }
    }
  }

  async get(token: string): Promise<RequestRecord | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: requestKey(token), ConsistentRead: true }),
    );
    return out.Item ? recordFromItem<RequestRecord>(out.Item) : undefined;
  }

  async claim(
    token: string,
    now: number,
    leaseSeconds: number,
    routingPath: ClaimRoutingPath = 'QUEUED',
    options: ClaimOptions = {},
  ): Promise<ClaimOutcome> {
    const claimant = {
      leaseId: options.leaseId ?? randomUUID(),
      routingPath,
      beginAttempt: options.beginAttempt === true,
    };
    // The common case first; a dead record (an operator's redrive) is the exception.
    const claimed =
      (await this.tryClaim(token, now, leaseSeconds, claimant)) ??
      (options.reviveDead ? await this.tryClaimDead(token, now, leaseSeconds, claimant) : undefined);
    if (claimed) return { kind: 'claimed', record: claimed, leaseId: claimant.leaseId };
    const current = await this.get(token);
    if (!current) return { kind: 'missing' };
    if (current.status === 'processing') return { kind: 'busy', record: current };
    return { kind: 'finished', record: current };
  }

  /** `queued`, or `processing` with an expired lease: the attempts stand. */
  private tryClaim(token: string, now: number, leaseSeconds: number, claimant: Claimant) {
    return this.conditionalClaim(
      token,
      '#status = :queued OR (#status = :processing AND #lease_exp < :now)',
      claimant.beginAttempt ? `, ${COUNT_ATTEMPT}` : '',
      { ':queued': 'queued', ':now': now, ...(claimant.beginAttempt ? COUNT_ATTEMPT_VALUES : {}) },
      now,
      leaseSeconds,
      claimant,
      'attempt_started',
    );
  }

  /** A `dead` record redriven from the DLQ (console or API): a full set of attempts again. */
  private tryClaimDead(token: string, now: number, leaseSeconds: number, claimant: Claimant) {
    return this.conditionalClaim(
      token,
      '#status = :dead',
      claimant.beginAttempt
        ? ', #attempts = :one, #calls = if_not_exists(#calls, :zero) + :one'
        : ', #attempts = :zero',
      { ':dead': 'dead', ...(claimant.beginAttempt ? COUNT_ATTEMPT_VALUES : { ':zero': 0 }) },
      now,
      leaseSeconds,
      claimant,
      'redriven',
    );
  }

  private async conditionalClaim(
    token: string,
    condition: string,
    extraSet: string,
    extraValues: Record<string, unknown>,
    now: number,
    leaseSeconds: number,
    claimant: Claimant,
    event: 'attempt_started' | 'redriven',
  ): Promise<RequestRecord | undefined> {
    // A worker's attempt number is counted by this very write, so its entry cannot carry it; the
    // entries that settle the attempt do (the lease's `attempt`). A redrive's attempts start at 1.
    const entry = timelineEntry(
      event,
      now,
      event === 'redriven' && claimant.beginAttempt ? { attempt: 1 } : {},
    );
    const attributes = await conditionalUpdate(
      this.client,
      this.tableName,
      {
        Key: requestKey(token),
        ConditionExpression: `attribute_exists(#pk) AND (${condition})`,
        UpdateExpression: `SET #status = :processing, #listed = :listed, #lease_id = :lease, #lease_exp = :exp, #updated = :iso, #routing = :routing${extraSet} REMOVE #deferred_reason, #deferred_until`,
        ExpressionAttributeNames: {
          '#pk': PK,
          '#status': 'status',
          '#listed': LISTED,
          '#lease_id': 'lease_id',
          '#lease_exp': 'lease_expires_at',
          '#updated': 'updated_at',
          '#deferred_reason': 'deferred_reason',
          '#deferred_until': 'deferred_until',
          '#routing': 'routing_path',
          ...(extraSet.includes('#attempts') ? { '#attempts': 'attempts' } : {}),
          ...(extraSet.includes('#calls') ? { '#calls': 'calls' } : {}),
        },
        ExpressionAttributeValues: {
          ':processing': 'processing',
          ':listed': listedPartitionOf('processing'),
          ':lease': claimant.leaseId,
          ':routing': claimant.routingPath,
          ':exp': now + leaseSeconds * 1000,
          ':iso': new Date(now).toISOString(),
          ...extraValues,
        },
        ReturnValues: 'ALL_NEW',
      },
      entry,
    );
    return attributes === undefined ? undefined : recordFromItem<RequestRecord>(attributes);
  }

  defer(
    lease: Lease,
    now: number,
    reason: DeferReason,
    until: number,
    options: { refundAttempt?: boolean } = {},
  ): Promise<SettledRecord | undefined> {
    return this.settle(
      lease,
      'queued',
      now,
      deferredEntry(now, reason, until, options.refundAttempt ? undefined : lease.attempt),
      { deferred_reason: reason, deferred_until: new Date(until).toISOString() },
      [],
      options.refundAttempt ? ['attempts', 'calls'] : [],
    );
  }

  complete(
    lease: Lease,
    result: StoredResult,
    now: number,
    expiresAt: number,
  ): Promise<SettledRecord | undefined> {
    // The result inline or its pointer (claim check); the other is dropped.
    return this.settle(
      lease,
      'completed',
      now,
      timelineEntry('succeeded', now, { attempt: lease.attempt }),
      { ...result, completed_at: new Date(now).toISOString(), expires_at: expiresAt },
      ['error', 'result' in result ? 'result_ref' : 'result'],
    );
  }

  fail(
    lease: Lease,
    error: ErrorBody,
    now: number,
    expiresAt: number,
    options: { refundAttempt?: boolean } = {},
  ): Promise<SettledRecord | undefined> {
    return this.settle(
      lease,
      'failed',
      now,
      errorEntry('failed', now, error),
      { error, completed_at: new Date(now).toISOString(), expires_at: expiresAt },
      [],
      options.refundAttempt ? ['attempts', 'calls'] : [],
    );
  }

  // A retry and the DLQ go through the queue: a request whose DIRECT call failed reads QUEUED.
  release(lease: Lease, error: ErrorBody, now: number, retryAt: number): Promise<SettledRecord | undefined> {
    return this.settle(lease, 'queued', now, failedAttemptEntry(now, error, retryAt), {
      error,
      routing_path: 'QUEUED',
      deferred_until: new Date(retryAt).toISOString(),
    });
  }

  markDead(lease: Lease, error: ErrorBody, now: number): Promise<SettledRecord | undefined> {
    // Dead records carry no expiry: they wait for an operator.
    return this.settle(
      lease,
      'dead',
      now,
      errorEntry('dead', now, error),
      { error, routing_path: 'QUEUED' },
      ['expires_at'],
    );
  }

  async countByStatus(status: Status): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: REQUESTS_TABLE.statusIndex.name,
          ...statusQuery(status),
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  async listByStatus(status: Status, query: ListQuery): Promise<RecordPage> {
    const records: RequestRecord[] = [];
    let startKey = query.startKey;
    // With a service filter, DynamoDB's Limit counts the items read, not those kept: read on until
    // the page is full or the index ends. Each read asks for at most what is missing and every
    // match it reads is kept, so LastEvaluatedKey is exactly where the next page starts.
    do {
      const callersKey = startKey !== undefined && startKey === query.startKey;
      const out = await this.client
        .send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: REQUESTS_TABLE.statusIndex.name,
            ...statusQuery(
              status,
              query.service
                ? {
                    expression: '#service = :service',
                    names: { '#service': 'service' },
                    values: { ':service': query.service },
                  }
                : undefined,
            ),
            Limit: query.limit - records.length,
            ExclusiveStartKey: startKey,
          }),
        )
        .catch((err: unknown) => {
          // A start key from the caller's cursor that is not a key of this index: the caller's error.
          if (callersKey && (err as Error).name === 'ValidationException')
            throw ValidationError.forField('cursor', 'is not a cursor this API returned');
          throw err;
        });
      // The index lists only the keys and what the sweeper reads: the records are read whole from
      // the table. One that changed status or went in between is left out of the page.
      const listed = (out.Items ?? []).map((item) => recordFromItem<ListedRecord>(item));
      const whole = await Promise.all(listed.map((r) => this.get(r.token)));
      records.push(...whole.filter((r): r is RequestRecord => r?.status === status));
      startKey = out.LastEvaluatedKey;
    } while (startKey && records.length < query.limit);
    return { records, ...(startKey ? { nextKey: startKey } : {}) };
  }

  async listSummaries(status: Status, query: SummaryQuery): Promise<SummaryPage> {
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    if (query.service) {
      filters.push('#service = :service');
      names['#service'] = 'service';
      values[':service'] = query.service;
    }
    if (query.operation) {
      filters.push('#operation = :operation');
      names['#operation'] = 'operation';
      values[':operation'] = query.operation;
    }
    const records: SummaryRecord[] = [];
    let startKey = query.startKey;
    // As listByStatus: a filter makes DynamoDB's Limit count items read, not kept, so read on until
    // the page is full; each read asks for at most what is missing, so LastEvaluatedKey is exactly
    // where the next page starts.
    do {
      const callersKey = startKey !== undefined && startKey === query.startKey;
      const out = await this.client
        .send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: REQUESTS_TABLE.statusIndex.name,
            ...statusQuery(
              status,
              filters.length > 0 ? { expression: filters.join(' AND '), names, values } : undefined,
            ),
            Limit: query.limit - records.length,
            ExclusiveStartKey: startKey,
          }),
        )
        .catch((err: unknown) => {
          if (callersKey && (err as Error).name === 'ValidationException')
            throw ValidationError.forField('cursor', 'is not a cursor this API returned');
          throw err;
        });
      records.push(...(out.Items ?? []).map((item) => recordFromItem<SummaryRecord>(item)));
      startKey = out.LastEvaluatedKey;
    } while (startKey && records.length < query.limit);
    return { records, ...(startKey ? { nextKey: startKey } : {}) };
  }

  async requeueDead(token: string, now: number): Promise<DeadLetterChange> {
    return this.changeDead(token, () =>
      updateRequestItem(
        this.client,
        this.tableName,
        {
          Key: requestKey(token),
          ConditionExpression: 'attribute_exists(#pk) AND #status = :dead',
          UpdateExpression:
            'SET #status = :queued, #listed = :listed, #attempts = :zero, #updated = :iso, #last_error = if_not_exists(#error, :none) REMOVE #error',
          ExpressionAttributeNames: {
            '#pk': PK,
            '#status': 'status',
            '#listed': LISTED,
            '#attempts': 'attempts',
            '#updated': 'updated_at',
            '#last_error': 'last_error',
            '#error': 'error',
          },
          ExpressionAttributeValues: {
            ':dead': 'dead',
            ':queued': 'queued',
            ':listed': listedPartitionOf('queued'),
            ':zero': 0,
            ':none': null,
            ':iso': new Date(now).toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        },
        timelineEntry('retried', now),
      ),
    );
  }

  async deleteDead(token: string): Promise<DeadLetterChange> {
    return this.changeDead(token, () =>
      this.client
        .send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: requestKey(token),
            ConditionExpression: 'attribute_exists(#pk) AND #status = :dead',
            ExpressionAttributeNames: { '#pk': PK, '#status': 'status' },
            ExpressionAttributeValues: { ':dead': 'dead' },
            ReturnValues: 'ALL_OLD',
          }),
        )
        .then((out) => out.Attributes ?? {}),
    );
  }

  /** Runs a write conditioned on the record being `dead`; on refusal, says why. */
  private async changeDead(
    token: string,
    write: () => Promise<Record<string, unknown>>,
  ): Promise<DeadLetterChange> {
    try {
      return { kind: 'changed', record: recordFromItem<RequestRecord>(await write()) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const current = await this.get(token);
      return current ? { kind: 'not_dead', status: current.status } : { kind: 'missing' };
    }
  }

  async findStranded(query: StrandedQuery): Promise<ListedRecord[]> {
    const queued = query.status === 'queued';
    return findByStatus<ListedRecord>(
      this.client,
      this.tableName,
      query.status,
      {
        // A queued record waiting out a deferral or a retry backoff has its message on the way.
        expression: `${queued ? '#updated < :before AND (attribute_not_exists(#deferred_until) OR #deferred_until < :before)' : '#lease_exp < :before'} AND (attribute_not_exists(#swept) OR #swept < :swept)`,
        names: {
          '#swept': 'swept_at',
          ...(queued
            ? { '#updated': 'updated_at', '#deferred_until': 'deferred_until' }
            : { '#lease_exp': 'lease_expires_at' }),
        },
        values: {
          ':before': queued ? query.updatedBefore : query.leaseExpiredBefore,
          ':swept': query.sweptBefore,
        },
      },
      query.limit,
    );
  }

  async markSwept(seen: ListedRecord, now: number): Promise<boolean> {
    const names: Record<string, string> = {
      '#status': 'status',
      '#updated': 'updated_at',
      '#swept': 'swept_at',
    };
    const values: Record<string, unknown> = {
      ':status': seen.status,
      ':updated': seen.updated_at,
      ':now': new Date(now).toISOString(),
    };
    let condition = '#status = :status AND #updated = :updated';
    if (seen.lease_expires_at !== undefined) {
      names['#lease_exp'] = 'lease_expires_at';
      values[':lease_exp'] = seen.lease_expires_at;
      condition += ' AND #lease_exp = :lease_exp';
    }
    const swept = seen.swept_at;
    if (swept === undefined) condition += ' AND attribute_not_exists(#swept)';
    else {
      values[':swept'] = swept;
      condition += ' AND #swept = :swept';
    }
    return (
      (await conditionalUpdate(this.client, this.tableName, {
        Key: requestKey(seen.token),
        ConditionExpression: condition,
        UpdateExpression: 'SET #swept = :now',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      })) !== undefined
    );
  }

  /**
   * Moves a leased `processing` record to `status`, only while the lease is still ours, and answers
   * the record as written (the update returns it: no read after).
   */
  private async settle(
    lease: Lease,
    status: Status,
    now: number,
    /** The change's timeline entry, written by the same update. */
    entry: TimelineEntry,
    set: Record<string, unknown>,
    remove: string[] = [],
    /** Numeric fields taken down by one (a refunded attempt). */
    decrement: string[] = [],
  ): Promise<SettledRecord | undefined> {
    const names: Record<string, string> = {
      '#status': 'status',
      '#lease_id': 'lease_id',
      '#lease_exp': 'lease_expires_at',
      '#updated': 'updated_at',
    };
    const values: Record<string, unknown> = {
      ':status': status,
      ':lease': lease.leaseId,
      ':processing': 'processing',
      ':iso': new Date(now).toISOString(),
    };
    const listed = listedStatusUpdate(status);
    Object.assign(names, listed.names);
    Object.assign(values, listed.values);
    const sets = ['#status = :status', '#updated = :iso', ...(listed.set ? [listed.set] : [])];
    Object.entries(set).forEach(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:v${i}`] = value;
      sets.push(`#f${i} = :v${i}`);
    });
    decrement.forEach((field, i) => {
      names[`#d${i}`] = field;
      values[':one'] = 1;
      sets.push(`#d${i} = #d${i} - :one`);
    });
    const removes = ['#lease_id', '#lease_exp', ...(listed.remove ? [listed.remove] : [])];
    // A deferral (or a retry's backoff) stays on the record until the next claim; any other move
    // drops what is not set again.
    for (const field of ['deferred_reason', 'deferred_until'] as const) {
      if (field in set) continue;
      names[`#${field}`] = field;
      removes.push(`#${field}`);
    }
    remove.forEach((field, i) => {
      names[`#r${i}`] = field;
      removes.push(`#r${i}`);
    });
    const attributes = await conditionalUpdate(
      this.client,
      this.tableName,
      {
        Key: requestKey(lease.token),
        ConditionExpression: '#status = :processing AND #lease_id = :lease',
        UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      },
      entry,
    );
    return attributes === undefined ? undefined : recordFromItem<SettledRecord>(attributes);
  }
}

/**
 * Who claims: the lease id, the path that will make the call (`routing_path` from now on), and
 * whether the claim begins an attempt too.
 */
interface Claimant {
  leaseId: string;
  routingPath: ClaimRoutingPath;
  beginAttempt: boolean;
}

/** The update that counts one attempt and one call (`#attempts`, `#calls`, `:zero`, `:one`). */
const COUNT_ATTEMPT =
  '#attempts = if_not_exists(#attempts, :zero) + :one, #calls = if_not_exists(#calls, :zero) + :one';
const COUNT_ATTEMPT_VALUES = { ':zero': 0, ':one': 1 };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
