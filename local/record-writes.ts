/**
 * Reports every write to a request's record made through the local stack's DynamoDB client to the
 * process's RecordChanges (lambdas/shared/record-changes.ts), so a long poll answers as soon as its
 * request changes and otherwise leaves DynamoDB Local alone. On AWS each function is a process of
 * its own and a long poll re-reads on a timer; here every function shares this process, and the
 * polls' reads would compete with the work they wait on for its one event loop.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REQUESTS_TABLE } from '../model/config/resources.js';
import type { HeardRecordChanges } from '../lambdas/shared/record-changes.js';

const PK = REQUESTS_TABLE.partitionKey;
const REQUEST_PREFIX = 'REQ#';
const MIDDLEWARE = 'riqHeardRecordWrites';

type Attributes = Record<string, unknown> | undefined;

/** The key's partition value, as the document client gives it or marshalled (`{ S: … }`). */
function partitionOf(attributes: Attributes): string | undefined {
  const value = attributes?.[PK];
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { S?: unknown }).S === 'string') {
    return (value as { S: string }).S;
  }
  return undefined;
}

type WriteInput = {
  Item?: Attributes;
  Key?: Attributes;
  TransactItems?: Array<Record<string, { Item?: Attributes; Key?: Attributes } | undefined>>;
  RequestItems?: Record<string, Array<Record<string, { Item?: Attributes; Key?: Attributes } | undefined>>>;
};

/** The partition values a write command touches (none for reads). */
export function writtenPartitions(commandName: string, input: WriteInput): string[] {
  switch (commandName) {
    case 'PutItemCommand':
    case 'PutCommand':
      return [partitionOf(input.Item)].filter((p): p is string => p !== undefined);
    case 'UpdateItemCommand':
    case 'UpdateCommand':
    case 'DeleteItemCommand':
    case 'DeleteCommand':
      return [partitionOf(input.Key)].filter((p): p is string => p !== undefined);
    case 'TransactWriteItemsCommand':
    case 'TransactWriteCommand':
      return (input.TransactItems ?? []).flatMap((entry) =>
        (['Put', 'Update', 'Delete'] as const)
          .map((kind) => entry[kind])
          .map((op) => partitionOf(op?.Item ?? op?.Key))
          .filter((p): p is string => p !== undefined),
      );
    case 'BatchWriteItemCommand':
    case 'BatchWriteCommand':
      return Object.values(input.RequestItems ?? {}).flatMap((requests) =>
        requests
          .map((r) => partitionOf(r['PutRequest']?.Item ?? r['DeleteRequest']?.Key))
          .filter((p): p is string => p !== undefined),
      );
    default:
      return [];
  }
}

/** The tokens of the request records among `partitions`. */
function tokensOf(partitions: readonly string[]): string[] {
  return partitions.filter((p) => p.startsWith(REQUEST_PREFIX)).map((p) => p.slice(REQUEST_PREFIX.length));
}

/**
 * Makes `client` report each request record it writes to `changes`, once the write went through.
 * Calling it again for the same client changes nothing. Whether that is every write (the workers
 * run in this process, not in a child of their own) is for the caller to tell `changes`.
 */
export function reportRecordWrites(client: DynamoDBClient, changes: HeardRecordChanges): void {
  client.middlewareStack.remove(MIDDLEWARE);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const written = tokensOf(writtenPartitions(context.commandName ?? '', args.input as WriteInput));
      for (const token of written) changes.heard(token);
      return out;
    },
    { step: 'initialize', name: MIDDLEWARE },
  );
}
