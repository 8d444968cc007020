/**
 * SqsMoveTaskRedriver's call of SQS: one StartMessageMoveTask per dead-letter queue, from that queue
 * to its own work queue, named explicitly (a message a worker sent to the dead-letter queue itself
 * has no source SQS could send it back to).
 */
import { StartMessageMoveTaskCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsMoveTaskRedriver } from '../../../lambdas/adapters/sqs/sqs-work-queue.js';

const ARN = 'arn:aws:sqs:eu-west-1:111122223333';
const DEAD_LETTER_QUEUE_ARNS = {
  'jira-high': `${ARN}:riq-prod-jira-high-dlq`,
  'confluence-low': `${ARN}:riq-prod-confluence-low-dlq`,
};
const QUEUE_ARNS = {
  'jira-high': `${ARN}:riq-prod-jira-high`,
  'confluence-low': `${ARN}:riq-prod-confluence-low`,
};

/** An SQS client that records each command and answers with `output`. */
function recordingClient(output: object = { TaskHandle: 'task-1' }) {
  const sent: unknown[] = [];
  const client = {
    send: (command: unknown) => {
      sent.push(command);
      return Promise.resolve(output);
    },
  } as unknown as SQSClient;
  return { client, sent };
}

describe('SqsMoveTaskRedriver', () => {
  it("moves a dead-letter queue's messages to its own work queue, naming both", async () => {
    const { client, sent } = recordingClient();
    const redriver = new SqsMoveTaskRedriver(client, DEAD_LETTER_QUEUE_ARNS, QUEUE_ARNS);

    const outcome = await redriver.redrive('confluence-low');

    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(StartMessageMoveTaskCommand);
    expect((sent[0] as StartMessageMoveTaskCommand).input).toEqual({
      SourceArn: `${ARN}:riq-prod-confluence-low-dlq`,
      DestinationArn: `${ARN}:riq-prod-confluence-low`,
    });
    expect(outcome).toEqual({ queue: 'confluence-low', mode: 'move_task', task_handle: 'task-1' });
  });

  it('answers without a task handle when SQS gives none', async () => {
    const { client } = recordingClient({});
    const redriver = new SqsMoveTaskRedriver(client, DEAD_LETTER_QUEUE_ARNS, QUEUE_ARNS);
    expect(await redriver.redrive('jira-high')).toEqual({ queue: 'jira-high', mode: 'move_task' });
  });

  it('starts no task for a queue whose dead-letter or work queue ARN it was not given', async () => {
    const { client, sent } = recordingClient();
    await expect(
      new SqsMoveTaskRedriver(client, DEAD_LETTER_QUEUE_ARNS, QUEUE_ARNS).redrive('jira-low'),
    ).rejects.toThrow('no dead-letter queue ARN configured for jira-low');
    await expect(
      new SqsMoveTaskRedriver(client, DEAD_LETTER_QUEUE_ARNS, {
        'jira-high': QUEUE_ARNS['jira-high'],
      }).redrive('confluence-low'),
    ).rejects.toThrow('no queue ARN configured for confluence-low');
    expect(sent).toEqual([]);
  });
});
