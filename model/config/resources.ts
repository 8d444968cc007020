/**
 * Names and shapes derived from the config, shared by the CDK constructs and the local stack so
 * the two cannot drift (DESIGN invariant 10). Pure: no CDK or SDK imports.
 */
import { PRIORITIES, SERVICES, type Priority, type RiqConfig, type Service } from './riq-config.js';
import type { FUNCTION_ENTRIES } from './routes.js';

/** `jira-high`: the key of one priority queue of one service. */
export type QueueKey = `${Service}-${Priority}`;

export function queueKey(service: Service, priority: Priority): QueueKey {
  return `${service}-${priority}`;
}

export function allQueueKeys(): QueueKey[] {
  return SERVICES.flatMap((s) => PRIORITIES.map((p) => queueKey(s, p)));
}

export function parseQueueKey(key: QueueKey): { service: Service; priority: Priority } {
  const [service, priority] = key.split('-') as [Service, Priority];
  return { service, priority };
}

export function queueName(config: RiqConfig, key: QueueKey): string {
  return `${config.namePrefix}-${key}`;
}

export function deadLetterQueueName(config: RiqConfig, key: QueueKey): string {
  return `${queueName(config, key)}-dlq`;
}

export function requestsTableName(config: RiqConfig): string {
  return `${config.namePrefix}-requests`;
}

/**
 * The bodies bucket's name in the local stack. On AWS CloudFormation names it (bucket names are
 * global) and the functions get it through RUNTIME_ENV.bodyBucket.
 */
export function bodiesBucketName(config: RiqConfig): string {
  return `${config.namePrefix}-bodies`;
}

/**
 * The requests table: one item per request (`pk = REQ#<token>`), one per idempotency key
 * (`pk = IDEM#…`), one per worker call saved by Powertools idempotency (`pk = CALL#…`, see
 * lambdas/adapters/dynamodb/idempotent-executor.ts), one per issue/page written lately (`pk = LOCK#…`), one per
 * cached read (`pk = CACHE#<operation>#<hash>`) and one search generation per service
 * (`pk = CACHEGEN#<service>`, lambdas/adapters/dynamodb/dynamo-read-cache.ts).
 *
 * Listing by status uses a sparse index, `statusIndex`: it holds only the requests someone looks
 * for by status, the sweeper's (`queued`, `processing`, `waiting`) and the operator's dead letters
 * (`dead`). A request carries `listed_status` only while its status is one of `partitions`' keys,
 * and its value is that status's partition: `queued` and `processing` share the partition `queued`,
 * so a worker's claim and a retry's release change no index key (one index write unit, not the two
 * of a key that moves), and a listing of either status filters the partition on `status`. A request
 * that completes or fails drops out of the index, and the other items never carry it. The index
 * projects only the attributes the sweeper filters on and re-sends with and those the operator's
 * request listing shows (`projected`, besides the keys: never the payload, result or timeline), so
 * a write to a listed request touches the index only when one of them changes (every state change
 * sets `updated_at`); a listing that shows whole records (dead letters) reads them from the table.
 */
export const REQUESTS_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'expires_at',
  statusIndex: {
    name: 'by-listed-status',
    partitionKey: 'listed_status',
    sortKey: 'created_at',
    partitions: { queued: 'queued', processing: 'queued', waiting: 'waiting', dead: 'dead' },
    projected: [
      'token',
      'status',
      'service',
      'operation',
      'priority',
      'attempts',
      'error',
      'last_error',
      'updated_at',
      'lease_expires_at',
      'deferred_until',
      'swept_at',
    ],
  },
  /** Key prefix of the saved worker calls: a worker may delete these and stale read-cache entries only. */
  callKeyPrefix: 'CALL',
  /**
   * Key prefix of the per-issue/page write locks and write windows (`LOCK#<service>#<objectId>`,
   * lambdas/adapters/dynamodb/dynamo-write-lock.ts).
   */
  lockKeyPrefix: 'LOCK',
  /** Key prefix of the read-cache entries: a worker deletes these when a write makes them stale. */
  cacheKeyPrefix: 'CACHE',
  /** Key prefix of the per-service search generations of the read cache. */
  cacheGenerationKeyPrefix: 'CACHEGEN',
} as const;

/** AWS's advice for SQS event sources: visibility timeout at least six times the function timeout. */
export function queueVisibilityTimeoutSeconds(config: RiqConfig): number {
  return config.worker.timeoutSeconds * 6;
}

/** How long a worker's claim on a request lasts: the worker's timeout plus a margin. */
export function claimLeaseSeconds(config: RiqConfig): number {
  return config.worker.timeoutSeconds + 10;
}

/**
 * The submit function's timeout: its DIRECT call's deadline (`routing.directTimeoutMs`) plus room
 * for the store, gate and settling writes around it; at least 10 s. At most 27 s with the largest
 * deadline (20 s), inside API Gateway's 29 s integration timeout.
 */
export function submitFunctionTimeoutSeconds(config: RiqConfig): number {
  return Math.max(10, Math.ceil(config.routing.directTimeoutMs / 1000) + 7);
}

/**
 * The integration timeout of every API route (the HTTP API allows at most 30 s): past it API Gateway
 * answers 503 `Service Unavailable` while the function may run on.
 */
export const API_INTEGRATION_TIMEOUT_SECONDS = 29;

/** What the result function needs beyond the long poll: reading the record and answering. */
export const LONG_POLL_MARGIN_SECONDS = 4;

/**
 * The timeout of each Lambda, as deployed (lib/constructs) and as the local stack enforces it
 * (local/lambda-invoke.ts).
 */
export function functionTimeoutSeconds(config: RiqConfig): Record<keyof typeof FUNCTION_ENTRIES, number> {
  return {
    // Covers the DIRECT call's deadline (lambdas/core/use-cases/direct-route.ts).
    submit: submitFunctionTimeoutSeconds(config),
    result: config.api.longPollCapSeconds + LONG_POLL_MARGIN_SECONDS,
    health: 10,
    circuitBreakers: 10,
    deadLetters: 30,
    metrics: 10,
    notFound: 3,
    worker: config.worker.timeoutSeconds,
    // Under the one-minute schedule; an overlapping run is harmless (records are stamped conditionally).
    sweeper: 50,
  };
}

/** A service's bulkhead: the sum of its three event source mappings' maximumConcurrency. */
export function reservedConcurrency(config: RiqConfig, service: Service): number {
  const c = config.services[service].concurrency;
  return c.high + c.normal + c.low;
}

/** Seconds a finished request (its record, idempotency claim and saved call results) is kept. */
export function recordRetentionSeconds(config: Pick<RiqConfig, 'retentionDays'>): number {
  return config.retentionDays * 24 * 3600;
}

/** Seconds SQS keeps a message: the retention of records, so no message outlives its record. */
export function messageRetentionSeconds(config: RiqConfig): number {
  return Math.min(config.retentionDays, 14) * 24 * 3600;
}

/** The IAM role operators assume to call the dead-letter routes (the API denies everyone else). */
export function operatorRoleName(config: RiqConfig): string {
  return `${config.namePrefix}-operator`;
}

/** How long a record may sit `queued` with no progress before the sweeper re-enqueues it. */
export const SWEEPER_STALE_QUEUED_SECONDS = 120;
