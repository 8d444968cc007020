/**
 * Nothing lost (DESIGN invariant 1): a record stored `queued` whose SQS send never happened is
 * found by the local stack's sweeper (every RIQ_SWEEP_INTERVAL_MS, a minute by default) and
 * completed by the worker.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { newRequestToken } from '../../lambdas/core/domain/tokens.js';
import { REQUESTS_TABLE } from '../../model/config/resources.js';
import { localDynamo } from '../support/aws-local.js';
import { RiqHttp } from '../support/riq-http.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const dynamo = localDynamo(stack.dynamoEndpoint).doc;

describe('sweeper', () => {
  it('completes an orphaned queued request (stored, never sent to SQS)', { timeout: 120_000 }, async () => {
    const created = await api.submit({
      operation: 'jira.create_task',
      payload: { title: `orphan ${Date.now()}`, project_id: 'MD' },
    });
    const issue = await api.waitFor(String(created.body['token']));
    expect(issue.body['status']).toBe('completed');
    const key = String((issue.body['result'] as { key: string }).key);

    // What submit leaves when the DynamoDB write succeeds and the SQS send fails.
    const token = newRequestToken();
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await dynamo.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: {
          pk: `REQ#${token}`,
          token,
          owner: 'arn:aws:iam::000000000000:user/local-developer',
          operation: 'jira.get_task',
          service: 'jira',
          priority: 'normal',
          payload: { task_id: key },
          status: 'queued',
          // As the store writes it: the by-status index lists the request.
          [REQUESTS_TABLE.statusIndex.partitionKey]: 'queued',
          routing_path: 'QUEUED',
          attempts: 0,
          created_at: longAgo,
          updated_at: longAgo,
        },
      }),
    );
    expect((await api.result(token)).body['status']).toBe('queued');

    const done = await api.waitFor(token, 100_000);
    expect(done.body).toMatchObject({ status: 'completed', attempts: 1 });
    expect((done.body['result'] as { key: string }).key).toBe(key);
  });
});
