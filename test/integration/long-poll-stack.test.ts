/**
 * A long poll in the local stack hears its record's writes: it answers as soon as its request ends,
 * and while it waits it reads the record only when it was written (and every HEARD_POLL_MS), not
 * twice a second, so many waiting callers leave the one process's event loop to the work.
 *
 * The local stack in this process, its workers running; the simulated Jira answers after 4.5 s, so
 * the poll waits on a request in flight.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

const LATENCY_MS = 4_500;

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;
let client: DynamoDBClient;
const reads = new Map<string, number>();

beforeAll(async () => {
  ({ stack, api, control } = await startTestStack('riqlongpoll', {
    routing: { direct: false },
    upstream: { timeoutMs: 10_000 },
  }));
  // The client the stack's functions share (same module, configured by the stack).
  client = (await import('../../lambdas/shared/root.js')).dynamoDb();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetItemCommand') {
        const key = (args.input as { Key?: { pk?: { S?: string } | string } }).Key?.pk;
        const pk = typeof key === 'string' ? key : key?.S;
        if (pk !== undefined) reads.set(pk, (reads.get(pk) ?? 0) + 1);
      }
      return next(args);
    },
    { step: 'initialize', name: 'countRecordReads' },
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a long poll in the local stack', () => {
  it('reads its record only when written while it waits, and answers once the request ends', async () => {
    await control.setLatency(LATENCY_MS);
    const submitted = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'long poll', project_id: 'MD' },
    });
    expect(submitted.body).toMatchObject({ status: 'queued' });
    const token = String(submitted.body['token']);

    const answer = await api.result(token, 20);
    expect(answer.body['status']).toBe('completed');
    const ended = Date.parse(String(answer.body['completed_at']));
    expect(Date.now() - ended).toBeLessThan(1_000);
    // Reads: on arrival, after each write heard (the claim and the settling, each a write or two),
    // and every 2 s meanwhile: at most 8 over the ~5 s. On a timer (100, 200, 400, then every
    // 500 ms) the poll would read 12 times or more.
    const pollReads = reads.get(`REQ#${token}`) ?? 0;
    expect(pollReads).toBeGreaterThanOrEqual(2);
    expect(pollReads).toBeLessThanOrEqual(8);
  });
});
