/**
 * The local event source mapping stops waiting for a worker at the function's timeout, as Lambda
 * does: the invocation has failed, nothing of its batch is deleted, and the batch comes back after
 * its visibility timeout, even though the handler, which Node cannot stop, later returns success.
 */
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EventSourceMapping } from '../../local/event-source.js';
import { FunctionTimeoutError } from '../../local/lambda-invoke.js';
import { localSqs } from '../support/aws-local.js';

const sqs = localSqs(inject('sqsEndpoint'));
const mappings: EventSourceMapping[] = [];

afterAll(async () => {
  await Promise.all(mappings.map((m) => m.stop()));
});

describe('local event source mapping with a function timeout', () => {
  it('treats a batch whose handler outlives the timeout as failed: it comes back, though the handler returns success', async () => {
    const name = `timeouts-${Date.now()}`;
    const { QueueUrl: queueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '1' } }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl!, MessageBody: '{"token":"req_slow"}' }));

    const deliveries: string[] = [];
    const errors: unknown[] = [];
    let lateResults = 0;
    const mapping = new EventSourceMapping({
      client: sqs,
      queueUrl: queueUrl!,
      queueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
      functionName: 'riq-worker-test',
      batchSize: 5,
      maximumConcurrency: 1,
      functionTimeoutSeconds: 0.3,
      // Slower than its timeout, and it reports every record as done.
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        deliveries.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        await new Promise((r) => setTimeout(r, 800));
        lateResults += 1;
        return { batchItemFailures: [] };
      },
      onError: (err) => errors.push(err),
    });
    mappings.push(mapping);
    mapping.start();

    const until = Date.now() + 15_000;
    while (deliveries.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await mapping.stop();

    expect(deliveries.slice(0, 2), 'the same message, delivered again after its visibility').toEqual([
      '1',
      '2',
    ]);
    expect(errors.some((e) => e instanceof FunctionTimeoutError)).toBe(true);
    expect(lateResults, 'the handler did finish, late').toBeGreaterThanOrEqual(1);
  });
});
