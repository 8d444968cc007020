/**
 * Everything a function needs to call Atlassian for a request and settle it, built from the
 * environment (env.ts) in one place: the worker and the submit function's DIRECT path must call and settle
 * the same way (one idempotency layer, one breaker, one bucket, one cache, one dependency store).
 *
 * On AWS the Atlassian secret is read here, during the cold start, so a missing or malformed one
 * fails the init with its name; locally the credentials come from the environment.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { claimLeaseSeconds } from '../../model/config/resources.js';
import type { RiqConfig } from '../../model/config/riq-config.js';
import { awsConnection, localConnection } from '../adapters/atlassian/connection.js';
import { AtlassianExecutor } from '../adapters/atlassian/operation-executor.js';
import { breakerSettingsOf } from '../core/domain/breaker.js';
import type { FlowControl } from '../core/domain/flow-gate.js';
import type { ProcessDeps } from '../core/use-cases/process-request.js';
import { callScopeOf } from '../core/domain/token-bucket.js';
import { DynamoCircuitBreaker } from '../adapters/dynamodb/dynamo-circuit-breaker.js';
import { DynamoDependencyStore } from '../adapters/dynamodb/dynamo-dependencies.js';
import { DynamoRateGate } from '../adapters/dynamodb/dynamo-rate-gate.js';
import { DynamoReadCache } from '../adapters/dynamodb/dynamo-read-cache.js';
import { DynamoRequestStore } from '../adapters/dynamodb/dynamo-request-store.js';
import { DynamoWriteLocks } from '../adapters/dynamodb/dynamo-write-lock.js';
import { IdempotentExecutor } from '../adapters/dynamodb/idempotent-executor.js';
import { cachedSecretReader } from '../adapters/secrets-manager/secret-reader.js';
import { SecretsManagerTokenStore } from '../adapters/secrets-manager/secret-token-store.js';
import type { SqsWorkQueue } from '../adapters/sqs/sqs-work-queue.js';
import { bodyStore, documentClient, dynamoDbClient } from './aws-clients.js';
import { systemClock } from './clock.js';
import { runtimeEnv } from './env.js';
import { logger } from './logger.js';
import { observeRequests } from './metrics.js';

export interface CallDepsOptions {
  settings: RiqConfig;
  /** Where the request events' metrics go (lambdas/shared/metrics.ts). */
  metrics: Metrics;
  queue: SqsWorkQueue;
  /** Timeout of each HTTP call to Atlassian. */
  timeoutMs: number;
  /** The calling function's timeout: bounds an in-progress idempotency record without a context. */
  functionTimeoutSeconds: number;
}

export interface CallDeps {
  deps: ProcessDeps & { flow: FlowControl; queue: SqsWorkQueue };
  /** Register each invocation's Lambda context with it (see IdempotentExecutor). */
  executor: IdempotentExecutor;
}

export async function callDepsFromEnv(options: CallDepsOptions): Promise<CallDeps> {
  const { settings, queue } = options;
  const atlassian = runtimeEnv.atlassian;
  const warn = (message: string, details?: Record<string, unknown>) => logger.warn(message, details ?? {});
  const connection =
    atlassian.source === 'secret'
      ? await awsConnection(atlassian.urls, atlassian.secretId, {
          readSecret: cachedSecretReader,
          tokenStore: (id) => new SecretsManagerTokenStore(id, new SecretsManagerClient({})),
          oauth: { warn },
        })
      : localConnection(atlassian.connection, { warn });
  logger.info('Atlassian connection', {
    auth_mode: connection.mode,
    jira: connection.endpoints.jiraBaseUrl,
  });
  const tableName = runtimeEnv.tableName;
  const retentionSeconds = settings.retentionDays * 24 * 3600;
  // Done once (DESIGN invariant 2): a call whose result was saved is not made again by a later
  // attempt, even when the caller died before `complete` (see lambdas/adapters/dynamodb/idempotent-executor.ts).
  const executor = new IdempotentExecutor(
    new AtlassianExecutor({
      ...connection.endpoints,
      auth: connection.auth,
      timeoutMs: options.timeoutMs,
      defaultIssueType: settings.atlassian.defaultIssueType,
      reconcileWindowSeconds: settings.upstream.reconcileWindowSeconds,
    }),
    {
      client: dynamoDbClient(),
      tableName,
      retentionSeconds,
      callTimeoutSeconds: options.functionTimeoutSeconds,
      warn,
    },
  );
  const deps: CallDeps['deps'] = {
    store: new DynamoRequestStore(documentClient(), tableName, retentionSeconds),
    executor,
    clock: systemClock,
    config: settings,
    // Large payloads are loaded from, and large results stored in, the bodies bucket (claim check).
    bodies: bodyStore(runtimeEnv.bodyBucket),
    leaseSeconds: claimLeaseSeconds(settings),
    // One instance per container: a half-open probe is reported through the breaker that granted it.
    flow: {
      breaker: new DynamoCircuitBreaker(documentClient(), tableName, breakerSettingsOf(settings)),
      rate: new DynamoRateGate(documentClient(), tableName, settings),
      scopeOf: (record) => callScopeOf(record.operation, record.payload, record.priority),
      // Writes to one issue or page go one at a time across all workers.
      writeLocks: new DynamoWriteLocks(documentClient(), tableName),
    },
    // Completed reads fill the read cache; completed writes invalidate it (best effort).
    cache: new DynamoReadCache(documentClient(), tableName),
    onCacheFailure: (token, err) =>
      logger.warn('read cache update failed; the request outcome stands', { token, error: err as Error }),
    // depends_on: a finished request releases its waiting children and sends the ready ones.
    dependencies: new DynamoDependencyStore(documentClient(), tableName, retentionSeconds),
    queue,
    onReleaseFailure: (token, err) =>
      logger.error('releasing dependents failed; the sweeper reconciles them', {
        token,
        error: err as Error,
      }),
    // DynamoDB trouble on the request path: deferred (or, for the report, skipped), never lost.
    onStoreFailure: (token, step, err) =>
      logger.warn('storage step failed; the request is deferred, not lost', {
        token,
        step,
        error: err as Error,
      }),
    // One log line and the metrics of each state change (model/config/metrics.ts).
    observe: observeRequests(options.metrics, logger),
  };
  return { deps, executor };
}
