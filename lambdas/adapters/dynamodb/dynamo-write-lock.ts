/**
 * WriteLocks on DynamoDB: one item per Jira issue or Confluence page being written
 * (`pk = LOCK#<service>#<objectId>`) in the requests table, shared by every worker, so two writes to
 * one object never run at once (DESIGN invariant 2: "writes to the same Jira issue or Confluence page
 * are serialized"), and, where the service has write windows, so one object's writes stay inside
 * Atlassian's per-object limits (object-write-window.ts).
 *
 * - acquire: an UpdateItem that sets the lease (`owner`, `lock_until`, `acquired_at`) and the
 *   window's new `tat`, conditional on the lock being free (no lease, an expired one, or already
 *   this owner's: the same request again after its earlier worker lost the claim) and on the object
 *   being idle (`tat` absent or past). That is one request for a write to an object not written in
 *   the last moments, the common case. When the condition fails, the old item
 *   (`ReturnValuesOnConditionCheckFailure`) tells a held lock from a busy window; for the window
 *   alone, the GCRA decides from the old `tat`, and a write it lets through is taken by a second
 *   UpdateItem conditional on that `tat` being unchanged (and the lock still free). The owner is
 *   the request token; the expiry is the claim's lease, so a worker that dies mid-call blocks the
 *   object no longer than its request stays claimed.
 * - release: an UpdateItem that removes the lease, conditional on the owner, so a lock that expired
 *   and was taken over by another request is never removed by the late first holder. The item and
 *   its `tat` stay: the next writer must see the window.
 *
 * The item carries no `listed_status` (it never shows in the by-status index of requests). Its
 * `expires_at` (epoch seconds, the table's TTL attribute) lets DynamoDB drop the item once both its
 * lease and its window are long over; the conditions read `lock_until` and `tat` (epoch ms), since
 * TTL deletes late.
 *
 * IAM: the worker needs UpdateItem on the table.
 */
import { ConditionalCheckFailedException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { decideWrite, idleTat, type ServiceWriteWindows } from '../../core/domain/object-write-window.js';
import type { WriteLockDecision, WriteLockKey, WriteLocks } from '../../core/ports/flow-control.js';

const PK = REQUESTS_TABLE.partitionKey;

/** Key prefix of the write-lock items. */
export const WRITE_LOCK_KEY_PREFIX = REQUESTS_TABLE.lockKeyPrefix;

/** How long after its lease and its window are over DynamoDB's TTL may delete a lock item. */
const TTL_MARGIN_SECONDS = 3600;

/** Free: never leased, the lease released or expired, or this owner's already. */
const LOCK_FREE = '(attribute_not_exists(#until) OR #until <= :now OR #owner = :owner)';

/** The key of an object's lock item. */
export function writeLockKey(key: WriteLockKey): Record<string, string> {
  return { [PK]: `${WRITE_LOCK_KEY_PREFIX}#${key.service}#${key.objectId}` };
}

/** What the window condition of one attempt expects of the stored `tat`. */
type TatExpected = { idle: true } | { idle: false; tat: number | undefined };

export class DynamoWriteLocks implements WriteLocks {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Each service's write window (object-write-window.ts `writeWindowParamsOf`). */
    private readonly windows: ServiceWriteWindows,
  ) {}

  async acquire(
    key: WriteLockKey,
    owner: string,
    now: number,
    expiresAt: number,
  ): Promise<WriteLockDecision> {
    const window = this.windows[key.service];
    if (!window) {
      const old = await this.take(key, owner, now, expiresAt);
      // The condition read the old item: failing, it held another owner's running lock.
      return old ? locked(old, now) : { acquired: true };
    }
    // First as if the object were idle: one request in the common case.
    let old = await this.take(key, owner, now, expiresAt, idleTat(window, now), { idle: true });
    if (!old) return { acquired: true };
    if (heldByAnother(old, owner, now)) return locked(old, now);
    const oldTat = numberOf(old['tat']);
    const decision = decideWrite(window, oldTat, now);
    if (!decision.allowed) return { acquired: false, reason: 'window', waitMs: decision.waitMs };
    old = await this.take(key, owner, now, expiresAt, decision.tat, { idle: false, tat: oldTat });
    if (!old) return { acquired: true };
    if (heldByAnother(old, owner, now)) return locked(old, now);
    // Another write took the window's room in between: its wait, or none if room is left (the
    // caller's deferral still waits a moment before the next try).
    const after = decideWrite(window, numberOf(old['tat']), now);
    return { acquired: false, reason: 'window', waitMs: after.allowed ? 0 : after.waitMs };
  }

  async release(key: WriteLockKey, owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: writeLockKey(key),
          UpdateExpression: 'REMOVE #owner, #until, #acquired',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#until': 'lock_until', '#acquired': 'acquired_at' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (err) {
      // Not ours any more (expired and taken over) or already gone: nothing to release.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /**
   * One conditional attempt at the lock (and, with `tat`, at the window): undefined when taken, else
   * the item as it was.
   */
  private async take(
    key: WriteLockKey,
    owner: string,
    now: number,
    expiresAt: number,
    tat?: number,
    expected?: TatExpected,
  ): Promise<Record<string, AttributeValue> | undefined> {
    const names: Record<string, string> = {
      '#until': 'lock_until',
      '#owner': 'owner',
      '#acquired': 'acquired_at',
      '#ttl': REQUESTS_TABLE.ttlAttribute,
    };
    const values: Record<string, unknown> = {
      ':now': now,
      ':owner': owner,
      ':until': expiresAt,
      ':ttl': Math.ceil(Math.max(expiresAt, tat ?? 0) / 1000) + TTL_MARGIN_SECONDS,
    };
    let update = 'SET #owner = :owner, #until = :until, #acquired = :now, #ttl = :ttl';
    let condition = LOCK_FREE;
    if (tat !== undefined && expected) {
      names['#tat'] = 'tat';
      values[':tat'] = tat;
      update += ', #tat = :tat';
      if (expected.idle) {
        condition += ' AND (attribute_not_exists(#tat) OR #tat <= :now)';
      } else if (expected.tat === undefined) {
        condition += ' AND attribute_not_exists(#tat)';
      } else {
        values[':old'] = expected.tat;
        condition += ' AND #tat = :old';
      }
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: writeLockKey(key),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return err.Item ?? {};
    }
  }
}

function numberOf(value: AttributeValue | undefined): number | undefined {
  const n = value?.N !== undefined ? Number(value.N) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

function heldByAnother(item: Record<string, AttributeValue>, owner: string, now: number): boolean {
  const until = numberOf(item['lock_until']);
  return until !== undefined && until > now && item['owner']?.S !== owner;
}

function locked(item: Record<string, AttributeValue>, now: number): WriteLockDecision {
  return { acquired: false, reason: 'locked', heldUntil: numberOf(item['lock_until']) ?? now };
}
