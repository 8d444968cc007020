import type { Clock } from '../core/ports/index.js';

export const systemClock: Clock = { now: () => Date.now() };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
