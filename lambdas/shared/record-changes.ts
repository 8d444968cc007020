/**
 * The process's RecordChanges (lambdas/core/ports): long polls waiting on a record, woken by
 * `heard(token)`. Nothing in a deployed function calls `heard`, so there a wait is a plain pause.
 * The local stack, whose functions share this process and its DynamoDB client, reports every write
 * to a request's record here (local/record-writes.ts) and says so with `hearAllWrites()`.
 * Hand-written: a map of pending timers is all it takes.
 */
import type { RecordChanges } from '../core/ports/index.js';

export interface HeardRecordChanges extends RecordChanges {
  /** A write to the record of `token` went through: wake whoever waits on it. */
  heard(token: string): void;
  /** From now on every write to the records is reported through `heard`. */
  hearAllWrites(): void;
}

export function recordChangesInProcess(): HeardRecordChanges {
  const waiting = new Map<string, Set<() => void>>();
  let hearsAll = false;
  return {
    waitForChange(token, ms) {
      return new Promise((resolve) => {
        const waiters = waiting.get(token) ?? new Set<() => void>();
        waiting.set(token, waiters);
        const wake = () => {
          clearTimeout(timer);
          waiters.delete(wake);
          if (waiters.size === 0) waiting.delete(token);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        waiters.add(wake);
      });
    },
    hearsAllWrites: () => hearsAll,
    heard(token) {
      for (const wake of [...(waiting.get(token) ?? [])]) wake();
    },
    hearAllWrites() {
      hearsAll = true;
    },
  };
}

/** The one this process's functions share. */
export const recordChanges: HeardRecordChanges = recordChangesInProcess();
