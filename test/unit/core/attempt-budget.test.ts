import { describe, expect, it } from 'vitest';
import { mayStartMessage } from '../../../lambdas/core/domain/attempt-budget.js';
import {
  CALLS_PER_ATTEMPT,
  MAX_SLOT_WAIT_MS,
  MESSAGE_MARGIN_MS,
  messageBudgetMs,
} from '../../../model/config/message-budget.js';

describe('messageBudgetMs', () => {
  it('is the HTTP timeout for each of three calls, plus 2 s for the rest and 1 s of slot wait', () => {
    expect(CALLS_PER_ATTEMPT).toBe(3);
    expect(MAX_SLOT_WAIT_MS).toBe(1_000);
    expect(MESSAGE_MARGIN_MS).toBe(3_000);
    expect(messageBudgetMs(10_000)).toBe(33_000);
    expect(messageBudgetMs(1_000)).toBe(6_000);
  });
});

describe('mayStartMessage', () => {
  const upstreamTimeoutMs = 10_000;

  it('always starts the first message of a batch, however little time is left', () => {
    expect(mayStartMessage({ remainingMs: 1_000, upstreamTimeoutMs, started: 0 })).toBe(true);
  });

  it('starts a later message while one budget still fits the time left', () => {
    expect(mayStartMessage({ remainingMs: 59_000, upstreamTimeoutMs, started: 1 })).toBe(true);
    expect(mayStartMessage({ remainingMs: 33_000, upstreamTimeoutMs, started: 4 })).toBe(true);
  });

  it('starts no later message once less than one budget is left', () => {
    expect(mayStartMessage({ remainingMs: 32_999, upstreamTimeoutMs, started: 1 })).toBe(false);
    expect(mayStartMessage({ remainingMs: 0, upstreamTimeoutMs, started: 2 })).toBe(false);
  });
});
