/**
 * The read cache's items dropped from a requests table on DynamoDB Local (what the local stack does
 * when its simulator starts afresh or is reset): every `CACHE#` entry and `CACHEGEN#` generation,
 * past one page of a scan, and nothing else.
 */
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createRequestsTable } from '../../../local/resources.js';
import { clearReadCache } from '../../../local/read-cache-reset.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
let tableName: string;

async function put(pks: string[]): Promise<void> {
  for (let i = 0; i < pks.length; i += 25) {
    const items = pks
      .slice(i, i + 25)
      .map((pk) => ({ PutRequest: { Item: { pk, filler: 'x'.repeat(2_000) } } }));
    await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: items } }));
  }
}

async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    keys.push(...(page.Items ?? []).map((i) => String(i['pk'])));
    start = page.LastEvaluatedKey;
  } while (start);
  return keys.sort();
}

beforeAll(async () => {
  tableName = await createRequestsTable(client, isolatedConfig());
});

describe('clearReadCache', () => {
  it('drops every cache entry and search generation, and keeps requests and the rest', async () => {
    // ~1.2 MB of cache entries: more than one 1 MB scan page.
    const entries = Array.from({ length: 600 }, (_v, i) => `CACHE#jira.get_task#${i}`);
    const kept = ['REQ#req_1', 'IDEM#k', 'BREAKER#jira', 'CACHED#not-a-cache-item'];
    await put([...entries, 'CACHEGEN#jira', 'CACHEGEN#confluence', ...kept]);

    expect(await clearReadCache(doc, tableName)).toBe(602);
    expect(await allKeys()).toEqual([...kept].sort());
    expect(await clearReadCache(doc, tableName)).toBe(0);
  });
});
