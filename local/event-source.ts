/**
 * Polls a queue and invokes a worker the way Lambda's SQS event source mapping does: up to
 * `maximumConcurrency` batches in flight, `batchSize` messages a batch, partial batch failures
 * (`batchItemFailures` stay in the queue with whatever visibility the worker set; the others are
 * deleted), and a failed invocation leaves the whole batch to come back after its visibility timeout.
 * An invocation still running at the function's timeout has failed, as on Lambda
 * (local/lambda-invoke.ts): its batch is left to come back, whatever the handler does late.
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { invokeWithTimeout } from './lambda-invoke.js';

export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface EventSourceOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: WorkerHandler;
  functionName: string;
  batchSize: number;
  maximumConcurrency: number;
  functionTimeoutSeconds: number;
  onError?: (err: unknown) => void;
}

export class EventSourceMapping {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly abort = new AbortController();

  constructor(private readonly options: EventSourceOptions) {}

  start(): void {
    this.running = true;
    for (let i = 0; i < this.options.maximumConcurrency; i++) this.loops.push(this.poll());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async poll(): Promise<void> {
    const o = this.options;
    while (this.running) {
      let messages: Message[];
      try {
        const out = await o.client.send(
          new ReceiveMessageCommand({
            QueueUrl: o.queueUrl,
            MaxNumberOfMessages: o.batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (!this.running) return;
        o.onError?.(err);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0) continue;
      await this.invoke(messages);
    }
  }

  private async invoke(messages: Message[]): Promise<void> {
    const o = this.options;
    const records = messages.map((m) => toRecord(m, o.queueArn));
    let failed: Set<string>;
    try {
      const response = await invokeWithTimeout(
        o.handler,
        { Records: records },
        { functionName: o.functionName, timeoutSeconds: o.functionTimeoutSeconds },
        {
          onLate: ({ error }) =>
            o.onError?.(
              new Error(`${o.functionName}: a timed-out invocation finished late; its result is ignored`, {
                cause: error,
              }),
            ),
        },
      );
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // An invocation error or timeout: Lambda deletes nothing; the batch returns after its
      // visibility timeout.
      o.onError?.(err);
      return;
    }
    const done = messages.filter((m) => m.MessageId && !failed.has(m.MessageId));
    if (done.length === 0) return;
    try {
      await o.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: o.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    } catch (err) {
      o.onError?.(err);
    }
  }
}

/** The event record Lambda builds from a received message. */
export function toRecord(m: Message, queueArn: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a['ApproximateReceiveCount'] ?? '1',
      SentTimestamp: a['SentTimestamp'] ?? String(Date.now()),
      SenderId: a['SenderId'] ?? 'local',
      ApproximateFirstReceiveTimestamp: a['ApproximateFirstReceiveTimestamp'] ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}
