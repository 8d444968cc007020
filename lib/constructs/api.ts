import { Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type HttpStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Construct } from 'constructs';
import {
  API_FUNCTIONS,
  API_INTEGRATION_TIMEOUT_SECONDS,
  API_ROUTES,
  functionTimeoutSeconds,
  LONG_POLL_MARGIN_SECONDS,
  operatorRoleName,
  REQUESTS_TABLE,
  RUNTIME_ENV,
  type ApiFunctionName,
  type ApiRoute,
  type RiqConfig,
} from '../../model/config/index.js';
import { allowAtlassianCalls } from './atlassian-caller.js';
import { riqLogGroup } from './log-group.js';
import { RiqFunction } from './riq-function.js';
import type { StatefulResources } from './stateful-resources.js';

/**
 * The operator role's ARN (`operatorRoleName`), the one principal the operator routes of
 * API_ROUTES answer: the dead-letter function compares each caller's ARN with it
 * (RUNTIME_ENV.operatorArn, lambdas/api/http.ts `requireOperator`).
 */
export function operatorRoleArn(scope: Construct, config: RiqConfig): string {
  return Stack.of(scope).formatArn({
    service: 'iam',
    region: '',
    resource: 'role',
    resourceName: operatorRoleName(config),
  });
}

/**
 * The partition key prefix of the request records (`REQ#<token>`, lambdas/adapters/dynamodb/
 * request-items.ts `requestKey`; test/infra/least-privilege.test.ts checks the two agree).
 */
export const REQUEST_KEY_PREFIX = 'REQ';

/** The route's path with each `{parameter}` as `*`, as execute-api ARNs name resources. */
export function wildcardPath(route: ApiRoute): string {
  return route.path.replace(/\{\w+\}/g, '*');
}

/**
 * The stage's access log line: one JSON object per request, with the request id, the caller (the
 * IAM principal), the route, the status, the latencies and API Gateway's error messages.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  caller: '$context.identity.userArn',
  accountId: '$context.identity.accountId',
  sourceIp: '$context.identity.sourceIp',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  errorMessage: '$context.error.message',
  integrationErrorMessage: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

/** The submit function's DIRECT calls use the Atlassian secret as the workers do (`routing.direct`). */
export interface RiqApiProps extends StatefulResources {
  readonly config: RiqConfig;
  /** @default 100 */
  readonly throttlingRateLimit?: number;
  /** @default 200 */
  readonly throttlingBurstLimit?: number;
}

/**
 * The HTTP API (API Gateway v2, stateless): every route of `API_ROUTES` and a `$default` route for
 * everything else, all IAM-authorized, each proxied (payload format 2.0) to one Lambda per API
 * function, each allowed exactly the table and queue actions it performs. One named stage
 * (`config.stage`), throttled, with JSON access logs; no CORS. HTTP APIs have no resource policy,
 * no request validation, no gateway responses and no X-Ray tracing of their own: the functions
 * validate every input, the dead-letter function checks the operator, unknown routes get the
 * `notFound` function.
 */
export class RiqApi extends Construct {
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  public readonly functions: Record<ApiFunctionName, RiqFunction>;

  constructor(scope: Construct, id: string, props: RiqApiProps) {
    super(scope, id);
    const { config, table, bodies, queues, deadLetterQueues } = props;

    const timeouts = functionTimeoutSeconds(config);
    const resultTimeout = timeouts.result;
    if (resultTimeout > API_INTEGRATION_TIMEOUT_SECONDS) {
      throw new Error(
        `api.longPollCapSeconds + ${LONG_POLL_MARGIN_SECONDS} must not exceed the API's ` +
          `${API_INTEGRATION_TIMEOUT_SECONDS} s integration timeout (got ${resultTimeout} s)`,
      );
    }

    const submit = new RiqFunction(this, 'Submit', {
      config,
      entry: 'submit',
      description: 'RIQ POST /api/queue/submit: validates, stores and enqueues a request, or calls it DIRECT',
      timeout: Duration.seconds(timeouts.submit),
    });
    // UpdateItem: a depends_on registration adds the child to each parent's `dependents` in the
    // same transaction as its Put (lambdas/adapters/dynamodb/dynamo-dependencies.ts).
    submit.useTable(table, {
      actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem'],
    });
    submit.useQueues(RUNTIME_ENV.queueUrls, queues, ['sqs:SendMessage']);
    // Stores large payloads; reads (or presigns) large results it answers: DIRECT, cached, repeated.
    submit.useBodies(bodies, config, { read: true, write: true });
    if (config.routing.direct) {
      // DIRECT calls: the workers' table, secret and site grants; a DIRECT call whose last attempt
      // failed puts its copy in the DLQ, as a worker does. The secret is written too
      // (PutSecretValue): the DIRECT path builds the same Atlassian connection as a worker
      // (lambdas/shared/call-and-settle.ts), whose OAuth token manager stores each rotated refresh
      // token; without it a refresh during a DIRECT call would lose the grant's only live token.
      // With routing.direct off the submit function neither reads nor writes the secret.
      allowAtlassianCalls(submit, { config, table, atlassianSecret: props.atlassianSecret });
      submit.useQueues(RUNTIME_ENV.deadLetterQueueUrls, deadLetterQueues, ['sqs:SendMessage']);
    }

    const result = new RiqFunction(this, 'Result', {
      config,
      entry: 'result',
      description: 'RIQ GET /api/queue/result/{token}: reads a request, long-polling up to the cap',
      timeout: Duration.seconds(resultTimeout),
    });
    result.useTable(table, { actions: ['dynamodb:GetItem'] });
    // Reads a large result to answer it inline, or presigns a GET of it.
    result.useBodies(bodies, config, { read: true });

    const health = new RiqFunction(this, 'Health', {
      config,
      entry: 'health',
      description: 'RIQ GET /api/queue/health: queue depths, breakers, budgets and counts by status',
      timeout: Duration.seconds(timeouts.health),
    });
    health.useTable(table, { indexes: { [REQUESTS_TABLE.statusIndex.name]: ['dynamodb:Query'] } });
    health.useQueues(RUNTIME_ENV.queueUrls, queues, ['sqs:GetQueueAttributes']);
    health.useQueues(RUNTIME_ENV.deadLetterQueueUrls, deadLetterQueues, ['sqs:GetQueueAttributes']);

    // The breakers', token buckets' and points budgets' items.
    health.useTable(table, { actions: ['dynamodb:GetItem'] });

    const circuitBreakers = new RiqFunction(this, 'CircuitBreakers', {
      config,
      entry: 'circuitBreakers',
      description: 'RIQ GET /api/queue/circuit-breakers: every service breaker, read only',
      timeout: Duration.seconds(timeouts.circuitBreakers),
    });
    circuitBreakers.useTable(table, { actions: ['dynamodb:GetItem'] });

    const deadLetters = new RiqFunction(this, 'DeadLetters', {
      config,
      entry: 'deadLetters',
      description: 'RIQ /api/queue/dead-letters: list, retry, purge and redrive dead requests (operators)',
      timeout: Duration.seconds(timeouts.deadLetters),
    });
    // Listing reads the by-status index; retry and purge are conditional writes on one record.
    deadLetters.useTable(table, {
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      indexes: { [REQUESTS_TABLE.statusIndex.name]: ['dynamodb:Query'] },
    });
    // Purge deletes request records (`REQ#<token>`) only, never a call, lock or cache item.
    deadLetters.useTable(table, {
      actions: ['dynamodb:DeleteItem'],
      leadingKeyPrefixes: [REQUEST_KEY_PREFIX],
    });
    // Retry sends a fresh message; the move task needs SendMessage on the destination too.
    deadLetters.useQueues(RUNTIME_ENV.queueUrls, queues, ['sqs:SendMessage']);
    // What SQS requires of the caller of StartMessageMoveTask on the source (dead-letter) queue.
    deadLetters.useQueues(RUNTIME_ENV.deadLetterQueueUrls, deadLetterQueues, [
      'sqs:StartMessageMoveTask',
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
    ]);
    deadLetters.useQueueArns(RUNTIME_ENV.deadLetterQueueArns, deadLetterQueues);
    // Each move task names its destination: the dead-letter queue's own work queue.
    deadLetters.useQueueArns(RUNTIME_ENV.queueArns, queues);
    deadLetters.addEnvironment(RUNTIME_ENV.deadLetterRedrive, 'move_task');
    // IAM lets any principal of the account with execute-api:Invoke through; the function answers
    // only the operator role's sessions.
    deadLetters.addEnvironment(RUNTIME_ENV.operatorArn, operatorRoleArn(this, config));

    const metrics = new RiqFunction(this, 'Metrics', {
      config,
      entry: 'metrics',
      description:
        'RIQ GET /api/queue/metrics: queue, breaker and rate-limit gauges (JSON or Prometheus text)',
      timeout: Duration.seconds(timeouts.metrics),
    });
    // GetItem: the breakers' and rate buckets' items (read only); Query: the dead count, on the index.
    metrics.useTable(table, {
      actions: ['dynamodb:GetItem'],
      indexes: { [REQUESTS_TABLE.statusIndex.name]: ['dynamodb:Query'] },
    });
    metrics.useQueues(RUNTIME_ENV.queueUrls, queues, ['sqs:GetQueueAttributes']);
    metrics.useQueues(RUNTIME_ENV.deadLetterQueueUrls, deadLetterQueues, ['sqs:GetQueueAttributes']);

    const notFound = new RiqFunction(this, 'NotFound', {
      config,
      entry: 'notFound',
      description: "RIQ $default route: answers any other method and path 404 in RIQ's error shape",
      timeout: Duration.seconds(timeouts.notFound),
    });

    this.functions = { submit, result, health, circuitBreakers, deadLetters, metrics, notFound };

    const integrations = Object.fromEntries(
      API_FUNCTIONS.map((name) => [
        name,
        new HttpLambdaIntegration(`${name}Integration`, this.functions[name], {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
          timeout: Duration.seconds(API_INTEGRATION_TIMEOUT_SECONDS),
        }),
      ]),
    ) as Record<ApiFunctionName, HttpLambdaIntegration>;

    // Every route, `$default` included, requires SigV4-signed IAM credentials.
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `${config.namePrefix}-api`,
      description: 'RIQ: Resilient Integration Queue in front of Jira and Confluence Cloud',
      defaultAuthorizer: new HttpIamAuthorizer(),
      defaultIntegration: integrations.notFound,
      createDefaultStage: false,
    });
    for (const route of API_ROUTES) {
      this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.fn],
      });
    }

    // A named stage keeps the URL form `https://<api>.execute-api.<region>.amazonaws.com/<stage>`.
    this.stage = this.httpApi.addStage('Stage', {
      stageName: config.stage,
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttlingRateLimit ?? 100,
        burstLimit: props.throttlingBurstLimit ?? 200,
      },
      // The API's 4xx, 5xx, Count and latencies (by ApiId and Stage) come without it; per-route
      // metrics would be billed as custom metrics.
      detailedMetricsEnabled: false,
      accessLogSettings: {
        destination: new LogGroupLogDestination(riqLogGroup(this, 'AccessLogs', config)),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }
}
