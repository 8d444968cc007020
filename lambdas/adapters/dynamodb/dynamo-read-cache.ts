/**
 * ReadCache on DynamoDB: the read cache's items in the requests table (policy in
 * lambdas/core/domain/read-cache-policy.ts; this class only reads and writes them).
 *
 * - An entry is `pk = CACHE#<operation>#<hash>` with the result, `cached_at` and `cache_expires_at`
 *   (epoch ms, what the policy checks on read) and `expires_at` (epoch seconds, the table's TTL, which
 *   only cleans up late). Searches also carry `generation`.
 * - A service's search generation is `pk = CACHEGEN#<service>` with a number bumped by an atomic ADD;
 *   it never expires (an absent item is generation 0).
 * - Reads are strongly consistent, so an entry deleted or a generation bumped by a completed write is
 *   never served afterwards.
 *
 * The items carry no `listed_status`, so they never show in the by-status index of requests.
 * IAM: the submit function needs GetItem; workers GetItem, PutItem, UpdateItem (generation) and
 * DeleteItem on `CACHE#*` keys.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import type { Service } from '../../../model/config/riq-config.js';
import type { OperationName } from '../../../model/operations.js';
import type { CacheEntry, ReadCache } from '../../core/ports/index.js';
import type { BodyRef } from '../../../model/request-record.js';

const PK = REQUESTS_TABLE.partitionKey;

/** The key of a cache entry (`key` is the policy's `cacheKeyOf`). */
export function cacheEntryKey(key: string): Record<string, string> {
  return { [PK]: `${REQUESTS_TABLE.cacheKeyPrefix}#${key}` };
}

/** The key of a service's search generation. */
export function cacheGenerationKey(service: Service): Record<string, string> {
  return { [PK]: `${REQUESTS_TABLE.cacheGenerationKeyPrefix}#${service}` };
}

export class DynamoReadCache implements ReadCache {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: cacheEntryKey(key), ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return undefined;
    return {
      operation: item['operation'] as OperationName,
      result: item['result'] ?? null,
      ...(item['result_ref'] !== undefined ? { resultRef: item['result_ref'] as BodyRef } : {}),
      cachedAt: Number(item['cached_at']),
      expiresAt: Number(item['cache_expires_at']),
      ...(typeof item['generation'] === 'number' ? { generation: item['generation'] } : {}),
    };
  }

  async put(key: string, entry: CacheEntry): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...cacheEntryKey(key),
          operation: entry.operation,
          result: entry.result,
          // A large result stays in the body store: the entry keeps its pointer (claim check).
          ...(entry.resultRef !== undefined ? { result_ref: entry.resultRef } : {}),
          cached_at: entry.cachedAt,
          cache_expires_at: entry.expiresAt,
          ...(entry.generation !== undefined ? { generation: entry.generation } : {}),
          [REQUESTS_TABLE.ttlAttribute]: Math.ceil(entry.expiresAt / 1000),
        },
      }),
    );
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.map((key) =>
        this.client.send(new DeleteCommand({ TableName: this.tableName, Key: cacheEntryKey(key) })),
      ),
    );
  }

  async generation(service: Service): Promise<number> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: cacheGenerationKey(service), ConsistentRead: true }),
    );
    const value = out.Item?.['generation'];
    return typeof value === 'number' ? value : 0;
  }

  async bumpGeneration(service: Service): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: cacheGenerationKey(service),
        UpdateExpression: 'ADD #generation :one',
        ExpressionAttributeNames: { '#generation': 'generation' },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }
}
