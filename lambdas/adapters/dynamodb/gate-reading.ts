/**
 * The gate's items of one service as one DynamoDB batch read found them (dynamo-flow-gate-reader.ts),
 * and how an adapter finds its own item in such a reading.
 */
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import type { Service } from '../../../model/config/riq-config.js';
import type { GateReading } from '../../core/ports/flow-control.js';

const PK = REQUESTS_TABLE.partitionKey;

type Key = Record<string, string>;

/** The items one batch read found, by partition key: null for an item that does not exist. */
export class DynamoGateReading implements GateReading {
  constructor(
    readonly service: Service,
    private readonly items: ReadonlyMap<string, Record<string, unknown> | null>,
  ) {}

  /**
   * The item under `key` as read (`{ item: undefined }` when it does not exist), or undefined when
   * the batch did not read it.
   */
  item(key: Key): { item: Record<string, unknown> | undefined } | undefined {
    const found = this.items.get(String(key[PK]));
    return found === undefined ? undefined : { item: found ?? undefined };
  }
}

/** The item `key` names in `reading`, when it is a DynamoDB reading of `service` that read it. */
export function itemFromReading(
  reading: GateReading | undefined,
  service: Service,
  key: Key,
): { item: Record<string, unknown> | undefined } | undefined {
  return reading instanceof DynamoGateReading && reading.service === service ? reading.item(key) : undefined;
}
