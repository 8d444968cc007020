/**
 * The behaviour of a PointsBudget (lambdas/core/ports/points-budget.ts): run by the unit tests over
 * the in-memory budget and by the integration tests over DynamoDB Local, so both are held to the
 * same cases. `make` returns budgets sharing one state, standing for that many workers.
 */
import { describe, expect, it } from 'vitest';
import { readRateLimitSignals } from '../../lambdas/core/domain/rate-limit-signals.js';
import type { PointsBudget } from '../../lambdas/core/ports/points-budget.js';
import type { AuthMode, RiqConfigOverrides } from '../../model/config/riq-config.js';

export type MakePointsBudgets = (
  instances: number,
  overrides: RiqConfigOverrides,
  authMode: AuthMode,
) => Promise<PointsBudget[]>;

/** 36,000 points an hour (10 a second), 10 s of burst: capacity 100; low keeps 30 back, normal 10. */
export const TEN_POINTS_A_SECOND: RiqConfigOverrides = {
  services: {
    jira: {
      points: {
        quotaPerHour: 36_000,
        windowSeconds: 3600,
        burstSeconds: 10,
        reserves: { normal: 0.1, low: 0.3 },
      },
    },
  },
};

/** The top of a UTC hour. */
const T0 = Date.parse('2026-03-02T10:00:00Z');

const headers = (values: Record<string, string>, now = T0) => readRateLimitSignals(new Headers(values), now);

export function describePointsBudget(name: string, make: MakePointsBudgets): void {
  describe(name, () => {
    it('charges above the priority’s reserve and refuses with the exact wait', async () => {
      const [a, b] = (await make(2, TEN_POINTS_A_SECOND, 'oauth')) as [PointsBudget, PointsBudget];
      expect(await a.charge('jira', 'low', 70, T0)).toEqual({ granted: true, charged: 70 });
      expect(await b.charge('jira', 'low', 1, T0)).toEqual({
        granted: false,
        reason: 'no_points',
        waitMs: 100,
      });
      expect(await b.charge('jira', 'high', 30, T0)).toEqual({ granted: true, charged: 30 });
      expect(await a.charge('jira', 'high', 5, T0)).toEqual({
        granted: false,
        reason: 'no_points',
        waitMs: 500,
      });
      expect(await a.charge('jira', 'high', 5, T0 + 500)).toEqual({ granted: true, charged: 5 });
    });

    it('keeps each service’s budget apart', async () => {
      const [a] = (await make(1, TEN_POINTS_A_SECOND, 'oauth')) as [PointsBudget];
      expect((await a.charge('jira', 'high', 100, T0)).granted).toBe(true);
      expect((await a.charge('jira', 'high', 1, T0)).granted).toBe(false);
      expect((await a.charge('confluence', 'high', 100, T0)).granted).toBe(true);
    });

    it('takes back what a call did not spend, never beyond the capacity', async () => {
      const [a, b] = (await make(2, TEN_POINTS_A_SECOND, 'oauth')) as [PointsBudget, PointsBudget];
      await a.charge('jira', 'high', 90, T0);
      await b.settle('jira', 40, T0);
      expect((await a.view('jira', T0)).points).toBe(50);
      await b.settle('jira', 500, T0);
      expect((await a.view('jira', T0)).points).toBe(100);
    });

    it('shares what the headers said with every worker: the announced quota and a spent one', async () => {
      const [a, b] = (await make(2, TEN_POINTS_A_SECOND, 'oauth')) as [PointsBudget, PointsBudget];
      await a.observe('jira', headers({ 'RateLimit-Policy': '"global-app-quota";q=3600;w=3600' }), T0);
      expect(await b.view('jira', T0)).toMatchObject({ quota: 3600, quota_source: 'headers', capacity: 10 });
      await a.observe(
        'jira',
        headers({
          'RateLimit-Reason': 'jira-quota-global-based',
          'X-RateLimit-Reset': '2026-03-02T10:30:00Z',
        }),
        T0 + 1000,
      );
      expect(await b.charge('jira', 'high', 1, T0 + 2000)).toEqual({
        granted: false,
        reason: 'no_points',
        waitMs: 30 * 60_000 - 2000 + 1000,
      });
      expect((await b.view('jira', T0 + 2000)).exhausted_until).toBe('2026-03-02T10:30:00.000Z');
    });

    it('never refuses an API-token connection until a quota is announced', async () => {
      const [a, b] = (await make(2, TEN_POINTS_A_SECOND, 'api_token')) as [PointsBudget, PointsBudget];
      for (let i = 0; i < 5; i++)
        expect(await a.charge('jira', 'low', 100, T0)).toEqual({ granted: true, charged: 0 });
      expect((await a.view('jira', T0)).enabled).toBe(false);
      await b.observe('jira', headers({ 'Beta-RateLimit-Policy': '"global-app-quota";q=36000;w=3600' }), T0);
      // Counted from then on: the full budget, then nothing.
      expect(await a.charge('jira', 'high', 100, T0)).toEqual({ granted: true, charged: 100 });
      expect((await a.charge('jira', 'low', 1, T0)).granted).toBe(false);
      expect((await a.view('jira', T0)).enabled).toBe(true);
    });
  });
}
