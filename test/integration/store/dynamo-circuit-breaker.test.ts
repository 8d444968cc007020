import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { breakerSettingsOf, type BreakerSettings } from '../../../lambdas/core/domain/breaker.js';
import type { Service } from '../../../model/config/riq-config.js';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { DynamoCircuitBreaker } from '../../../lambdas/adapters/dynamodb/dynamo-circuit-breaker.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, countingLocalDynamo, localDynamo } from '../../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const S = 1000;
let tableName: string;
let settings: BreakerSettings;

/**
 * Each test gets its own table, so every one starts with both breakers closed. Time is passed
 * explicitly: nothing here sleeps through a window or a recovery period.
 */
beforeAll(async () => {
  settings = breakerSettingsOf(isolatedConfig());
  expect(settings).toMatchObject({ failureThreshold: 5, windowSeconds: 60, recoverySeconds: 60 });
});

async function freshTable(): Promise<string> {
  tableName = await createRequestsTable(client, isolatedConfig());
  return tableName;
}

function breaker(): DynamoCircuitBreaker {
  return new DynamoCircuitBreaker(doc, tableName, settings);
}

async function trip(b: DynamoCircuitBreaker, service: Service, at: number): Promise<void> {
  for (let i = 0; i < settings.failureThreshold; i++) await b.report(service, 'failure', false, at + i);
}

async function rawItem(service: Service): Promise<Record<string, unknown> | undefined> {
  const out = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: { [REQUESTS_TABLE.partitionKey]: `BREAKER#${service}` },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

describe('DynamoCircuitBreaker on DynamoDB Local', () => {
  it('reads nothing to report a success or a neutral outcome that changes nothing; a failure is always stored', async () => {
    await freshTable();
    const { doc: countedDoc, sent } = countingLocalDynamo(inject('dynamoEndpoint'));
    const b = new DynamoCircuitBreaker(countedDoc, tableName, settings);
    const other = breaker();
    const t0 = 1_700_000_000_000;
    expect(await b.acquire('jira', t0)).toEqual({ allowed: true, probe: false });
    sent.length = 0;
    await b.report('jira', 'success', false, t0 + S);
    await b.report('jira', 'neutral', false, t0 + S);
    expect(sent).toEqual([]);

    // A failure is read and written; the success after it forgives it.
    await b.report('jira', 'failure', false, t0 + 2 * S);
    expect(sent).toEqual(['GetItemCommand', 'PutItemCommand']);
    expect((await rawItem('jira'))?.['failures']).toHaveLength(1);
    sent.length = 0;
    await b.report('jira', 'success', false, t0 + 3 * S);
    expect(sent).toEqual(['GetItemCommand', 'PutItemCommand']);
    expect((await rawItem('jira'))?.['failures']).toHaveLength(0);

    // A failure another worker counted after this one's last look is not forgiven by its success:
    // the call was let through before it.
    await other.report('jira', 'failure', false, t0 + 4 * S);
    sent.length = 0;
    await b.report('jira', 'success', false, t0 + 5 * S);
    expect(sent).toEqual([]);
    expect((await rawItem('jira'))?.['failures']).toHaveLength(1);
    // Let through after it, a call's success forgives it.
    expect(await b.acquire('jira', t0 + 6 * S)).toEqual({ allowed: true, probe: false });
    await b.report('jira', 'success', false, t0 + 7 * S);
    expect((await rawItem('jira'))?.['failures']).toHaveLength(0);
  });

  it('opens exactly at the threshold and refuses for the recovery left', async () => {
    await freshTable();
    const b = breaker();
    const t0 = Date.now();
    for (let i = 0; i < settings.failureThreshold - 1; i++) {
      await b.report('jira', 'failure', false, t0 + i * S);
    }
    expect(await b.acquire('jira', t0 + 5 * S)).toEqual({ allowed: true, probe: false });
    expect((await b.view('jira', t0 + 5 * S)).state).toBe('closed');

    await b.report('jira', 'failure', false, t0 + 5 * S);
    const refused = await breaker().acquire('jira', t0 + 15 * S);
    expect(refused).toEqual({ allowed: false, waitMs: 50 * S, state: 'open' });
    expect(await b.view('jira', t0 + 15 * S)).toEqual({
      service: 'jira',
      state: 'open',
      failure_count: 5,
      opened_at: new Date(t0 + 5 * S).toISOString(),
      next_attempt_at: new Date(t0 + 65 * S).toISOString(),
      last_failure_at: new Date(t0 + 5 * S).toISOString(),
    });

    const item = await rawItem('jira');
    expect(item).toMatchObject({ state: 'open', service: 'jira' });
    // Not a request: it must never appear in the by-status index.
    expect(item).not.toHaveProperty(REQUESTS_TABLE.statusIndex.partitionKey);
    expect(item?.['failures']).toHaveLength(settings.failureThreshold);
  });

  it('does not count failures older than the window, and keeps the stored list bounded', async () => {
    await freshTable();
    const b = breaker();
    const t0 = Date.now();
    for (let i = 0; i < 12; i++) await b.report('jira', 'failure', false, t0 + i * 20 * S);
    // Failures every 20 s: never five within 60 s.
    expect((await b.view('jira', t0 + 220 * S)).state).toBe('closed');
    expect(((await rawItem('jira'))?.['failures'] as unknown[]).length).toBeLessThanOrEqual(
      settings.failureThreshold,
    );
  });

  it('lets exactly one of many concurrent acquirers on several instances probe after the recovery', async () => {
    await freshTable();
    const t0 = Date.now();
    await trip(breaker(), 'jira', t0);
    const instances = Array.from({ length: 5 }, () => breaker());
    const at = t0 + 61 * S;
    const decisions = await Promise.all(
      instances.flatMap((b) => Array.from({ length: 8 }, () => b.acquire('jira', at))),
    );
    expect(decisions.filter((d) => d.allowed)).toEqual([{ allowed: true, probe: true }]);
    const refused = decisions.filter((d) => !d.allowed);
    expect(refused).toHaveLength(39);
    for (const d of refused) expect(d).toMatchObject({ state: 'half_open' });
    expect((await rawItem('jira'))?.['state']).toBe('half_open');
  });

  it('closes on a probe success', async () => {
    await freshTable();
    const t0 = Date.now();
    const b = breaker();
    await trip(b, 'jira', t0);
    expect(await b.acquire('jira', t0 + 61 * S)).toEqual({ allowed: true, probe: true });
    await b.report('jira', 'success', true, t0 + 62 * S);
    expect(await breaker().acquire('jira', t0 + 62 * S)).toEqual({ allowed: true, probe: false });
    expect(await b.view('jira', t0 + 62 * S)).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  it('opens again for a new recovery period on a probe failure', async () => {
    await freshTable();
    const t0 = Date.now();
    const b = breaker();
    await trip(b, 'jira', t0);
    expect(await b.acquire('jira', t0 + 61 * S)).toEqual({ allowed: true, probe: true });
    await b.report('jira', 'failure', true, t0 + 70 * S);
    expect(await breaker().acquire('jira', t0 + 71 * S)).toEqual({
      allowed: false,
      waitMs: 59 * S,
      state: 'open',
    });
    expect((await b.view('jira', t0 + 71 * S)).opened_at).toBe(new Date(t0 + 70 * S).toISOString());
  });

  it('keeps jira and confluence apart', async () => {
    await freshTable();
    const t0 = Date.now();
    const b = breaker();
    await trip(b, 'jira', t0);
    expect((await b.acquire('jira', t0 + S)).allowed).toBe(false);
    expect(await b.acquire('confluence', t0 + S)).toEqual({ allowed: true, probe: false });
    expect((await b.view('confluence', t0 + S)).state).toBe('closed');
    expect(await rawItem('confluence')).toBeUndefined();
  });

  it('lets a new probe through once a crashed probe’s lease expired, and ignores the crashed one', async () => {
    await freshTable();
    const t0 = Date.now();
    const crashed = breaker();
    const other = breaker();
    await trip(crashed, 'jira', t0);
    expect(await crashed.acquire('jira', t0 + 61 * S)).toEqual({ allowed: true, probe: true });
    // The prober never reports. Until its lease ends nobody else probes…
    const leaseEnd = t0 + 61 * S + settings.probeLeaseSeconds * S;
    expect(await other.acquire('jira', leaseEnd - 1)).toEqual({
      allowed: false,
      waitMs: 1,
      state: 'half_open',
    });
    // …then the next caller does.
    expect(await other.acquire('jira', leaseEnd)).toEqual({ allowed: true, probe: true });
    await crashed.report('jira', 'failure', true, leaseEnd + S);
    expect((await rawItem('jira'))?.['state']).toBe('half_open');
    await other.report('jira', 'success', true, leaseEnd + S);
    expect((await rawItem('jira'))?.['state']).toBe('closed');
  });

  it('releases the probe lease on a neutral outcome without changing the state', async () => {
    await freshTable();
    const t0 = Date.now();
    const a = breaker();
    await trip(a, 'confluence', t0);
    expect(await a.acquire('confluence', t0 + 61 * S)).toEqual({ allowed: true, probe: true });
    await a.report('confluence', 'neutral', true, t0 + 62 * S);
    expect(await rawItem('confluence')).toMatchObject({ state: 'half_open' });
    expect(await breaker().acquire('confluence', t0 + 62 * S)).toEqual({ allowed: true, probe: true });
  });
});
