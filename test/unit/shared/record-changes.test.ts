import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordChangesInProcess } from '../../../lambdas/shared/record-changes.js';

const A = `req_${'a'.repeat(32)}`;
const B = `req_${'b'.repeat(32)}`;

describe('recordChangesInProcess', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('wakes the waiters on a record at once when a write to it is heard, and only them', async () => {
    const changes = recordChangesInProcess();
    const woken: string[] = [];
    void changes.waitForChange(A, 10_000).then(() => woken.push('a1'));
    void changes.waitForChange(A, 10_000).then(() => woken.push('a2'));
    void changes.waitForChange(B, 10_000).then(() => woken.push('b'));
    changes.heard(A);
    await vi.advanceTimersByTimeAsync(0);
    expect(woken).toEqual(['a1', 'a2']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(woken).toEqual(['a1', 'a2', 'b']);
  });

  it('is a plain pause when nothing is heard', async () => {
    const changes = recordChangesInProcess();
    let done = false;
    void changes.waitForChange(A, 500).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind a heard write, and a write nobody waits on wakes nobody later', async () => {
    const changes = recordChangesInProcess();
    changes.heard(A);
    let done = false;
    void changes.waitForChange(A, 1_000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    changes.heard(A);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('says whether every write is heard only once told so', () => {
    const changes = recordChangesInProcess();
    expect(changes.hearsAllWrites()).toBe(false);
    changes.hearAllWrites();
    expect(changes.hearsAllWrites()).toBe(true);
  });
});
