import { describe, expect, it } from 'vitest';
import type { SendOptions } from '../../../lambdas/core/ports/index.js';
import { MessageKept, handBack } from '../../../lambdas/worker/message-actions.js';

/** The two SQS calls `handBack` may make, recorded; `send` fails when told to. */
function fakeQueue(sendFails = false) {
  const calls: Array<[string, ...unknown[]]> = [];
  return {
    calls,
    async send(queue: string, token: string, options?: SendOptions) {
      calls.push(['send', queue, token, options]);
      if (sendFails) throw new Error('SQS unavailable');
    },
    async changeVisibility(queue: string, receiptHandle: string, seconds: number) {
      calls.push(['changeVisibility', queue, receiptHandle, seconds]);
    },
  };
}

describe('handBack', () => {
  it('sends a fresh copy visible at once and lets the received message go (its receive not counted)', async () => {
    const queue = fakeQueue();
    await handBack(queue, 'jira-high', { token: 'req_1', receiptHandle: 'rh-1', notBefore: 42 });
    expect(queue.calls).toEqual([['send', 'jira-high', 'req_1', { delaySeconds: 0, notBefore: 42 }]]);
  });

  it('keeps the mark of a dead-letter copy, which alone may revive its dead record', async () => {
    const queue = fakeQueue();
    await handBack(queue, 'jira-high', { token: 'req_1', receiptHandle: 'rh-1', deadLetter: true });
    expect(queue.calls).toEqual([['send', 'jira-high', 'req_1', { delaySeconds: 0, deadLetter: true }]]);
  });

  it('keeps the message, visible again at once, when the copy cannot be sent', async () => {
    const queue = fakeQueue(true);
    await expect(handBack(queue, 'jira-high', { token: 'req_1', receiptHandle: 'rh-1' })).rejects.toThrow(
      MessageKept,
    );
    expect(queue.calls.at(-1)).toEqual(['changeVisibility', 'jira-high', 'rh-1', 0]);
  });
});
