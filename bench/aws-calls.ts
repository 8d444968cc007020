/**
 * Counts the AWS SDK requests this process makes, by service and command: the evidence for the
 * cost arithmetic of docs/runbook.md (DynamoDB request units, SQS requests per RIQ request). Every SDK v3
 * client (DynamoDB, the document client, SQS) extends the Smithy `Client`, whose `send` is wrapped
 * here once; the local stack runs the Lambda handlers in this process, so their requests are
 * counted too. Benchmark-only code: nothing in the product imports it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

type Send = (command: unknown, ...rest: unknown[]) => Promise<unknown>;

const counts = new Map<string, number>();
let installed = false;

/** Starts counting (idempotent). */
export function countAwsCalls(): void {
  if (installed) return;
  installed = true;
  const smithyClient = Object.getPrototypeOf(DynamoDBClient.prototype) as { send: Send };
  const send = smithyClient.send;
  smithyClient.send = async function (this: unknown, command: unknown, ...rest: unknown[]) {
    const name = apiName((command as { constructor: { name: string } }).constructor.name);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const output = await send.call(this, command, ...rest);
    if (name === 'ReceiveMessage') {
      const received = (output as { Messages?: unknown[] } | undefined)?.Messages?.length ?? 0;
      counts.set(MESSAGES_RECEIVED, (counts.get(MESSAGES_RECEIVED) ?? 0) + received);
    }
    return output;
  };
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
