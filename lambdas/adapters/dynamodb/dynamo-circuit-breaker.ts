/**
 * The circuit breaker per service on the requests table: one item per service (`BREAKER#<service>`)
 * shared by every worker and the DIRECT path. This module only does the I/O; the state machine and
 * the read–decide–write loop live in lambdas/core/domain/breaker.ts.
 *
 * Every write is a Put conditional on the version that was read (or on the item not existing yet),
 * so of many workers racing for the half-open probe exactly one write succeeds; the losers re-read,
 * see the live probe lease and are refused.
 *
 * The item carries `state`, never `status` (the requests' field), and no `listed_status`, the
 * partition key of the by-status index, which must only ever hold requests.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import type { Service } from '../../../model/config/riq-config.js';
import {
  INITIAL_BREAKER_STATE,
  StoredCircuitBreaker,
  type BreakerSettings,
  type BreakerState,
  type BreakerStateStore,
  type StoredCircuitBreakerOptions,
  type VersionedBreakerState,
} from '../../core/domain/breaker.js';
import type { BreakerStateName, GateReading } from '../../core/ports/flow-control.js';
import { itemFromReading } from './gate-reading.js';

const PK = REQUESTS_TABLE.partitionKey;
export const breakerKey = (service: Service): Record<string, string> => ({ [PK]: `BREAKER#${service}` });
const STATES: readonly BreakerStateName[] = ['closed', 'open', 'half_open'];

/** Reads and conditionally writes the breaker items. */
export class DynamoBreakerStateStore implements BreakerStateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(service: Service): Promise<VersionedBreakerState> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: breakerKey(service), ConsistentRead: true }),
    );
    return out.Item ? fromItem(out.Item) : { state: INITIAL_BREAKER_STATE, version: 0 };
  }

  fromReading(reading: GateReading): VersionedBreakerState | undefined {
    const found = itemFromReading(reading, reading.service, breakerKey(reading.service));
    if (!found) return undefined;
    return found.item ? fromItem(found.item) : { state: INITIAL_BREAKER_STATE, version: 0 };
  }

  async save(service: Service, state: BreakerState, version: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...breakerKey(service), ...toItem(state), service, version: version + 1 },
          ...(version === 0
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }
            : {
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': version },
              }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}

/** The breaker shared by all workers of a service, on the requests table. */
export class DynamoCircuitBreaker extends StoredCircuitBreaker {
  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    settings: BreakerSettings,
    options?: StoredCircuitBreakerOptions,
  ) {
    super(new DynamoBreakerStateStore(client, tableName), settings, options);
  }
}

/** Null fields are left out of the item; times are epoch ms. */
function toItem(s: BreakerState): Record<string, unknown> {
  const item: Record<string, unknown> = { state: s.state, failures: [...s.failures] };
  if (s.openedAt !== null) item['opened_at'] = s.openedAt;
  if (s.nextAttemptAt !== null) item['next_attempt_at'] = s.nextAttemptAt;
  if (s.lastFailureAt !== null) item['last_failure_at'] = s.lastFailureAt;
  if (s.probeId !== null) item['probe_id'] = s.probeId;
  if (s.probeExpiresAt !== null) item['probe_expires_at'] = s.probeExpiresAt;
  return item;
}

function fromItem(item: Record<string, unknown>): VersionedBreakerState {
  const state = STATES.find((s) => s === item['state']);
  if (!state) throw new Error(`breaker item ${String(item[PK])} has an unknown state`);
  const failures = Array.isArray(item['failures'])
    ? item['failures'].filter((t): t is number => typeof t === 'number')
    : [];
  return {
    state: {
      state,
      failures,
      openedAt: numberOrNull(item['opened_at']),
      nextAttemptAt: numberOrNull(item['next_attempt_at']),
      lastFailureAt: numberOrNull(item['last_failure_at']),
      probeId: typeof item['probe_id'] === 'string' ? item['probe_id'] : null,
      probeExpiresAt: numberOrNull(item['probe_expires_at']),
    },
    version: typeof item['version'] === 'number' ? item['version'] : 0,
  };
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}
