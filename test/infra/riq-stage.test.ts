/**
 * The synthesized dev and prod stages (built once each, with cdk.json's stage overrides):
 * the properties RIQ's guarantees rest on, not whole templates.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allQueueKeys,
  functionTimeoutSeconds,
  API_FUNCTIONS,
  API_ROUTES,
  deadLetterQueueName,
  operatorRoleName,
  messageRetentionSeconds,
  parseQueueKey,
  queueName,
  REQUESTS_TABLE,
  RUNTIME_ENV,
  SERVICES,
  type ApiFunctionName,
  type QueueKey,
  type Service,
} from '../../model/config/index.js';
import {
  actionsOf,
  asArray,
  FUNCTION_NAMES,
  functionId,
  granting,
  importedLogicalId,
  importedResources,
  jsonEnvKeys,
  logicalIdOf,
  policyStatements,
  resourcesOfType,
  serviceOf,
  sorted,
  statementsOfFunction,
  statementsOfRole,
  synthStage,
  withStage,
  WITHOUT_TLS,
  type FunctionName,
  type Resource,
  type SynthesizedStage,
} from './support/synth.js';

const FOURTEEN_DAYS = 14 * 24 * 3600;
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/** What an SQS event source mapping grants its function. */
const EVENT_SOURCE_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];
/** Reading bodies (and presigning GETs of them); ListBucket under requests/ makes a missing one a 404. */
const BODY_READ = ['s3:GetObject', 's3:ListBucket'];
const BODY_READ_WRITE = [...BODY_READ, 's3:PutObject'];
/** What a worker's calls of Atlassian need; the submit function makes the same calls when DIRECT. */
const CALL_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'sqs:SendMessage',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  ...BODY_READ_WRITE,
];
/** Tracing is off by default (`deployment.tracing`): no X-Ray actions (test/infra/lean-functions.test.ts). */
const BASE_ACTIONS = [...LOG_ACTIONS];

/** Every action each function's role grants (routing.direct, on by default, for submit). */
const FUNCTION_ACTIONS: Record<FunctionName, string[]> = {
  submit: [...BASE_ACTIONS, 'dynamodb:ConditionCheckItem', ...CALL_ACTIONS],
  result: [...BASE_ACTIONS, 'dynamodb:GetItem', ...BODY_READ],
  health: [...BASE_ACTIONS, 'dynamodb:GetItem', 'dynamodb:Query', 'sqs:GetQueueAttributes'],
  circuitBreakers: [...BASE_ACTIONS, 'dynamodb:GetItem'],
  // Breaker and rate-bucket items, the dead count on the by-status index, queue depths.
  metrics: [...BASE_ACTIONS, 'dynamodb:GetItem', 'dynamodb:Query', 'sqs:GetQueueAttributes'],
  sweeper: [...BASE_ACTIONS, 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'sqs:SendMessage'],
  deadLetters: [
    ...BASE_ACTIONS,
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:ReceiveMessage',
    'sqs:SendMessage',
    'sqs:StartMessageMoveTask',
  ],
  // Answers from the request alone: no table, queue or bucket.
  notFound: [...BASE_ACTIONS],
  'jira worker': [...BASE_ACTIONS, ...EVENT_SOURCE_ACTIONS, ...CALL_ACTIONS],
  'confluence worker': [...BASE_ACTIONS, ...EVENT_SOURCE_ACTIONS, ...CALL_ACTIONS],
};

/** What a grant may name: resources of the stateful stack. */
type Target =
  | 'the table alone'
  | 'the Atlassian secret alone'
  | 'the work queues alone'
  | 'the dead-letter queues alone'
  | 'the work and dead-letter queues'
  | 'its own work and dead-letter queues alone'
  | 'no resource';

/** Where each function may use an action; a worker sends to its own dead-letter queues too. */
const GRANTS: [FunctionName, string, Target][] = [
  ['metrics', 'sqs:GetQueueAttributes', 'the work and dead-letter queues'],
  ['metrics', 'dynamodb:GetItem', 'the table alone'],
  ['deadLetters', 'sqs:StartMessageMoveTask', 'the dead-letter queues alone'],
  ['deadLetters', 'dynamodb:DeleteItem', 'the table alone'],
  ['sweeper', 'sqs:SendMessage', 'the work queues alone'],
  ['submit', 'secretsmanager:PutSecretValue', 'the Atlassian secret alone'],
  ['result', 'secretsmanager:PutSecretValue', 'no resource'],
  ['health', 'secretsmanager:PutSecretValue', 'no resource'],
  ['metrics', 'secretsmanager:PutSecretValue', 'no resource'],
  ...SERVICES.flatMap((service): [FunctionName, string, Target][] => [
    // Its own DLQs too: a dead request whose receive count deferrals restarted is put there directly.
    [`${service} worker`, 'sqs:SendMessage', 'its own work and dead-letter queues alone'],
    [`${service} worker`, 'secretsmanager:GetSecretValue', 'the Atlassian secret alone'],
    // The rotated OAuth refresh token.
    [`${service} worker`, 'secretsmanager:PutSecretValue', 'the Atlassian secret alone'],
    [`${service} worker`, 'dynamodb:DeleteItem', 'the table alone'],
  ]),
];

/**
 * Actions granted in statements that grant nothing else but the listed companions: CDK's
 * `@aws-cdk/aws-iam:minimizePolicies` merges a role's statements on the same resources and
 * conditions, so writing the secret shares the statement that reads it.
 */
const STATEMENT_COMPANIONS: [FunctionName, string, string[]][] = [
  ['metrics', 'dynamodb:GetItem', []],
  ['submit', 'secretsmanager:PutSecretValue', ['secretsmanager:GetSecretValue']],
  ...SERVICES.flatMap((service): [FunctionName, string, string[]][] => [
    [`${service} worker`, 'secretsmanager:PutSecretValue', ['secretsmanager:GetSecretValue']],
    [`${service} worker`, 'dynamodb:DeleteItem', []],
  ]),
];

/** The JSON maps of queue keys each function gets: every queue's, or a worker's own. */
const QUEUE_KEY_VARIABLES: [FunctionName, keyof typeof RUNTIME_ENV][] = [
  ['submit', 'queueUrls'],
  ['health', 'queueUrls'],
  ['health', 'deadLetterQueueUrls'],
  ['metrics', 'queueUrls'],
  ['metrics', 'deadLetterQueueUrls'],
  ['deadLetters', 'deadLetterQueueArns'],
  ['sweeper', 'queueUrls'],
  ...SERVICES.map((service): [FunctionName, keyof typeof RUNTIME_ENV] => [`${service} worker`, 'queueUrls']),
];

/** The operator routes, as IAM resource paths: `{token}` is `*`. */
const OPERATOR_ROUTES = API_ROUTES.filter((r) => r.operator).map(
  (r) => `${r.method}${r.path.replace(/\{\w+\}/g, '*')}`,
);

describe.each(['dev', 'prod'] as const)('RiqStage %s', (stageName) => {
  const isProd = stageName === 'prod';
  const removal = isProd ? 'Retain' : 'Delete';

  let riq: SynthesizedStage;
  let queues: Record<string, Resource>;
  let functions: Record<string, Resource>;
  let mappings: Resource[];
  let queueIdByName: Map<string, string>;

  beforeAll(() => {
    riq = synthStage(stageName);
    queues = resourcesOfType(riq.stateful, 'AWS::SQS::Queue');
    functions = resourcesOfType(riq.stateless, 'AWS::Lambda::Function');
    mappings = Object.values(resourcesOfType(riq.stateless, 'AWS::Lambda::EventSourceMapping'));
    queueIdByName = new Map(
      Object.entries(queues).map(([id, q]) => [q.Properties['QueueName'] as string, id]),
    );
  });
  afterAll(() => riq?.cleanup());

  const queueId = (key: QueueKey) => queueIdByName.get(queueName(riq.config, key)) ?? 'missing';
  const dlqId = (key: QueueKey) => queueIdByName.get(deadLetterQueueName(riq.config, key)) ?? 'missing';
  const keysOf = (service: Service) => allQueueKeys().filter((k) => parseQueueKey(k).service === service);
  const idOf = (name: FunctionName) => functionId(riq, name);
  const apiFunctionId = (name: ApiFunctionName) => idOf(name);
  const workerId = (service: Service) => idOf(`${service} worker`);
  const fn = (id: string) => functions[id]?.Properties ?? {};
  const env = (id: string) => (fn(id)['Environment'] as { Variables: Record<string, unknown> }).Variables;
  const mappingsOf = (service: Service) =>
    mappings.filter((m) => (m.Properties['FunctionName'] as { Ref: string }).Ref === workerId(service));
  const tableId = () => logicalIdOf(riq.stage.stateful.table);
  const httpApiId = () => logicalIdOf(riq.stage.stateless.api.httpApi);
  const secretId = () => logicalIdOf(riq.stage.stateful.atlassianSecret);
  /** The queue keys of a function's JSON maps: a worker's own, or all. */
  const queueKeysOf = (name: FunctionName) => {
    const service = serviceOf(name);
    return service ? keysOf(service) : allQueueKeys();
  };
  const targets: Record<Target, (name: FunctionName) => string[]> = {
    'the table alone': () => [tableId()],
    'the Atlassian secret alone': () => [secretId()],
    'the work queues alone': () => allQueueKeys().map(queueId),
    'the dead-letter queues alone': () => allQueueKeys().map(dlqId),
    'the work and dead-letter queues': () => [...allQueueKeys().map(queueId), ...allQueueKeys().map(dlqId)],
    'its own work and dead-letter queues alone': (name) => [
      ...queueKeysOf(name).map(queueId),
      ...queueKeysOf(name).map(dlqId),
    ],
    'no resource': () => [],
  };
  /** The statements of a function's role that grant an action. */
  const grantsOf = (name: FunctionName, action: string) =>
    granting(statementsOfFunction(riq.stateless, idOf(name)), action);
  const removalOf = (resource: Resource | undefined) => ({
    DeletionPolicy: resource?.DeletionPolicy,
    UpdateReplacePolicy: resource?.UpdateReplacePolicy,
  });

  describe('stacks', () => {
    it('names the stage and its stacks after the stage', () => {
      expect(riq.stage.stageName).toBe(`Riq-${stageName}`);
      expect(riq.stage.stateful.stackName).toBe(`riq-${stageName}-stateful`);
      expect(riq.stage.stateless.stackName).toBe(`riq-${stageName}-stateless`);
      expect(riq.config.namePrefix).toBe(`riq-${stageName}`);
    });

    it(`${isProd ? 'protects' : 'does not protect'} the stateful stack from deletion`, () => {
      expect(riq.stage.stateful.terminationProtection).toBe(isProd);
    });
  });

  describe('work queues', () => {
    it('has a queue and a dead-letter queue per service and priority, named from the config', () => {
      expect(Object.keys(queues)).toHaveLength(12);
      for (const key of allQueueKeys()) {
        expect(queueId(key)).not.toBe('missing');
        expect(dlqId(key)).not.toBe('missing');
      }
    });

    it('redrives each queue to its own dead-letter queue after 4 receives (retry.maxAttempts)', () => {
      expect(riq.config.retry.maxAttempts).toBe(4);
      for (const key of allQueueKeys()) {
        expect(queues[queueId(key)]?.Properties['RedrivePolicy']).toEqual({
          deadLetterTargetArn: { 'Fn::GetAtt': [dlqId(key), 'Arn'] },
          maxReceiveCount: 4,
        });
        expect(queues[dlqId(key)]?.Properties['RedrivePolicy']).toBeUndefined();
      }
    });

    it('encrypts every queue with SQS-managed keys', () => {
      for (const queue of Object.values(queues)) {
        expect(queue.Properties['SqsManagedSseEnabled']).toBe(true);
        expect(queue.Properties['KmsMasterKeyId']).toBeUndefined();
      }
    });

    it('denies every request without TLS to every queue', () => {
      const policies = Object.values(resourcesOfType(riq.stateful, 'AWS::SQS::QueuePolicy'));
      for (const id of Object.keys(queues)) {
        const denies = policyStatements(
          policies.filter((p) => (p.Properties['Queues'] as { Ref?: string }[]).some((q) => q.Ref === id)),
        ).filter(
          (s) =>
            s.Effect === 'Deny' &&
            asArray(s.Action).includes('sqs:*') &&
            JSON.stringify(s.Condition) === JSON.stringify(WITHOUT_TLS),
        );
        expect(denies, `TLS-only policy on ${id}`).toHaveLength(1);
        expect(denies[0]?.Resource).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
      }
    });

    it("hides a received message for at least six times its worker's timeout", () => {
      for (const service of SERVICES) {
        const workerTimeout = fn(workerId(service))['Timeout'] as number;
        expect(workerTimeout).toBe(riq.config.worker.timeoutSeconds);
        for (const key of keysOf(service)) {
          expect(queues[queueId(key)]?.Properties['VisibilityTimeout']).toBeGreaterThanOrEqual(
            6 * workerTimeout,
          );
        }
      }
    });

    it('keeps messages as long as records, and dead letters 14 days', () => {
      for (const key of allQueueKeys()) {
        expect(queues[queueId(key)]?.Properties['MessageRetentionPeriod']).toBe(
          messageRetentionSeconds(riq.config),
        );
        expect(queues[dlqId(key)]?.Properties['MessageRetentionPeriod']).toBe(FOURTEEN_DAYS);
      }
    });

    it(`${isProd ? 'retains' : 'deletes'} dead-letter queues with the stack`, () => {
      for (const key of allQueueKeys()) expect(queues[dlqId(key)]?.DeletionPolicy).toBe(removal);
    });
  });

  describe('event source mappings', () => {
    it("maps each queue to its service's worker and reports partial batch failures", () => {
      expect(mappings).toHaveLength(6);
      for (const service of SERVICES) {
        const mapped = mappingsOf(service).map((m) =>
          importedLogicalId(riq.stateful, m.Properties['EventSourceArn']),
        );
        expect(sorted(mapped)).toEqual(sorted(keysOf(service).map(queueId)));
      }
      for (const mapping of mappings) {
        expect(mapping.Properties['FunctionResponseTypes']).toEqual(['ReportBatchItemFailures']);
        expect(mapping.Properties['BatchSize']).toBe(riq.config.worker.batchSize);
      }
    });

    it('caps each mapping at the maximum concurrency configured for its priority', () => {
      for (const mapping of mappings) {
        const id = importedLogicalId(riq.stateful, mapping.Properties['EventSourceArn']);
        const key = allQueueKeys().find((k) => queueId(k) === id);
        if (!key) throw new Error(`mapping on unknown queue ${id}`);
        const { service, priority } = parseQueueKey(key);
        expect(mapping.Properties['ScalingConfig']).toEqual({
          MaximumConcurrency: riq.config.services[service].concurrency[priority],
        });
      }
    });
  });

  describe('workers', () => {
    it("reserves for each worker exactly the sum of its mappings' maximum concurrency", () => {
      for (const service of SERVICES) {
        const sum = mappingsOf(service).reduce(
          (total, m) =>
            total + (m.Properties['ScalingConfig'] as { MaximumConcurrency: number }).MaximumConcurrency,
          0,
        );
        expect(fn(workerId(service))['ReservedConcurrentExecutions']).toBe(sum);
      }
    });

    it('takes the bulkhead from the stage overrides in cdk.json', () => {
      // cdk.json gives prod's Jira high priority 4 concurrent workers instead of 2.
      const expected = isProd ? { jira: 8, confluence: 6 } : { jira: 6, confluence: 6 };
      for (const service of SERVICES) {
        expect(fn(workerId(service))['ReservedConcurrentExecutions']).toBe(expected[service]);
      }
    });

    it('runs with the configured memory and passes the Atlassian secret', () => {
      for (const service of SERVICES) {
        const id = workerId(service);
        expect(fn(id)['MemorySize']).toBe(riq.config.worker.memoryMb);
        expect(importedLogicalId(riq.stateful, env(id)[RUNTIME_ENV.atlassianSecretArn])).toBe(secretId());
      }
    });

    it('warns at synth when atlassian.siteUrl is not configured', () => {
      expect(riq.config.atlassian.siteUrl).toBeUndefined();
      const warnings = riq.stage.stateless.node.metadata
        .filter((entry) => entry.type === 'aws:cdk:warning')
        .map((entry) => String(entry.data));
      expect(warnings.filter((w) => w.includes('atlassian.siteUrl is not set for this stage'))).toHaveLength(
        1,
      );
    });

    it('sets no Atlassian base URL when atlassian.siteUrl is not configured', () => {
      expect(riq.config.atlassian.siteUrl).toBeUndefined();
      for (const service of SERVICES) {
        for (const variable of [
          RUNTIME_ENV.jiraBaseUrl,
          RUNTIME_ENV.confluenceBaseUrl,
          RUNTIME_ENV.atlassianSiteUrl,
        ]) {
          expect(env(workerId(service))).not.toHaveProperty(variable);
        }
      }
    });
  });

  describe('requests table', () => {
    let table: Resource;
    beforeAll(() => {
      const tables = Object.values(resourcesOfType(riq.stateful, 'AWS::DynamoDB::Table'));
      expect(tables).toHaveLength(1);
      table = tables[0] as Resource;
    });

    it('is on demand, keyed by pk and encrypted', () => {
      expect(table.Properties).toMatchObject({
        TableName: `riq-${stageName}-requests`,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: REQUESTS_TABLE.partitionKey, KeyType: 'HASH' }],
        SSESpecification: { SSEEnabled: true },
      });
    });

    it('expires records through the TTL attribute', () => {
      expect(table.Properties['TimeToLiveSpecification']).toEqual({
        AttributeName: REQUESTS_TABLE.ttlAttribute,
        Enabled: true,
      });
    });

    it('lists requests by status through a sparse index that projects only what the sweeper and the request listing read', () => {
      expect(table.Properties['GlobalSecondaryIndexes']).toEqual([
        {
          IndexName: 'by-listed-status',
          KeySchema: [
            { AttributeName: 'listed_status', KeyType: 'HASH' },
            { AttributeName: 'created_at', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: [
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
        },
      ]);
    });

    it(`${isProd ? 'enables' : 'disables'} point-in-time recovery and ${isProd ? 'retains' : 'deletes'} the table`, () => {
      expect(table.Properties['PointInTimeRecoverySpecification']).toEqual({
        PointInTimeRecoveryEnabled: isProd,
      });
      expect(removalOf(table)).toEqual({ DeletionPolicy: removal, UpdateReplacePolicy: removal });
    });
  });

  describe('Atlassian secret', () => {
    it('is named after the stage and holds no value in the template', () => {
      const secret = resourcesOfType(riq.stateful, 'AWS::SecretsManager::Secret')[secretId()];
      expect(secret?.Properties['Name']).toBe(`riq-${stageName}/atlassian`);
      expect(secret?.Properties).not.toHaveProperty('SecretString');
      expect(secret?.Properties['Description']).toContain('api_token');
    });
  });

  describe('functions', () => {
    it('are the API functions, the sweeper and the two workers', () => {
      expect(sorted(Object.keys(functions))).toEqual(sorted(FUNCTION_NAMES.map(idOf)));
    });

    it('all run Node.js 24 on ARM64 without tracing or source maps, with the settings and the table', () => {
      for (const id of Object.keys(functions)) {
        expect(fn(id)).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
        });
        expect(fn(id)['TracingConfig']).toBeUndefined();
        expect(env(id)['NODE_OPTIONS']).toBeUndefined();
        expect(JSON.parse(env(id)[RUNTIME_ENV.settings] as string)).toEqual(riq.config);
        // The not-found function answers from the request alone.
        if (id === apiFunctionId('notFound')) expect(env(id)).not.toHaveProperty(RUNTIME_ENV.tableName);
        else expect(importedLogicalId(riq.stateful, env(id)[RUNTIME_ENV.tableName])).toBe(tableId());
      }
    });

    it('log to their own log group with the configured retention', () => {
      const logGroups = resourcesOfType(riq.stateless, 'AWS::Logs::LogGroup');
      const ownGroups = new Set<string>();
      for (const id of Object.keys(functions)) {
        const groupId = (fn(id)['LoggingConfig'] as { LogGroup: { Ref: string } }).LogGroup.Ref;
        ownGroups.add(groupId);
        expect(logGroups[groupId]?.Properties['RetentionInDays']).toBe(isProd ? 365 : 30);
      }
      expect(ownGroups.size).toBe(Object.keys(functions).length);
    });

    it.each<[ApiFunctionName, () => number]>([
      ['submit', () => 10],
      ['health', () => 10],
      ['metrics', () => 10],
      ['result', () => riq.config.api.longPollCapSeconds + 4],
    ])('give %s its timeout, within API Gateway’s 29 s', (name, timeout) => {
      expect(fn(apiFunctionId(name))['Timeout']).toBe(timeout());
      expect(fn(apiFunctionId(name))['Timeout']).toBeLessThanOrEqual(29);
    });

    it('give every function the timeout the local stack enforces (functionTimeoutSeconds)', () => {
      const timeouts = functionTimeoutSeconds(riq.config);
      for (const name of API_FUNCTIONS) expect(fn(apiFunctionId(name))['Timeout']).toBe(timeouts[name]);
      for (const service of SERVICES) expect(fn(workerId(service))['Timeout']).toBe(timeouts.worker);
      expect(fn(idOf('sweeper'))['Timeout']).toBe(timeouts.sweeper);
    });

    it.each(QUEUE_KEY_VARIABLES)('pass %s the keys of its queues in %s', (name, variable) => {
      expect(sorted(jsonEnvKeys(env(idOf(name))[RUNTIME_ENV[variable]]))).toEqual(sorted(queueKeysOf(name)));
    });

    it('pass result no queue URLs', () => {
      expect(env(apiFunctionId('result'))).not.toHaveProperty(RUNTIME_ENV.queueUrls);
    });

    it('tell the dead-letter API to redrive with a message move task', () => {
      expect(env(apiFunctionId('deadLetters'))[RUNTIME_ENV.deadLetterRedrive]).toBe('move_task');
    });
  });

  describe('HTTP API', () => {
    let routes: Resource[];
    let integrations: Record<string, Resource>;
    beforeAll(() => {
      routes = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGatewayV2::Route'));
      integrations = resourcesOfType(riq.stateless, 'AWS::ApiGatewayV2::Integration');
    });

    /** The function a route's integration invokes. */
    const targetOf = (route: Resource): ApiFunctionName | undefined => {
      const target = String(route.Properties['Target'] ? JSON.stringify(route.Properties['Target']) : '');
      const integrationId = Object.keys(integrations).find((id) => target.includes(`"${id}"`));
      const uri = JSON.stringify(integrations[integrationId ?? '']?.Properties['IntegrationUri']);
      return API_FUNCTIONS.find((name) => uri.includes(`"${apiFunctionId(name)}"`));
    };

    it('is one HTTP API, without CORS, and no REST API', () => {
      const apis = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGatewayV2::Api'));
      expect(apis).toHaveLength(1);
      expect(apis[0]?.Properties).toMatchObject({
        ProtocolType: 'HTTP',
        Name: `${riq.config.namePrefix}-api`,
      });
      expect(apis[0]?.Properties['CorsConfiguration']).toBeUndefined();
      expect(Object.keys(resourcesOfType(riq.stateless, 'AWS::ApiGateway::RestApi'))).toEqual([]);
    });

    it('requires IAM authorization on every route, $default included', () => {
      expect(routes.length).toBe(API_ROUTES.length + 1);
      for (const route of routes) expect(route.Properties['AuthorizationType']).toBe('AWS_IAM');
    });

    it('serves exactly the routes of API_ROUTES, each proxied (payload 2.0) to its function, and $default to notFound', () => {
      const served = routes.map((r) => `${r.Properties['RouteKey'] as string} ${targetOf(r)}`);
      expect(sorted(served)).toEqual(
        sorted([...API_ROUTES.map((r) => `${r.method} ${r.path} ${r.fn}`), '$default notFound']),
      );
      for (const integration of Object.values(integrations)) {
        expect(integration.Properties).toMatchObject({
          IntegrationType: 'AWS_PROXY',
          PayloadFormatVersion: '2.0',
          TimeoutInMillis: 29_000,
        });
      }
    });

    it.each([
      ['/api/queue/circuit-breakers', 'circuitBreakers'],
      ['/api/queue/metrics', 'metrics'],
    ] as const)(
      'serves GET %s with IAM auth from the %s function, outside the operator routes',
      (path, name) => {
        const route = routes.find((r) => r.Properties['RouteKey'] === `GET ${path}`);
        expect(route?.Properties['AuthorizationType']).toBe('AWS_IAM');
        expect(route && targetOf(route)).toBe(name);
        expect(API_ROUTES.find((r) => r.path === path)?.operator).toBeUndefined();
      },
    );

    it('tells the dead-letter function the operator role ARN, which it alone is given', () => {
      expect(API_ROUTES.filter((r) => r.operator).map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /api/queue/requests',
        'GET /api/queue/requests/{token}',
        'GET /api/queue/dead-letters',
        'POST /api/queue/dead-letters/redrive',
        'POST /api/queue/dead-letters/{token}/retry',
        'DELETE /api/queue/dead-letters/{token}',
      ]);
      expect(new Set(API_ROUTES.filter((r) => r.operator).map((r) => r.fn))).toEqual(
        new Set(['deadLetters']),
      );
      const arn = JSON.stringify(env(apiFunctionId('deadLetters'))[RUNTIME_ENV.operatorArn]);
      expect(arn).toContain(`:role/${operatorRoleName(riq.config)}`);
      expect(arn).toContain(':iam::');
      for (const name of API_FUNCTIONS.filter((n) => n !== 'deadLetters')) {
        expect(env(apiFunctionId(name))).not.toHaveProperty(RUNTIME_ENV.operatorArn);
      }
    });

    it('creates the operator role, allowed only to invoke operator, health and breaker routes, and outputs its ARN', () => {
      const roles = resourcesOfType(riq.stateless, 'AWS::IAM::Role');
      const roleId = logicalIdOf(riq.stage.stateless.operator.role);
      expect(roles[roleId]?.Properties['RoleName']).toBe(operatorRoleName(riq.config));
      const statements = statementsOfRole(riq.stateless, roleId);
      expect(actionsOf(statements)).toEqual(['execute-api:Invoke']);
      const resources = statements.flatMap((st) =>
        asArray(st.Resource).map((r) => {
          const parts = (r as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
          return String(parts.at(-1));
        }),
      );
      expect(sorted(resources)).toEqual(
        sorted([
          // The read-only views an operator watches, and every operator route, on the stage.
          `/${stageName}/GET/api/queue/health`,
          `/${stageName}/GET/api/queue/circuit-breakers`,
          `/${stageName}/GET/api/queue/metrics`,
          ...OPERATOR_ROUTES.map((route) => `/${stageName}/${route}`),
        ]),
      );
      const outputs = riq.stateless.toJSON()['Outputs'] as Record<string, { Value: unknown }>;
      expect(
        Object.values(outputs).some(
          (o) => JSON.stringify(o.Value) === JSON.stringify({ 'Fn::GetAtt': [roleId, 'Arn'] }),
        ),
      ).toBe(true);
    });

    it('deploys one throttled, JSON access-logged stage named after the stage', () => {
      const stages = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGatewayV2::Stage'));
      expect(stages).toHaveLength(1);
      const stage = stages[0]?.Properties ?? {};
      expect(stage['StageName']).toBe(stageName);
      expect(stage['AutoDeploy']).toBe(true);
      expect(stage['DefaultRouteSettings']).toMatchObject({
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
      });
      const format = JSON.parse((stage['AccessLogSettings'] as { Format: string }).Format) as Record<
        string,
        string
      >;
      expect(format).toMatchObject({
        requestId: '$context.requestId',
        caller: '$context.identity.userArn',
        routeKey: '$context.routeKey',
        status: '$context.status',
        integrationLatency: '$context.integrationLatency',
        errorMessage: '$context.error.message',
      });
      expect(JSON.stringify(stage['AccessLogSettings'])).toContain('DestinationArn');
    });
  });

  describe('IAM', () => {
    const allStatements = () =>
      [riq.stateful, riq.stateless].flatMap((template) =>
        policyStatements(Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))),
      );

    it('grants no wildcard action', () => {
      const statements = allStatements();
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
      }
    });

    it('grants nothing on Resource "*" (tracing, which needs it, is off)', () => {
      expect(allStatements().filter((s) => asArray(s.Resource).includes('*'))).toEqual([]);
    });

    it('attaches no managed policy, and needs no account-wide API Gateway logging role', () => {
      const roles = Object.values(resourcesOfType(riq.stateless, 'AWS::IAM::Role'));
      expect(roles.filter((r) => r.Properties['ManagedPolicyArns'] !== undefined)).toEqual([]);
      expect(Object.keys(resourcesOfType(riq.stateless, 'AWS::ApiGateway::Account'))).toEqual([]);
    });

    it.each(FUNCTION_NAMES)('lets %s do exactly what its role needs', (name) => {
      expect(actionsOf(statementsOfFunction(riq.stateless, idOf(name)))).toEqual(
        sorted(FUNCTION_ACTIONS[name]),
      );
    });

    it.each(GRANTS)('grants %s %s on %s', (name, action, target) => {
      expect(importedResources(riq.stateful, grantsOf(name, action)).sort()).toEqual(
        targets[target](name).sort(),
      );
    });

    it.each(STATEMENT_COMPANIONS)(
      'grants %s %s in one statement, beside nothing but %j',
      (name, action, companions) => {
        expect(grantsOf(name, action).map((s) => sorted(asArray(s.Action)))).toEqual([
          sorted([action, ...companions]),
        ]);
      },
    );

    it.each(['health', 'metrics', 'deadLetters', 'sweeper'] as const)(
      'lets %s query only the by-status index, never the table',
      (name) => {
        const queries = grantsOf(name, 'dynamodb:Query');
        expect(queries).toHaveLength(1);
        const join = (queries[0]?.Resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
        expect(importedLogicalId(riq.stateful, join[1][0])).toBe(tableId());
        expect(join[1][1]).toBe('/index/by-listed-status');
      },
    );

    it.each(SERVICES)(
      'lets the %s worker delete only the idempotency records of its calls and stale read-cache entries, never a request or a write lock',
      (service) => {
        const deletes = grantsOf(`${service} worker`, 'dynamodb:DeleteItem');
        expect(deletes.map((s) => s.Condition)).toEqual([
          {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [
                `${REQUESTS_TABLE.callKeyPrefix}#*`,
                `${REQUESTS_TABLE.cacheKeyPrefix}#*`,
              ],
            },
          },
        ]);
      },
    );
  });

  describe('sweeper', () => {
    it('runs every minute from an EventBridge schedule, without retries', () => {
      const rules = Object.values(resourcesOfType(riq.stateless, 'AWS::Events::Rule'));
      expect(rules).toHaveLength(1);
      expect(rules[0]?.Properties['ScheduleExpression']).toBe('rate(1 minute)');
      expect(rules[0]?.Properties['State']).toBe('ENABLED');
      expect(rules[0]?.Properties['Targets']).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [idOf('sweeper'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ]);
      const permissions = Object.values(resourcesOfType(riq.stateless, 'AWS::Lambda::Permission')).filter(
        (p) => JSON.stringify(p.Properties['FunctionName']).includes(`"${idOf('sweeper')}"`),
      );
      expect(permissions.map((p) => p.Properties['Principal'])).toEqual(['events.amazonaws.com']);
    });

    it('ends within the minute between two runs', () => {
      expect(fn(idOf('sweeper'))['Timeout']).toBeLessThan(60);
    });
  });

  describe('bodies bucket', () => {
    const bucket = () => {
      const buckets = Object.values(resourcesOfType(riq.stateful, 'AWS::S3::Bucket'));
      expect(buckets).toHaveLength(1);
      return buckets[0]!;
    };

    it('encrypts with S3-managed keys and blocks every kind of public access', () => {
      expect(bucket().Properties['BucketEncryption']).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(bucket().Properties['PublicAccessBlockConfiguration']).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    });

    it('denies every request that is not over TLS', () => {
      const statements = policyStatements(
        Object.values(resourcesOfType(riq.stateful, 'AWS::S3::BucketPolicy')),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: WITHOUT_TLS }),
      );
    });

    it('expires bodies after the retention of the records (retentionDays)', () => {
      const rules = (
        bucket().Properties['LifecycleConfiguration'] as { Rules: Array<Record<string, unknown>> }
      ).Rules;
      expect(rules).toContainEqual(
        expect.objectContaining({ Status: 'Enabled', ExpirationInDays: riq.config.retentionDays }),
      );
    });

    it(`${isProd ? 'is retained' : 'is destroyed with its objects'} when the stack is deleted, as the table`, () => {
      expect(removalOf(bucket())).toEqual({ DeletionPolicy: removal, UpdateReplacePolicy: removal });
      const table = resourcesOfType(riq.stateful, 'AWS::DynamoDB::Table')[tableId()];
      expect(bucket().DeletionPolicy).toBe(table?.DeletionPolicy);
      expect(Object.keys(resourcesOfType(riq.stateful, 'Custom::S3AutoDeleteObjects'))).toHaveLength(
        isProd ? 0 : 1,
      );
    });

    it('passes its name to submit, result and the workers only, and grants them requests/* only', () => {
      const withBucket = Object.entries(functions)
        .filter(
          ([, f]) =>
            RUNTIME_ENV.bodyBucket in (f.Properties['Environment'] as { Variables: object }).Variables,
        )
        .map(([id]) => id);
      expect(sorted(withBucket)).toEqual(
        sorted([apiFunctionId('submit'), apiFunctionId('result'), ...SERVICES.map(workerId)]),
      );
      for (const id of withBucket) {
        const objectStatements = statementsOfFunction(riq.stateless, id).filter((st) =>
          asArray(st.Action).some((a) => a === 's3:GetObject' || a === 's3:PutObject'),
        );
        expect(objectStatements.map((st) => JSON.stringify(st.Resource))).toEqual([
          JSON.stringify({
            'Fn::Join': ['', [{ 'Fn::ImportValue': `riq-${stageName}-bodies-bucket-arn` }, '/requests/*']],
          }),
        ]);
        expect(asArray(objectStatements[0]!.Action).some((a) => a.startsWith('s3:Delete'))).toBe(false);
      }
    });

    it("tells those functions where its objects are: its regional domain, in the stack's partition", () => {
      for (const id of [apiFunctionId('submit'), apiFunctionId('result'), ...SERVICES.map(workerId)]) {
        const variables = (functions[id]!.Properties['Environment'] as { Variables: Record<string, unknown> })
          .Variables;
        expect(variables[RUNTIME_ENV.bodyBucketDomain]).toEqual({
          'Fn::Join': [
            '',
            [
              { 'Fn::ImportValue': `riq-${stageName}-bodies-bucket-name` },
              '.s3.',
              { Ref: 'AWS::Region' },
              '.',
              { Ref: 'AWS::URLSuffix' },
            ],
          ],
        });
      }
    });
  });

  describe('cdk-nag AwsSolutions', () => {
    it('reports no unacknowledged error or warning', () => {
      const report = new AwsSolutionsChecks().validateScope(riq.app);
      const findings = report.violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath ?? '?'}`),
      );
      expect(findings).toEqual([]);
    });

    it('acknowledges only the expected rules, each with a concrete reason', () => {
      const acknowledged: string[] = [];
      for (const construct of riq.app.node.findAll()) {
        for (const entry of construct.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
            expect(typeof reason === 'string' && reason.length >= 60, `reason of ${id}`).toBe(true);
            const rule = id.replace(/^annotation::/i, '');
            // The Serverless pack's acknowledgements are listed in cdk-nag.test.ts.
            if (rule.startsWith('AwsSolutions-')) acknowledged.push(rule);
          }
        }
      }
      expect(sorted(acknowledged)).toEqual(
        sorted([
          // Only while point-in-time recovery is off (dev, staging).
          ...(isProd ? [] : ['AwsSolutions-DDB3']),
          'AwsSolutions-SMG4',
          // No X-Ray statement on Resource "*": tracing is off by default (lean-functions.test.ts).
          // The functions that read or write bodies: objects under requests/ of the bodies bucket.
          `AwsSolutions-IAM5[Resource::riq-${stageName}-bodies-bucket-arn/requests/*]`,
          // The bodies bucket keeps no access logs (its objects are short-lived request bodies).
          'AwsSolutions-S1',
          // The operator role: `*` only for the {token} of the request view, retry and purge.
          ...[
            'GET/api/queue/requests/*',
            'POST/api/queue/dead-letters/*/retry',
            'DELETE/api/queue/dead-letters/*',
          ].map(
            (route) =>
              `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${httpApiId()}>/${stageName}/${route}]`,
          ),
        ]),
      );
    });
  });
});

describe('RiqStage submit function and adaptive routing', () => {
  const submitOf = (riq: SynthesizedStage) => {
    const id = functionId(riq, 'submit');
    return {
      props: resourcesOfType(riq.stateless, 'AWS::Lambda::Function')[id]?.Properties ?? {},
      actions: actionsOf(statementsOfFunction(riq.stateless, id)),
    };
  };

  it('with DIRECT calls off, gives submit neither the secret nor the workers’ grants', () => {
    const { actions } = withStage('dev', { 'riq:stages': { dev: { routing: { direct: false } } } }, submitOf);
    expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    expect(actions).not.toContain('dynamodb:DeleteItem');
  });

  it('covers a long DIRECT deadline with the submit timeout, still inside API Gateway’s 29 s', () => {
    const { props } = withStage(
      'dev',
      { 'riq:stages': { dev: { routing: { directTimeoutMs: 8_000 }, upstream: { timeoutMs: 10_000 } } } },
      submitOf,
    );
    expect(props['Timeout']).toBe(15);
    expect(() =>
      synthStage('dev', { 'riq:stages': { dev: { routing: { directTimeoutMs: 25_000 } } } }),
    ).toThrow(/routing\.directTimeoutMs/);
  });
});
