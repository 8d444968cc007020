/**
 * RequestStore on DynamoDB: one item per request (`REQ#<token>`), one per idempotency key
 * (`IDEM#<hash>`). Every state change is a conditional update, so two workers (or a worker and a
 * duplicate delivery) can never both own a request.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { createHash, randomUUID } from 'node:crypto';
import { REQUESTS_TABLE } from '../../lib/config/resources.js';
import type { ErrorBody } from '../core/errors.js';
import type { ClaimOutcome, IdempotencyClaim, InsertOutcome, Lease, RequestStore } from '../core/ports.js';
import type { RequestRecord, Status } from '../core/request-record.js';

const PK = REQUESTS_TABLE.partitionKey;
const requestKey = (token: string) => ({ [PK]: `REQ#${token}` });
const idempotencyKey = (key: string) => ({ [PK]: `IDEM#${createHash('sha256').update(key).digest('hex')}` });

/** How often a submit retries a transaction that lost a race with a concurrent one on the same key. */
const TRANSACTION_CONFLICT_RETRIES = 8;

export class DynamoRequestStore implements RequestStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Seconds an idempotency key is remembered (the records' retention). */
    private readonly idempotencyTtlSeconds: number,
  ) {}

  async insert(record: RequestRecord, idempotency?: IdempotencyClaim): Promise<InsertOutcome> {
    const item = { ...requestKey(record.token), ...record };
    if (!idempotency) {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      );
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
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async claim(token: string, now: number, leaseSeconds: number): Promise<ClaimOutcome> {
    const leaseId = randomUUID();
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: requestKey(token),
          ConditionExpression:
            'attribute_exists(#pk) AND (#status IN (:queued, :dead) OR (#status = :processing AND #lease_exp < :now))',
          UpdateExpression:
            'SET #status = :processing, #lease_id = :lease, #lease_exp = :exp, #attempts = if_not_exists(#attempts, :zero) + :one, #updated = :iso',
          ExpressionAttributeNames: {
            '#pk': PK,
            '#status': 'status',
            '#lease_id': 'lease_id',
            '#lease_exp': 'lease_expires_at',
            '#attempts': 'attempts',
            '#updated': 'updated_at',
          },
          ExpressionAttributeValues: {
            ':queued': 'queued',
            ':dead': 'dead',
            ':processing': 'processing',
            ':now': now,
            ':lease': leaseId,
            ':exp': now + leaseSeconds * 1000,
            ':zero': 0,
            ':one': 1,
            ':iso': new Date(now).toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { kind: 'claimed', record: toRecord(out.Attributes ?? {}), leaseId };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const current = await this.get(token);
    if (!current) return { kind: 'missing' };
    if (current.status === 'processing') return { kind: 'busy', record: current };
    return { kind: 'finished', record: current };
  }

  complete(lease: Lease, result: unknown, now: number, expiresAt: number): Promise<boolean> {
    return this.settle(
      lease,
      'completed',
      now,
      { result, completed_at: new Date(now).toISOString(), expires_at: expiresAt },
      ['error'],
    );
  }

  fail(lease: Lease, error: ErrorBody, now: number, expiresAt: number): Promise<boolean> {
    return this.settle(lease, 'failed', now, {
      error,
      completed_at: new Date(now).toISOString(),
      expires_at: expiresAt,
    });
  }

  release(lease: Lease, error: ErrorBody, now: number): Promise<boolean> {
    return this.settle(lease, 'queued', now, { error });
  }

  markDead(lease: Lease, error: ErrorBody, now: number): Promise<boolean> {
    // Dead records carry no expiry: they wait for an operator.
    return this.settle(lease, 'dead', now, { error }, ['expires_at']);
  }

  async countByStatus(status: Status): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: REQUESTS_TABLE.statusIndex.name,
          KeyConditionExpression: '#status = :status',
          ExpressionAttributeNames: { '#status': REQUESTS_TABLE.statusIndex.partitionKey },
          ExpressionAttributeValues: { ':status': status },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /** Moves a leased `processing` record to `status`, only while the lease is still ours. */
  private async settle(
    lease: Lease,
    status: Status,
    now: number,
    set: Record<string, unknown>,
    remove: string[] = [],
  ): Promise<boolean> {
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
    const sets = ['#status = :status', '#updated = :iso'];
    Object.entries(set).forEach(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:v${i}`] = value;
      sets.push(`#f${i} = :v${i}`);
    });
    const removes = ['#lease_id', '#lease_exp'];
    remove.forEach((field, i) => {
      names[`#r${i}`] = field;
      removes.push(`#r${i}`);
    });
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: requestKey(lease.token),
          ConditionExpression: '#status = :processing AND #lease_id = :lease',
          UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}

function toRecord(item: Record<string, unknown>): RequestRecord {
  const { [PK]: _pk, lease_id: _lease, ...record } = item;
  return record as unknown as RequestRecord;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
