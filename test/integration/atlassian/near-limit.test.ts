/**
 * `X-RateLimit-NearLimit` reaches the shared rate gate (DESIGN invariant 5: "eases off while
 * `X-RateLimit-NearLimit` is set"): a worker's call answered with the header by the simulator (it
 * sends it once under 20 % of its bucket is left) leaves the service's bucket in DynamoDB Local
 * holding its rate (`slow_until`), while an answer without it leaves no hold.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { AtlassianExecutor } from '../../../lambdas/adapters/atlassian/operation-executor.js';
import { processRequest, type ProcessDeps } from '../../../lambdas/core/use-cases/process-request.js';
import { callScopeOf } from '../../../lambdas/core/domain/token-bucket.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { systemClock } from '../../../lambdas/shared/clock.js';
import { DynamoRateGate, rateBucketKey } from '../../../lambdas/adapters/dynamodb/dynamo-rate-gate.js';
import { createRequestsTable } from '../../../local/resources.js';
import { useAtlassianSimulator } from '../../support/atlassian-sim-fixture.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';
import { InMemoryCircuitBreaker } from '../../support/in-memory-circuit-breaker.js';
import { InMemoryStore } from '../../support/in-memory-store.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const config = isolatedConfig();

const sim = useAtlassianSimulator();
let executor: AtlassianExecutor;
let tableName: string;

beforeAll(async () => {
  executor = sim.executor({ timeoutMs: 5_000 });
  tableName = await createRequestsTable(client, config);
});

let sequence = 0;

/** A worker's deps over a fresh in-memory record store and the shared bucket in DynamoDB Local. */
function worker(store: InMemoryStore): ProcessDeps {
  return {
    store,
    executor,
    clock: systemClock,
    config,
    leaseSeconds: 40,
    random: () => 0,
    flow: {
      breaker: new InMemoryCircuitBreaker(),
      rate: new DynamoRateGate(doc, tableName, config),
      scopeOf: (r) => callScopeOf(r.operation, r.payload, r.priority),
    },
  };
}

async function createThroughWorker(store: InMemoryStore, title: string): Promise<void> {
  const token = `req_${String(++sequence).padStart(32, '0')}`;
  const now = new Date().toISOString();
  const record: RequestRecord = {
    token,
    owner: 'o',
    operation: 'jira.create_task',
    service: 'jira',
    priority: 'high',
    payload: { title, project_id: 'MD' },
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: now,
    updated_at: now,
  };
  await store.insert(record);
  const d = await processRequest(worker(store), { token, receiveCount: 1 });
  expect(d.outcome).toBe('completed');
}

async function storedBucket(): Promise<Record<string, unknown> | undefined> {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: rateBucketKey('jira'), ConsistentRead: true }),
  );
  return out.Item;
}

describe('X-RateLimit-NearLimit feedback', () => {
  it('holds the rate of the shared bucket once Atlassian says it is near the limit, not before', async () => {
    // The simulator's bucket: 10 tokens, refilling slowly; NearLimit under 2 left.
    await sim.control.setRateLimit({ rate_per_second: 0.1, burst: 10 });
    const store = new InMemoryStore();

    await createThroughWorker(store, 'first');
    expect(await storedBucket()).toBeDefined();
    expect((await storedBucket())?.['slow_until']).toBeUndefined();

    // Seven more straight to the simulator (no worker): 2 of its tokens are left.
    for (let i = 0; i < 7; i++)
      await executor.execute('jira.create_task', { title: `direct ${i}`, project_id: 'MD' }, { token: 't' });
    expect((await storedBucket())?.['slow_until']).toBeUndefined();

    // The ninth call takes the simulator under 20 %: its answer carries the header.
    const before = Date.now();
    await createThroughWorker(store, 'ninth');
    const slowUntil = (await storedBucket())?.['slow_until'];
    expect(typeof slowUntil).toBe('number');
    expect(slowUntil as number).toBeGreaterThanOrEqual(
      before + config.rateControl.adaptive.nearLimitHoldSeconds * 1000,
    );
    const stats = await sim.control.stats();
    expect(stats.rate_limited).toBe(0);
  });
});
