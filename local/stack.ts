/**
 * The whole of RIQ on one machine: DynamoDB Local, the SQS emulator, the tables and queues the CDK
 * stateful stack declares, the API handlers behind a local HTTP server, the workers behind local
 * event source mappings, and (unless a real Atlassian site is given) the simulated Atlassian.
 *
 * The handlers run in this process and read their configuration from the environment exactly as
 * on Lambda, so this sets `process.env` before importing them: one local stack per process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { RiqConfig } from '../model/config/riq-config.js';
import {
  allQueueKeys,
  functionTimeoutSeconds,
  parseQueueKey,
  requestsTableName,
  type QueueKey,
} from '../model/config/resources.js';
import { RUNTIME_ENV } from '../model/config/runtime-env.js';
import type { ScheduledEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { DEFAULT_CALLER, startApiServer, type ApiHandler } from './api-server.js';
import { invokeWithTimeout } from './lambda-invoke.js';
import { clearReadCache } from './read-cache-reset.js';
import { reportRecordWrites } from './record-writes.js';
import { EventSourceMapping, type WorkerHandler } from './event-source.js';
import { createBodiesBucket, createRequestsTable, createWorkQueues, type LocalQueues } from './resources.js';
import {
  LOCAL_AWS_ENV,
  startDynamoDbLocal,
  startS3Emulator,
  startSqsEmulator,
  type RunningService,
} from './services.js';
import { startAtlassianSimulator } from './atlassian-sim/server.js';
import { consolePageListener } from '../client/console/server.js';
import { DEFAULT_SIM_OAUTH } from './atlassian-sim/oauth-routes.js';
import { CONNECTION_ENV_NAMES, readLocalSettings, type Env } from '../lambdas/shared/env.js';

/**
 * A real (or external) Atlassian, named by the connection variables lambdas/shared/env.ts
 * reads (`ATLASSIAN_SITE_URL` with `ATLASSIAN_EMAIL` + `ATLASSIAN_API_TOKEN`, or the
 * `ATLASSIAN_OAUTH_*` set with `ATLASSIAN_CLOUD_ID`); see `connectionEnv`.
 */
export type AtlassianTarget = Env;

/** How the workers authenticate to the simulator. */
export type SimulatorAuth = 'api_token' | 'oauth';

export interface LocalStackOptions {
  config: RiqConfig;
  /** 0 picks a free port. */
  apiPort: number;
  /** DynamoDB Local's data folder; in memory when absent. */
  dataDir?: string;
  /** A real (or external) Atlassian site; the simulator is started when absent. */
  atlassian?: AtlassianTarget;
  simulatorPort?: number;
  /**
   * With the simulator: `api_token` (Basic auth on the site routes) or `oauth` (Bearer tokens on the
   * gateway routes `/ex/jira/{cloudId}` and `/ex/confluence/{cloudId}/wiki`, refreshed at the
   * simulator's `/oauth/token`). @default 'api_token'
   */
  simulatorAuth?: SimulatorAuth;
  log?: (message: string) => void;
  /**
   * How often the sweeper runs (EventBridge's one-minute schedule on AWS).
   * @default RIQ_SWEEP_INTERVAL_MS, else 60 000
   */
  sweepIntervalMs?: number;
  /**
   * Start polling the work queues at once (as deployed). Benchmarks queue a backlog first and then
   * call `startWorkers()`, so the clock starts with every request queued. @default true
   */
  startWorkers?: boolean;
  /**
   * Puts something in front of DynamoDB Local: answers the endpoint every handler then uses (the
   * chaos suite's throttling proxy). Whoever passes it stops what it started.
   */
  frontDynamoDb?: (dynamoLocalEndpoint: string) => Promise<string>;
}

export interface LocalStack {
  url: string;
  dynamoEndpoint: string;
  /** DynamoDB Local's `java` process. */
  dynamoPid: number;
  sqsEndpoint: string;
  /** The S3 emulator (path-style addressing). */
  s3Endpoint: string;
  simulatorUrl?: string;
  tableName: string;
  /** The bodies bucket (claim check) in the S3 emulator. */
  bodiesBucket: string;
  queueUrls: Record<QueueKey, string>;
  deadLetterQueueUrls: Record<QueueKey, string>;
  queueArns: Record<QueueKey, string>;
  /** Starts the workers' queue polling when the stack was started with `startWorkers: false`. */
  startWorkers(): void;
  /**
   * Stops the SQS emulator and starts a new one on the same port with the same (now empty) queues:
   * every message is lost, as when a region loses a queue's contents. The chaos suite uses it to
   * show the sweeper recovers every request from DynamoDB.
   */
  restartSqs(): Promise<void>;
  stop(): Promise<void>;
}

export const SIMULATOR_CREDENTIALS = { email: 'riq@example.com', apiToken: 'local-token' } as const;

/** The connection variables that point the workers at a simulator at `url`. */
export function simulatorConnectionEnv(url: string, auth: SimulatorAuth): Record<string, string> {
  if (auth === 'oauth') {
    return {
      [RUNTIME_ENV.atlassianSiteUrl]: url,
      [RUNTIME_ENV.atlassianApiGatewayUrl]: url,
      [RUNTIME_ENV.atlassianOAuthTokenUrl]: `${url}/oauth/token`,
      [RUNTIME_ENV.atlassianOAuthClientId]: DEFAULT_SIM_OAUTH.clientId,
      [RUNTIME_ENV.atlassianOAuthClientSecret]: DEFAULT_SIM_OAUTH.clientSecret,
      [RUNTIME_ENV.atlassianOAuthRefreshToken]: DEFAULT_SIM_OAUTH.refreshToken,
      [RUNTIME_ENV.atlassianCloudId]: DEFAULT_SIM_OAUTH.cloudId,
    };
  }
  return {
    [RUNTIME_ENV.jiraBaseUrl]: url,
    [RUNTIME_ENV.confluenceBaseUrl]: `${url}/wiki`,
    [RUNTIME_ENV.atlassianEmail]: SIMULATOR_CREDENTIALS.email,
    [RUNTIME_ENV.atlassianApiToken]: SIMULATOR_CREDENTIALS.apiToken,
  };
}

/** `RIQ_SWEEP_INTERVAL_MS` (default 60 000, a minute as on AWS); tests may set it low. */
function sweepIntervalFromEnv(): number {
  const raw = process.env['RIQ_SWEEP_INTERVAL_MS'];
  if (raw === undefined || raw === '') return 60_000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100)
    throw new Error(`RIQ_SWEEP_INTERVAL_MS=${raw} is not a whole number of ms >= 100`);
  return ms;
}

/** What EventBridge hands a scheduled Lambda. */
function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:000000000000:rule/riq-sweeper'],
    detail: {},
  };
}

export interface WorkerMappingsOptions {
  client: SQSClient;
  queues: Pick<LocalQueues, 'queueUrls' | 'queueArns'>;
  keys: readonly QueueKey[];
  config: RiqConfig;
  handler: WorkerHandler;
  log: (message: string) => void;
}

/**
 * One event source mapping per work queue, as lib/constructs declares them: the service's worker
 * function, the config's batch size, the priority's maximum concurrency and the worker timeout.
 * Shared by the local stack and the separate worker process (local/worker-host.ts).
 */
export function workerMappings(o: WorkerMappingsOptions): EventSourceMapping[] {
  return o.keys.map((key) => {
    const { service, priority } = parseQueueKey(key);
    return new EventSourceMapping({
      client: o.client,
      queueUrl: o.queues.queueUrls[key],
      queueArn: o.queues.queueArns[key],
      handler: o.handler,
      functionName: `riq-worker-${service}`,
      batchSize: o.config.worker.batchSize,
      maximumConcurrency: o.config.services[service].concurrency[priority],
      functionTimeoutSeconds: functionTimeoutSeconds(o.config).worker,
      onError: (err) => o.log(`event source ${key}: ${String(err)}`),
    });
  });
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { config } = options;
  const log = options.log ?? (() => undefined);
  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  };

  // A bad connection variable stops the start with its name before any service is started.
  if (options.atlassian) readLocalSettings(options.atlassian);
  // The SDK's notice that its Node 20 support ends in 2027 would open every start.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  try {
    const [dynamo, sqs, s3]: RunningService[] = await Promise.all([
      startDynamoDbLocal(options.dataDir ? { dataDir: options.dataDir } : {}),
      startSqsEmulator(),
      startS3Emulator(),
    ]);
    let sqsService = sqs!;
    stoppers.push(
      () => dynamo!.stop(),
      () => sqsService.stop(),
      () => s3!.stop(),
    );
    log(
      `DynamoDB Local at ${dynamo!.endpoint} (pid ${dynamo!.pid}, ${options.dataDir ? `data in ${options.dataDir}` : 'in memory'})`,
    );
    log(`SQS emulator at ${sqs!.endpoint}`);
    log(`S3 emulator at ${s3!.endpoint} (in memory)`);

    /** Set once the table exists: a reset then drops the read cache (local/read-cache-reset.ts). */
    let onSimulatorReset = async (): Promise<void> => undefined;
    let atlassian = options.atlassian;
    let simulatorUrl: string | undefined;
    if (!atlassian) {
      const sim = await startAtlassianSimulator({
        port: options.simulatorPort ?? 0,
        ...SIMULATOR_CREDENTIALS,
        onReset: () => onSimulatorReset(),
      });
      stoppers.push(() => sim.stop());
      simulatorUrl = sim.url;
      atlassian = simulatorConnectionEnv(sim.url, options.simulatorAuth ?? 'api_token');
      log(`simulated Jira/Confluence at ${sim.url} (control API under ${sim.url}/__sim/)`);
    }
    // Validated here so a bad variable stops the start with its name, before any handler loads.
    // The worker logs where it connects when it loads (lambdas/shared/call-and-settle.ts).
    readLocalSettings(atlassian);

    const dynamoEndpoint = options.frontDynamoDb
      ? await options.frontDynamoDb(dynamo!.endpoint)
      : dynamo!.endpoint;
    Object.assign(process.env, LOCAL_AWS_ENV, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: sqs!.endpoint,
      AWS_ENDPOINT_URL_S3: s3!.endpoint,
    });
    const awsClientConfig = { region: LOCAL_AWS_ENV.AWS_REGION };
    const dynamoClient = new DynamoDBClient(awsClientConfig);
    const sqsClient = new SQSClient({ ...awsClientConfig, useQueueUrlAsEndpoint: false });
    const s3Client = new S3Client({ ...awsClientConfig, forcePathStyle: true });
    stoppers.push(async () => {
      dynamoClient.destroy();
      sqsClient.destroy();
      s3Client.destroy();
    });
    const tableName = await createRequestsTable(dynamoClient, config);
    if (simulatorUrl) {
      // A fresh simulator has none of the objects a kept table's cache may hold.
      const doc = DynamoDBDocumentClient.from(dynamoClient);
      const dropped = await clearReadCache(doc, tableName);
      if (dropped > 0)
        log(`read cache: ${dropped} item(s) of an earlier run dropped (the simulator starts empty)`);
      onSimulatorReset = async () => {
        const n = await clearReadCache(doc, tableName);
        log(`simulator reset: read cache cleared (${n} item(s))`);
      };
    }
    const queues = await createWorkQueues(sqsClient, config);
    const bodiesBucket = await createBodiesBucket(s3Client, config);
    log(
      `table ${tableName}; queues ${allQueueKeys().join(', ')} with dead-letter queues; bucket ${bodiesBucket}`,
    );

    Object.assign(process.env, {
      POWERTOOLS_SERVICE_NAME: 'riq',
      [RUNTIME_ENV.settings]: JSON.stringify(config),
      [RUNTIME_ENV.tableName]: requestsTableName(config),
      [RUNTIME_ENV.queueUrls]: JSON.stringify(queues.queueUrls),
      [RUNTIME_ENV.deadLetterQueueUrls]: JSON.stringify(queues.deadLetterQueueUrls),
      [RUNTIME_ENV.bodyBucket]: bodiesBucket,
      // The emulator's bucket host names do not resolve: path-style URLs, presigned ones too.
      [RUNTIME_ENV.s3PathStyle]: 'true',
    });
    // The worker reads its connection from these, exactly as on Lambda without a secret (the local
    // stack has no Secrets Manager, so ATLASSIAN_SECRET_ARN is never passed on).
    for (const name of CONNECTION_ENV_NAMES) {
      const value = name === RUNTIME_ENV.atlassianSecretArn ? undefined : atlassian[name];
      if (value === undefined || value === '') delete process.env[name];
      else process.env[name] = value;
    }
    // The emulator has no StartMessageMoveTask: the dead-letter API moves messages itself.
    process.env[RUNTIME_ENV.deadLetterRedrive] = 'copy';
    // No IAM in front: the operator routes answer the default caller (no X-Riq-Caller header).
    process.env[RUNTIME_ENV.operatorArn] = DEFAULT_CALLER;
    const [submit, result, health, circuitBreakers, deadLetters, metrics, notFound, worker, sweeper] =
      await Promise.all([
        import('../lambdas/api/submit.js'),
        import('../lambdas/api/result.js'),
        import('../lambdas/api/health.js'),
        import('../lambdas/api/circuit-breakers.js'),
        import('../lambdas/api/dead-letters.js'),
        import('../lambdas/api/metrics.js'),
        import('../lambdas/api/not-found.js'),
        import('../lambdas/worker/handler.js'),
        import('../lambdas/sweeper/handler.js'),
      ]);
    // The functions here share this process's DynamoDB client: a long poll hears its record's
    // writes (local/record-writes.ts), and once the workers run here too it hears every write and
    // reads its record only then. Workers run elsewhere (the chaos run's child processes) are not
    // heard: the long poll re-reads on a timer, as on AWS.
    const [root, { recordChanges }] = await Promise.all([
      import('../lambdas/shared/root.js'),
      import('../lambdas/shared/record-changes.js'),
    ]);
    reportRecordWrites(root.dynamoDb(), recordChanges);

    const mappings = workerMappings({
      client: sqsClient,
      queues,
      keys: allQueueKeys(),
      config,
      handler: worker.handler as WorkerHandler,
      log,
    });
    let workersStarted = false;
    const startWorkers = () => {
      if (workersStarted) return;
      workersStarted = true;
      recordChanges.hearAllWrites();
      mappings.forEach((m) => m.start());
    };
    if (options.startWorkers ?? true) startWorkers();
    stoppers.push(async () => {
      await Promise.all(mappings.map((m) => m.stop()));
    });

    const timeouts = functionTimeoutSeconds(config);
    const sweepEvery = options.sweepIntervalMs ?? sweepIntervalFromEnv();
    let sweeping = false;
    const sweepTimer = setInterval(() => {
      // One run at a time, until its function's timeout: then the run has failed (its late work
      // goes on, as local/lambda-invoke.ts says) and the next scheduled one may start.
      if (sweeping) return;
      sweeping = true;
      invokeWithTimeout(
        sweeper.handler,
        scheduledEvent(),
        { functionName: 'riq-sweeper', timeoutSeconds: timeouts.sweeper },
        {
          onLate: ({ error }) =>
            log(`sweeper: a timed-out run finished late${error ? `: ${String(error)}` : ''}`),
        },
      )
        .catch((err: unknown) => log(`sweeper: ${String(err)}`))
        .finally(() => (sweeping = false));
    }, sweepEvery);
    stoppers.push(async () => clearInterval(sweepTimer));
    log(`sweeper every ${sweepEvery} ms`);

    const api = await startApiServer({
      port: options.apiPort,
      pages: consolePageListener(),
      handlers: {
        submit: submit.handler as unknown as ApiHandler,
        result: result.handler as unknown as ApiHandler,
        health: health.handler as unknown as ApiHandler,
        circuitBreakers: circuitBreakers.handler as unknown as ApiHandler,
        deadLetters: deadLetters.handler as unknown as ApiHandler,
        metrics: metrics.handler as unknown as ApiHandler,
        notFound: notFound.handler as unknown as ApiHandler,
      },
      // The deployed functions' timeouts, enforced as Lambda does.
      timeouts: {
        submit: timeouts.submit,
        result: timeouts.result,
        health: timeouts.health,
        circuitBreakers: timeouts.circuitBreakers,
        deadLetters: timeouts.deadLetters,
        metrics: timeouts.metrics,
        notFound: timeouts.notFound,
      },
      onFunctionError: (err) => log(`API: ${String(err)}`),
    });
    stoppers.push(() => api.stop());

    return {
      url: api.url,
      dynamoEndpoint: dynamo!.endpoint,
      dynamoPid: dynamo!.pid ?? 0,
      sqsEndpoint: sqs!.endpoint,
      s3Endpoint: s3!.endpoint,
      ...(simulatorUrl ? { simulatorUrl } : {}),
      tableName,
      bodiesBucket,
      queueUrls: queues.queueUrls,
      deadLetterQueueUrls: queues.deadLetterQueueUrls,
      queueArns: queues.queueArns,
      startWorkers,
      restartSqs: async () => {
        const port = Number(new URL(sqsService.endpoint).port);
        await sqsService.stop();
        sqsService = await startSqsEmulator({ port });
        const again = await createWorkQueues(sqsClient, config);
        if (JSON.stringify(again) !== JSON.stringify(queues)) {
          throw new Error('the restarted SQS emulator named the queues differently');
        }
        log(`SQS emulator restarted at ${sqsService.endpoint}: every message lost`);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
