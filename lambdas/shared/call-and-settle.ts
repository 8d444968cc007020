/**
 * Everything a function needs to call Atlassian for a request and settle it (process-request's
 * deps), from the adapters of the composition root (root.ts): the worker and the submit function's
 * DIRECT path must call and settle the same way (one idempotency layer, one breaker, one bucket, one
 * cache, one dependency store).
 *
 * The Atlassian connection is built once per module. On AWS its secret is read during the cold
 * start, so a missing or malformed one fails the init with its name; locally the credentials come
 * from the environment.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { claimLeaseSeconds, recordRetentionSeconds } from '../../model/config/resources.js';
import {
  awsConnection,
  localConnection,
  type AtlassianConnection,
} from '../adapters/atlassian/connection.js';
import { AtlassianExecutor } from '../adapters/atlassian/operation-executor.js';
import type { FlowControl } from '../core/domain/flow-gate.js';
import { PointsMeteredExecutor } from '../core/domain/points-metering.js';
import type { ProcessDeps } from '../core/use-cases/process-request.js';
import { callScopeOf } from '../core/domain/token-bucket.js';
import { IdempotentExecutor } from '../adapters/dynamodb/idempotent-executor.js';
import { cachedSecretReader } from '../adapters/secrets-manager/secret-reader.js';
import { SecretsManagerTokenStore } from '../adapters/secrets-manager/secret-token-store.js';
import type { SqsWorkQueue } from '../adapters/sqs/sqs-work-queue.js';
import { sleep, systemClock } from './clock.js';
import { runtimeEnv as env } from './env.js';
import { once } from './lazy.js';
import { logger } from './logger.js';
import { observePoints, observeRequests } from './metrics.js';
import * as root from './root.js';

export interface CallAndSettleOptions {
  /** Where the request events' metrics go (lambdas/shared/metrics.ts). */
  metrics: Metrics;
  queue: SqsWorkQueue;
  /** Timeout of each HTTP call to Atlassian. */
  timeoutMs: number;
  /** The calling function's timeout: bounds an in-progress idempotency record without a context. */
  functionTimeoutSeconds: number;
}

export interface CallAndSettle {
  deps: ProcessDeps & { flow: FlowControl; queue: SqsWorkQueue };
  /** Register each invocation's Lambda context with it (see IdempotentExecutor). */
  executor: IdempotentExecutor;
}

const warn = (message: string, details?: Record<string, unknown>) => logger.warn(message, details ?? {});

/**
 * The Atlassian connection of the environment, built once per module: the secret's (AWS) or the
 * credentials' (local). Locally the worker and the submit function share it, so one token manager
 * holds the grant's one live refresh token.
 */
const atlassianConnection = once(connect);

async function connect(): Promise<AtlassianConnection> {
  const atlassian = env.atlassian;
  const built =
    atlassian.source === 'secret'
      ? await awsConnection(atlassian.urls, atlassian.secretId, {
          readSecret: cachedSecretReader,
          tokenStore: (id) => new SecretsManagerTokenStore(id, root.secretsManager()),
          oauth: { warn },
        })
      : localConnection(atlassian.connection, { warn });
  logger.info('Atlassian connection', { auth_mode: built.mode, jira: built.endpoints.jiraBaseUrl });
  return built;
}

export async function callAndSettleDeps(options: CallAndSettleOptions): Promise<CallAndSettle> {
  const settings = root.settings();
  const connection = await atlassianConnection();
  // Done once (DESIGN invariant 2): a call whose result was saved is not made again by a later
  // attempt, even when the caller died before `complete` (see lambdas/adapters/dynamodb/idempotent-executor.ts).
  // The points budget charges at the gate and settles around the Atlassian calls (inside the
  // done-once layer: a replayed result made no call), with one connection's auth mode.
  const points = root.pointsBudget(connection.mode);
  const executor = new IdempotentExecutor(
    new PointsMeteredExecutor(
      new AtlassianExecutor({
        ...connection.endpoints,
        auth: connection.auth,
        timeoutMs: options.timeoutMs,
        defaultIssueType: settings.atlassian.defaultIssueType,
        reconcileWindowSeconds: settings.upstream.reconcileWindowSeconds,
      }),
      {
        budget: points,
        clock: systemClock,
        onFailure: (step, err) =>
          logger.warn('points budget update failed; the call stands', { step, error: err as Error }),
        onMetered: observePoints(logger),
      },
    ),
    {
      client: root.dynamoDb(),
      tableName: root.tableName(),
      retentionSeconds: recordRetentionSeconds(settings),
      callTimeoutSeconds: options.functionTimeoutSeconds,
      warn,
    },
  );
  const deps: CallAndSettle['deps'] = {
    store: root.requestStore(),
    executor,
    clock: systemClock,
    config: settings,
    // Large payloads are loaded from, and large results stored in, the bodies bucket (claim check).
    bodies: root.bodyStore(),
    leaseSeconds: claimLeaseSeconds(settings),
    flow: {
      breaker: root.circuitBreaker(),
      rate: root.rateGate(),
      scopeOf: (record) => callScopeOf(record.operation, record.payload, record.priority),
      writeLocks: root.writeLocks(),
      points,
      // One BatchGetItem for the breaker, the bucket and the points budget of the gate.
      reader: root.flowGateReader(),
    },
    // Completed reads fill the read cache; completed writes invalidate it (best effort).
    cache: root.readCache(),
    onCacheFailure: (token, err) =>
      logger.warn('read cache update failed; the request outcome stands', { token, error: err as Error }),
    // depends_on: a finished request releases its waiting children and sends the ready ones.
    dependencies: root.dependencyStore(),
    queue: options.queue,
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
    // A rate slot due within a second is waited for here rather than through an SQS deferral.
    slotWait: { maxMs: settings.rateControl.slotWaitMs, sleep },
  };
  return { deps, executor };
}
