/**
 * The simulator's seeded randomness: every injected fraction (errors, timeouts, drops) draws from
 * one mulberry32 stream, so the same seed and the same sequence of requests give the same outcomes.
 */
import { randomInt } from 'node:crypto';

const UINT32 = 0x1_0000_0000;

/** mulberry32 (Tommy Ettinger's 32-bit PRNG): small, fast and good enough for fault injection. */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= UINT32) {
      throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
    }
    this.state = seed;
  }

  /** The next value in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / UINT32;
  }
}

/** A fresh seed, for runs that did not ask for one (the config shows it, so the run can be replayed). */
export function randomSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}
