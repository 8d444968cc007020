import { describe, expect, it } from 'vitest';
import {
  decideWrite,
  idleTat,
  writeWindowParams,
  writeWindowParamsOf,
  type WriteWindow,
  type WriteWindowParams,
} from '../../../lambdas/core/domain/object-write-window.js';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';

const JIRA: WriteWindow[] = [
  { writes: 20, seconds: 2 },
  { writes: 100, seconds: 30 },
];
const T0 = 1_700_000_000_000;

/**
 * Writes to one object as fast as the window lets them through, for `durationMs`: each write comes
 * at the moment the previous refusal named (or `gapMs` after the last write). Returns when each passed.
 */
function fastestArrivals(params: WriteWindowParams, durationMs: number, gapMs: number): number[] {
  const passed: number[] = [];
  let tat: number | undefined;
  let now = T0;
  while (now < T0 + durationMs) {
    const d = decideWrite(params, tat, now);
    if (d.allowed) {
      passed.push(now);
      tat = d.tat;
      now += gapMs;
    } else {
      expect(d.waitMs).toBeGreaterThan(0);
      now += d.waitMs;
    }
  }
  return passed;
}

/** The most arrivals in any half-open span `[t, t + spanMs)`. */
function busiestSpan(times: number[], spanMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= spanMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe('object write window', () => {
  describe('writeWindowParams', () => {
    it('takes half the smallest window as the burst and the slowest rate left after it', () => {
      // 20/2 s leaves (20 − 10)/2 = 5/s, 100/30 s leaves (100 − 10)/30 = 3/s: one write per 334 ms.
      expect(writeWindowParams(JIRA)).toEqual({ burst: 10, intervalMs: 334 });
      expect(writeWindowParams([...JIRA].reverse())).toEqual({ burst: 10, intervalMs: 334 });
      expect(writeWindowParams([{ writes: 5, seconds: 1 }])).toEqual({ burst: 3, intervalMs: 500 });
      expect(writeWindowParams([{ writes: 2, seconds: 1 }])).toEqual({ burst: 1, intervalMs: 1000 });
    });

    it('has no window without windows', () => {
      expect(writeWindowParams([])).toBeUndefined();
    });

    it('refuses a window of one write', () => {
      expect(() => writeWindowParams([{ writes: 1, seconds: 2 }])).toThrow(/at least 2 writes/);
    });

    it('reads each service’s windows from the config: Jira’s, none for Confluence', () => {
      expect(writeWindowParamsOf(DEFAULT_CONFIG)).toEqual({
        jira: { burst: 10, intervalMs: 334 },
        confluence: undefined,
      });
    });
  });

  describe('decideWrite', () => {
    const params: WriteWindowParams = { burst: 10, intervalMs: 334 };

    it('lets an idle object take the burst at once, then refuses until one interval frees', () => {
      let tat: number | undefined;
      for (let i = 0; i < 10; i++) {
        const d = decideWrite(params, tat, T0);
        expect(d).toEqual({ allowed: true, tat: T0 + (i + 1) * 334 });
        if (d.allowed) tat = d.tat;
      }
      expect(decideWrite(params, tat, T0)).toEqual({ allowed: false, waitMs: 334 });
      expect(decideWrite(params, tat, T0 + 200)).toEqual({ allowed: false, waitMs: 134 });
      expect(decideWrite(params, tat, T0 + 334)).toEqual({ allowed: true, tat: T0 + 11 * 334 });
    });

    it('treats a tat in the past as idle, and an idle write as idleTat says', () => {
      expect(decideWrite(params, T0 - 60_000, T0)).toEqual({ allowed: true, tat: idleTat(params, T0) });
      expect(decideWrite(params, undefined, T0)).toEqual({ allowed: true, tat: T0 + 334 });
    });

    it('keeps every sliding window of the config when writes come as fast as allowed', () => {
      const windowParams = writeWindowParams(JIRA)!;
      for (const gapMs of [0, 1, 50, 100, 333, 700]) {
        const passed = fastestArrivals(windowParams, 120_000, gapMs);
        for (const { writes, seconds } of JIRA) {
          expect(busiestSpan(passed, seconds * 1000), `gap ${gapMs} ms, ${seconds} s`).toBeLessThanOrEqual(
            writes,
          );
        }
        // Not needlessly slow: about 3 a second over two minutes, plus the burst, when writes come
        // faster than that.
        if (gapMs <= 100) expect(passed.length).toBeGreaterThanOrEqual(10 + Math.floor(120_000 / 334));
      }
    });

    it('keeps other windows too, whichever of them binds', () => {
      const cases: WriteWindow[][] = [
        [{ writes: 5, seconds: 1 }],
        [
          { writes: 3, seconds: 1 },
          { writes: 10, seconds: 60 },
        ],
        [
          { writes: 50, seconds: 10 },
          { writes: 8, seconds: 0.5 },
        ],
      ];
      for (const windows of cases) {
        const passed = fastestArrivals(writeWindowParams(windows)!, 180_000, 0);
        for (const { writes, seconds } of windows)
          expect(busiestSpan(passed, seconds * 1000), JSON.stringify(windows)).toBeLessThanOrEqual(writes);
      }
    });
  });
});
