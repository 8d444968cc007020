/**
 * The gate's one read: the breaker, the rate bucket and the points budget of a service in one
 * BatchGetItem on DynamoDB Local, and the adapters deciding from it exactly as from their own reads.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { breakerSettingsOf } from '../../../lambdas/core/domain/breaker.js';
import { DynamoCircuitBreaker } from '../../../lambdas/adapters/dynamodb/dynamo-circuit-breaker.js';
import { DynamoFlowGateReader } from '../../../lambdas/adapters/dynamodb/dynamo-flow-gate-reader.js';
import { DynamoPointsBudget } from '../../../lambdas/adapters/dynamodb/dynamo-points-budget.js';
import { DynamoRateGate } from '../../../lambdas/adapters/dynamodb/dynamo-rate-gate.js';
import type { CallScope } from '../../../lambdas/core/ports/flow-control.js';
import type { RiqConfig } from '../../../model/config/riq-config.js';
import { createRequestsTable } from '../../../local/resources.js';
import { countingLocalDynamo, isolatedConfig, localDynamo } from '../../support/aws-local.js';

const endpoint = inject('dynamoEndpoint');
const { client, doc } = localDynamo(endpoint);
const T0 = 1_700_000_000_000;
const scope: CallScope = { service: 'jira', priority: 'high', endpoint: 'jira:issue:get', write: false };

let config: RiqConfig;
let tableName: string;

beforeEach(async () => {
  config = isolatedConfig({ services: { jira: { ratePerMinute: 60, burst: 5 } } });
  tableName = await createRequestsTable(client, config);
});

describe('DynamoFlowGateReader on DynamoDB Local', () => {
  it('reads the three items in one request; the breaker, the bucket and the budget then read nothing', async () => {
    const counted = countingLocalDynamo(endpoint);
    const reader = new DynamoFlowGateReader(counted.doc, tableName);
    const breaker = new DynamoCircuitBreaker(counted.doc, tableName, breakerSettingsOf(config));
    const rate = new DynamoRateGate(counted.doc, tableName, config);
    const points = new DynamoPointsBudget(counted.doc, tableName, config, 'oauth');
    // First on an empty table (no item yet), then with all three items stored.
    for (const at of [T0, T0 + 1000]) {
      counted.sent.length = 0;
      const reading = await reader.read('jira');
      expect(await breaker.acquire('jira', at, reading)).toEqual({ allowed: true, probe: false });
      expect(await rate.acquire(scope, at, reading)).toEqual({ granted: true });
      expect(await points.charge('jira', 'normal', 1, at, reading)).toMatchObject({ granted: true });
      // The bucket's token and the budget's charge are written; nothing is read but the batch.
      expect(counted.sent).toEqual(['BatchGetItemCommand', 'PutItemCommand', 'PutItemCommand']);
    }
    // What was written is what a read finds: 5 tokens, one taken, one refilled in the second, one taken.
    expect((await rate.peek('jira'))?.tokens).toBeCloseTo(4, 5);
  });

  it('decides from the reading as from its own read: an open breaker is refused without a read', async () => {
    const breaker = new DynamoCircuitBreaker(doc, tableName, breakerSettingsOf(config));
    for (let i = 0; i < 5; i++) await breaker.report('jira', 'failure', false, T0 + i);
    const counted = countingLocalDynamo(endpoint);
    const reading = await new DynamoFlowGateReader(counted.doc, tableName).read('jira');
    const fresh = new DynamoCircuitBreaker(counted.doc, tableName, breakerSettingsOf(config));
    counted.sent.length = 0;
    expect(await fresh.acquire('jira', T0 + 10, reading)).toMatchObject({ allowed: false, state: 'open' });
    expect(counted.sent).toEqual([]);
    // Another service's reading is not this one's: confluence's breaker is read and found closed.
    expect(await fresh.acquire('confluence', T0 + 10, reading)).toEqual({ allowed: true, probe: false });
    expect(counted.sent).toEqual(['GetItemCommand']);
  });

  it('a reading gone stale loses the write race and reads again: no token is given twice', async () => {
    const reader = new DynamoFlowGateReader(doc, tableName);
    const a = new DynamoRateGate(doc, tableName, config, { jitterMs: 1 });
    const b = new DynamoRateGate(doc, tableName, config, { jitterMs: 1 });
    await a.acquire(scope, T0);
    const stale = await reader.read('jira');
    // Both decide from the same stored bucket; the second write must see the first.
    expect(await b.acquire(scope, T0, stale)).toEqual({ granted: true });
    expect(await a.acquire(scope, T0, stale)).toEqual({ granted: true });
    expect((await a.peek('jira'))?.tokens).toBeCloseTo(2, 5);
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    const counted = countingLocalDynamo(endpoint);
    await new DynamoCircuitBreaker(doc, tableName, breakerSettingsOf(config)).report(
      'jira',
      'failure',
      false,
      T0,
    );
    await new DynamoRateGate(doc, tableName, config).acquire(scope, T0);
    // The first batch's answer: only its first key processed, the others left for a retry, as
    // DynamoDB answers a batch it throttles.
    let first = true;
    counted.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchGetItemCommand' || !first) return next(args);
        first = false;
        const input = args.input as {
          RequestItems: Record<string, { Keys: Record<string, AttributeValue>[] }>;
        };
        const asked = input.RequestItems[tableName]!;
        const [one, ...rest] = asked.Keys;
        const out = await next({
          ...args,
          input: { RequestItems: { [tableName]: { ...asked, Keys: [one] } } },
        });
        (out.output as { UnprocessedKeys?: unknown }).UnprocessedKeys = {
          [tableName]: { ...asked, Keys: rest },
        };
        return out;
      },
      { step: 'initialize', name: 'leaveUnprocessed' },
    );
    const reading = await new DynamoFlowGateReader(counted.doc, tableName, { pauseMs: 1 }).read('jira');
    expect(counted.sent.filter((c) => c === 'BatchGetItemCommand')).toHaveLength(2);
    // All three found: the breaker with its failure, the bucket with its token taken, no budget yet.
    const breaker = new DynamoCircuitBreaker(counted.doc, tableName, breakerSettingsOf(config));
    counted.sent.length = 0;
    const view = await breaker.acquire('jira', T0 + 1, reading);
    expect(view).toEqual({ allowed: true, probe: false });
    const rate = new DynamoRateGate(counted.doc, tableName, config);
    expect(await rate.acquire(scope, T0, reading)).toEqual({ granted: true });
    expect(
      await new DynamoPointsBudget(counted.doc, tableName, config, 'api_token').charge(
        'jira',
        'normal',
        1,
        T0,
        reading,
      ),
    ).toMatchObject({ granted: true });
    expect(counted.sent).toEqual(['PutItemCommand']);
    expect((await rate.peek('jira'))?.tokens).toBeCloseTo(3, 5);
  });
});
