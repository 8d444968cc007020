/**
 * An item of the requests table updated with optimistic concurrency, as DynamoRateGate and
 * DynamoPointsBudget keep theirs: read it (consistently), decide from what was read, and write the
 * new value conditional on the `version` read (or on the item not existing yet). Two workers that
 * decided from the same state cannot both write; the loser pauses a random, growing while and
 * decides again from the winner's state. The adapters say only what an attempt writes and answers;
 * the arithmetic stays in lambdas/core/domain.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';

const PK = REQUESTS_TABLE.partitionKey;

type Key = Record<string, string>;

/** A stored value and the `version` it was read at. */
export interface Versioned<T> {
  value: T;
  version: number;
}

/** How a value maps to the item's attributes, besides its key and `version`. */
export interface ItemCodec<T> {
  toItem(value: T): Record<string, unknown>;
  fromItem(item: Record<string, unknown>): T;
}

/** What one attempt decided from the item as read: its answer, after writing `write` if given. */
export interface Attempt<T, A> {
  answer: A;
  write?: T;
}

export interface RaceRetry {
  /** Conditional writes tried before `update` gives up. */
  attempts: number;
  /** Pause before retrying a lost race: up to `jitterMs × attempt`, random. */
  jitterMs: number;
  /** From this attempt on the pause stops growing. @default never */
  maxBackoffSteps?: number;
}

export class VersionedItems<T> {
  /** Per key, the end of the last update queued in this process (see `update`). */
  private readonly turns = new Map<string, Promise<unknown>>();
  /**
   * Per key, the newest version this instance wrote. A read made before that write (a batch read
   * that waited for its turn behind it) is stale: deciding from it would lose the race for sure.
   */
  private readonly written = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly codec: ItemCodec<T>,
  ) {}

  /** The item as stored, or undefined when it was never written. */
  async read(key: Key): Promise<Versioned<T> | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return this.decode(out.Item);
  }

  /** A stored item (as a read answered it) as a value and its version; undefined: no item. */
  decode(item: Record<string, unknown> | undefined): Versioned<T> | undefined {
    if (!item) return undefined;
    const version = item['version'];
    return {
      value: this.codec.fromItem(item),
      version: typeof version === 'number' && Number.isFinite(version) ? version : 0,
    };
  }

  /**
   * Reads the item and lets `decide` answer from it (undefined: no item yet). An answer without a
   * write is answered at once; one with a write once that write went through. A lost race pauses
   * and decides again; after `retry.attempts` lost races the answer is `exhausted()`'s (which may
   * throw). Errors other than a lost race are thrown as they come. `first`: the item as an
   * earlier read found it (a batch read of the gate's items), decided from instead of reading it
   * for the first attempt unless this instance has written the item since (then it reads); a lost
   * race reads it again.
   */
  async update<A>(
    key: Key,
    retry: RaceRetry,
    decide: (read: Versioned<T> | undefined) => Attempt<T, A>,
    exhausted: () => A,
    first?: { read: Versioned<T> | undefined },
  ): Promise<A> {
    const id = JSON.stringify(key);
    return this.inTurn(id, () => this.race(key, id, retry, decide, exhausted, first));
  }

  /**
   * Runs the updates of one key made through this instance one after the other. Callers in one
   * process (a batch's records handled at once, or every function of the local stack) would
   * otherwise race each other: each lost race costs a read and a conditional write, and under load
   * the races multiply until the item's store is saturated. Races with other processes remain and
   * are settled by the conditional write. Hand-written: a promise chain per key is all it takes.
   */
  private async inTurn<A>(id: string, run: () => Promise<A>): Promise<A> {
    const before = this.turns.get(id) ?? Promise.resolve();
    const mine = before.then(run);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(id, settled);
    try {
      return await mine;
    } finally {
      if (this.turns.get(id) === settled) this.turns.delete(id);
    }
  }

  private async race<A>(
    key: Key,
    id: string,
    retry: RaceRetry,
    decide: (read: Versioned<T> | undefined) => Attempt<T, A>,
    exhausted: () => A,
    first?: { read: Versioned<T> | undefined },
  ): Promise<A> {
    const usable = first !== undefined && (first.read?.version ?? 0) >= (this.written.get(id) ?? 0);
    for (let attempt = 1; attempt <= retry.attempts; attempt++) {
      const read = attempt === 1 && usable ? first.read : await this.read(key);
      const { answer, write } = decide(read);
      if (write === undefined) return answer;
      if (await this.put(key, write, read)) {
        this.written.set(id, (read?.version ?? 0) + 1);
        return answer;
      }
      await backoff(retry, attempt);
    }
    return exhausted();
  }

  /** True when written; false when another worker wrote first (or created the item first). */
  private async put(key: Key, value: T, read: Versioned<T> | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, ...this.codec.toItem(value), version: (read?.version ?? 0) + 1 },
          ...(read
            ? {
                ConditionExpression: '#version = :read',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':read': read.version },
              }
            : {
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': PK },
              }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}

function backoff(retry: RaceRetry, attempt: number): Promise<void> {
  const ms = Math.random() * retry.jitterMs * Math.min(attempt, retry.maxBackoffSteps ?? attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
