/**
 * The DynamoDB requests one RIQ request makes, counted through the whole local stack (the SDK
 * clients' `send`, as `npm run bench -- cost` counts them: bench/aws-calls.ts): what a request costs
 * in DynamoDB rests on these counts (docs/runbook.md, Cost). Requests go one at a time against a
 * generous bucket, so no deferral or lost race adds calls; the sweeper is held off.
 *
 * Each count is the sum of the steps the path takes, so a step added back (a read of the record
 * after its settling write, a separate write to begin the attempt, a read of the record to release
 * dependents it has none of, a read of the breaker or the bucket after a success that changes
 * neither) fails the test. The by-status index's write units are what DynamoDB Local reports
 * consumed (bench/aws-calls.ts asks for them): a request enters the sparse index when stored (a
 * DIRECT one already `processing`), is updated in place when a worker claims it (queued and
 * processing share a partition: no key moves), and leaves it when it completes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  INDEX_WRITE_UNITS,
  awsCallCounts,
  awsCallLog,
  countAwsCalls,
  type AwsCall,
} from '../../bench/aws-calls.js';
import type { SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

/** The DynamoDB actions of one item or one request that the counts cover. */
const DYNAMO_ACTIONS = [
  'GetItem',
  'BatchGetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
  'Query',
];

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;
let issueKey: string;

beforeAll(async () => {
  countAwsCalls();
  ({ stack, api, control } = await startTestStack(
    'riqcalls',
    {
      services: { jira: { ratePerMinute: 60_000, burst: 500 } },
      routing: { direct: true },
    },
    // The sweeper's queries are not a request's: it does not run during these tests.
    { sweepIntervalMs: 3_600_000 },
  ));
  const created = await api.submit({
    operation: 'jira.create_task',
    payload: { title: 'counted', project_id: 'MD' },
  });
  expect(created.body, JSON.stringify(created.body)).toMatchObject({ status: 'completed' });
  issueKey = String((created.body['result'] as { key: string }).key);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await control.quiet();
});

/** The DynamoDB requests in `calls`, by action, and those naming the request's own item. */
function tally(calls: readonly AwsCall[], token: string) {
  const byAction: Record<string, number> = {};
  const onRecord: Record<string, number> = {};
  for (const call of calls) {
    if (!DYNAMO_ACTIONS.includes(call.action)) continue;
    byAction[call.action] = (byAction[call.action] ?? 0) + 1;
    if (call.pk === `REQ#${token}`) onRecord[call.action] = (onRecord[call.action] ?? 0) + 1;
  }
  return { byAction, onRecord };
}

/** The by-status index's write units consumed since `before` (an `awsCallCounts()`). */
function indexWritesSince(before: Record<string, number>): number {
  return (awsCallCounts()[INDEX_WRITE_UNITS] ?? 0) - (before[INDEX_WRITE_UNITS] ?? 0);
}

/** Waits (without a request of its own) until the log shows `done`, for at most 10 s. */
async function until(since: number, done: (calls: readonly AwsCall[]) => boolean): Promise<AwsCall[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const calls = awsCallLog().slice(since);
    if (done(calls)) return calls;
    if (Date.now() > deadline) throw new Error(`not done: ${JSON.stringify(calls)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('DynamoDB requests per RIQ request', () => {
  it('a DIRECT get: the gate, the record put already processing, the cache fill and one settling write', async () => {
    const since = awsCallLog().length;
    const units = awsCallCounts();
    const answer = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: issueKey },
      fresh: true,
    });
    expect(answer.body, JSON.stringify(answer.body)).toMatchObject({
      status: 'completed',
      routing_path: 'DIRECT',
    });
    const token = String(answer.body['token']);
    const { byAction, onRecord } = tally(awsCallLog().slice(since), token);
    // BatchGet: breaker, bucket, points (the gate, one read). Put: bucket (its token), the record
    // (stored processing, its attempt begun: no claim), cache entry. Update: complete (it answers
    // the record: no read after).
    expect(byAction).toEqual({ BatchGetItem: 1, PutItem: 3, UpdateItem: 1 });
    expect(onRecord).toEqual({ PutItem: 1, UpdateItem: 1 });
    // Index: stored processing 1, completed (out of the index) 1.
    expect(indexWritesSince(units)).toBe(2);
  });

  it('a DIRECT get served from the read cache: one read', async () => {
    await api.submit({ operation: 'jira.get_task', payload: { task_id: issueKey } });
    const since = awsCallLog().length;
    const answer = await api.submit({ operation: 'jira.get_task', payload: { task_id: issueKey } });
    expect(answer.body).toMatchObject({ status: 'cached' });
    expect(tally(awsCallLog().slice(since), '').byAction).toEqual({ GetItem: 1 });
  });

  it('a queued get, up to the worker deleting its message: no read of the record besides the claim', async () => {
    const since = awsCallLog().length;
    const units = awsCallCounts();
    const answer = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: issueKey },
      fresh: true,
      routing: 'queued',
    });
    expect(answer.body, JSON.stringify(answer.body)).toMatchObject({ status: 'queued' });
    const token = String(answer.body['token']);
    const calls = await until(since, (c) => c.some((call) => call.action === 'DeleteMessageBatch'));
    const { byAction, onRecord } = tally(calls, token);
    // Put: record, bucket, cache entry. BatchGet: breaker, bucket, points. Update: the claim with
    // the attempt begun, complete.
    expect(byAction).toEqual({ BatchGetItem: 1, PutItem: 3, UpdateItem: 2 });
    expect(onRecord).toEqual({ PutItem: 1, UpdateItem: 2 });
    // Index: stored 1, claimed (the same key, updated in place) 1, completed 1.
    expect(indexWritesSince(units)).toBe(3);
    expect((await api.result(token)).body).toMatchObject({ status: 'completed' });
  });

  it('a DIRECT create: its done-once record and the cache invalidation besides, no read of the record', async () => {
    const since = awsCallLog().length;
    const units = awsCallCounts();
    const answer = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'counted create', project_id: 'MD' },
    });
    expect(answer.body, JSON.stringify(answer.body)).toMatchObject({
      status: 'completed',
      routing_path: 'DIRECT',
    });
    const { byAction, onRecord } = tally(awsCallLog().slice(since), String(answer.body['token']));
    // BatchGet: breaker, bucket, points. Put: bucket, record (stored processing), the done-once call
    // record. Update: the call record's result, the search generation (invalidation), complete.
    expect(byAction).toEqual({ BatchGetItem: 1, PutItem: 3, UpdateItem: 3 });
    expect(onRecord).toEqual({ PutItem: 1, UpdateItem: 1 });
    // The call record and the search generation carry no `listed_status`: the record's 2 alone.
    expect(indexWritesSince(units)).toBe(2);
  });
});
