/**
 * WriteLocks in memory with the same conditional semantics as DynamoWriteLocks
 * (lambdas/adapters/dynamodb/dynamo-write-lock.ts), for unit tests. One instance stands for all
 * workers. Without windows (the default) no service's writes are paced.
 */
import { decideWrite, type ServiceWriteWindows } from '../../lambdas/core/domain/object-write-window.js';
import type { WriteLockDecision, WriteLockKey, WriteLocks } from '../../lambdas/core/ports/flow-control.js';

export interface HeldWriteLock {
  owner: string;
  expiresAt: number;
}

/** An object's item: its lease while leased, its window's `tat` once written with a window. */
interface LockItem {
  lock?: HeldWriteLock;
  tat?: number;
}

const NO_WINDOWS: ServiceWriteWindows = { jira: undefined, confluence: undefined };

export class InMemoryWriteLocks implements WriteLocks {
  private readonly items = new Map<string, LockItem>();
  /** Every call, in order, for assertions. */
  readonly calls: Array<
    | { kind: 'acquire'; key: WriteLockKey; owner: string; decision: WriteLockDecision }
    | { kind: 'release'; key: WriteLockKey; owner: string; released: boolean }
  > = [];

  constructor(private readonly windows: ServiceWriteWindows = NO_WINDOWS) {}

  async acquire(
    key: WriteLockKey,
    owner: string,
    now: number,
    expiresAt: number,
  ): Promise<WriteLockDecision> {
    const decision = this.take(key, owner, now, expiresAt);
    this.calls.push({ kind: 'acquire', key, owner, decision });
    return decision;
  }

  async release(key: WriteLockKey, owner: string): Promise<void> {
    const item = this.items.get(lockId(key));
    const released = item?.lock?.owner === owner;
    if (item && released) this.items.set(lockId(key), item.tat !== undefined ? { tat: item.tat } : {});
    this.calls.push({ kind: 'release', key, owner, released });
  }

  /** The lock of `key` as held now (expired ones included), or undefined. */
  holder(key: WriteLockKey): HeldWriteLock | undefined {
    return this.items.get(lockId(key))?.lock;
  }

  /** The stored `tat` of `key`'s write window, or undefined. */
  tatOf(key: WriteLockKey): number | undefined {
    return this.items.get(lockId(key))?.tat;
  }

  private take(key: WriteLockKey, owner: string, now: number, expiresAt: number): WriteLockDecision {
    const item = this.items.get(lockId(key)) ?? {};
    const lock = item.lock;
    if (lock && lock.expiresAt > now && lock.owner !== owner)
      return { acquired: false, reason: 'locked', heldUntil: lock.expiresAt };
    const window = this.windows[key.service];
    const next = window ? decideWrite(window, item.tat, now) : undefined;
    if (next && !next.allowed) return { acquired: false, reason: 'window', waitMs: next.waitMs };
    this.items.set(lockId(key), {
      lock: { owner, expiresAt },
      ...(next ? { tat: next.tat } : item.tat !== undefined ? { tat: item.tat } : {}),
    });
    return { acquired: true };
  }
}

function lockId(key: WriteLockKey): string {
  return `${key.service}#${key.objectId}`;
}
