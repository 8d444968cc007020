/**
 * FlowGateReader on DynamoDB: the breaker, the rate bucket and the points budget of a service are
 * read with one BatchGetItem (strongly consistent, as each adapter's own read is), instead of one
 * GetItem each. The gate's steps then decide from what it found (DynamoCircuitBreaker,
 * DynamoRateGate, DynamoPointsBudget take their item from the reading) and write conditionally on
 * the version read, exactly as after their own read.
 *
 * DynamoDB may leave keys of a batch unprocessed (`UnprocessedKeys`, under throttling): they are
 * asked again with a short, growing pause; a key still unprocessed after that is simply not in the
 * reading, and its adapter reads it itself.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import type { Service } from '../../../model/config/riq-config.js';
import type { FlowGateReader } from '../../core/ports/flow-control.js';
import { breakerKey } from './dynamo-circuit-breaker.js';
import { pointsBudgetKey } from './dynamo-points-budget.js';
import { rateBucketKey } from './dynamo-rate-gate.js';
import { DynamoGateReading } from './gate-reading.js';

const PK = REQUESTS_TABLE.partitionKey;

type Key = Record<string, string>;

/** Batches asked again for their unprocessed keys, after the first, before those keys are left out. */
const UNPROCESSED_RETRIES = 3;

export interface DynamoFlowGateReaderOptions {
  /** Whether the points budget is read too (the gate charges points). @default true */
  points?: boolean;
  /** Pause before asking again for unprocessed keys: `pauseMs × try`. @default 20 */
  pauseMs?: number;
}

export class DynamoFlowGateReader implements FlowGateReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoFlowGateReaderOptions = {},
  ) {}

  async read(service: Service): Promise<DynamoGateReading> {
    const keys = [
      breakerKey(service),
      rateBucketKey(service),
      ...(this.options.points === false ? [] : [pointsBudgetKey(service)]),
    ];
    const items = new Map<string, Record<string, unknown> | null>();
    let pending: Key[] = keys;
    for (let tried = 0; pending.length > 0 && tried <= UNPROCESSED_RETRIES; tried++) {
      if (tried > 0) await pause((this.options.pauseMs ?? 20) * tried);
      const out = await this.client.send(
        new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      const unprocessed = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Key[];
      const left = new Set(unprocessed.map((k) => String(k[PK])));
      for (const item of out.Responses?.[this.tableName] ?? []) items.set(String(item[PK]), item);
      // A key neither answered nor left unprocessed has no item.
      for (const key of pending) {
        const pk = String(key[PK]);
        if (!left.has(pk) && !items.has(pk)) items.set(pk, null);
      }
      pending = pending.filter((k) => left.has(String(k[PK])));
    }
    return new DynamoGateReading(service, items);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
