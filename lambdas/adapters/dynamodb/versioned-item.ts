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

/** An update waiting for its key's next group (see `VersionedItems.update`). */
interface Pending<T> {
  retry: RaceRetry;
  decide: (read: Versioned<T> | undefined) => Attempt<T, unknown>;
  exhausted: () => unknown;
  first: { read: Versioned<T> | undefined } | undefined;
  resolve: (answer: unknown) => void;
  reject: (err: unknown) => void;
}

/** A key's updates not yet written, and whether a group of them is being written now. */
interface KeyQueue<T> {
  writing: boolean;
  waiting: Pending<T>[];
}

export class VersionedItems<T> {
  /** Per key, the updates made through this instance that wait for their group (see `update`). */
  private readonly queues = new Map<string, KeyQueue<T>>();
  /**
   * Per key, the newest version this instance wrote. A read made before that write (a batch read
   * that waited behind it) is stale: deciding from it would lose the race for sure.
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
   * Reads the item and lets `decide` answer from it (undefined: no item yet). The answer is given
   * once the write of its group (below), if any, went through. A lost race pauses
   * and decides again; after `retry.attempts` lost races the answer is `exhausted()`'s (which may
   * throw). Errors other than a lost race are thrown as they come. `first`: the item as an
   * earlier read found it (a batch read of the gate's items), decided from instead of reading it
   * for the first attempt unless this instance has written the item since (then it reads); a lost
   * race reads it again.
   *
   * The updates of one key made through this instance are written in groups: while one group's
   * write is in flight the next updates wait, and then are decided one after the other from one
   * read (each seeing the value the one before it decided) and written with one conditional write.
   * Callers in one process (a batch's records handled at once, or every function of the local
   * stack) would otherwise race each other, each lost race costing a read and a conditional write,
   * or wait in single file behind one write each. Races with other processes remain and are settled
   * by the conditional write. Hand-written: a queue per key is all it takes.
   */
  update<A>(
    key: Key,
    retry: RaceRetry,
    decide: (read: Versioned<T> | undefined) => Attempt<T, A>,
    exhausted: () => A,
    first?: { read: Versioned<T> | undefined },
  ): Promise<A> {
    const id = JSON.stringify(key);
    return new Promise<A>((resolve, reject) => {
      const queue = this.queues.get(id) ?? { writing: false, waiting: [] };
      this.queues.set(id, queue);
      queue.waiting.push({
        retry,
        decide,
        exhausted,
        first,
        resolve: resolve as (answer: unknown) => void,
        reject,
      });
      if (!queue.writing) void this.writeGroups(key, id, queue);
    });
  }

  /** Writes the key's waiting updates group after group until none is left. */
  private async writeGroups(key: Key, id: string, queue: KeyQueue<T>): Promise<void> {
    queue.writing = true;
    while (queue.waiting.length > 0) {
      const group = queue.waiting.splice(0, queue.waiting.length);
      try {
        await this.race(key, id, group);
      } catch (err) {
        for (const member of group) member.reject(err);
      }
    }
    queue.writing = false;
    this.queues.delete(id);
  }

  /** One group: decide in turn from one read, one conditional write, again on a lost race. */
  private async race(key: Key, id: string, group: Pending<T>[]): Promise<void> {
    let members = group;
    const newest = this.written.get(id) ?? 0;
    const firstReads = members
      .map((m) => m.first)
      .filter((f): f is { read: Versioned<T> | undefined } => f !== undefined)
      .filter((f) => (f.read?.version ?? 0) >= newest)
      .sort((a, b) => (b.read?.version ?? 0) - (a.read?.version ?? 0));
    for (let attempt = 1; ; attempt++) {
      const spent = members.filter((m) => attempt > m.retry.attempts);
      for (const member of spent) settleWith(member, member.exhausted);
      members = members.filter((m) => attempt <= m.retry.attempts);
      if (members.length === 0) return;
      const read = attempt === 1 && firstReads[0] !== undefined ? firstReads[0].read : await this.read(key);
      let seen = read;
      let write: T | undefined;
      const decided: Array<{ member: Pending<T>; answer: unknown }> = [];
      for (const member of members) {
        let attemptOf: Attempt<T, unknown>;
        try {
          attemptOf = member.decide(seen);
        } catch (err) {
          member.reject(err);
          continue;
        }
        decided.push({ member, answer: attemptOf.answer });
        if (attemptOf.write !== undefined) {
          write = attemptOf.write;
          seen = { value: write, version: read?.version ?? 0 };
        }
      }
      if (write === undefined || (await this.put(key, write, read))) {
        if (write !== undefined) this.written.set(id, (read?.version ?? 0) + 1);
        for (const { member, answer } of decided) member.resolve(answer);
        return;
      }
      members = decided.map((d) => d.member);
      await backoff(members[0]!.retry, attempt);
    }
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

/** Answers `member` with what `answer` gives, or rejects it with what `answer` throws. */
function settleWith<T>(member: Pending<T>, answer: () => unknown): void {
  try {
    member.resolve(answer());
  } catch (err) {
    member.reject(err);
  }
}

function backoff(retry: RaceRetry, attempt: number): Promise<void> {
  const ms = Math.random() * retry.jitterMs * Math.min(attempt, retry.maxBackoffSteps ?? attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
