import { CreateQueueCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queuedMessages } from '../../../bench/run-recorder.js';

describe('queuedMessages', () => {
  let server: Awaited<ReturnType<typeof startFauxqs>>;
  let endpoint: string;
  let sqs: SQSClient;

  beforeAll(async () => {
    server = await startFauxqs({ port: 0, logger: false });
    endpoint = `http://127.0.0.1:${server.port}`;
    sqs = new SQSClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
  });
  afterAll(async () => {
    sqs.destroy();
    await server.stop();
  });

  it("sums every queue's visible and delayed messages, read from the SQS emulator", async () => {
    const a = (await sqs.send(new CreateQueueCommand({ QueueName: 'depth-a' }))).QueueUrl!;
    const b = (await sqs.send(new CreateQueueCommand({ QueueName: 'depth-b' }))).QueueUrl!;
    expect(await queuedMessages(endpoint, [a, b])).toBe(0);
    for (let i = 0; i < 3; i++) await sqs.send(new SendMessageCommand({ QueueUrl: a, MessageBody: `m${i}` }));
    await sqs.send(new SendMessageCommand({ QueueUrl: b, MessageBody: 'later', DelaySeconds: 30 }));
    expect(await queuedMessages(endpoint, [a, b])).toBe(4);
    expect(await queuedMessages(endpoint, [b])).toBe(1);
  });
});
