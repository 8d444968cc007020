/** Looks inside the local stack's DynamoDB table and queues, as an operator with the console would. */
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { StackInfo } from '../../local/ready-line.js';
import type { QueueKey } from '../../model/config/resources.js';
import { localDynamo, localSqs } from './aws-local.js';

export class StackInspector {
  private readonly dynamo;
  private readonly sqs;

  constructor(private readonly stack: StackInfo) {
    this.dynamo = localDynamo(stack.dynamoEndpoint).doc;
    this.sqs = localSqs(stack.sqsEndpoint);
  }

  /**
   * Items in the requests table: by default the requests and their idempotency keys (`REQ#`,
   * `IDEM#`), what a submit writes; `'all'` counts every item, including what workers write as they
   * finish (saved calls, cache entries, locks, buckets), which may land at any moment.
   */
  async itemCount(kind: 'requests' | 'all' = 'requests'): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.dynamo.send(
        new ScanCommand({
          TableName: this.stack.tableName,
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...(kind === 'requests'
            ? {
                FilterExpression: 'begins_with(pk, :req) OR begins_with(pk, :idem)',
                ExpressionAttributeValues: { ':req': 'REQ#', ':idem': 'IDEM#' },
              }
            : {}),
        }),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return count;
  }

  /** One request's stored item, as the table holds it (or undefined). */
  async record(token: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.dynamo.send(
      new GetCommand({ TableName: this.stack.tableName, Key: { pk: `REQ#${token}` }, ConsistentRead: true }),
    );
    return out.Item;
  }

  /** Tokens of the messages now in a dead-letter queue (received and left to reappear). */
  async deadLetterTokens(key: QueueKey): Promise<string[]> {
    const tokens: string[] = [];
    for (;;) {
      const out = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.stack.deadLetterQueueUrls[key],
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 2,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return tokens;
      for (const m of messages) tokens.push(String((JSON.parse(m.Body ?? '{}') as { token?: string }).token));
    }
  }
}
