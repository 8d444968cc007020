/**
 * WriteLocks in memory with the same conditional semantics as DynamoWriteLocks
 * (lambdas/adapters/dynamodb/dynamo-write-lock.ts), for unit tests. One instance stands for all workers.
 */
import type { WriteLockDecision, WriteLockKey, WriteLocks } from '../../lambdas/core/ports/flow-control.js';

export interface HeldWriteLock {
  owner: string;
  expiresAt: number;
}

export class InMemoryWriteLocks implements WriteLocks {
  readonly held = new Map<string, HeldWriteLock>();
  /** Every call, in order, for assertions. */
  readonly calls: Array<
    | { kind: 'acquire'; key: WriteLockKey; owner: string; decision: WriteLockDecision }
    | { kind: 'release'; key: WriteLockKey; owner: string; released: boolean }
  > = [];

  async acquire(
    key: WriteLockKey,
    owner: string,
    now: number,
    expiresAt: number,
  ): Promise<WriteLockDecision> {
    const id = lockId(key);
    const current = this.held.get(id);
    let decision: WriteLockDecision;
    if (current && current.expiresAt > now && current.owner !== owner) {
      decision = { acquired: false, heldUntil: current.expiresAt };
    } else {
      this.held.set(id, { owner, expiresAt });
      decision = { acquired: true };
    }
    this.calls.push({ kind: 'acquire', key, owner, decision });
    return decision;
  }

  async release(key: WriteLockKey, owner: string): Promise<void> {
    const id = lockId(key);
    const released = this.held.get(id)?.owner === owner;
    if (released) this.held.delete(id);
    this.calls.push({ kind: 'release', key, owner, released });
  }

  /** The lock of `key` as held now (expired ones included), or undefined. */
  holder(key: WriteLockKey): HeldWriteLock | undefined {
    return this.held.get(lockId(key));
  }
}

function lockId(key: WriteLockKey): string {
  return `${key.service}#${key.objectId}`;
}
