import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from '../../../lambdas/core/domain/retry-schedule.js';

const policy = { baseDelaySeconds: 1, maxDelaySeconds: 60 };

describe('retryDelaySeconds', () => {
  it('follows the quick reference: 1–2 s, 2–4 s, 4–8 s after attempts 1, 2, 3', () => {
    expect([1, 2, 3].map((n) => retryDelaySeconds(policy, n, () => 0))).toEqual([1, 2, 4]);
    expect([1, 2, 3].map((n) => retryDelaySeconds(policy, n, () => 0.999))).toEqual([2, 4, 8]);
  });

  it('grows with the attempt for any jitter', () => {
    for (const r of [0, 0.3, 0.7, 0.99]) {
      const delays = [1, 2, 3, 4].map((n) => retryDelaySeconds(policy, n, () => r));
      expect([...delays].sort((a, b) => a - b)).toEqual(delays);
      expect(delays[3]!).toBeGreaterThan(delays[0]!);
    }
  });

  it('never exceeds the maximum', () => {
    expect(retryDelaySeconds(policy, 20, () => 0.99)).toBe(60);
    expect(retryDelaySeconds({ baseDelaySeconds: 5, maxDelaySeconds: 7 }, 1, () => 0.99)).toBe(7);
  });
});
