import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTION_ENTRIES, RUNTIME_ENV, type QueueKey, type RiqConfig } from '../../model/config/index.js';
import { lambdaBundleOptions, type LambdaBundleOptions } from '../lambda-bundling.js';
import { BODIES_PREFIX, bodiesBucketExportName } from './bodies-bucket.js';
import { riqLogGroup } from './log-group.js';

/** The repository root: entries, the lock file and `package.json` (subpath imports) live there. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type RiqFunctionEntry = keyof typeof FUNCTION_ENTRIES;

/** The DynamoDB actions RIQ functions use; a union so a wildcard cannot be granted by mistake. */
export type DynamoDbAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:ConditionCheckItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query';

/** The SQS actions RIQ functions need beyond what an event source mapping grants itself. */
export type SqsAction =
  | 'sqs:SendMessage'
  | 'sqs:ChangeMessageVisibility'
  | 'sqs:GetQueueAttributes'
  /** The dead-letter redrive: SQS's move task, or receive + delete where there is none. */
  | 'sqs:StartMessageMoveTask'
  | 'sqs:ReceiveMessage'
  | 'sqs:DeleteMessage';

export interface TableAccess {
  /**
   * Actions on the table's items. Inside `TransactWriteItems` each item is authorized by its own
   * action (`PutItem`, `UpdateItem`, `ConditionCheckItem`), so there is no transaction action.
   * @default - none
   */
  readonly actions?: readonly DynamoDbAction[];
  /**
   * Actions on named global secondary indexes only (never `index/*`).
   * @default - none
   */
  readonly indexes?: Readonly<Record<string, readonly DynamoDbAction[]>>;
  /**
   * `actions` only on items whose partition key starts with one of these prefixes (`PREFIX#`,
   * IAM's `dynamodb:LeadingKeys`).
   * @default - every item of the table
   */
  readonly leadingKeyPrefixes?: readonly string[];
}

export interface RiqFunctionProps {
  /** The resolved configuration; the function receives all of it as `RIQ_SETTINGS`. */
  readonly config: RiqConfig;
  /** Which entry of `FUNCTION_ENTRIES` this function runs. */
  readonly entry: RiqFunctionEntry;
  readonly description: string;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default - draws on the account's unreserved concurrency */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A RIQ Lambda: Node.js 24 on ARM64, minified ESM bundle built by the local esbuild with every
 * dependency inside (the versions the tests ran; lib/lambda-bundling.ts), source maps and X-Ray
 * tracing when the stage's `deployment` turns them on, its own log group with the stage's retention
 * and its own role with no managed policy.
 *
 * Access is granted through the `use*` methods, which also pass the matching environment variable,
 * so a function never holds a permission without knowing the resource or the reverse.
 */
export class RiqFunction extends NodejsFunction {
  /** The options this function was bundled with. */
  public readonly bundleOptions: LambdaBundleOptions;

  constructor(scope: Construct, id: string, props: RiqFunctionProps) {
    const { config } = props;
    const bundle = lambdaBundleOptions({ sourceMaps: config.deployment.sourceMaps });
    const tracing = config.deployment.tracing === 'active';
    const logGroup = riqLogGroup(scope, `${id}Logs`, config);
    // An own role instead of the default one, which carries the managed AWSLambdaBasicExecutionRole
    // (logs:* on every log group): this one may only write to the function's own log group.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${config.namePrefix} ${id} Lambda`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: `${REPO_ROOT}${FUNCTION_ENTRIES[props.entry]}`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 256,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      role,
      logGroup,
      // JSON lines at the stage's level, applied by Lambda and by Powertools alike (a line Powertools
      // writes below Lambda's level would be dropped by Lambda); the runtime's own lines at WARN.
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel[config.deployment.logLevel],
      systemLogLevelV2: SystemLogLevel.WARN,
      // Off: no TracingConfig, so Lambda passes a trace on only when its caller sampled it.
      tracing: tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        [RUNTIME_ENV.settings]: JSON.stringify(config),
        POWERTOOLS_SERVICE_NAME: 'riq',
        POWERTOOLS_LOG_LEVEL: config.deployment.logLevel,
        ...(bundle.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      bundling: {
        forceDockerBundling: false,
        target: bundle.target,
        format: OutputFormat.ESM,
        mainFields: [...bundle.mainFields],
        banner: bundle.banner,
        minify: bundle.minify,
        sourceMap: bundle.sourceMap,
        ...(bundle.sourceMap ? { sourceMapMode: SourceMapMode.DEFAULT } : {}),
        sourcesContent: false,
        externalModules: [...bundle.externalModules],
        esbuildArgs: Object.fromEntries(
          Object.entries(bundle.alias).map(([from, to]) => [`--alias:${from}`, to]),
        ),
      },
    });
    this.bundleOptions = bundle;

    // cdk-nag's Serverless pack.
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'No RIQ function is invoked asynchronously but the sweeper: API Gateway and the SQS event source ' +
        'mappings invoke synchronously (a failed message returns to its queue, then its DLQ), so an ' +
        "on-failure queue would stay empty; the sweeper's schedule runs it again a minute later, and a " +
        'stale sweep is worth nothing.',
    });
    if (!tracing) {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaTracing',
        reason:
          `Stage ${config.stage} turns X-Ray off (deployment.tracing) for its cost; -c tracing=active or ` +
          'deployment.tracing turns it on for every function (docs/runbook.md#tracing).',
      });
    }
    if (tracing) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
          'resource-level permissions; every other statement of this role names its resources ' +
          '(test/infra asserts the exact list of Resource "*" statements).',
      });
    }
  }

  /** Passes the table's name as `RIQ_TABLE_NAME` and allows exactly `access` on it. */
  useTable(table: ITable, access: TableAccess): void {
    this.addEnvironment(RUNTIME_ENV.tableName, table.tableName);
    if (access.actions?.length) {
      const prefixes = access.leadingKeyPrefixes;
      this.addToRolePolicy(
        new PolicyStatement({
          actions: [...access.actions],
          resources: [table.tableArn],
          ...(prefixes && {
            conditions: {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}#*`) },
            },
          }),
        }),
      );
    }
    for (const [indexName, actions] of Object.entries(access.indexes ?? {})) {
      this.addToRolePolicy(
        new PolicyStatement({ actions: [...actions], resources: [`${table.tableArn}/index/${indexName}`] }),
      );
    }
  }

  /**
   * Passes the bodies bucket's name as `RIQ_BODY_BUCKET` and its regional domain name as
   * `RIQ_BODY_BUCKET_DOMAIN` (where its objects are, in any partition), and allows `access` on its
   * bodies only (`requests/*`): `read` is GetObject (also what a presigned GET it signs needs) and ListBucket
   * under `requests/` (without it S3 answers a missing body 403 instead of NoSuchKey, and a body the
   * lifecycle deleted would look like trouble to retry); `write` is PutObject. Never Delete.
   */
  useBodies(
    bucket: IBucket,
    config: RiqConfig,
    access: { readonly read?: boolean; readonly write?: boolean },
  ): void {
    this.addEnvironment(RUNTIME_ENV.bodyBucket, bucket.bucketName);
    this.addEnvironment(RUNTIME_ENV.bodyBucketDomain, bucket.bucketRegionalDomainName);
    const actions = [...(access.read ? ['s3:GetObject'] : []), ...(access.write ? ['s3:PutObject'] : [])];
    if (actions.length === 0) return;
    this.addToRolePolicy(
      new PolicyStatement({ actions, resources: [bucket.arnForObjects(`${BODIES_PREFIX}*`)] }),
    );
    if (access.read) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': `${BODIES_PREFIX}*` } },
        }),
      );
    }
    Validations.of(this.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bodiesBucketExportName(config, 'arn')}/${BODIES_PREFIX}*]`,
      reason:
        'Each request body is its own object (requests/<token>/payload.json, result.json): the role may ' +
        'read or write objects under requests/ only, never delete them, and nothing else in the bucket.',
    });
  }

  /**
   * Passes `queues` as a JSON map QueueKey → URL in `envName` and allows `actions` on each of them.
   */
  useQueues(
    envName: typeof RUNTIME_ENV.queueUrls | typeof RUNTIME_ENV.deadLetterQueueUrls,
    queues: Partial<Record<QueueKey, IQueue>>,
    actions: readonly SqsAction[],
  ): void {
    const urls: Record<string, string> = {};
    for (const [key, queue] of Object.entries(queues)) {
      urls[key] = queue.queueUrl;
      queue.grant(this, ...actions);
    }
    // Queue URLs are tokens until deploy time: let CloudFormation build the JSON.
    this.addEnvironment(envName, Stack.of(this).toJsonString(urls));
  }

  /** Passes `queues` as a JSON map QueueKey → ARN in `envName` (no access: grant with `useQueues`). */
  useQueueArns(
    envName: typeof RUNTIME_ENV.deadLetterQueueArns | typeof RUNTIME_ENV.queueArns,
    queues: Partial<Record<QueueKey, IQueue>>,
  ): void {
    const arns: Record<string, string> = {};
    for (const [key, queue] of Object.entries(queues)) arns[key] = queue.queueArn;
    this.addEnvironment(envName, Stack.of(this).toJsonString(arns));
  }

  /**
   * Passes the secret's ARN in `envName` and allows reading its value (`GetSecretValue`, what
   * Powertools' `getSecret` calls; not `grantRead`, which adds `DescribeSecret`, never called); with
   * `write`, also storing a new value (`secretsmanager:PutSecretValue` on this secret only: the
   * OAuth token manager writes each rotated refresh token back). Not `grantWrite`, which adds
   * `UpdateSecret` (description, KMS key).
   */
  useSecret(envName: string, secret: ISecret, access: { readonly write?: boolean } = {}): void {
    this.addEnvironment(envName, secret.secretArn);
    this.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
    secret.encryptionKey?.grantDecrypt(this);
    if (access.write) {
      this.addToRolePolicy(
        new PolicyStatement({ actions: ['secretsmanager:PutSecretValue'], resources: [secret.secretArn] }),
      );
      secret.encryptionKey?.grantEncrypt(this);
    }
  }
}
