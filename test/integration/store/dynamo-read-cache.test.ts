/**
 * DynamoReadCache on DynamoDB Local, through the cache policy (lambdas/core/domain/read-cache-policy.ts): expiry is
 * honoured on read while the item still exists (TTL deletes late), a bump of the search generation
 * makes cached searches miss, and a write's invalidation deletes the get entry.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { afterCompletion, cacheKeyOf, lookup } from '../../../lambdas/core/domain/read-cache-policy.js';
import { cacheEntryKey, DynamoReadCache } from '../../../lambdas/adapters/dynamodb/dynamo-read-cache.js';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
let tableName: string;
let cache: DynamoReadCache;

beforeAll(async () => {
  tableName = await createRequestsTable(client, isolatedConfig());
  cache = new DynamoReadCache(doc, tableName);
});

const CONFIG = { cache: { getTtlSeconds: 300, searchTtlSeconds: 120 } };
const T0 = 1_700_000_000_000;
let n = 0;
const freshIssue = () => ({ task_id: `MD-${++n}` });

async function item(key: string) {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: cacheEntryKey(key), ConsistentRead: true }),
  );
  return out.Item;
}

describe('DynamoReadCache on DynamoDB Local', () => {
  it('stores an entry with its own expiry and the TTL attribute, and honours the expiry on read', async () => {
    const payload = freshIssue();
    await afterCompletion(cache, CONFIG, {
      operation: 'jira.get_task',
      payload,
      result: { key: payload.task_id },
      now: T0,
    });
    const key = cacheKeyOf('jira.get_task', payload);
    const stored = await item(key);
    expect(stored).toMatchObject({
      [REQUESTS_TABLE.partitionKey]: `CACHE#${key}`,
      operation: 'jira.get_task',
      cached_at: T0,
      cache_expires_at: T0 + 300_000,
      [REQUESTS_TABLE.ttlAttribute]: (T0 + 300_000) / 1000,
    });
    expect(stored).not.toHaveProperty('status');
    expect((await lookup(cache, 'jira.get_task', payload, T0 + 299_000))?.result).toEqual({
      key: payload.task_id,
    });
    // Past its expiry the item is still there (TTL deletes late) but it is a miss.
    expect(await lookup(cache, 'jira.get_task', payload, T0 + 300_000)).toBeUndefined();
    expect(await item(key)).toBeDefined();
  });

  it("a write's invalidation deletes the get entry of its object", async () => {
    const payload = freshIssue();
    const other = freshIssue();
    for (const p of [payload, other]) {
      await afterCompletion(cache, CONFIG, { operation: 'jira.get_task', payload: p, result: {}, now: T0 });
    }
    await afterCompletion(cache, CONFIG, {
      operation: 'jira.transition_task',
      payload: { ...payload, target_status: 'Done' },
      result: {},
      now: T0 + 1,
    });
    expect(await item(cacheKeyOf('jira.get_task', payload))).toBeUndefined();
    expect(await lookup(cache, 'jira.get_task', payload, T0 + 2)).toBeUndefined();
    expect(await lookup(cache, 'jira.get_task', other, T0 + 2)).toBeDefined();
  });

  it("bumping a service's search generation makes its cached searches miss, not the other service's", async () => {
    const jql = { jql: `project = MD AND labels = gen-${++n}` };
    const cql = { query: `gen-${n}` };
    const [jiraGen, confluenceGen] = await Promise.all([
      cache.generation('jira'),
      cache.generation('confluence'),
    ]);
    await afterCompletion(cache, CONFIG, {
      operation: 'jira.search_tasks',
      payload: jql,
      result: [],
      now: T0,
      generation: jiraGen,
    });
    await afterCompletion(cache, CONFIG, {
      operation: 'confluence.search_pages',
      payload: cql,
      result: [],
      now: T0,
      generation: confluenceGen,
    });
    expect(await lookup(cache, 'jira.search_tasks', jql, T0 + 1)).toBeDefined();

    await cache.bumpGeneration('jira');
    expect(await cache.generation('jira')).toBe(jiraGen + 1);
    expect(await lookup(cache, 'jira.search_tasks', jql, T0 + 2)).toBeUndefined();
    expect(await lookup(cache, 'confluence.search_pages', cql, T0 + 2)).toBeDefined();
  });
});
