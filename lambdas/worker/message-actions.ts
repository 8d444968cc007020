/**
 * Applies a worker decision to its SQS message. Within a partial-batch response, a record that
 * throws stays in the queue with the visibility we set; a record that returns is deleted by the
 * event source mapping.
 */
import type { QueueKey } from '../../model/config/resources.js';
import type { Disposition } from '../core/use-cases/process-request.js';
import type { WorkQueue } from '../core/ports/index.js';

/**
 * The level of the worker's `request processed` line for a disposition. An outcome that a
 * `request state changed` line always tells (completed or failed: the same correlation id, status
 * and attempt) is DEBUG, since CloudWatch Logs bills by the byte; the others are INFO: a deferral,
 * a duplicate or stray message dropped, a lost lease, and a retry or dead letter (whose state line
 * is missing when the lease was lost).
 */
export function processedLineLevel(disposition: Disposition): 'DEBUG' | 'INFO' {
  return STATE_LOGGED.has(disposition.outcome) ? 'DEBUG' : 'INFO';
}

const STATE_LOGGED: ReadonlySet<Disposition['outcome']> = new Set(['completed', 'failed']);

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
        ...(disposition.slotAt !== undefined ? { slotAt: disposition.slotAt } : {}),
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

/** A received message the worker hands back without starting it (see `handBack`). */
export interface UnstartedMessage {
  token: string;
  receiptHandle: string;
  notBefore?: number;
  slotAt?: number;
  deadLetter?: true;
}

/**
 * Hands back a message the worker will not start in this invocation (too little time left, see
 * lambdas/core/domain/attempt-budget.ts), the way a deferral does: a fresh copy, visible at once, and this
 * one deleted (returned as done), so the receive it cost is not counted against the request. Should
 * the send fail, this message is kept as a batch item failure made visible again at once: it comes
 * back promptly, with the receive spent, which is still better than the whole batch timing out.
 */
export async function handBack(
  queue: Pick<WorkQueue, 'changeVisibility' | 'send'>,
  queueKey: QueueKey,
  message: UnstartedMessage,
): Promise<void> {
  try {
    await queue.send(queueKey, message.token, {
      delaySeconds: 0,
      ...(message.notBefore !== undefined ? { notBefore: message.notBefore } : {}),
      ...(message.slotAt !== undefined ? { slotAt: message.slotAt } : {}),
      ...(message.deadLetter === true ? { deadLetter: true as const } : {}),
    });
    return;
  } catch (err) {
    await queue.changeVisibility(queueKey, message.receiptHandle, 0);
    throw new MessageKept('handed back unstarted: the fresh copy could not be sent', { cause: err });
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
