/**
 * Drops the read cache's items (`CACHE#…` entries and `CACHEGEN#…` search generations) from the
 * requests table. The local stack does so when its simulator starts afresh or is reset: the table
 * may be kept on disk between runs (RIQ_DATA_DIR) while the simulator's issues and pages are not,
 * and a cached read must not answer with an object the simulator no longer has.
 */
import { BatchWriteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../model/config/resources.js';

const PK = REQUESTS_TABLE.partitionKey;
/** BatchWriteItem's limit. */
const BATCH = 25;

/** Deletes every read-cache item of `tableName`; answers how many there were. */
export async function clearReadCache(doc: DynamoDBDocumentClient, tableName: string): Promise<number> {
  const keys: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#pk',
        FilterExpression: 'begins_with(#pk, :entry) OR begins_with(#pk, :generation)',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: {
          ':entry': `${REQUESTS_TABLE.cacheKeyPrefix}#`,
          ':generation': `${REQUESTS_TABLE.cacheGenerationKeyPrefix}#`,
        },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    keys.push(...(page.Items ?? []).map((item) => ({ [PK]: item[PK] })));
    start = page.LastEvaluatedKey;
  } while (start);
  for (let i = 0; i < keys.length; i += BATCH) {
    let requests = keys.slice(i, i + BATCH).map((Key) => ({ DeleteRequest: { Key } }));
    // Unprocessed items (throttling) are sent again until none is left.
    while (requests.length > 0) {
      const answer = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (answer.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  }
  return keys.length;
}
