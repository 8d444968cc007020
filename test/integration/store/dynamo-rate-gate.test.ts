import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import type { CallScope } from '../../../lambdas/core/ports/flow-control.js';
import {
  DynamoRateGate,
  RateGateContentionError,
  rateBucketKey,
} from '../../../lambdas/adapters/dynamodb/dynamo-rate-gate.js';
import type { Priority, RiqConfig, RiqConfigOverrides } from '../../../model/config/riq-config.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, countingLocalDynamo, localDynamo } from '../../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));

/** A table of its own, and `instances` gates on it standing for that many workers. */
async function gates(instances: number, overrides: RiqConfigOverrides) {
  const config: RiqConfig = isolatedConfig(overrides);
  const tableName = await createRequestsTable(client, config);
  return {
    config,
    tableName,
    gates: Array.from({ length: instances }, () => new DynamoRateGate(doc, tableName, config)),
  };
}

/** 10 tokens/s, burst 10: low keeps 3 tokens back, normal 1; no call-jitter margin (unit-tested). */
const TEN_PER_SECOND: RiqConfigOverrides = {
  services: { jira: { ratePerMinute: 600, burst: 10, reserves: { normal: 0.1, low: 0.3 } } },
  rateControl: { callJitterMs: 0 },
};

function scope(overrides: Partial<CallScope> = {}): CallScope {
  return { service: 'jira', priority: 'high', endpoint: 'jira:issue:get', write: false, ...overrides };
}

async function storedBucket(tableName: string) {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: rateBucketKey('jira'), ConsistentRead: true }),
  );
  return out.Item;
}

const T0 = 1_700_000_000_000;

describe('DynamoRateGate on DynamoDB Local', () => {
  it('never grants more than burst + rate × elapsed to several workers hammering at once', async () => {
    const { gates: workers } = await gates(4, {
      services: { jira: { ratePerMinute: 600, burst: 5 } },
    });
    const start = Date.now();
    const end = start + 1_500;
    let granted = 0;
    const hammer = async (gate: DynamoRateGate) => {
      while (Date.now() < end) {
        const d = await gate.acquire(scope(), Date.now());
        if (d.granted) granted++;
      }
    };
    // Two loops per gate: eight workers racing on one item.
    await Promise.all(workers.flatMap((g) => [hammer(g), hammer(g)]));
    const elapsedSeconds = (Date.now() - start) / 1000;
    expect(granted).toBeLessThanOrEqual(Math.floor(5 + 10 * elapsedSeconds));
    expect(granted).toBeGreaterThanOrEqual(5);
  });

  it('hands out exactly the tokens there are when many acquire at the same instant', async () => {
    const { gates: workers } = await gates(3, TEN_PER_SECOND);
    const decisions = await Promise.all(
      Array.from({ length: 24 }, (_, i) => workers[i % 3]!.acquire(scope(), T0)),
    );
    // Retries may give up under contention (a deferral), but nothing is granted twice.
    expect(decisions.filter((d) => d.granted).length).toBeLessThanOrEqual(10);
    let more = 0;
    for (let i = 0; i < 12; i++) if ((await workers[0]!.acquire(scope(), T0)).granted) more++;
    expect(decisions.filter((d) => d.granted).length + more).toBe(10);
  });

  it('gives workers refused at the same instant distinct slots, one token interval apart', async () => {
    const { gates: workers, tableName } = await gates(3, TEN_PER_SECOND);
    // Normal may take 9 of the 10 tokens; the 15 after them line up.
    const decisions = await Promise.all(
      Array.from({ length: 24 }, (_, i) => workers[i % 3]!.acquire(scope({ priority: 'normal' }), T0)),
    );
    const granted = decisions.filter((d) => d.granted).length;
    const slots = decisions
      .map((d) => (d.granted ? undefined : d.slotAt))
      .filter((at): at is number => at !== undefined)
      .sort((a, b) => a - b);
    // A caller whose every conditional write lost gets a plain wait instead of a slot.
    expect(granted).toBeLessThanOrEqual(9);
    expect(new Set(slots).size).toBe(slots.length);
    slots.forEach((at, i) => expect(at).toBe(T0 + 100 * (i + 1)));
    expect((await storedBucket(tableName))?.['line_normal']).toBe(T0 + 100 * (slots.length + 1));
    // Each holder coming back at its slot is granted.
    for (const at of slots)
      expect(await workers[0]!.acquire(scope({ priority: 'normal', slotAt: at }), at)).toEqual({
        granted: true,
      });
  });

  it('lets a caller with a slot keep it when contention outlasts every conditional write', async () => {
    const config = isolatedConfig(TEN_PER_SECOND);
    const tableName = await createRequestsTable(client, config);
    const losing = new DynamoRateGate(doc, tableName, config, { maxAttempts: 0 });
    expect(await losing.acquire(scope({ priority: 'normal', slotAt: T0 - 5 }), T0)).toEqual({
      granted: false,
      reason: 'no_token',
      waitMs: 100,
      slotAt: T0 + 100,
    });
    expect(await losing.acquire(scope({ priority: 'normal' }), T0)).toEqual({
      granted: false,
      reason: 'no_token',
      waitMs: 100,
    });
  });

  it('gives the report of a 429 more conditional writes than an acquire gets, so its pause is kept', async () => {
    const config = isolatedConfig(TEN_PER_SECOND);
    const tableName = await createRequestsTable(client, config);
    const gate = new DynamoRateGate(doc, tableName, config, { maxAttempts: 0 });
    await expect(gate.report(scope(), { kind: 'ok', nearLimit: true }, T0)).rejects.toBeInstanceOf(
      RateGateContentionError,
    );
    await gate.report(
      scope(),
      { kind: 'rate_limited', reason: 'jira-quota-global-based', retryAfterSeconds: 5 },
      T0,
    );
    expect((await storedBucket(tableName))?.['paused_until']).toBe(T0 + 5_000);
  });

  it('stores the endpoint burst buckets with the service bucket, shared by every worker', async () => {
    const { gates: workers, tableName } = await gates(2, {
      services: { jira: { ratePerMinute: 12_000, burst: 400, endpointBurstPerSecond: { PUT: 2 } } },
    });
    const put = scope({ endpoint: 'jira:issue:update', write: true });
    expect(await workers[0]!.acquire(put, T0)).toEqual({ granted: true });
    expect(await workers[1]!.acquire(put, T0)).toEqual({ granted: true });
    expect(await workers[0]!.acquire(put, T0)).toEqual({ granted: false, reason: 'no_token', waitMs: 500 });
    expect((await storedBucket(tableName))?.['endpoint_buckets']).toEqual({
      'jira:issue:update': { tokens: 0, at: T0 },
    });
  });

  it('reads nothing for a success at the configured rate, and reads and raises the rate after a cut', async () => {
    const { tableName, config } = await gates(0, TEN_PER_SECOND);
    const { doc: countedDoc, sent } = countingLocalDynamo(inject('dynamoEndpoint'));
    const a = new DynamoRateGate(countedDoc, tableName, config);
    const b = new DynamoRateGate(doc, tableName, config);
    expect((await a.acquire(scope(), T0)).granted).toBe(true);
    sent.length = 0;
    await a.report(scope(), { kind: 'ok' }, T0 + 100);
    expect(sent).toEqual([]);
    // Told near the limit, the success is read and written (it holds the rate).
    await a.report(scope(), { kind: 'ok', nearLimit: true, grantedAt: T0 }, T0 + 150);
    expect(sent).toContain('GetItemCommand');

    // Another worker's 429s cut the rate; a call let through after the cut climbs it back.
    for (let i = 0; i < 3; i++) {
      await b.report(scope(), { kind: 'rate_limited', retryAfterSeconds: 1 }, T0 + 200 + i * 1_000);
    }
    const cut = Number((await storedBucket(tableName))?.['effective_rate']);
    expect(cut).toBeLessThan(10);
    const later = T0 + 60_000;
    expect((await a.acquire(scope(), later)).granted).toBe(true);
    sent.length = 0;
    await a.report(scope(), { kind: 'ok' }, later + 100);
    expect(sent).toEqual(['GetItemCommand', 'PutItemCommand']);
    expect(Number((await storedBucket(tableName))?.['effective_rate'])).toBeGreaterThan(cut);
  });

  it('pauses every worker when one of them is told 429', async () => {
    const { gates: workers } = await gates(2, TEN_PER_SECOND);
    const [a, b] = workers as [DynamoRateGate, DynamoRateGate];
    expect((await b.acquire(scope(), T0)).granted).toBe(true);
    await a.report(scope(), { kind: 'rate_limited', retryAfterSeconds: 2 }, T0 + 10);
    expect(await b.acquire(scope({ endpoint: 'jira:search' }), T0 + 500)).toEqual({
      granted: false,
      reason: 'paused',
      waitMs: 1_510,
    });
    expect((await b.acquire(scope(), T0 + 2_500)).granted).toBe(true);
  });

  it('keeps low from draining the reserve high still gets', async () => {
    const { gates: workers } = await gates(3, TEN_PER_SECOND);
    const [w1, w2, w3] = workers as [DynamoRateGate, DynamoRateGate, DynamoRateGate];
    const take = async (gate: DynamoRateGate, priority: Priority, times: number) => {
      let n = 0;
      for (let i = 0; i < times; i++) if ((await gate.acquire(scope({ priority }), T0)).granted) n++;
      return n;
    };
    const lows = await Promise.all([take(w1, 'low', 10), take(w2, 'low', 10)]);
    expect(lows[0] + lows[1]).toBe(7);
    const refused = await w1.acquire(scope({ priority: 'low' }), T0);
    expect(refused).toMatchObject({ granted: false, reason: 'no_token' });
    expect(await take(w3, 'high', 5)).toBe(3);
  });

  it('shows the health check the shared bucket: tokens, rates, pauses in force and each line', async () => {
    const { gates: workers } = await gates(2, TEN_PER_SECOND);
    const [a, b] = workers as [DynamoRateGate, DynamoRateGate];
    expect(await b.view('jira', T0)).toEqual({
      service: 'jira',
      tokens: 10,
      burst: 10,
      effective_rate_per_second: 10,
      configured_rate_per_second: 10,
      pauses: [],
      slow_until: null,
      margin_tokens: 0,
      lines: { normal: { next_slot_at: null, ahead_ms: 0 }, low: { next_slot_at: null, ahead_ms: 0 } },
    });
    await a.report(
      scope({ endpoint: 'jira:search' }),
      { kind: 'rate_limited', retryAfterSeconds: 4, reason: 'jira-burst-based' },
      T0,
    );
    await a.report(
      scope({ endpoint: 'jira:issue:update', write: true, objectId: 'MD-1' }),
      { kind: 'rate_limited', retryAfterSeconds: 2, reason: 'jira-per-issue-on-write' },
      T0,
    );
    // A burst 429 empties only its endpoint's own bucket: high takes the service's tokens, then a
    // normal call is given a slot in its line.
    while ((await a.acquire(scope({ priority: 'high' }), T0 + 100)).granted);
    const refused = await a.acquire(scope({ priority: 'normal' }), T0 + 100);
    expect(refused).toMatchObject({ granted: false, reason: 'no_token' });
    const slotAt = (refused as { slotAt: number }).slotAt;
    const view = await b.view('jira', T0 + 100);
    expect(view).toMatchObject({ tokens: 0, effective_rate_per_second: 10 });
    expect(view.pauses).toEqual([
      { scope: 'endpoint', target: 'jira:search', until: new Date(T0 + 4_000).toISOString() },
      { scope: 'object', target: 'MD-1', until: new Date(T0 + 2_000).toISOString() },
    ]);
    // The next free slot is one token interval (100 ms) after the one just given; low waits behind it.
    const next = slotAt + 100;
    expect(view.lines).toEqual({
      normal: { next_slot_at: new Date(next).toISOString(), ahead_ms: next - (T0 + 100) },
      low: { next_slot_at: new Date(next).toISOString(), ahead_ms: next - (T0 + 100) },
    });
    // Viewing took nothing: the line still gives the next slot after it.
    expect(await a.acquire(scope({ priority: 'normal' }), T0 + 100)).toMatchObject({ slotAt: next });
  });

  it('pauses writes to the one issue Atlassian named, and nothing else', async () => {
    const { gates: workers } = await gates(2, TEN_PER_SECOND);
    const [a, b] = workers as [DynamoRateGate, DynamoRateGate];
    const write = (objectId: string) =>
      scope({ endpoint: 'jira:issue:update', write: true, objectId, priority: 'normal' });
    await a.report(
      write('MD-1'),
      { kind: 'rate_limited', retryAfterSeconds: 3, reason: 'jira-per-issue-on-write' },
      T0,
    );
    expect(await b.acquire(write('MD-1'), T0 + 1_000)).toMatchObject({ granted: false, reason: 'paused' });
    expect((await b.acquire(write('MD-2'), T0 + 1_000)).granted).toBe(true);
    expect((await b.acquire(scope({ objectId: 'MD-1' }), T0 + 1_000)).granted).toBe(true);
    expect((await b.acquire(write('MD-1'), T0 + 3_000)).granted).toBe(true);
  });

  it('lowers the stored rate after a few 429s and raises it again after successes', async () => {
    const { gates: workers, tableName } = await gates(2, TEN_PER_SECOND);
    const [a, b] = workers as [DynamoRateGate, DynamoRateGate];
    // The first 429 at the configured rate only pauses; the second confirms it and each cuts then.
    for (const t of [T0, T0 + 3_000, T0 + 6_000, T0 + 9_000]) {
      await a.report(scope(), { kind: 'rate_limited', reason: 'jira-burst-based', retryAfterSeconds: 1 }, t);
    }
    const lowered = await storedBucket(tableName);
    expect(lowered?.['effective_rate']).toBeCloseTo(10 * 0.7 ** 3);
    expect(lowered?.['last_limited_at']).toBe(T0 + 9_000);
    expect(lowered).not.toHaveProperty('status');

    let t = T0 + 10_000;
    for (let i = 0; i < 40; i++) {
      t += 200;
      await b.report(scope(), { kind: 'ok' }, t);
    }
    const raised = await storedBucket(tableName);
    // Back from a cut the climb is the slow probe (lambdas/core/domain/token-bucket.ts): it rises, gently.
    expect(raised?.['effective_rate']).toBeGreaterThan(10 * 0.7 ** 3 + 0.1);
    expect(raised?.['version']).toBeGreaterThan(lowered?.['version'] as number);
  });

  it('writes nothing for a success at the configured rate', async () => {
    const { gates: workers, tableName } = await gates(1, TEN_PER_SECOND);
    const gate = workers[0]!;
    await gate.acquire(scope(), T0);
    const before = await storedBucket(tableName);
    await gate.report(scope(), { kind: 'ok' }, T0 + 100);
    expect((await storedBucket(tableName))?.['version']).toBe(before?.['version']);
  });
});
