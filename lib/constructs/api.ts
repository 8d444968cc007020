import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  type JsonSchema,
} from 'aws-cdk-lib/aws-apigateway';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  API_FUNCTIONS,
  API_INTEGRATION_TIMEOUT_SECONDS,
  API_ROUTES,
  functionTimeoutSeconds,
  GATEWAY_5XX_ERROR,
  LONG_POLL_MARGIN_SECONDS,
  operatorRoleName,
  REQUESTS_TABLE,
  RUNTIME_ENV,
  type ApiFunctionName,
  type ApiRoute,
  type RiqConfig,
} from '../../model/config/index.js';
import { allowAtlassianCalls } from './atlassian-caller.js';
import { submitEnvelopeJsonSchema } from '../../model/submit-envelope.js';
import { riqLogGroup } from './log-group.js';
import { RiqFunction } from './riq-function.js';
import type { StatefulResources } from './stateful-resources.js';

/**
 * The API's resource policy: the operator routes of API_ROUTES answer only the operator role
 * (`operatorRoleName`), whatever IAM policy another principal of the account holds. Other routes
 * are left to the callers' IAM policies (same account: an allow in either policy suffices).
 */
export function operatorOnlyPolicy(scope: Construct, config: RiqConfig): PolicyDocument {
  const operatorRoleArn = Stack.of(scope).formatArn({
    service: 'iam',
    region: '',
    resource: 'role',
    resourceName: operatorRoleName(config),
  });
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'OperatorRoutesOnlyForTheOperatorRole',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: operatorRouteResources('execute-api:/*'),
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': operatorRoleArn } },
      }),
    ],
  });
}

/** `<prefix>/<METHOD>/<path>` of each operator route, path parameters as `*`. */
export function operatorRouteResources(prefix: string): string[] {
  return API_ROUTES.filter((r) => r.operator).map((r) => `${prefix}/${r.method}${wildcardPath(r)}`);
}

/** The route's path with each `{parameter}` as `*`, as execute-api ARNs name resources. */
export function wildcardPath(route: ApiRoute): string {
  return route.path.replace(/\{\w+\}/g, '*');
}

/** API Gateway's own answers mapped to RIQ codes: [id, response type, code, retryable, details]. */
const GATEWAY_ERRORS: ReadonlyArray<
  readonly [string, ResponseType, string, boolean, Record<string, string>]
> = [
  ['BadRequestBody', ResponseType.BAD_REQUEST_BODY, 'VALIDATION_ERROR', false, { field: 'body' }],
  ['BadRequestParameters', ResponseType.BAD_REQUEST_PARAMETERS, 'VALIDATION_ERROR', false, { field: 'path' }],
  ['MissingAuthenticationToken', ResponseType.MISSING_AUTHENTICATION_TOKEN, 'PERMISSION_DENIED', false, {}],
  ['AccessDenied', ResponseType.ACCESS_DENIED, 'PERMISSION_DENIED', false, {}],
  ['InvalidSignature', ResponseType.INVALID_SIGNATURE, 'PERMISSION_DENIED', false, {}],
  ['ExpiredToken', ResponseType.EXPIRED_TOKEN, 'PERMISSION_DENIED', false, {}],
  ['RequestTooLarge', ResponseType.REQUEST_TOO_LARGE, 'PAYLOAD_TOO_LARGE', false, { field: 'body' }],
  ['Throttled', ResponseType.THROTTLED, 'RATE_LIMITED', true, {}],
  ['Default5xx', ResponseType.DEFAULT_5XX, GATEWAY_5XX_ERROR.code, GATEWAY_5XX_ERROR.retryable, {}],
];

/**
 * A gateway response body in RIQ's error shape. `$context.error.messageString` is API Gateway's
 * message already quoted as a JSON string; `checked_by` says no function saw the request.
 */
export function gatewayErrorTemplate(
  code: string,
  retryable: boolean,
  details: Record<string, string>,
): string {
  const detail = JSON.stringify({ ...details, checked_by: 'api_gateway' });
  return `{"error":{"code":"${code}","message":$context.error.messageString,"retryable":${retryable},"details":${detail}}}`;
}

/** The submit function's DIRECT calls use the Atlassian secret as the workers do (`routing.direct`). */
export interface RiqApiProps extends StatefulResources {
  readonly config: RiqConfig;
  /** @default 100 */
  readonly throttlingRateLimit?: number;
  /** @default 200 */
  readonly throttlingBurstLimit?: number;
}

/**
 * The REST API (stateless): every route of `API_ROUTES`, IAM-authorized, proxied to one Lambda per
 * API function, each allowed exactly the table and queue actions it performs.
 */
export class RiqApi extends Construct {
  public readonly restApi: RestApi;
  public readonly functions: Record<ApiFunctionName, RiqFunction>;

  constructor(scope: Construct, id: string, props: RiqApiProps) {
    super(scope, id);
    const { config, table, bodies, queues, deadLetterQueues } = props;

    const timeouts = functionTimeoutSeconds(config);
    const resultTimeout = timeouts.result;
    if (resultTimeout > API_INTEGRATION_TIMEOUT_SECONDS) {
      throw new Error(
        `api.longPollCapSeconds + ${LONG_POLL_MARGIN_SECONDS} must not exceed API Gateway's ` +
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
      // failed puts its copy in the DLQ, as a worker does.
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
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      indexes: { [REQUESTS_TABLE.statusIndex.name]: ['dynamodb:Query'] },
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
    deadLetters.addEnvironment(RUNTIME_ENV.deadLetterRedrive, 'move_task');

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

    this.functions = { submit, result, health, circuitBreakers, deadLetters, metrics };

    this.restApi = new RestApi(this, 'RestApi', {
      restApiName: `${config.namePrefix}-api`,
      description: 'RIQ: Resilient Integration Queue in front of Jira and Confluence Cloud',
      endpointTypes: [EndpointType.REGIONAL],
      // Access and execution logs need the account's API Gateway CloudWatch role; keep it when
      // the stack goes, as other APIs in the account and region use the same setting.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      policy: operatorOnlyPolicy(this, config),
      deployOptions: {
        stageName: config.stage,
        throttlingRateLimit: props.throttlingRateLimit ?? 100,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 200,
        accessLogDestination: new LogGroupLogDestination(riqLogGroup(this, 'AccessLogs', config)),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
    });

    // API Gateway checks what it can without a Lambda: required path parameters, and the submit
    // body's envelope against a model generated from the submit function's own schema (known
    // fields and operation, option types and bounds). The payload's schema, dependencies and the
    // size limit stay with the function, which names the failing field precisely.
    const requestValidator = this.restApi.addRequestValidator('RequestValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const submitModel = this.restApi.addModel('SubmitBody', {
      contentType: 'application/json',
      modelName: 'SubmitBody',
      description: 'RIQ submit envelope (model/submit-envelope.ts submitEnvelopeJsonSchema)',
      schema: { schema: JsonSchemaVersion.DRAFT4, ...(submitEnvelopeJsonSchema() as JsonSchema) },
    });
    // What API Gateway answers by itself (a refused body, a missing or bad signature, an unknown
    // route — which IAM auth also answers 403 —, a body over 10 MiB, stage throttling, its own 5xx)
    // comes in RIQ's error shape with a RIQ code, like every answer of the functions.
    for (const [id, type, code, retryable, details] of GATEWAY_ERRORS) {
      this.restApi.addGatewayResponse(id, {
        type,
        templates: { 'application/json': gatewayErrorTemplate(code, retryable, details) },
      });
    }

    const integrations = Object.fromEntries(
      API_FUNCTIONS.map((name) => [
        name,
        new LambdaIntegration(this.functions[name], { proxy: true, allowTestInvoke: false }),
      ]),
    ) as Record<ApiFunctionName, LambdaIntegration>;

    for (const route of API_ROUTES) {
      const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      this.restApi.root.resourceForPath(route.path).addMethod(route.method, integrations[route.fn], {
        authorizationType: AuthorizationType.IAM,
        requestValidator,
        ...(route.fn === 'submit' && { requestModels: { 'application/json': submitModel } }),
        ...(pathParameters.length > 0 && {
          requestParameters: Object.fromEntries(
            pathParameters.map((name) => [`method.request.path.${name}`, true]),
          ),
        }),
      });
    }

    Validations.of(this.restApi).acknowledge(
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Every method requires SigV4-signed IAM credentials of internal callers and the stage is ' +
          'throttled; a WAF web ACL would add cost without a threat it mitigates here.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Callers are internal services authenticated with IAM (AWS_IAM on every method), not Cognito users.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-wide CloudWatch role uses the AWS-managed policy made for it; it " +
          'writes API Gateway execution and access logs only.',
      },
    );
  }
}
