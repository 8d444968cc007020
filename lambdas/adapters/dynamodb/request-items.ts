/**
 * The request items of the requests table, shared by the stores that write them
 * (DynamoRequestStore, DynamoDependencyStore): their keys, how an item reads back as a record, and
 * the one conditional UpdateItem both turn into outcomes.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { TIMELINE_LIMIT, type RequestRecord, type TimelineEntry } from '../../../model/request-record.js';

const PK = REQUESTS_TABLE.partitionKey;

export const requestKey = (token: string) => ({ [PK]: `REQ#${token}` });

/** The item claiming an idempotency key (the key hashed, so any printable key fits). */
export const idempotencyKey = (key: string) => ({
  [PK]: `IDEM#${createHash('sha256').update(key).digest('hex')}`,
});

const LISTED = REQUESTS_TABLE.statusIndex.partitionKey;
const PARTITIONS: Readonly<Record<string, string>> = REQUESTS_TABLE.statusIndex.partitions;

/** The by-status index's partition of a request with `status`; undefined when the index leaves it out. */
export function listedPartitionOf(status: string): string | undefined {
  return Object.hasOwn(PARTITIONS, status) ? PARTITIONS[status] : undefined;
}

/** `listed_status` of a request item with `status`: its partition while the index lists it. */
export function listedStatusOf(status: string): Record<string, string> {
  const partition = listedPartitionOf(status);
  return partition === undefined ? {} : { [LISTED]: partition };
}

/**
 * The part of an UpdateItem that keeps `listed_status` with a new `status`: `set` for its SET
 * clause (a listed status), or `remove` for its REMOVE clause; and the name (`#listed`) and value
 * (`:listed`) it uses.
 */
export function listedStatusUpdate(status: string): {
  set?: string;
  remove?: string;
  names: Record<string, string>;
  values: Record<string, string>;
} {
  const names = { '#listed': LISTED };
  const partition = listedPartitionOf(status);
  return partition === undefined
    ? { remove: '#listed', names, values: {} }
    : { set: '#listed = :listed', names, values: { ':listed': partition } };
}

/**
 * The key condition and filter of a query of the by-status index for the requests with `status`:
 * its partition, then the status itself (a partition may hold more than one), and `filter` if any.
 */
export function statusQuery(
  status: string,
  filter?: StatusFilter,
): {
  KeyConditionExpression: string;
  FilterExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  // A status the index leaves out has no partition of its own: no item carries it, nothing is found.
  const partition = listedPartitionOf(status) ?? status;
  return {
    KeyConditionExpression: '#listed = :listed',
    FilterExpression: `#status = :status${filter ? ` AND (${filter.expression})` : ''}`,
    ExpressionAttributeNames: { '#listed': LISTED, '#status': 'status', ...filter?.names },
    ExpressionAttributeValues: { ':listed': partition, ':status': status, ...filter?.values },
  };
}

/**
 * A stored request item as its record: without the key, the worker's lease id and the index's
 * partition key, and with depends_on's string sets (`waiting_on`, `dependents`) as sorted
 * arrays.
 */
export function recordFromItem<T>(item: Record<string, unknown>): T {
  const { [PK]: _pk, lease_id: _lease, [LISTED]: _listed, ...record } = item;
  for (const [k, v] of Object.entries(record)) {
    if (v instanceof Set) record[k] = [...(v as Set<string>)].sort();
  }
  if (Array.isArray(record[TIMELINE])) record[TIMELINE] = timelineFromRing(record[TIMELINE] as unknown[]);
  return record as T;
}

/**
 * The timeline is stored as a ring: a list of exactly TIMELINE_LIMIT slots, oldest first, the
 * empty ones `null` at its head. Appending is then the same two actions whatever the length —
 * `SET timeline[LIMIT] = :entry` (DynamoDB appends at an index past the end) and
 * `REMOVE timeline[0]` — so each entry rides on the write that makes its change, with no read to
 * learn the length first. DynamoDB's update expressions have no conditional trim of their own.
 */
const TIMELINE = 'timeline';

/** The stored ring holding `entries` (the newest TIMELINE_LIMIT of them). */
export function timelineRing(entries: readonly TimelineEntry[]): (TimelineEntry | null)[] {
  const kept = entries.slice(-TIMELINE_LIMIT);
  return [...Array<null>(TIMELINE_LIMIT - kept.length).fill(null), ...kept];
}

function timelineFromRing(ring: readonly unknown[]): TimelineEntry[] {
  return ring.filter((slot): slot is TimelineEntry => slot !== null && typeof slot === 'object');
}

/** The timeline attribute of a new request item holding `entries`. */
export function timelineItem(entries: readonly TimelineEntry[]): { timeline: (TimelineEntry | null)[] } {
  return { [TIMELINE]: timelineRing(entries) } as { timeline: (TimelineEntry | null)[] };
}

/** Adds actions to an update expression's SET and REMOVE clauses (creating them when absent). */
export function extendUpdateExpression(
  expression: string,
  add: { set?: readonly string[]; remove?: readonly string[] },
): string {
  // Clauses are `KEYWORD action, action …`; RIQ's expressions use placeholders only, so the four
  // keywords appear nowhere else.
  const clauses = new Map<string, string[]>();
  const parts = expression.trim().split(/\s*\b(SET|REMOVE|ADD|DELETE)\s+/);
  for (let i = 1; i < parts.length; i += 2) {
    clauses.set(parts[i]!, [...(clauses.get(parts[i]!) ?? []), parts[i + 1]!.trim()]);
  }
  if (add.set?.length) clauses.set('SET', [...(clauses.get('SET') ?? []), ...add.set]);
  if (add.remove?.length) clauses.set('REMOVE', [...(clauses.get('REMOVE') ?? []), ...add.remove]);
  return [...clauses].map(([keyword, actions]) => `${keyword} ${actions.join(', ')}`).join(' ');
}

/**
 * The update `input` that also appends `entry` to the item's timeline ring; `legacy`: the item has
 * no timeline yet (written before timelines were kept), so the write stores a new ring instead.
 */
export function withTimelineEntry(
  input: Omit<UpdateCommandInput, 'TableName'>,
  entry: TimelineEntry,
  legacy = false,
): Omit<UpdateCommandInput, 'TableName'> {
  return {
    ...input,
    UpdateExpression: extendUpdateExpression(
      input.UpdateExpression ?? '',
      legacy
        ? { set: ['#timeline = :timeline_ring'] }
        : { set: [`#timeline[${TIMELINE_LIMIT}] = :timeline_entry`], remove: ['#timeline[0]'] },
    ),
    ExpressionAttributeNames: { ...input.ExpressionAttributeNames, '#timeline': TIMELINE },
    ExpressionAttributeValues: {
      ...input.ExpressionAttributeValues,
      ...(legacy ? { ':timeline_ring': timelineRing([entry]) } : { ':timeline_entry': entry }),
    },
  };
}

/** DynamoDB's answer to `SET timeline[n]` on an item without a timeline. */
function isMissingTimeline(err: unknown): boolean {
  return (
    err instanceof Error &&
    err.name === 'ValidationException' &&
    err.message.includes('document path provided in the update expression is invalid')
  );
}

/**
 * One UpdateItem, appending `entry` to the timeline when given. An item written before timelines
 * were kept has none to append to: DynamoDB refuses the write as a whole (nothing changed), and it
 * is sent once more storing a new ring — once per such item, never again for it.
 */
export async function updateRequestItem(
  client: DynamoDBDocumentClient,
  tableName: string,
  input: Omit<UpdateCommandInput, 'TableName'>,
  entry?: TimelineEntry,
): Promise<Record<string, unknown>> {
  if (!entry)
    return (await client.send(new UpdateCommand({ TableName: tableName, ...input }))).Attributes ?? {};
  try {
    const out = await client.send(
      new UpdateCommand({ TableName: tableName, ...withTimelineEntry(input, entry) }),
    );
    return out.Attributes ?? {};
  } catch (err) {
    if (!isMissingTimeline(err)) throw err;
    const out = await client.send(
      new UpdateCommand({ TableName: tableName, ...withTimelineEntry(input, entry, true) }),
    );
    return out.Attributes ?? {};
  }
}

/**
 * Whether a stored record is the request `submitted` (the one a retried put wrote): same token,
 * owner, operation, creation instant and payload. Tokens are random, so only a retry of the same
 * submit meets its own record.
 */
export function isSameRequest(stored: RequestRecord, submitted: RequestRecord): boolean {
  return (
    stored.token === submitted.token &&
    stored.owner === submitted.owner &&
    stored.operation === submitted.operation &&
    stored.created_at === submitted.created_at &&
    isDeepStrictEqual(stored.payload, submitted.payload)
  );
}

/**
 * One conditional UpdateItem: its returned attributes (`{}` when it asks for none), or undefined
 * when the condition refused it — the answer every lease, sweep and release write turns into its
 * outcome.
 */
export async function conditionalUpdate(
  client: DynamoDBDocumentClient,
  tableName: string,
  input: Omit<UpdateCommandInput, 'TableName'>,
  /** Appended to the request's timeline by the same write. */
  entry?: TimelineEntry,
): Promise<Record<string, unknown> | undefined> {
  try {
    return await updateRequestItem(client, tableName, input, entry);
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
}

/** A filter on the records of one status: its expression and the names and values it uses. */
export interface StatusFilter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * Records with `status` that pass `filter`, oldest first (the by-status index), at most `limit`:
 * pages through the index until enough matched or it ends (a filter may make pages short). Each is
 * as the index projects it (`REQUESTS_TABLE.statusIndex.projected`), not the whole record.
 */
export async function findByStatus<T>(
  client: DynamoDBDocumentClient,
  tableName: string,
  status: string,
  filter: StatusFilter,
  limit: number,
): Promise<T[]> {
  const found: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: REQUESTS_TABLE.statusIndex.name,
        ...statusQuery(status, filter),
        ExclusiveStartKey: startKey,
      }),
    );
    found.push(...(out.Items ?? []).map((item) => recordFromItem<T>(item)));
    startKey = out.LastEvaluatedKey;
  } while (startKey && found.length < limit);
  return found.slice(0, limit);
}
