import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { SqsWorkQueue, parseWorkMessage } from '../../../lambdas/adapters/sqs/sqs-work-queue.js';
import { createWorkQueues, type LocalQueues } from '../../../local/resources.js';
import { isolatedConfig, localSqs } from '../../support/aws-local.js';

const endpoint = inject('sqsEndpoint');
const sqs = localSqs(endpoint);
const config = isolatedConfig({ retry: { maxAttempts: 2 } });
let queues: LocalQueues;
let queue: SqsWorkQueue;

beforeAll(async () => {
  queues = await createWorkQueues(sqs, config);
  queue = new SqsWorkQueue(sqs, queues.queueUrls, queues.deadLetterQueueUrls);
});

async function receive(url: string, wait = 1) {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      WaitTimeSeconds: wait,
      MessageSystemAttributeNames: ['All'],
      MaxNumberOfMessages: 10,
    }),
  );
  return out.Messages ?? [];
}

describe('SqsWorkQueue on the SQS emulator', () => {
  it('sends the token to the queue of its service and priority only', async () => {
    await queue.send('confluence-low', 'req_a');
    const [m] = await receive(queues.queueUrls['confluence-low']);
    expect(parseWorkMessage(m?.Body ?? '')).toEqual({ token: 'req_a' });
    expect(await receive(queues.queueUrls['confluence-high'], 0)).toHaveLength(0);
  });

  it('carries the rate slot of a deferral and its chained wait in the body, and ignores a slot that is not a time', async () => {
    await queue.send('jira-low', 'req_s', { slotAt: 1_700_000_000_123, notBefore: 1_700_000_000_000 });
    const [m] = await receive(queues.queueUrls['jira-low']);
    expect(parseWorkMessage(m?.Body ?? '')).toEqual({
      token: 'req_s',
      slot_at: 1_700_000_000_123,
      not_before: 1_700_000_000_000,
    });
    expect(parseWorkMessage(JSON.stringify({ token: 'req_t', slot_at: 'soon' }))).toEqual({ token: 'req_t' });
  });

  it('hides a message for the backoff set with changeVisibility', async () => {
    await queue.send('jira-normal', 'req_b');
    const [m] = await receive(queues.queueUrls['jira-normal']);
    await queue.changeVisibility('jira-normal', m!.ReceiptHandle!, 2);
    expect(await receive(queues.queueUrls['jira-normal'], 0)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 2_100));
    const [again] = await receive(queues.queueUrls['jira-normal']);
    expect(again?.Attributes?.['ApproximateReceiveCount']).toBe('2');
  });

  it('moves a message to its dead-letter queue after maxReceiveCount receives (the redrive policy)', async () => {
    await queue.send('jira-low', 'req_c');
    for (let i = 0; i < config.retry.maxAttempts; i++) {
      const [m] = await receive(queues.queueUrls['jira-low']);
      expect(m).toBeDefined();
      await queue.changeVisibility('jira-low', m!.ReceiptHandle!, 0);
    }
    expect(await receive(queues.queueUrls['jira-low'], 0)).toHaveLength(0);
    expect(await queue.deadLetterDepth('jira-low')).toBe(1);
    const [dead] = await receive(queues.deadLetterQueueUrls['jira-low']);
    expect(parseWorkMessage(dead?.Body ?? '')).toEqual({ token: 'req_c' });
  });

  it('reports queue depth', async () => {
    await queue.send('confluence-normal', 'req_d');
    await queue.send('confluence-normal', 'req_e');
    expect((await queue.depth('confluence-normal')).visible).toBe(2);
  });
});
