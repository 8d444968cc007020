/**
 * BodyStore in memory, for unit tests: keeps what it is given, answers `memory://` URLs, counts
 * writes, and can be made to fail (transiently, or for good with BodyRejectedError).
 */
import { BodyRejectedError } from '../../model/errors.js';
import type { BodyStore } from '../../lambdas/core/ports/index.js';

export class InMemoryBodyStore implements BodyStore {
  readonly objects = new Map<string, string>();
  puts = 0;
  /** When set, every `put` throws this (a BodyRejectedError is a refusal for good). */
  putFailure: Error | undefined;
  /** When set, every `get` throws this. */
  getFailure: Error | undefined;

  async put(key: string, text: string): Promise<void> {
    this.puts++;
    if (this.putFailure) throw this.putFailure;
    this.objects.set(key, text);
  }

  async get(key: string): Promise<string | undefined> {
    if (this.getFailure) throw this.getFailure;
    return this.objects.get(key);
  }

  async presignedUrl(key: string, seconds: number): Promise<string> {
    return `memory://${key}?expires=${seconds}`;
  }

  /** A store that refuses every body for good. */
  static refusing(): InMemoryBodyStore {
    const store = new InMemoryBodyStore();
    store.putFailure = new BodyRejectedError('AccessDenied');
    return store;
  }
}
