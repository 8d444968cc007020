/**
 * The local stack keeps DynamoDB data between runs (`.riq-local/dynamodb`): a table made by a run
 * whose index listed requests by `status` gets the sparse by-status index, and the requests it
 * lists get their `listed_status`, so the sweeper and the dead-letter listing still see them; one
 * whose by-status index projects fewer attributes than the request listing shows gets it rebuilt;
 * a listed request keyed other than its status's partition is keyed again.
 */
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRequestStore } from '../../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import { newRequestToken } from '../../../lambdas/core/domain/tokens.js';
import { createRequestsTable, INDEX_BUILD_TIMEOUT_MS } from '../../../local/resources.js';
import { REQUESTS_TABLE, requestsTableName } from '../../../model/config/resources.js';
import { startDynamoDbLocal, type RunningService } from '../../../local/services.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';

/*
 * A DynamoDB Local of its own, with its data on disk as the local stack keeps it: the shared one of
 * the integration tests, busy with other files' tables, has left a new index CREATING for minutes.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'riq-kept-table-'));
let dynamo: RunningService;
let client: ReturnType<typeof localDynamo>['client'];
let doc: ReturnType<typeof localDynamo>['doc'];

beforeAll(async () => {
  dynamo = await startDynamoDbLocal({ dataDir });
  ({ client, doc } = localDynamo(dynamo.endpoint));
}, 60_000);

afterAll(async () => {
  await dynamo?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('createRequestsTable on a table kept from an earlier run', () => {
  it(
    'adds the by-status index and lists the queued and dead requests already stored',
    async () => {
      const config = isolatedConfig();
      const tableName = requestsTableName(config);
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'status', AttributeType: 'S' },
            { AttributeName: 'created_at', AttributeType: 'S' },
          ],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'by-status',
              KeySchema: [
                { AttributeName: 'status', KeyType: 'HASH' },
                { AttributeName: 'created_at', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
        }),
      );
      const long = new Date(Date.now() - 3_600_000).toISOString();
      const stored = (status: string) => ({
        pk: `REQ#${newRequestToken()}`,
        owner: 'o',
        operation: 'jira.get_task',
        service: 'jira',
        priority: 'normal',
        payload: { task_id: 'MD-1' },
        status,
        routing_path: 'QUEUED',
        attempts: 0,
        created_at: long,
        updated_at: long,
      });
      const items = ['queued', 'dead', 'completed'].map((status) => {
        const item = stored(status);
        return { ...item, token: item.pk.slice('REQ#'.length) };
      });
      for (const item of items) await doc.send(new PutCommand({ TableName: tableName, Item: item }));

      expect(await createRequestsTable(client, config)).toBe(tableName);
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toContain(
        REQUESTS_TABLE.statusIndex.name,
      );

      const store = new DynamoRequestStore(doc, tableName, 3600);
      const [queued, dead] = items as [(typeof items)[0], (typeof items)[0]];
      const stranded = await store.findStranded({
        status: 'queued',
        updatedBefore: new Date().toISOString(),
        leaseExpiredBefore: Date.now(),
        sweptBefore: new Date().toISOString(),
        limit: 10,
      });
      expect(stranded.map((r) => r.token)).toEqual([queued.token]);
      expect((await store.listByStatus('dead', { limit: 10 })).records.map((r) => r.token)).toEqual([
        dead.token,
      ]);
      expect(await store.countByStatus('completed')).toBe(0);
    },
    INDEX_BUILD_TIMEOUT_MS + 30_000,
  );

  it(
    'builds the by-status index again when it projects fewer attributes than the listing shows',
    async () => {
      const config = isolatedConfig();
      const tableName = requestsTableName(config);
      const { name, partitionKey, sortKey } = REQUESTS_TABLE.statusIndex;
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: partitionKey, AttributeType: 'S' },
            { AttributeName: sortKey, AttributeType: 'S' },
          ],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: name,
              KeySchema: [
                { AttributeName: partitionKey, KeyType: 'HASH' },
                { AttributeName: sortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['token', 'status', 'service'] },
            },
          ],
        }),
      );
      const store = new DynamoRequestStore(doc, tableName, 3600);
      const now = new Date().toISOString();
      const token = newRequestToken();
      await store.insert({
        token,
        owner: 'o',
        operation: 'jira.add_comment',
        service: 'jira',
        priority: 'normal',
        payload: { task_id: 'MD-1', comment: 'c' },
        status: 'dead',
        routing_path: 'QUEUED',
        attempts: 4,
        created_at: now,
        updated_at: now,
      });

      expect(await createRequestsTable(client, config)).toBe(tableName);
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const index = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === name);
      expect(index?.Projection?.NonKeyAttributes).toEqual([...REQUESTS_TABLE.statusIndex.projected]);
      expect((await store.listSummaries('dead', { limit: 10 })).records).toEqual([
        expect.objectContaining({ token, operation: 'jira.add_comment', attempts: 4 }),
      ]);
    },
    2 * INDEX_BUILD_TIMEOUT_MS + 30_000,
  );

  it('keys again a listed request whose listed_status is not its status partition', async () => {
    const config = isolatedConfig();
    const tableName = requestsTableName(config);
    const { partitionKey, partitions } = REQUESTS_TABLE.statusIndex;
    expect(await createRequestsTable(client, config)).toBe(tableName);
    const long = new Date(Date.now() - 3_600_000).toISOString();
    const token = newRequestToken();
    // A processing request whose worker is gone, keyed by its own status rather than its partition.
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: `REQ#${token}`,
          token,
          owner: 'o',
          operation: 'jira.get_task',
          service: 'jira',
          priority: 'normal',
          payload: { task_id: 'MD-1' },
          status: 'processing',
          [partitionKey]: 'processing',
          routing_path: 'QUEUED',
          attempts: 1,
          lease_id: 'gone',
          lease_expires_at: Date.now() - 60_000,
          created_at: long,
          updated_at: long,
        },
      }),
    );
    const store = new DynamoRequestStore(doc, tableName, 3600);
    const stranded = () =>
      store.findStranded({
        status: 'processing',
        updatedBefore: new Date().toISOString(),
        leaseExpiredBefore: Date.now(),
        sweptBefore: new Date().toISOString(),
        limit: 10,
      });
    expect(await stranded()).toEqual([]);

    expect(await createRequestsTable(client, config)).toBe(tableName);
    const item = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `REQ#${token}` } }));
    expect(item.Item?.[partitionKey]).toBe(partitions.processing);
    expect((await stranded()).map((r) => r.token)).toEqual([token]);
  });
});
