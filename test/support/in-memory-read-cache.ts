/**
 * ReadCache in memory, for unit tests: stores what it is given (expiry is the policy's to check, as
 * with DynamoReadCache), counts search generations, and can be made to fail.
 */
import type { Service } from '../../model/config/riq-config.js';
import type { CacheEntry, ReadCache } from '../../lambdas/core/ports/index.js';

export class InMemoryReadCache implements ReadCache {
  readonly entries = new Map<string, CacheEntry>();
  readonly generations = new Map<Service, number>();
  /** When set, every call throws this. */
  failure: Error | undefined;

  async get(key: string): Promise<CacheEntry | undefined> {
    this.check();
    return this.entries.get(key);
  }
  async put(key: string, entry: CacheEntry): Promise<void> {
    this.check();
    this.entries.set(key, entry);
  }
  async delete(keys: readonly string[]): Promise<void> {
    this.check();
    for (const key of keys) this.entries.delete(key);
  }
  async generation(service: Service): Promise<number> {
    this.check();
    return this.generations.get(service) ?? 0;
  }
  async bumpGeneration(service: Service): Promise<void> {
    this.check();
    this.generations.set(service, (this.generations.get(service) ?? 0) + 1);
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}
