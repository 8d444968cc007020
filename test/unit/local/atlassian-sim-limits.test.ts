/**
 * The simulator's rate-limit pieces on a hand-driven clock: the quota's scaled clock, the points
 * quota's window boundaries and real-time waits, the per-issue write windows and what a call costs.
 */
import { describe, expect, it } from 'vitest';
import { callPoints } from '../../../local/atlassian-sim/call-points.js';
import {
  PerIssueWriteLimit,
  perIssueWriteLimitConfig,
} from '../../../local/atlassian-sim/per-issue-limit.js';
import { PointsQuota, quotaConfig } from '../../../local/atlassian-sim/points-quota.js';
import { TokenBucket } from '../../../local/atlassian-sim/rate-limit.js';
import { SimClock } from '../../../local/atlassian-sim/sim-clock.js';

/** A real clock the test moves by hand. */
function manualClock(start: number): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const HOUR_10 = Date.parse('2026-03-02T10:00:00Z');

describe('SimClock', () => {
  it('runs time_scale times as fast from where it is, and jumps only when set', () => {
    const real = manualClock(HOUR_10);
    const clock = new SimClock(real.now);
    real.advance(1_000);
    expect(clock.now()).toBe(HOUR_10 + 1_000);
    clock.setScale(60);
    expect(clock.now()).toBe(HOUR_10 + 1_000);
    real.advance(1_000);
    expect(clock.now()).toBe(HOUR_10 + 61_000);
    clock.set(Date.parse('2026-03-02T10:59:00Z'));
    real.advance(500);
    expect(new Date(clock.now()).toISOString()).toBe('2026-03-02T10:59:30.000Z');
    expect(clock.realSpan(60_000)).toBe(1_000);
  });
});

describe('PointsQuota', () => {
  function quota(q: number, scale = 1, simStart = HOUR_10) {
    const real = manualClock(HOUR_10);
    const clock = new SimClock(real.now);
    clock.setScale(scale);
    clock.set(simStart);
    return { quota: new PointsQuota(quotaConfig({ quota: q }), clock), real };
  }

  it('resets at the top of the simulated hour, not an hour after the first call', () => {
    const { quota: q, real } = quota(5, 1, Date.parse('2026-03-02T10:59:59Z'));
    q.charge('jira', 5);
    expect(q.refusal('jira')?.headers?.['Retry-After']).toBe('1');
    real.advance(999);
    expect(q.refusal('jira')?.status).toBe(429);
    real.advance(1);
    expect(q.refusal('jira')).toBeUndefined();
    expect(q.stats().jira).toEqual({ spent: 0, remaining: 5, resets_at: '2026-03-02T12:00:00.000Z' });
  });

  it('reports the wait in real seconds on a compressed clock, rounded up', () => {
    // 45 simulated minutes to the reset at 3600×: 0.75 real seconds.
    const { quota: q, real } = quota(1, 3600, Date.parse('2026-03-02T10:15:00Z'));
    q.charge('confluence', 1);
    const refused = q.refusal('confluence');
    expect(refused?.headers).toMatchObject({
      'Retry-After': '1',
      'RateLimit-Reason': 'confluence-quota-global-based',
      'X-RateLimit-Reset': new Date(real.now() + 750).toISOString(),
    });
    expect(q.refusal('jira')).toBeUndefined();
  });

  it('refuses only once spent, so the call that finds points left may overdraw', () => {
    const { quota: q } = quota(10);
    q.charge('jira', 9);
    expect(q.refusal('jira')).toBeUndefined();
    q.charge('jira', 51);
    expect(q.refusal('jira')?.status).toBe(429);
    expect(q.stats().jira).toMatchObject({ spent: 60, remaining: 0 });
    expect(q.headers('jira')['Beta-RateLimit']).toBe('"global-app-quota";r=0;t=3600');
  });
});

describe('TokenBucket', () => {
  it('warns with NearLimit under 20 % of the burst, unless near_limit_header is false', () => {
    const nearLimits = (near_limit_header?: boolean) => {
      const clock = manualClock(HOUR_10);
      const bucket = new TokenBucket(
        { rate_per_second: 5, burst: 10, ...(near_limit_header !== undefined ? { near_limit_header } : {}) },
        clock.now,
      );
      return Array.from({ length: 10 }, () => {
        const d = bucket.take();
        return d.allowed && d.nearLimit;
      });
    };
    // 10 → 9 … → 0 left: the 9th and 10th leave under 2.
    expect(nearLimits().filter(Boolean)).toHaveLength(2);
    expect(nearLimits(false).filter(Boolean)).toHaveLength(0);
  });
});

describe('PerIssueWriteLimit', () => {
  it('frees a slot when the oldest write of the full window leaves it', () => {
    const real = manualClock(HOUR_10);
    const limit = new PerIssueWriteLimit(perIssueWriteLimitConfig({}), real.now);
    const issue = { kind: 'issue', id: '10000' } as const;
    for (let i = 0; i < 20; i++) {
      expect(limit.take(issue)).toBeUndefined();
      real.advance(50);
    }
    // 20 writes from t=0 to t=950 ms; at t=1000 the one at t=0 leaves the 2-s window at t=2000.
    expect(limit.take(issue)?.headers).toMatchObject({
      'Retry-After': '1',
      'RateLimit-Reason': 'jira-per-issue-on-write',
    });
    real.advance(999);
    expect(limit.take(issue)?.status).toBe(429);
    real.advance(1);
    expect(limit.take(issue)).toBeUndefined();
    expect(limit.take({ kind: 'page', id: '1' })).toBeUndefined();
  });
});

describe('callPoints', () => {
  it('counts the core objects of reads and a flat 1 for writes', () => {
    const ok = (body: unknown) => ({ status: 200, body });
    expect(callPoints('GET', 'GET /wiki/rest/api/search', ok({ results: [{}, {}, {}] }))).toBe(4);
    expect(callPoints('GET', 'GET /wiki/api/v2/pages', ok({ results: [{}] }))).toBe(2);
    expect(callPoints('GET', 'GET /wiki/api/v2/pages/:id', { status: 404, body: {} })).toBe(1);
    expect(callPoints('PUT', 'PUT /wiki/api/v2/pages/:id', ok({ id: '1' }))).toBe(1);
    expect(callPoints('POST', 'POST /rest/api/3/search/jql', ok({ issues: [{}, {}] }))).toBe(3);
    expect(
      callPoints('GET', 'GET /rest/api/3/issue/:issueIdOrKey/transitions', ok({ transitions: [{}] })),
    ).toBe(1);
  });
});
