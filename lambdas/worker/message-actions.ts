/**
 * Applies a worker decision to its SQS message. Within a partial-batch response, a record that
 * throws stays in the queue with the visibility we set; a record that returns is deleted by the
 * event source mapping.
 */
import type { QueueKey } from '../../lib/config/resources.js';
import type { Disposition } from '../core/process-request.js';
import type { WorkQueue } from '../core/ports.js';

/** Thrown to report a record as a batch item failure on purpose (a retry, not a crash). */
export class MessageKept extends Error {
  override readonly name = 'MessageKept';
}

export async function applyDisposition(
  queue: Pick<WorkQueue, 'changeVisibility' | 'send' | 'sendToDeadLetter'>,
  queueKey: QueueKey,
  receiptHandle: string,
  token: string,
  disposition: Disposition,
): Promise<void> {
  switch (disposition.action) {
    case 'ack':
      return;
    case 'retry':
      await queue.changeVisibility(queueKey, receiptHandle, disposition.delaySeconds);
      throw new MessageKept(`retry in ${disposition.delaySeconds}s (${disposition.outcome})`);
    case 'defer':
      // A new message carries the wait; returning deletes this one, so its receive count is not spent.
      // Should the send fail, the throw keeps this message, which comes back after its visibility timeout.
      await queue.send(queueKey, token, {
        delaySeconds: disposition.delaySeconds,
        ...(disposition.notBefore !== undefined ? { notBefore: disposition.notBefore } : {}),
      });
      return;
    case 'dead-letter':
      // A copy marked as a dead letter, not this message: only the marked copy, redriven by an
      // operator, may revive the dead record (this one, or a stray twin of it, finds it finished).
      // Should the send fail, the throw keeps this message; its next delivery finds the record dead.
      await queue.sendToDeadLetter(queueKey, token);
      return;
  }
}

/** `arn:aws:sqs:region:acct:riq-dev-jira-high` → `jira-high`, given the name prefix `riq-dev`. */
export function queueKeyFromArn(arn: string, namePrefix: string, known: readonly QueueKey[]): QueueKey {
  const name = arn.slice(arn.lastIndexOf(':') + 1);
  const key = name.startsWith(`${namePrefix}-`) ? name.slice(namePrefix.length + 1) : '';
  const match = known.find((k) => k === key);
  if (!match) throw new Error(`message from an unknown queue ${name}`);
  return match;
}
