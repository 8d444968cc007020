/**
 * The read cache's policy (DESIGN "Cache"): which submits it may answer, under which key, for how
 * long, and what a completed write invalidates. The storage is behind the `ReadCache` port; this
 * module decides, the adapter only reads and writes items.
 *
 * - `*.get_*` entries live `cache.getTtlSeconds`, `*.search_*` entries `cache.searchTtlSeconds`.
 * - The key is the operation and a hash of its canonical payload (key order does not matter).
 * - Entries carry their own expiry and are checked on read (DynamoDB's TTL deletes late).
 * - A completed write deletes the `get` entry of the issue/page it wrote (by the id the write named:
 *   a write by key `MD-1` does not reach an entry read by numeric id) and bumps its service's search
 *   generation: a search entry stamped with an older generation is a miss.
 * - A search entry is stamped with the generation read *before* its call, so a write that completes
 *   while the search runs makes that search's entry stale at once.
 * - Known limit: a `get` whose call started before a write finished and whose entry is stored after
 *   the write's invalidation may serve the pre-write object until its TTL; `fresh: true` avoids it.
 */
import type { RiqConfig, Service } from '../../../model/config/riq-config.js';
import { fingerprint } from './fingerprint.js';
import { kindOf, serviceOf, type OperationName } from '../../../model/operations.js';
import type { CacheEntry, ReadCache } from '../ports/index.js';
import type { BodyRef } from '../../../model/request-record.js';

export type CacheConfig = Pick<RiqConfig, 'cache'>;

/** The objects a write names, and the `get` that reads each: writes without one only bump searches. */
const WRITE_TARGETS: Partial<Record<OperationName, { field: 'task_id' | 'page_id'; get: OperationName }>> = {
  'jira.update_task': { field: 'task_id', get: 'jira.get_task' },
  'jira.transition_task': { field: 'task_id', get: 'jira.get_task' },
  'jira.add_comment': { field: 'task_id', get: 'jira.get_task' },
  'confluence.update_page': { field: 'page_id', get: 'confluence.get_page' },
};

export function isCacheable(operation: OperationName): boolean {
  return kindOf(operation) !== 'write';
}

/** `<operation>#<sha256 of the canonical operation + payload>`; the adapter adds its own prefix. */
export function cacheKeyOf(operation: OperationName, payload: unknown): string {
  return `${operation}#${fingerprint(operation, payload)}`;
}

export function ttlSecondsOf(operation: OperationName, config: CacheConfig): number {
  return kindOf(operation) === 'search' ? config.cache.searchTtlSeconds : config.cache.getTtlSeconds;
}

/** What a completed write makes stale: `get` entries by key, and the service's searches. */
export interface Invalidation {
  getKeys: string[];
  searchesOf: Service;
}

export function invalidationOf(operation: OperationName, payload: Record<string, unknown>): Invalidation {
  const target = WRITE_TARGETS[operation];
  const id = target ? payload[target.field] : undefined;
  return {
    getKeys:
      target && typeof id === 'string' && id !== '' ? [cacheKeyOf(target.get, { [target.field]: id })] : [],
    searchesOf: serviceOf(operation),
  };
}

/**
 * Whether an entry may answer now: not expired by its own clock, and for searches stamped with the
 * service's current generation (`currentGeneration`, read only for searches).
 */
export function isLive(entry: CacheEntry, now: number, currentGeneration?: number): boolean {
  if (entry.expiresAt <= now) return false;
  if (kindOf(entry.operation) !== 'search') return true;
  return entry.generation !== undefined && entry.generation === currentGeneration;
}

/** Looks a read up: the live entry, or undefined (a miss). */
export async function lookup(
  cache: ReadCache,
  operation: OperationName,
  payload: Record<string, unknown>,
  now: number,
): Promise<CacheEntry | undefined> {
  const entry = await cache.get(cacheKeyOf(operation, payload));
  if (!entry || entry.expiresAt <= now) return undefined;
  const generation =
    kindOf(operation) === 'search' ? await cache.generation(serviceOf(operation)) : undefined;
  return isLive(entry, now, generation) ? entry : undefined;
}

/** Before a read's call: the search generation to stamp its entry with (undefined for gets). */
export async function generationBeforeCall(
  cache: ReadCache,
  operation: OperationName,
): Promise<number | undefined> {
  return kindOf(operation) === 'search' ? cache.generation(serviceOf(operation)) : undefined;
}

/**
 * After a completed call: a read stores its result, a write invalidates what it made stale.
 * `generation` is what `generationBeforeCall` answered for a search.
 */
export async function afterCompletion(
  cache: ReadCache,
  config: CacheConfig,
  completion: {
    operation: OperationName;
    payload: Record<string, unknown>;
    result: unknown;
    /** A result in the body store: the entry keeps the pointer (`result` is then null). */
    resultRef?: BodyRef;
    now: number;
    generation?: number;
  },
): Promise<void> {
  const { operation, payload, result, now } = completion;
  if (isCacheable(operation)) {
    if (kindOf(operation) === 'search' && completion.generation === undefined) return;
    await cache.put(cacheKeyOf(operation, payload), {
      operation,
      result: completion.resultRef !== undefined ? null : result,
      ...(completion.resultRef !== undefined ? { resultRef: completion.resultRef } : {}),
      cachedAt: now,
      expiresAt: now + ttlSecondsOf(operation, config) * 1000,
      ...(completion.generation !== undefined ? { generation: completion.generation } : {}),
    });
    return;
  }
  const invalidation = invalidationOf(operation, payload);
  if (invalidation.getKeys.length > 0) await cache.delete(invalidation.getKeys);
  await cache.bumpGeneration(invalidation.searchesOf);
}
