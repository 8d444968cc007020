/**
 * Counts the AWS SDK requests this process makes, by service and command: the evidence for the
 * cost arithmetic of docs/runbook.md (DynamoDB request units, SQS requests per RIQ request). Every SDK v3
 * client (DynamoDB, the document client, SQS) extends the Smithy `Client`, whose `send` is wrapped
 * here once; the local stack runs the Lambda handlers in this process, so their requests are
 * counted too. Benchmark-only code: nothing in the product imports it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REQUESTS_TABLE } from '../model/config/resources.js';

type Send = (command: unknown, ...rest: unknown[]) => Promise<unknown>;

const counts = new Map<string, number>();
const log: AwsCall[] = [];
let installed = false;

/** One request: its API action and, for a DynamoDB item request, the item's partition key. */
export interface AwsCall {
  action: string;
  /** `pk` of the item a GetItem, PutItem, UpdateItem or DeleteItem names. */
  pk?: string;
}

/** Starts counting (idempotent). */
export function countAwsCalls(): void {
  if (installed) return;
  installed = true;
  const smithyClient = Object.getPrototypeOf(DynamoDBClient.prototype) as { send: Send };
  const send = smithyClient.send;
  smithyClient.send = async function (this: unknown, command: unknown, ...rest: unknown[]) {
    const name = apiName((command as { constructor: { name: string } }).constructor.name);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const pk = itemKeyOf((command as { input?: unknown }).input);
    log.push({ action: name, ...(pk !== undefined ? { pk } : {}) });
    const dynamo = DYNAMODB_READS.has(name) || DYNAMODB_WRITES.has(name);
    if (dynamo) askForCapacity(command);
    let output: unknown;
    try {
      output = await send.call(this, command, ...rest);
    } catch (err) {
      // A write refused by its condition is still billed the write units of the item (at least 1).
      if (
        DYNAMODB_WRITES.has(name) &&
        (err as { name?: string }).name === 'ConditionalCheckFailedException'
      ) {
        add(WRITE_UNITS, 1);
        add(FAILED_CONDITIONS, 1);
      }
      throw err;
    }
    if (name === 'BatchGetItem') add(READ_UNITS, batchGetReadUnits(command, output));
    else if (dynamo) addCapacity(name, output);
    if (name === 'ReceiveMessage') {
      const received = (output as { Messages?: unknown[] } | undefined)?.Messages?.length ?? 0;
      add(MESSAGES_RECEIVED, received);
    }
    return output;
  };
}

function add(key: string, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/**
 * DynamoDB answers the capacity units a request consumed, the table's and each index's, when the
 * request asks (`ReturnConsumedCapacity: INDEXES`); DynamoDB Local answers them as DynamoDB does
 * (4 KB read units, strongly consistent reads 1 per 4 KB; 1 KB write units; an index write for each
 * item that enters, leaves or changes in an index). Asking changes nothing else in the answer the
 * product reads.
 */
function askForCapacity(command: unknown): void {
  const input = (command as { input?: Record<string, unknown> }).input;
  if (input && input['ReturnConsumedCapacity'] === undefined) input['ReturnConsumedCapacity'] = 'INDEXES';
}

interface Capacity {
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

/**
 * A BatchGetItem's read units as AWS bills them: each item read apart, 1 unit strongly consistent
 * or 0.5 eventually consistent per 4 KB (RIQ's gate items are far under 4 KB), the keys left
 * unprocessed not billed. DynamoDB Local reports a batch's consumed capacity otherwise, so its
 * report is not used.
 */
export function batchGetReadUnits(command: unknown, output: unknown): number {
  const asked = (
    command as { input?: { RequestItems?: Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }> } }
  ).input?.RequestItems;
  const left = (output as { UnprocessedKeys?: Record<string, { Keys?: unknown[] }> } | undefined)
    ?.UnprocessedKeys;
  let units = 0;
  for (const [table, request] of Object.entries(asked ?? {})) {
    const read = (request.Keys?.length ?? 0) - (left?.[table]?.Keys?.length ?? 0);
    units += read * (request.ConsistentRead === true ? 1 : 0.5);
  }
  return units;
}

function addCapacity(name: string, output: unknown): void {
  const consumed = (output as { ConsumedCapacity?: Capacity | Capacity[] } | undefined)?.ConsumedCapacity;
  if (consumed === undefined) return;
  const write = DYNAMODB_WRITES.has(name);
  for (const c of Array.isArray(consumed) ? consumed : [consumed]) {
    const total = c.CapacityUnits ?? 0;
    const indexes = Object.values(c.GlobalSecondaryIndexes ?? {}).reduce(
      (n, i) => n + (i.CapacityUnits ?? 0),
      0,
    );
    add(write ? WRITE_UNITS : READ_UNITS, total);
    if (write) add(INDEX_WRITE_UNITS, indexes);
  }
}

const DYNAMODB_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const DYNAMODB_WRITES = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

/** DynamoDB read units consumed (tables and indexes). */
export const READ_UNITS = 'DynamoDB.readUnits';
/** DynamoDB write units consumed, the indexes' included, and a refused conditional write's 1. */
export const WRITE_UNITS = 'DynamoDB.writeUnits';
/** The part of WRITE_UNITS spent on keeping indexes up to date. */
export const INDEX_WRITE_UNITS = 'DynamoDB.indexWriteUnits';
/** Conditional writes DynamoDB refused (ConditionalCheckFailedException). */
export const FAILED_CONDITIONS = 'DynamoDB.failedConditions';
/** Bytes this process wrote to stdout and stderr: the log lines a Lambda would send to CloudWatch. */
export const LOG_BYTES = 'log.bytes';

let countingLogs = false;

/**
 * Also counts the bytes written to stdout and stderr (LOG_BYTES): in the local stack the handlers'
 * log lines and EMF metric lines go there, as they go to CloudWatch Logs in AWS.
 */
export function countLogBytes(): void {
  if (countingLogs) return;
  countingLogs = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      add(LOG_BYTES, typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength);
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** The count of messages the `ReceiveMessage` calls returned: deliveries to the workers. */
export const MESSAGES_RECEIVED = 'ReceiveMessage.messages';

/**
 * The API action a command performs. The document client's commands (`GetCommand`…) run the plain
 * command's middleware without a second `send`, so each is counted once, under the action's name.
 */
const DOCUMENT_COMMANDS: Record<string, string> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  TransactWriteCommand: 'TransactWriteItems',
  TransactGetCommand: 'TransactGetItems',
  BatchGetCommand: 'BatchGetItem',
  BatchWriteCommand: 'BatchWriteItem',
};

function apiName(commandName: string): string {
  return DOCUMENT_COMMANDS[commandName] ?? commandName.replace(/Command$/, '');
}

/** The counts so far, by API action (`GetItem`, `SendMessage`…). */
export function awsCallCounts(): Record<string, number> {
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** `after − before`, per command, only the commands that moved. */
export function awsCallsBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(after)) {
    const delta = n - (before[name] ?? 0);
    if (delta > 0) out[name] = delta;
  }
  return out;
}

/** Every request so far, in order (`awsCallLog().length` marks a point to slice from). */
export function awsCallLog(): readonly AwsCall[] {
  return log;
}

/** The partition key of the item a DynamoDB item request names (its `input`), as a string. */
export function itemKeyOf(input: unknown): string | undefined {
  const { Key, Item } = (input ?? {}) as { Key?: Record<string, unknown>; Item?: Record<string, unknown> };
  const pk = (Key ?? Item)?.[REQUESTS_TABLE.partitionKey];
  if (typeof pk === 'string') return pk;
  // The plain client's attribute values (`{ S: '…' }`).
  const s = (pk as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
}
