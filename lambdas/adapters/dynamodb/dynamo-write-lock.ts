/**
 * WriteLocks on DynamoDB: one lease item per Jira issue or Confluence page being written
 * (`pk = LOCK#<service>#<objectId>`) in the requests table, shared by every worker, so two writes to
 * one object never run at once (DESIGN invariant 2: "writes to the same Jira issue or Confluence page
 * are serialized").
 *
 * - acquire: a Put conditional on the item being absent, its lock expired, or already this owner's
 *   (the same request again after its earlier worker lost the claim). The owner is the request
 *   token; the expiry is the claim's lease, so a worker that dies mid-call blocks the object no
 *   longer than its request stays claimed.
 * - release: a Delete conditional on the owner, so a lock that expired and was taken over by another
 *   request is never removed by the late first holder.
 *
 * The item carries no `status` (it never shows in the `by-status` index of requests). Its
 * `expires_at` (epoch seconds, the table's TTL attribute) lets DynamoDB clean up locks nobody
 * released; the condition reads `lock_until` (epoch ms), since TTL deletes late.
 *
 * IAM: the worker needs PutItem on the table and DeleteItem on `LOCK#*` keys.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import type { WriteLockDecision, WriteLockKey, WriteLocks } from '../../core/ports/flow-control.js';

const PK = REQUESTS_TABLE.partitionKey;

/** Key prefix of the write-lock items (the worker's IAM condition on DeleteItem names it). */
export const WRITE_LOCK_KEY_PREFIX = REQUESTS_TABLE.lockKeyPrefix;

/** How long after its expiry DynamoDB's TTL may delete a lock item nobody released. */
const TTL_MARGIN_SECONDS = 3600;

/** The key of an object's lock item. */
export function writeLockKey(key: WriteLockKey): Record<string, string> {
  return { [PK]: `${WRITE_LOCK_KEY_PREFIX}#${key.service}#${key.objectId}` };
}

export class DynamoWriteLocks implements WriteLocks {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async acquire(
    key: WriteLockKey,
    owner: string,
    now: number,
    expiresAt: number,
  ): Promise<WriteLockDecision> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...writeLockKey(key),
            owner,
            lock_until: expiresAt,
            acquired_at: now,
            [REQUESTS_TABLE.ttlAttribute]: Math.ceil(expiresAt / 1000) + TTL_MARGIN_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #until <= :now OR #owner = :owner',
          ExpressionAttributeNames: { '#pk': PK, '#until': 'lock_until', '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { acquired: true };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const held = err.Item?.['lock_until']?.N;
      const heldUntil = held !== undefined ? Number(held) : Number.NaN;
      return { acquired: false, heldUntil: Number.isFinite(heldUntil) ? heldUntil : expiresAt };
    }
  }

  async release(key: WriteLockKey, owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: writeLockKey(key),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (err) {
      // Not ours any more (expired and taken over) or already gone: nothing to release.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
