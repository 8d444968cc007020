import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import {
  DynamoPointsBudget,
  DynamoPointsViews,
  pointsBudgetKey,
} from '../../../lambdas/adapters/dynamodb/dynamo-points-budget.js';
import { readRateLimitSignals } from '../../../lambdas/core/domain/rate-limit-signals.js';
import type { AuthMode, RiqConfig, RiqConfigOverrides } from '../../../model/config/riq-config.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';
import { describePointsBudget, TEN_POINTS_A_SECOND } from '../../support/points-budget-suite.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));

/** A table of its own, and `instances` budgets on it standing for that many workers. */
async function budgets(instances: number, overrides: RiqConfigOverrides, authMode: AuthMode = 'oauth') {
  const config: RiqConfig = isolatedConfig(overrides);
  const tableName = await createRequestsTable(client, config);
  return {
    tableName,
    budgets: Array.from(
      { length: instances },
      () => new DynamoPointsBudget(doc, tableName, config, authMode),
    ),
  };
}

async function storedBudget(tableName: string) {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: pointsBudgetKey('jira'), ConsistentRead: true }),
  );
  return out.Item;
}

const T0 = Date.parse('2026-03-02T10:00:00Z');

describePointsBudget('DynamoPointsBudget on DynamoDB Local', async (instances, overrides, authMode) => {
  return (await budgets(instances, overrides, authMode)).budgets;
});

describe('DynamoPointsBudget on DynamoDB Local', () => {
  it('never spends more than capacity + pace × elapsed with several workers charging at once', async () => {
    // 36,000 an hour (10/s), 10 s of burst: 100 points at once, then 10 a second.
    const { budgets: workers } = await budgets(4, TEN_POINTS_A_SECOND);
    const start = Date.now();
    const end = start + 1_500;
    let charged = 0;
    const hammer = async (budget: DynamoPointsBudget) => {
      while (Date.now() < end) {
        const d = await budget.charge('jira', 'high', 3, Date.now());
        if (d.granted) charged += d.charged;
      }
    };
    // Two loops per budget: eight workers racing on one item.
    await Promise.all(workers.flatMap((b) => [hammer(b), hammer(b)]));
    const elapsedSeconds = (Date.now() - start) / 1000;
    expect(charged).toBeLessThanOrEqual(100 + 10 * elapsedSeconds);
    // Lost races end in refusals (a deferral): the machine's write rate, not the budget, bounds this.
    expect(charged).toBeGreaterThanOrEqual(30);
  });

  it('hands out exactly the points there are when many charge at the same instant', async () => {
    const { budgets: workers } = await budgets(3, TEN_POINTS_A_SECOND);
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => workers[i % 3]!.charge('jira', 'high', 10, T0)),
    );
    // Retries may give up under contention (a refusal), but nothing is spent twice.
    const granted = decisions.filter((d) => d.granted).length;
    expect(granted).toBeLessThanOrEqual(10);
    let more = 0;
    for (let i = 0; i < 12; i++) if ((await workers[0]!.charge('jira', 'high', 10, T0)).granted) more++;
    expect(granted + more).toBe(10);
  });

  it('keeps settlements of concurrent workers: none is lost to a race', async () => {
    const { budgets: workers } = await budgets(4, TEN_POINTS_A_SECOND);
    await workers[0]!.charge('jira', 'high', 100, T0);
    await Promise.all(Array.from({ length: 20 }, (_, i) => workers[i % 4]!.settle('jira', 2, T0)));
    expect((await workers[0]!.view('jira', T0)).points).toBe(40);
  });

  it('stores one item per service, versioned, with no status and no TTL', async () => {
    const { budgets: workers, tableName } = await budgets(1, TEN_POINTS_A_SECOND);
    const budget = workers[0]!;
    await budget.charge('jira', 'high', 10, T0);
    await budget.observe(
      'jira',
      readRateLimitSignals(
        new Headers({
          'RateLimit-Policy': '"global-app-quota";q=36000;w=3600',
          RateLimit: '"global-app-quota";r=50;t=600',
          'X-RateLimit-NearLimit': 'true',
        }),
        T0,
      ),
      T0,
    );
    const item = await storedBudget(tableName);
    expect(item).toMatchObject({
      pk: 'POINTS#jira',
      points: 50,
      updated_at: T0,
      learned_quota: 36_000,
      learned_window_seconds: 3600,
      resync_pace: 0,
      resync_until: T0 + 600_000,
      reset_at: T0 + 600_000,
      auth_mode: 'oauth',
      version: 2,
    });
    expect(item).not.toHaveProperty('status');
    expect(item).not.toHaveProperty('expires_at');
    expect(await budget.peek('jira')).toEqual({
      points: 50,
      updatedAt: T0,
      learned: { quota: 36_000, windowSeconds: 3600 },
      resyncPace: { perSecond: 0, until: T0 + 600_000 },
      resetAt: T0 + 600_000,
    });
  });

  it('writes nothing for an answer without rate headers, nor for a charge of an API-token connection', async () => {
    const { budgets: workers, tableName } = await budgets(1, TEN_POINTS_A_SECOND);
    const budget = workers[0]!;
    await budget.charge('jira', 'high', 10, T0);
    await budget.observe('jira', readRateLimitSignals(new Headers({}), T0), T0 + 100);
    expect((await storedBudget(tableName))?.['version']).toBe(1);

    const off = await budgets(1, TEN_POINTS_A_SECOND, 'api_token');
    await off.budgets[0]!.charge('jira', 'high', 10, T0);
    expect(await storedBudget(off.tableName)).toBeUndefined();
  });
});

describe('DynamoPointsViews on DynamoDB Local (the health check, without a connection)', () => {
  it('shows a budget with the auth mode of the connection that last wrote it', async () => {
    const { budgets: workers, tableName } = await budgets(1, TEN_POINTS_A_SECOND);
    const config = isolatedConfig(TEN_POINTS_A_SECOND);
    const views = new DynamoPointsViews(doc, tableName, config);
    // Never written: the config's budget, full, off.
    expect(await views.view('jira', T0)).toMatchObject({
      enabled: false,
      points: 100,
      quota: 36_000,
      quota_source: 'config',
    });
    await workers[0]!.charge('jira', 'high', 30, T0);
    expect(await views.view('jira', T0)).toEqual(await workers[0]!.view('jira', T0));
    expect(await views.view('jira', T0 + 1000)).toMatchObject({
      enabled: true,
      points: 80,
      pace_per_second: 10,
      exhausted_until: null,
    });
  });

  it('shows an API-token budget on once Atlassian announced a quota', async () => {
    const off = await budgets(1, TEN_POINTS_A_SECOND, 'api_token');
    const views = new DynamoPointsViews(doc, off.tableName, isolatedConfig(TEN_POINTS_A_SECOND));
    await off.budgets[0]!.observe(
      'jira',
      readRateLimitSignals(new Headers({ 'Beta-RateLimit-Policy': '"global-app-quota";q=7200;w=3600' }), T0),
      T0,
    );
    expect(await views.view('jira', T0)).toMatchObject({
      enabled: true,
      quota: 7200,
      quota_source: 'headers',
    });
  });
});
