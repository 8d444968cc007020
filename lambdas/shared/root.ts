/**
 * The composition root: the SDK clients and the adapters the functions use, each built once per
 * module, on first use, from the environment parsed once (env.ts). A handler asks at module scope
 * for what it uses, so a missing variable fails its cold start, and a client it never asks for is
 * never built. Each is its own exported function, so a function's bundle (esbuild, see
 * lib/constructs/riq-function.ts) holds only what it calls. The local stack runs every handler in
 * one process: there they share one of each.
 *
 * What only some functions need has a module of its own, for the same reason: the Atlassian call
 * and its settling (call-and-settle.ts) and the submit function's wiring (submit-wiring.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { recordRetentionSeconds } from '../../model/config/resources.js';
import type { AuthMode, RiqConfig } from '../../model/config/riq-config.js';
import { breakerSettingsOf } from '../core/domain/breaker.js';
import { writeWindowParamsOf } from '../core/domain/object-write-window.js';
import type { DeadLetterRedriver } from '../core/ports/index.js';
import { DynamoCircuitBreaker } from '../adapters/dynamodb/dynamo-circuit-breaker.js';
import { DynamoDependencyStore } from '../adapters/dynamodb/dynamo-dependencies.js';
import { DynamoPointsBudget, DynamoPointsViews } from '../adapters/dynamodb/dynamo-points-budget.js';
import { DynamoRateGate } from '../adapters/dynamodb/dynamo-rate-gate.js';
import { DynamoReadCache } from '../adapters/dynamodb/dynamo-read-cache.js';
import { DynamoRequestStore } from '../adapters/dynamodb/dynamo-request-store.js';
import { DynamoWriteLocks } from '../adapters/dynamodb/dynamo-write-lock.js';
import { S3BodyStore } from '../adapters/s3/s3-body-store.js';
import { S3Objects } from '../adapters/s3/s3-objects.js';
import { SqsCopyRedriver, SqsMoveTaskRedriver, SqsWorkQueue } from '../adapters/sqs/sqs-work-queue.js';
import {
  awsCredentials,
  documentClient,
  dynamoDbClient,
  secretsManagerClient,
  sqsClient,
} from './aws-clients.js';
import { DynamoFlowGateReader } from '../adapters/dynamodb/dynamo-flow-gate-reader.js';
import { runtimeEnv as env } from './env.js';

/** What this module has built so far. */
const built: {
  dynamoDb?: DynamoDBClient;
  documents?: DynamoDBDocumentClient;
  sqs?: SQSClient;
  secretsManager?: SecretsManagerClient;
  requestStore?: DynamoRequestStore;
  breaker?: DynamoCircuitBreaker;
  rateGate?: DynamoRateGate;
  pointsBudget?: DynamoPointsBudget;
  flowGateReader?: DynamoFlowGateReader;
  pointsViews?: DynamoPointsViews;
  readCache?: DynamoReadCache;
  dependencyStore?: DynamoDependencyStore;
  writeLocks?: DynamoWriteLocks;
  bodyStore?: S3BodyStore;
  workQueue?: SqsWorkQueue;
  workQueueWithDeadLetters?: SqsWorkQueue;
  deadLetterRedriver?: DeadLetterRedriver;
} = {};

/** The resolved config (RIQ_SETTINGS). */
export function settings(): RiqConfig {
  return env.settings;
}

/** The principal the operator routes answer (RIQ_OPERATOR_ARN). */
export function operatorArn(): string {
  return env.operatorArn;
}

/** The plain DynamoDB client; the document client shares its connections. */
export function dynamoDb(): DynamoDBClient {
  return (built.dynamoDb ??= dynamoDbClient());
}

export function documents(): DynamoDBDocumentClient {
  return (built.documents ??= documentClient(dynamoDb()));
}

export function sqs(): SQSClient {
  return (built.sqs ??= sqsClient());
}

export function secretsManager(): SecretsManagerClient {
  return (built.secretsManager ??= secretsManagerClient());
}

export function tableName(): string {
  return env.tableName;
}

/** Requests, their idempotency claims and dead letters; kept `retentionDays` once finished. */
export function requestStore(): DynamoRequestStore {
  return (built.requestStore ??= new DynamoRequestStore(
    documents(),
    env.tableName,
    recordRetentionSeconds(env.settings),
  ));
}

/**
 * Every service's breaker. One instance per module: a half-open probe is reported through the
 * breaker that granted it.
 */
export function circuitBreaker(): DynamoCircuitBreaker {
  return (built.breaker ??= new DynamoCircuitBreaker(
    documents(),
    env.tableName,
    breakerSettingsOf(env.settings),
  ));
}

/** The shared token buckets (rate control). */
export function rateGate(): DynamoRateGate {
  return (built.rateGate ??= new DynamoRateGate(documents(), env.tableName, env.settings));
}

/**
 * The hourly points budgets, on for an OAuth connection (`authMode` is the Atlassian connection's:
 * a module has one connection, so the first caller's mode is the only one).
 */
export function pointsBudget(authMode: AuthMode): DynamoPointsBudget {
  return (built.pointsBudget ??= new DynamoPointsBudget(documents(), env.tableName, env.settings, authMode));
}

/** The gate's one read of a service's breaker, rate bucket and points budget. */
export function flowGateReader(): DynamoFlowGateReader {
  return (built.flowGateReader ??= new DynamoFlowGateReader(documents(), env.tableName));
}

/** The points budgets as a function without an Atlassian connection reads them (the health check). */
export function pointsViews(): DynamoPointsViews {
  return (built.pointsViews ??= new DynamoPointsViews(documents(), env.tableName, env.settings));
}

export function readCache(): DynamoReadCache {
  return (built.readCache ??= new DynamoReadCache(documents(), env.tableName));
}

/** `depends_on`: registration, release of dependents, reconciliation. */
export function dependencyStore(): DynamoDependencyStore {
  return (built.dependencyStore ??= new DynamoDependencyStore(
    documents(),
    env.tableName,
    recordRetentionSeconds(env.settings),
  ));
}

/** Writes to one issue or page go one at a time across all callers, within its write window. */
export function writeLocks(): DynamoWriteLocks {
  return (built.writeLocks ??= new DynamoWriteLocks(
    documents(),
    env.tableName,
    writeWindowParamsOf(env.settings),
  ));
}

/** The bodies bucket (claim check): large payloads and results. */
export function bodyStore(): S3BodyStore {
  return (built.bodyStore ??= new S3BodyStore(new S3Objects(env.bodyBucket, awsCredentials())));
}

/** The work queues the function was given (RIQ_QUEUE_URLS). */
export function workQueue(): SqsWorkQueue {
  return (built.workQueue ??= new SqsWorkQueue(sqs(), env.queueUrls));
}

/** The work queues with their dead-letter queues (RIQ_DLQ_URLS as well): to dead-letter, or to count them. */
export function workQueueWithDeadLetters(): SqsWorkQueue {
  return (built.workQueueWithDeadLetters ??= new SqsWorkQueue(sqs(), env.queueUrls, env.deadLetterQueueUrls));
}

/**
 * How the dead-letter API moves messages back: SQS move tasks on AWS, or receive-send-delete where
 * the emulator has none (RIQ_DLQ_REDRIVE).
 */
export function deadLetterRedriver(): DeadLetterRedriver {
  return (built.deadLetterRedriver ??=
    env.deadLetterRedrive === 'move_task'
      ? new SqsMoveTaskRedriver(sqs(), env.deadLetterQueueArns, env.queueArns)
      : new SqsCopyRedriver(sqs(), env.queueUrls, env.deadLetterQueueUrls));
}
