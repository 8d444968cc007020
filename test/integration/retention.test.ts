/**
 * Retention on DynamoDB Local: the table's TTL attribute is on, and what each kind of item
 * carries in it after a real lifecycle through the submit and worker use cases with the DynamoDB
 * stores and the Powertools idempotency layer. A configured retention of 3 days (not the default 7)
 * shows the config is what sets it. DynamoDB deletes an item some time after its TTL passes; what
 * RIQ controls, and what is checked here, is the attribute and whether it is there.
 */
import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { UpstreamError, ValidationError } from '../../model/errors.js';
import type { OperationExecutor, WorkQueue } from '../../lambdas/core/ports/index.js';
import { processRequest, type ProcessDeps } from '../../lambdas/core/use-cases/process-request.js';
import { parseSubmitBody } from '../../lambdas/core/domain/submit-command.js';
import { submit, type SubmitResponse } from '../../lambdas/core/use-cases/submit.js';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import { IdempotentExecutor, callRecordKey } from '../../lambdas/adapters/dynamodb/idempotent-executor.js';
import { idempotencyKey, requestKey } from '../../lambdas/adapters/dynamodb/request-items.js';
import { REQUESTS_TABLE } from '../../model/config/resources.js';
import { createRequestsTable } from '../../local/resources.js';
import { isolatedConfig, localDynamo } from '../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const RETENTION_DAYS = 3;
const config = isolatedConfig({ retentionDays: RETENTION_DAYS, routing: { direct: false } });
const RETENTION_SECONDS = RETENTION_DAYS * 86_400;
const OWNER = 'arn:aws:iam::1:user/retention';
let tableName: string;
let store: DynamoRequestStore;

beforeAll(async () => {
  tableName = await createRequestsTable(client, config);
  store = new DynamoRequestStore(doc, tableName, RETENTION_SECONDS);
});

async function item(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
  return (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
}

/** Submits (with an idempotency key) and runs one worker delivery with `execute` behind the idempotency layer. */
async function lifecycle(
  execute: OperationExecutor['execute'],
  options: { attemptsBefore?: number } = {},
): Promise<{ token: string; key: string }> {
  const key = `retention-${Math.random().toString(36).slice(2)}`;
  const queue = { send: async () => undefined } as unknown as WorkQueue;
  const answer = (await submit(
    { store, queue, clock: { now: () => Date.now() }, config },
    parseSubmitBody(
      JSON.stringify({
        operation: 'jira.create_task',
        payload: { title: 'Kept', project_id: 'MD' },
        idempotency_key: key,
      }),
      100_000,
    ),
    OWNER,
  )) as SubmitResponse;
  if (options.attemptsBefore !== undefined) {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: requestKey(answer.token),
        UpdateExpression: 'SET attempts = :n',
        ExpressionAttributeValues: { ':n': options.attemptsBefore },
      }),
    );
  }
  const deps: ProcessDeps = {
    store,
    executor: new IdempotentExecutor(
      { execute },
      {
        client,
        tableName,
        retentionSeconds: RETENTION_SECONDS,
        callTimeoutSeconds: config.worker.timeoutSeconds,
      },
    ),
    clock: { now: () => Date.now() },
    config,
    leaseSeconds: 40,
  };
  await processRequest(deps, { token: answer.token, receiveCount: 1 });
  return { token: answer.token, key: `${OWNER}\n${key}` };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('retention on DynamoDB Local', () => {
  it('has TTL on the expiry attribute of the requests table', async () => {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: REQUESTS_TABLE.ttlAttribute,
    });
  });

  it('lets a completed request, its idempotency key and its saved call expire after the retention', async () => {
    const { token, key } = await lifecycle(async () => ({ key: 'MD-1', id: '10000' }));
    const record = await item(requestKey(token));
    expect(record?.['status']).toBe('completed');
    const completedAt = Math.floor(Date.parse(String(record?.['completed_at'])) / 1000);
    expect(record?.['expires_at']).toBe(completedAt + RETENTION_SECONDS);
    // The key and the saved call live as long as the record (counted from their own writes).
    const idem = await item(idempotencyKey(key));
    expect(Number(idem?.['expires_at'])).toBeGreaterThanOrEqual(nowSeconds() + RETENTION_SECONDS - 60);
    expect(Number(idem?.['expires_at'])).toBeLessThanOrEqual(Number(record?.['expires_at']));
    const call = await item({ [REQUESTS_TABLE.partitionKey]: callRecordKey(token) });
    expect(Math.abs(Number(call?.['expires_at']) - (nowSeconds() + RETENTION_SECONDS))).toBeLessThanOrEqual(
      60,
    );
  });

  it('lets a failed request expire after the retention', async () => {
    const { token } = await lifecycle(async () => {
      throw ValidationError.forField('project', 'valid project is required');
    });
    const record = await item(requestKey(token));
    expect(record?.['status']).toBe('failed');
    const finishedAt = Math.floor(Date.parse(String(record?.['completed_at'])) / 1000);
    expect(record?.['expires_at']).toBe(finishedAt + RETENTION_SECONDS);
    // A call that threw leaves no saved call to expire.
    expect(await item({ [REQUESTS_TABLE.partitionKey]: callRecordKey(token) })).toBeUndefined();
  });

  it('never lets a dead request expire', async () => {
    const { token } = await lifecycle(
      async () => {
        throw new UpstreamError('SERVICE_UNAVAILABLE', 'HTTP 503', { status: 503 });
      },
      { attemptsBefore: config.retry.maxAttempts - 1 },
    );
    const record = await item(requestKey(token));
    expect(record?.['status']).toBe('dead');
    expect(record).not.toHaveProperty('expires_at');
  });
});
