/** WorkQueue on SQS: one queue (and one dead-letter queue) per service × priority. */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { QueueKey } from '../../../model/config/resources.js';
import type {
  DeadLetterRedriver,
  QueueDepth,
  RedriveOutcome,
  SendOptions,
  WorkQueue,
} from '../../core/ports/index.js';

/** The message body: the record holds everything else. */
export interface WorkMessage {
  token: string;
  /** Epoch ms: a deferral longer than SQS's 15-minute delay is chained until then. */
  not_before?: number;
  /** Epoch ms: the rate slot a deferral was given (lambdas/core/domain/token-bucket.ts). */
  slot_at?: number;
  /** The copy put in the dead-letter queue when the request died: redriven, it may revive it. */
  dead_letter?: true;
}

export class SqsWorkQueue implements WorkQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Partial<Record<QueueKey, string>>,
    private readonly deadLetterQueueUrls: Partial<Record<QueueKey, string>> = {},
  ) {}

  async send(queue: QueueKey, token: string, options: SendOptions = {}): Promise<void> {
    const body: WorkMessage = {
      token,
      ...(options.notBefore !== undefined ? { not_before: options.notBefore } : {}),
      ...(options.slotAt !== undefined ? { slot_at: options.slotAt } : {}),
      ...(options.deadLetter === true ? { dead_letter: true as const } : {}),
    };
    const delay = options.delaySeconds;
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.url(queue),
        MessageBody: JSON.stringify(body),
        ...(delay !== undefined ? { DelaySeconds: Math.max(0, Math.min(900, Math.round(delay))) } : {}),
      }),
    );
  }

  async sendToDeadLetter(queue: QueueKey, token: string): Promise<void> {
    const url = this.deadLetterQueueUrls[queue];
    if (!url) throw new Error(`no dead-letter queue URL configured for ${queue}`);
    const body: WorkMessage = { token, dead_letter: true };
    await this.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(body) }));
  }

  async changeVisibility(queue: QueueKey, receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.url(queue),
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
      }),
    );
  }

  depth(queue: QueueKey): Promise<QueueDepth> {
    return queueDepthAt(this.client, this.url(queue));
  }

  async deadLetterDepth(queue: QueueKey): Promise<number> {
    const url = this.deadLetterQueueUrls[queue];
    if (!url) throw new Error(`no dead-letter queue URL configured for ${queue}`);
    const depth = await queueDepthAt(this.client, url);
    return depth.visible + depth.inFlight;
  }

  private url(queue: QueueKey): string {
    const url = this.queueUrls[queue];
    if (!url) throw new Error(`no queue URL configured for ${queue}`);
    return url;
  }
}

/**
 * Redrive with SQS's own message move task (what the console's "Start DLQ redrive" does): SQS moves
 * the messages of a dead-letter queue to its work queue, in the background. The destination is
 * always named: a move task without one sends each message back to the queue SQS moved it from,
 * and the copies a worker or the DIRECT path sent to the dead-letter queue themselves have none.
 */
export class SqsMoveTaskRedriver implements DeadLetterRedriver {
  constructor(
    private readonly client: SQSClient,
    private readonly deadLetterQueueArns: Partial<Record<QueueKey, string>>,
    private readonly queueArns: Partial<Record<QueueKey, string>>,
  ) {}

  async redrive(queue: QueueKey): Promise<RedriveOutcome> {
    const source = this.deadLetterQueueArns[queue];
    if (!source) throw new Error(`no dead-letter queue ARN configured for ${queue}`);
    const destination = this.queueArns[queue];
    if (!destination) throw new Error(`no queue ARN configured for ${queue}`);
    const out = await this.client.send(
      new StartMessageMoveTaskCommand({ SourceArn: source, DestinationArn: destination }),
    );
    return { queue, mode: 'move_task', ...(out.TaskHandle ? { task_handle: out.TaskHandle } : {}) };
  }
}

/**
 * Redrive by hand, for SQS emulators without message move tasks: receive each dead letter, send its
 * body to the source queue, then delete it. A crash between send and delete leaves a duplicate
 * message, which the worker's conditional claim makes harmless.
 */
export class SqsCopyRedriver implements DeadLetterRedriver {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Partial<Record<QueueKey, string>>,
    private readonly deadLetterQueueUrls: Partial<Record<QueueKey, string>>,
  ) {}

  async redrive(queue: QueueKey): Promise<RedriveOutcome> {
    const source = this.queueUrls[queue];
    const dlq = this.deadLetterQueueUrls[queue];
    if (!source || !dlq) throw new Error(`no queue or dead-letter queue URL configured for ${queue}`);
    let moved = 0;
    for (;;) {
      const out = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: dlq,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 30,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return { queue, mode: 'copy', moved };
      for (const message of messages) {
        await this.client.send(new SendMessageCommand({ QueueUrl: source, MessageBody: message.Body ?? '' }));
        await this.client.send(
          new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: message.ReceiptHandle ?? '' }),
        );
        moved += 1;
      }
    }
  }
}

/** Parses a message body; a body that is not ours is reported, never silently dropped. */
export function parseWorkMessage(body: string): WorkMessage {
  const parsed: unknown = JSON.parse(body);
  if (typeof parsed === 'object' && parsed !== null && typeof (parsed as WorkMessage).token === 'string') {
    const { token, not_before: notBefore, slot_at: slotAt, dead_letter: deadLetter } = parsed as WorkMessage;
    return {
      token,
      ...(typeof notBefore === 'number' ? { not_before: notBefore } : {}),
      ...(typeof slotAt === 'number' && Number.isFinite(slotAt) ? { slot_at: slotAt } : {}),
      ...(deadLetter === true ? { dead_letter: true as const } : {}),
    };
  }
  throw new Error('message body is not a RIQ work message');
}

/** The message counts of the queue at `url` (one GetQueueAttributes). */
export async function queueDepthAt(client: SQSClient, url: string): Promise<QueueDepth> {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a['ApproximateNumberOfMessages'] ?? 0),
    inFlight: Number(a['ApproximateNumberOfMessagesNotVisible'] ?? 0),
    delayed: Number(a['ApproximateNumberOfMessagesDelayed'] ?? 0),
  };
}

/** Every message a queue holds: visible, in flight and delayed. */
export function totalMessages(depth: QueueDepth): number {
  return depth.visible + depth.inFlight + depth.delayed;
}
