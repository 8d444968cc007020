import { describe, expect, it } from 'vitest';
import { mayStartMessage } from '../../../lambdas/core/domain/attempt-budget.js';
import {
  CALLS_PER_ATTEMPT,
  MESSAGE_MARGIN_MS,
  messageBudgetMs,
} from '../../../model/config/message-budget.js';

describe('messageBudgetMs', () => {
  it('is the HTTP timeout for each of three calls, plus a 2 s margin', () => {
    expect(CALLS_PER_ATTEMPT).toBe(3);
    expect(MESSAGE_MARGIN_MS).toBe(2_000);
    expect(messageBudgetMs(10_000)).toBe(32_000);
    expect(messageBudgetMs(1_000)).toBe(5_000);
  });
});

describe('mayStartMessage', () => {
  const upstreamTimeoutMs = 10_000;

  it('always starts the first message of a batch, however little time is left', () => {
    expect(mayStartMessage({ remainingMs: 1_000, upstreamTimeoutMs, started: 0 })).toBe(true);
  });

  it('starts a later message while one budget still fits the time left', () => {
    expect(mayStartMessage({ remainingMs: 59_000, upstreamTimeoutMs, started: 1 })).toBe(true);
    expect(mayStartMessage({ remainingMs: 32_000, upstreamTimeoutMs, started: 4 })).toBe(true);
  });

  it('starts no later message once less than one budget is left', () => {
    expect(mayStartMessage({ remainingMs: 31_999, upstreamTimeoutMs, started: 1 })).toBe(false);
    expect(mayStartMessage({ remainingMs: 0, upstreamTimeoutMs, started: 2 })).toBe(false);
  });
});
