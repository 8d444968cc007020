/**
 * Creates in the emulators the resources the CDK stateful stack declares, from the same config and
 * the same naming functions (model/config/resources.ts), so local and AWS cannot drift.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ScanCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
  type AttributeValue,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RiqConfig } from '../model/config/riq-config.js';
import {
  REQUESTS_TABLE,
  allQueueKeys,
  bodiesBucketName,
  deadLetterQueueName,
  messageRetentionSeconds,
  queueName,
  queueVisibilityTimeoutSeconds,
  requestsTableName,
  type QueueKey,
} from '../model/config/resources.js';

export async function createRequestsTable(client: DynamoDBClient, config: RiqConfig): Promise<string> {
  const tableName = requestsTableName(config);
  const { partitionKey, sortKey } = REQUESTS_TABLE.statusIndex;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: REQUESTS_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: sortKey, AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: REQUESTS_TABLE.partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [statusIndex()],
      }),
    );
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: REQUESTS_TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (err) {
    // Kept from an earlier run (the local data folder): reuse it, with the index it may lack.
    if (!(err instanceof ResourceInUseException)) throw err;
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const name = REQUESTS_TABLE.statusIndex.name;
    const index = (Table?.GlobalSecondaryIndexes ?? []).find((i) => i.IndexName === name);
    // Each listed request in its status's partition, whatever an earlier run wrote; an index
    // built below is then built with them.
    await keyListedRequests(client, tableName);
    if (index && !projectsAll(index.Projection?.NonKeyAttributes ?? [])) {
      // DynamoDB cannot change an index's projection: it is deleted and built again, as
      // CloudFormation does on AWS.
      await deleteStatusIndex(client, tableName);
      await addStatusIndex(client, tableName);
    } else if (!index) {
      await addStatusIndex(client, tableName);
    }
  }
  return tableName;
}

/** The by-status index (model/config/resources.ts `REQUESTS_TABLE`), as the CDK table declares it. */
function statusIndex(): GlobalSecondaryIndex {
  const { partitionKey, sortKey, name, projected } = REQUESTS_TABLE.statusIndex;
  return {
    IndexName: name,
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projected] },
  };
}

/** Whether an index projecting `nonKey` holds every attribute the by-status index projects now. */
function projectsAll(nonKey: readonly string[]): boolean {
  return REQUESTS_TABLE.statusIndex.projected.every((a) => nonKey.includes(a));
}

/** Deletes the by-status index of a kept table whose projection lacks attributes, and waits until it is gone. */
async function deleteStatusIndex(client: DynamoDBClient, tableName: string): Promise<void> {
  const { name } = REQUESTS_TABLE.statusIndex;
  await client.send(
    new UpdateTableCommand({
      TableName: tableName,
      GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: name } }],
    }),
  );
  const deadline = Date.now() + INDEX_BUILD_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (!(Table?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === name)) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`index ${name} of ${tableName} was not deleted in ${INDEX_BUILD_TIMEOUT_MS / 1000} s`);
}

/** How long the local stack waits for DynamoDB Local to build the index it adds to a kept table. */
export const INDEX_BUILD_TIMEOUT_MS = 120_000;

/**
 * Gives every request the by-status index lists the `listed_status` of its status's partition
 * (model/config/resources.ts `REQUESTS_TABLE.statusIndex.partitions`) where a kept table holds
 * another value or none, so the sweeper and the listings find each of them.
 */
async function keyListedRequests(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, partitions } = REQUESTS_TABLE.statusIndex;
  const byStatus: Record<string, string> = partitions;
  const values = Object.fromEntries(Object.keys(byStatus).map((s, i) => [`:s${i}`, { S: s }]));
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: `begins_with(#pk, :req) AND #status IN (${Object.keys(values).join(', ')})`,
        ExpressionAttributeNames: { '#pk': REQUESTS_TABLE.partitionKey, '#status': 'status' },
        ExpressionAttributeValues: { ':req': { S: 'REQ#' }, ...values },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const status = item['status']?.S ?? '';
      const partition = byStatus[status];
      if (partition === undefined || item[partitionKey]?.S === partition) continue;
      await client
        .send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { [REQUESTS_TABLE.partitionKey]: item[REQUESTS_TABLE.partitionKey]! },
            // Only while the status is still the one read: a worker may have moved it since.
            ConditionExpression: '#status = :status',
            UpdateExpression: 'SET #listed = :partition',
            ExpressionAttributeNames: { '#listed': partitionKey, '#status': 'status' },
            ExpressionAttributeValues: { ':status': { S: status }, ':partition': { S: partition } },
          }),
        )
        .catch((err: unknown) => {
          if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
        });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/**
 * Adds the by-status index to a table kept from a run that had another one (its requests already
 * keyed by keyListedRequests), then waits until it is built.
 */
async function addStatusIndex(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, name } = REQUESTS_TABLE.statusIndex;
  await client.send(
    new UpdateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: 'S' },
        { AttributeName: sortKey, AttributeType: 'S' },
      ],
      GlobalSecondaryIndexUpdates: [{ Create: statusIndex() }],
    }),
  );
  // DynamoDB Local builds the index in the background; on a busy machine (one DynamoDB Local
  // shared by many tables) that has taken over 30 s.
  const deadline = Date.now() + INDEX_BUILD_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const index = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === name);
    if (index?.IndexStatus === 'ACTIVE') return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `index ${name} of ${tableName} did not become active in ${INDEX_BUILD_TIMEOUT_MS / 1000} s`,
  );
}

export interface LocalQueues {
  queueUrls: Record<QueueKey, string>;
  deadLetterQueueUrls: Record<QueueKey, string>;
  queueArns: Record<QueueKey, string>;
}

export async function createWorkQueues(client: SQSClient, config: RiqConfig): Promise<LocalQueues> {
  const out: LocalQueues = { queueUrls: {}, deadLetterQueueUrls: {}, queueArns: {} } as LocalQueues;
  for (const key of allQueueKeys()) {
    const dlqUrl = await createQueue(client, deadLetterQueueName(config, key), {
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
    const dlqArn = await queueArn(client, dlqUrl);
    const url = await createQueue(client, queueName(config, key), {
      VisibilityTimeout: String(queueVisibilityTimeoutSeconds(config)),
      MessageRetentionPeriod: String(messageRetentionSeconds(config)),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlqArn,
        maxReceiveCount: config.retry.maxAttempts,
      }),
    });
    out.queueUrls[key] = url;
    out.deadLetterQueueUrls[key] = dlqUrl;
    out.queueArns[key] = await queueArn(client, url);
  }
  return out;
}

async function createQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!out.QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  return out.QueueUrl;
}

async function queueArn(client: SQSClient, url: string): Promise<string> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = out.Attributes?.['QueueArn'];
  if (!arn) throw new Error(`no QueueArn for ${url}`);
  return arn;
}

/**
 * The bodies bucket (claim check). The emulator keeps no lifecycle, encryption or public access
 * settings: those are the CDK stateful stack's (lib/constructs/bodies-bucket.ts).
 */
export async function createBodiesBucket(client: S3Client, config: RiqConfig): Promise<string> {
  const name = bodiesBucketName(config);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}
