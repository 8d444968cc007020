import { describe, expect, inject, it } from 'vitest';
import { VersionedItems, type RaceRetry } from '../../../lambdas/adapters/dynamodb/versioned-item.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';

const endpoint = inject('dynamoEndpoint');
const { client } = localDynamo(endpoint);

const COUNTER = {
  toItem: (n: number) => ({ n }),
  fromItem: (item: Record<string, unknown>) => Number(item['n']),
};
const KEY = { pk: 'COUNTER#one' };
const RETRY: RaceRetry = { attempts: 40, jitterMs: 5 };

/** A document client that counts its writes and the conditional writes DynamoDB refused. */
function countingClient() {
  const { doc } = localDynamo(endpoint);
  const counts = { lostRaces: 0, writes: 0 };
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutItemCommand') counts.writes++;
      try {
        return await next(args);
      } catch (err) {
        if (err instanceof Error && err.name === 'ConditionalCheckFailedException') counts.lostRaces++;
        throw err;
      }
    },
    { step: 'initialize', name: 'countLostRaces' },
  );
  return { doc, counts };
}

async function table(): Promise<string> {
  return createRequestsTable(client, isolatedConfig({}));
}

/** A decision that throws, as a bug in a caller's `decide` would. */
const decideFails = (): never => {
  throw new Error('decide failed');
};

const increment = (read: { value: number } | undefined) => {
  const next = (read?.value ?? 0) + 1;
  return { answer: next, write: next };
};

describe('VersionedItems on DynamoDB Local', () => {
  it('takes the updates of one instance in turn: no lost race, every update counted', async () => {
    const tableName = await table();
    const { doc, counts } = countingClient();
    const items = new VersionedItems(doc, tableName, COUNTER);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => items.update(KEY, RETRY, increment, () => -1)),
    );
    expect(answers.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(counts.lostRaces).toBe(0);
    expect((await items.read(KEY))?.value).toBe(20);
  });

  it('writes the updates that wait behind a write in flight as one group, each seeing the one before', async () => {
    const tableName = await table();
    const { doc, counts } = countingClient();
    const items = new VersionedItems(doc, tableName, COUNTER);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => items.update(KEY, RETRY, increment, () => -1)),
    );
    expect(answers).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // The first alone (nothing was in flight), then the 29 that waited behind it: two writes.
    expect(counts.writes).toBe(2);
    expect((await items.read(KEY))?.value).toBe(30);
  });

  it('answers a group member that decides without writing along with the group, and one that throws alone', async () => {
    const tableName = await table();
    const items = new VersionedItems(localDynamo(endpoint).doc, tableName, COUNTER);
    const first = items.update(KEY, RETRY, increment, () => -1);
    const peek = items.update(
      KEY,
      RETRY,
      (read) => ({ answer: read?.value ?? 0 }),
      () => -1,
    );
    const failing = items.update(KEY, RETRY, decideFails, () => -1);
    const second = items.update(KEY, RETRY, increment, () => -1);
    const [answers, failure] = await Promise.all([
      Promise.all([first, peek, second]),
      failing.then(
        () => undefined,
        (err: unknown) => err,
      ),
    ]);
    expect(answers).toEqual([1, 1, 2]);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('decide failed');
  });

  it('still settles races between instances (other processes) with the conditional write', async () => {
    const tableName = await table();
    const { doc, counts } = countingClient();
    const instances = Array.from({ length: 5 }, () => new VersionedItems(doc, tableName, COUNTER));
    await Promise.all(
      instances.flatMap((items) =>
        Array.from({ length: 4 }, () => items.update(KEY, RETRY, increment, () => -1)),
      ),
    );
    expect((await instances[0]!.read(KEY))?.value).toBe(20);
    expect(counts.lostRaces).toBeGreaterThan(0);
  });

  it('reads again rather than decide from a batch read older than its own last write', async () => {
    const tableName = await table();
    const { doc, counts } = countingClient();
    const items = new VersionedItems(doc, tableName, COUNTER);
    await items.update(KEY, RETRY, increment, () => -1);
    // Two callers read the item in one batch (version 1), then take their turns one after the other.
    const batchRead = await items.read(KEY);
    const answers = await Promise.all([
      items.update(KEY, RETRY, increment, () => -1, { read: batchRead }),
      items.update(KEY, RETRY, increment, () => -1, { read: batchRead }),
    ]);
    expect(answers).toEqual([2, 3]);
    expect(counts.lostRaces).toBe(0);
  });

  it('goes on with the next update of a key after one that threw', async () => {
    const tableName = await table();
    const items = new VersionedItems(localDynamo(endpoint).doc, tableName, COUNTER);
    const failing = items.update(KEY, RETRY, decideFails, () => -1);
    const next = items.update(KEY, RETRY, increment, () => -1);
    await expect(failing).rejects.toThrow('decide failed');
    await expect(next).resolves.toBe(1);
  });
});
