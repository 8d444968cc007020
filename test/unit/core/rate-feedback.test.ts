import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../model/errors.js';
import { rateFeedbackOf } from '../../../lambdas/core/domain/flow-gate.js';

const limited = (details: Record<string, unknown>) =>
  new UpstreamError('RATE_LIMITED', 'Jira GET /rest/api/3/issue/MD-1 answered 429', {
    status: 429,
    ...details,
  });

describe('rateFeedbackOf', () => {
  it('reports a 429 with its wait, its reason and the reset time', () => {
    expect(
      rateFeedbackOf(
        limited({
          retryAfterSeconds: 5,
          rateLimitReason: 'jira-quota-global-based',
          rateLimitReset: '2026-11-23T10:01:00Z',
        }),
      ),
    ).toEqual({
      kind: 'rate_limited',
      retryAfterSeconds: 5,
      reason: 'jira-quota-global-based',
      resetAt: Date.parse('2026-11-23T10:01:00Z'),
    });
  });

  it.each([
    ['2026-11-23T10:00:30Z, 2026-11-23T10:01:00Z'],
    ['2026-11-23 10:01:00'],
    ['2026-11-23T11:01:00+0100'],
  ])('reads the reset %j as the points budget does (a list: its latest; no offset: UTC)', (reset) => {
    expect(rateFeedbackOf(limited({ rateLimitReset: reset }))).toEqual({
      kind: 'rate_limited',
      resetAt: Date.parse('2026-11-23T10:01:00Z'),
    });
  });

  it('leaves out a reset it cannot read', () => {
    expect(rateFeedbackOf(limited({ rateLimitReset: 'soon' }))).toEqual({ kind: 'rate_limited' });
  });
});
