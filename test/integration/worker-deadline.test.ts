/**
 * The worker watches its remaining time: a batch whose later messages no longer fit the function's
 * time left (one message's budget, model/config/message-budget.ts) hands them back untouched — not
 * called, records unchanged, a fresh copy in the queue and the original done — so the receive they
 * cost counts no attempt, instead of the invocation timing out with them.
 *
 * The local stack in this process (its workers not polling), the worker handler called with a batch
 * received from the SQS emulator and a Lambda context whose time runs short after the first message.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageBudgetMs } from '../../model/config/message-budget.js';
import { toRecord } from '../../local/event-source.js';
import { lambdaContext } from '../../local/lambda-context.js';
import type { SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import { localDynamo, localSqs } from '../support/aws-local.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

const UPSTREAM_TIMEOUT_MS = 2_000;
const LATENCY_MS = 1_000;
const KEY = 'jira-normal';

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;
/** One request's stored item, as the table holds it. */
const inspect = {
  record: async (token: string) =>
    (
      await localDynamo(stack.dynamoEndpoint).doc.send(
        new GetCommand({ TableName: stack.tableName, Key: { pk: `REQ#${token}` }, ConsistentRead: true }),
      )
    ).Item,
};
let worker: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  ({ stack, api, control } = await startTestStack(
    'riqdeadline',
    {
      upstream: { timeoutMs: UPSTREAM_TIMEOUT_MS },
      routing: { directTimeoutMs: 1_000 },
      worker: { timeoutSeconds: 10 },
    },
    { startWorkers: false },
  ));
  // The module the stack loaded, configured by it.
  ({ handler: worker } = await import('../../lambdas/worker/handler.js'));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function receiveAll(count: number): Promise<Message[]> {
  const sqs = localSqs(stack.sqsEndpoint);
  const messages: Message[] = [];
  const until = Date.now() + 10_000;
  while (messages.length < count && Date.now() < until) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queueUrls[KEY],
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    messages.push(...(out.Messages ?? []));
  }
  return messages;
}

describe('worker with too little time left for another message', () => {
  it('processes the first, hands the later ones back unstarted without spending an attempt', async () => {
    const tokens: string[] = [];
    for (const title of ['first', 'second', 'third']) {
      const answer = await api.submit({
        operation: 'jira.create_task',
        payload: { title: `deadline ${title}`, project_id: 'MD' },
        routing: 'queued',
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      tokens.push(String(answer.body['token']));
    }
    const messages = await receiveAll(3);
    expect(messages).toHaveLength(3);
    const order = messages.map((m) => (JSON.parse(m.Body ?? '{}') as { token: string }).token);
    const [first, ...later] = order as [string, ...string[]];
    const before = await Promise.all(later.map((t) => inspect.record(t)));

    // Every call takes 1 s; the context starts with just over one message's budget, so after the
    // first message less than a budget is left.
    await control.setLatency(LATENCY_MS);
    const budget = messageBudgetMs(UPSTREAM_TIMEOUT_MS);
    const deadline = Date.now() + budget + 500;
    const context: Context = {
      ...lambdaContext('riq-worker-jira', 10),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const startedAt = Date.now();
    const response = await worker(
      { Records: messages.map((m) => toRecord(m, stack.queueArns[KEY])) },
      context,
    );
    await control.setLatency(0);

    // Nothing reported failed: the first is done, the later ones were replaced by fresh copies.
    expect(response.batchItemFailures).toEqual([]);
    await localSqs(stack.sqsEndpoint).send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.queueUrls[KEY],
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );

    expect(await inspect.record(first)).toMatchObject({ status: 'completed', attempts: 1 });
    const creates = (await control.stats()).calls.filter(
      (c) => c.method === 'POST' && c.path === '/rest/api/3/issue' && c.at >= startedAt,
    );
    expect(creates, 'one call to Atlassian: the first message only').toHaveLength(1);
    // The later records are exactly as they were: not claimed, no attempt, no call.
    expect(await Promise.all(later.map((t) => inspect.record(t)))).toEqual(before);
    for (const record of before) expect(record).toMatchObject({ status: 'queued', attempts: 0 });

    // Their fresh copies are back in the queue at once, on their first receive.
    const again = await receiveAll(2);
    expect(again.map((m) => (JSON.parse(m.Body ?? '{}') as { token: string }).token).sort()).toEqual(
      [...later].sort(),
    );
    for (const m of again) expect(m.Attributes?.['ApproximateReceiveCount']).toBe('1');
  });
});
