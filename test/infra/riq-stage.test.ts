/**
 * The synthesized dev and prod stages (built once each, with cdk.json's stage overrides):
 * the properties RIQ's guarantees rest on, not whole templates.
 */
import { submitEnvelopeJsonSchema } from '../../model/submit-envelope.js';
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
  importedLogicalId,
  jsonEnvKeys,
  logicalIdOf,
  resourcesOfType,
  statementsOfFunction,
  synthStage,
  type PolicyStatementJson,
  type Resource,
  type SynthesizedStage,
} from './support/synth.js';

const FOURTEEN_DAYS = 14 * 24 * 3600;
/** The only actions allowed on Resource "*": X-Ray has no resource-level permissions. */
const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/** What an SQS event source mapping grants its function. */
const EVENT_SOURCE_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
/** Reading bodies (and presigning GETs of them); ListBucket under requests/ makes a missing one a 404. */
const BODY_READ = ['s3:GetObject', 's3:ListBucket'];
const BODY_READ_WRITE = [...BODY_READ, 's3:PutObject'];

for (const stageName of ['dev', 'prod'] as const) {
  const isProd = stageName === 'prod';

  describe(`RiqStage ${stageName}`, () => {
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
    const apiFunctionId = (name: ApiFunctionName) => logicalIdOf(riq.stage.stateless.api.functions[name]);
    const workerId = (service: Service) => logicalIdOf(riq.stage.stateless.workers.functions[service]);
    const fn = (id: string) => functions[id]?.Properties ?? {};
    const env = (id: string) => (fn(id)['Environment'] as { Variables: Record<string, unknown> }).Variables;
    const mappingsOf = (service: Service) =>
      mappings.filter((m) => (m.Properties['FunctionName'] as { Ref: string }).Ref === workerId(service));
    const tableId = () => logicalIdOf(riq.stage.stateful.table);
    const sweeperId = () => logicalIdOf(riq.stage.stateless.sweeper.function);
    const restApiId = () => logicalIdOf(riq.stage.stateless.api.restApi);
    const stageId = () => logicalIdOf(riq.stage.stateless.api.restApi.deploymentStage);
    const secretId = () => logicalIdOf(riq.stage.stateful.atlassianSecret);

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
          const denies = policies
            .filter((p) => (p.Properties['Queues'] as { Ref?: string }[]).some((q) => q.Ref === id))
            .flatMap(
              (p) => (p.Properties['PolicyDocument'] as { Statement: PolicyStatementJson[] }).Statement,
            )
            .filter(
              (s) =>
                s.Effect === 'Deny' &&
                asArray(s.Action).includes('sqs:*') &&
                JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
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
        for (const key of allQueueKeys())
          expect(queues[dlqId(key)]?.DeletionPolicy).toBe(isProd ? 'Retain' : 'Delete');
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

      it('runs with the configured memory and passes its own queues, the table and the secret', () => {
        for (const service of SERVICES) {
          const id = workerId(service);
          expect(fn(id)['MemorySize']).toBe(riq.config.worker.memoryMb);
          expect(sorted(jsonEnvKeys(env(id)[RUNTIME_ENV.queueUrls]))).toEqual(sorted(keysOf(service)));
          expect(importedLogicalId(riq.stateful, env(id)[RUNTIME_ENV.tableName])).toBe(tableId());
          expect(importedLogicalId(riq.stateful, env(id)[RUNTIME_ENV.atlassianSecretArn])).toBe(secretId());
        }
      });

      it('sets no Atlassian base URL when atlassian.siteUrl is not configured', () => {
        expect(riq.config.atlassian.siteUrl).toBeUndefined();
        for (const service of SERVICES) {
          expect(env(workerId(service))).not.toHaveProperty(RUNTIME_ENV.jiraBaseUrl);
          expect(env(workerId(service))).not.toHaveProperty(RUNTIME_ENV.confluenceBaseUrl);
          expect(env(workerId(service))).not.toHaveProperty(RUNTIME_ENV.atlassianSiteUrl);
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

      it('lists requests by status through the by-status index', () => {
        expect(table.Properties['GlobalSecondaryIndexes']).toEqual([
          {
            IndexName: 'by-status',
            KeySchema: [
              { AttributeName: 'status', KeyType: 'HASH' },
              { AttributeName: 'created_at', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ]);
      });

      it(`${isProd ? 'enables' : 'disables'} point-in-time recovery and ${isProd ? 'retains' : 'deletes'} the table`, () => {
        expect(table.Properties['PointInTimeRecoverySpecification']).toEqual({
          PointInTimeRecoveryEnabled: isProd,
        });
        expect(table.DeletionPolicy).toBe(isProd ? 'Retain' : 'Delete');
        expect(table.UpdateReplacePolicy).toBe(isProd ? 'Retain' : 'Delete');
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
      it('are the API functions and the two workers', () => {
        expect(sorted(Object.keys(functions))).toEqual(
          sorted([...API_FUNCTIONS.map(apiFunctionId), sweeperId(), ...SERVICES.map(workerId)]),
        );
      });

      it('all run Node.js 24 on ARM64 with active tracing, source maps and the settings', () => {
        for (const id of Object.keys(functions)) {
          expect(fn(id)).toMatchObject({
            Runtime: 'nodejs24.x',
            Architectures: ['arm64'],
            Handler: 'index.handler',
            TracingConfig: { Mode: 'Active' },
          });
          expect(env(id)['NODE_OPTIONS']).toBe('--enable-source-maps');
          expect(JSON.parse(env(id)[RUNTIME_ENV.settings] as string)).toEqual(riq.config);
          expect(importedLogicalId(riq.stateful, env(id)[RUNTIME_ENV.tableName])).toBe(tableId());
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

      it('give submit and health 10 s and result the long-poll cap plus 4 s, within 29 s', () => {
        expect(fn(apiFunctionId('submit'))['Timeout']).toBe(10);
        expect(fn(apiFunctionId('health'))['Timeout']).toBe(10);
        expect(fn(apiFunctionId('result'))['Timeout']).toBe(riq.config.api.longPollCapSeconds + 4);
        expect(fn(apiFunctionId('result'))['Timeout']).toBeLessThanOrEqual(29);
      });

      it('give every function the timeout the local stack enforces (functionTimeoutSeconds)', () => {
        const timeouts = functionTimeoutSeconds(riq.config);
        for (const name of API_FUNCTIONS) expect(fn(apiFunctionId(name))['Timeout']).toBe(timeouts[name]);
        for (const service of SERVICES) expect(fn(workerId(service))['Timeout']).toBe(timeouts.worker);
        expect(fn(sweeperId())['Timeout']).toBe(timeouts.sweeper);
      });

      it('pass the queue URLs submit and health use, and the dead-letter URLs to health', () => {
        expect(sorted(jsonEnvKeys(env(apiFunctionId('submit'))[RUNTIME_ENV.queueUrls]))).toEqual(
          sorted(allQueueKeys()),
        );
        expect(sorted(jsonEnvKeys(env(apiFunctionId('health'))[RUNTIME_ENV.queueUrls]))).toEqual(
          sorted(allQueueKeys()),
        );
        expect(sorted(jsonEnvKeys(env(apiFunctionId('health'))[RUNTIME_ENV.deadLetterQueueUrls]))).toEqual(
          sorted(allQueueKeys()),
        );
        expect(env(apiFunctionId('result'))).not.toHaveProperty(RUNTIME_ENV.queueUrls);
      });

      it('give metrics 10 s and the URLs of every work queue and dead-letter queue', () => {
        expect(fn(apiFunctionId('metrics'))['Timeout']).toBe(10);
        expect(sorted(jsonEnvKeys(env(apiFunctionId('metrics'))[RUNTIME_ENV.queueUrls]))).toEqual(
          sorted(allQueueKeys()),
        );
        expect(sorted(jsonEnvKeys(env(apiFunctionId('metrics'))[RUNTIME_ENV.deadLetterQueueUrls]))).toEqual(
          sorted(allQueueKeys()),
        );
      });
    });

    describe('REST API', () => {
      let methods: Resource[];
      beforeAll(() => {
        methods = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGateway::Method')).filter(
          (m) => m.Properties['HttpMethod'] !== 'OPTIONS',
        );
      });

      /** `/api/queue/result/{token}` of an AWS::ApiGateway::Resource, from its PathPart chain. */
      const pathOf = (resourceId: string): string => {
        const resources = resourcesOfType(riq.stateless, 'AWS::ApiGateway::Resource');
        const parts: string[] = [];
        for (let id: string | undefined = resourceId; id && resources[id];) {
          const resource: Resource = resources[id] as Resource;
          parts.unshift(resource.Properties['PathPart'] as string);
          id = (resource.Properties['ParentId'] as { Ref?: string }).Ref;
        }
        return `/${parts.join('/')}`;
      };

      it('requires IAM authorization on every method', () => {
        expect(methods.length).toBeGreaterThan(0);
        for (const method of methods) expect(method.Properties['AuthorizationType']).toBe('AWS_IAM');
      });

      it('validates the submit body at the API against the model generated from the submit schema, and answers RIQ’s error shape', () => {
        const models = Object.entries(resourcesOfType(riq.stateless, 'AWS::ApiGateway::Model'));
        expect(models).toHaveLength(1);
        const [modelId, model] = models[0]!;
        const schema = model.Properties['Schema'] as Record<string, unknown>;
        expect(schema).toEqual({
          $schema: 'http://json-schema.org/draft-04/schema#',
          ...submitEnvelopeJsonSchema(),
        });
        const withModels = methods.filter((m) => m.Properties['RequestModels'] !== undefined);
        expect(withModels).toHaveLength(1);
        expect(withModels[0]!.Properties['HttpMethod']).toBe('POST');
        expect(pathOf((withModels[0]!.Properties['ResourceId'] as { Ref: string }).Ref)).toBe(
          '/api/queue/submit',
        );
        expect(withModels[0]!.Properties['RequestModels']).toEqual({ 'application/json': { Ref: modelId } });
        expect(withModels[0]!.Properties['RequestValidatorId']).toBeDefined();
        const validators = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGateway::RequestValidator'));
        expect(validators.map((v) => v.Properties['ValidateRequestBody'])).toEqual([true]);

        const responses = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGateway::GatewayResponse'));
        // As API Gateway fills it in: $context.error.messageString is the quoted message.
        const bodyOf = (type: string): unknown => {
          const response = responses.find((r) => r.Properties['ResponseType'] === type);
          const template = (response?.Properties['ResponseTemplates'] as Record<string, string>)[
            'application/json'
          ]!;
          return JSON.parse(
            template.replace('$context.error.messageString', '"from API Gateway"'),
          ) as unknown;
        };
        expect(bodyOf('BAD_REQUEST_BODY')).toEqual({
          error: {
            code: 'VALIDATION_ERROR',
            message: 'from API Gateway',
            retryable: false,
            details: { field: 'body', checked_by: 'api_gateway' },
          },
        });
        const codes = Object.fromEntries(
          responses.map((r) => [
            r.Properties['ResponseType'],
            (bodyOf(String(r.Properties['ResponseType'])) as { error: { code: string; retryable: boolean } })
              .error,
          ]),
        );
        expect(codes).toMatchObject({
          MISSING_AUTHENTICATION_TOKEN: { code: 'PERMISSION_DENIED', retryable: false },
          ACCESS_DENIED: { code: 'PERMISSION_DENIED' },
          INVALID_SIGNATURE: { code: 'PERMISSION_DENIED' },
          EXPIRED_TOKEN: { code: 'PERMISSION_DENIED' },
          REQUEST_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE' },
          THROTTLED: { code: 'RATE_LIMITED', retryable: true },
          DEFAULT_5XX: { code: 'INTERNAL_ERROR', retryable: true },
          BAD_REQUEST_PARAMETERS: { code: 'VALIDATION_ERROR' },
        });
      });

      it('serves GET /api/queue/circuit-breakers with IAM auth from the circuit-breakers function', () => {
        const method = methods.find(
          (m) =>
            m.Properties['HttpMethod'] === 'GET' &&
            pathOf((m.Properties['ResourceId'] as { Ref: string }).Ref) === '/api/queue/circuit-breakers',
        );
        expect(method?.Properties['AuthorizationType']).toBe('AWS_IAM');
        expect(JSON.stringify(method?.Properties['Integration'])).toContain(
          `"${apiFunctionId('circuitBreakers')}"`,
        );
      });

      it('serves GET /api/queue/metrics with IAM auth from the metrics function, outside the operator routes', () => {
        const method = methods.find(
          (m) =>
            m.Properties['HttpMethod'] === 'GET' &&
            pathOf((m.Properties['ResourceId'] as { Ref: string }).Ref) === '/api/queue/metrics',
        );
        expect(method?.Properties['AuthorizationType']).toBe('AWS_IAM');
        expect(JSON.stringify(method?.Properties['Integration'])).toContain(`"${apiFunctionId('metrics')}"`);
        expect(API_ROUTES.find((r) => r.path === '/api/queue/metrics')?.operator).toBeUndefined();
      });

      it('denies the dead-letter routes to every principal but the operator role', () => {
        const api = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGateway::RestApi'))[0];
        const statements = (api?.Properties['Policy'] as { Statement: PolicyStatementJson[] }).Statement;
        expect(statements).toHaveLength(1);
        const deny = statements[0]!;
        expect(deny.Effect).toBe('Deny');
        expect(sorted(asArray(deny.Resource as string))).toEqual(
          sorted(
            API_ROUTES.filter((r) => r.operator).map(
              (r) => `execute-api:/*/${r.method}${r.path.replace(/\{\w+\}/g, '*')}`,
            ),
          ),
        );
        expect(API_ROUTES.filter((r) => r.operator).map((r) => `${r.method} ${r.path}`)).toEqual([
          'GET /api/queue/dead-letters',
          'POST /api/queue/dead-letters/redrive',
          'POST /api/queue/dead-letters/{token}/retry',
          'DELETE /api/queue/dead-letters/{token}',
        ]);
        expect(JSON.stringify(deny.Condition)).toContain(`:role/${operatorRoleName(riq.config)}`);
        expect(Object.keys(deny.Condition ?? {})).toEqual(['ArnNotEquals']);
      });

      it('creates the operator role, allowed only to invoke operator, health and breaker routes, and outputs its ARN', () => {
        const roles = resourcesOfType(riq.stateless, 'AWS::IAM::Role');
        const roleId = logicalIdOf(riq.stage.stateless.operator.role);
        expect(roles[roleId]?.Properties['RoleName']).toBe(operatorRoleName(riq.config));
        const policies = Object.values(resourcesOfType(riq.stateless, 'AWS::IAM::Policy')).filter((p) =>
          (p.Properties['Roles'] as Array<{ Ref?: string }>).some((r) => r.Ref === roleId),
        );
        const statements = policies.flatMap(
          (p) => (p.Properties['PolicyDocument'] as { Statement: PolicyStatementJson[] }).Statement,
        );
        expect(actionsOf(statements)).toEqual(['execute-api:Invoke']);
        const routes = statements.flatMap((st) =>
          asArray(st.Resource).map((r) => {
            const parts = (r as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
            return String(parts.at(-1));
          }),
        );
        expect(sorted(routes)).toEqual(
          sorted([
            // The read-only views an operator watches, and every operator route.
            '/GET/api/queue/health',
            '/GET/api/queue/circuit-breakers',
            '/GET/api/queue/metrics',
            ...API_ROUTES.filter((r) => r.operator).map(
              (r) => `/${r.method}${r.path.replace(/\{\w+\}/g, '*')}`,
            ),
          ]),
        );
        const outputs = riq.stateless.toJSON()['Outputs'] as Record<string, { Value: unknown }>;
        expect(
          Object.values(outputs).some(
            (o) => JSON.stringify(o.Value) === JSON.stringify({ 'Fn::GetAtt': [roleId, 'Arn'] }),
          ),
        ).toBe(true);
      });

      it('serves exactly the routes of API_ROUTES, each proxied to its function', () => {
        const served = methods.map((m) => {
          const uri = JSON.stringify((m.Properties['Integration'] as { Uri: unknown }).Uri);
          const target = API_FUNCTIONS.find((name) => uri.includes(`"${apiFunctionId(name)}"`));
          expect((m.Properties['Integration'] as { Type: string }).Type).toBe('AWS_PROXY');
          return `${m.Properties['HttpMethod'] as string} ${pathOf((m.Properties['ResourceId'] as { Ref: string }).Ref)} ${target}`;
        });
        expect(sorted(served)).toEqual(sorted(API_ROUTES.map((r) => `${r.method} ${r.path} ${r.fn}`)));
      });

      it('validates required path parameters on every method', () => {
        const validators = resourcesOfType(riq.stateless, 'AWS::ApiGateway::RequestValidator');
        for (const method of methods) {
          const validatorId = (method.Properties['RequestValidatorId'] as { Ref: string }).Ref;
          expect(validators[validatorId]?.Properties).toMatchObject({
            ValidateRequestBody: true,
            ValidateRequestParameters: true,
          });
        }
        const resultMethod = methods.find((m) =>
          JSON.stringify(m.Properties).includes(`"${apiFunctionId('result')}"`),
        );
        expect(resultMethod?.Properties['RequestParameters']).toEqual({ 'method.request.path.token': true });
      });

      it('deploys a throttled, access-logged, traced stage named after the stage', () => {
        const stages = Object.values(resourcesOfType(riq.stateless, 'AWS::ApiGateway::Stage'));
        expect(stages).toHaveLength(1);
        const stage = stages[0]?.Properties ?? {};
        expect(stage['StageName']).toBe(stageName);
        expect(stage['TracingEnabled']).toBe(true);
        expect(JSON.parse((stage['AccessLogSetting'] as { Format: string }).Format)).toHaveProperty(
          'requestId',
        );
        expect(stage['MethodSettings']).toEqual([
          expect.objectContaining({
            HttpMethod: '*',
            ResourcePath: '/*',
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            ThrottlingRateLimit: 100,
            ThrottlingBurstLimit: 200,
          }),
        ]);
      });
    });

    describe('IAM', () => {
      const allStatements = (): PolicyStatementJson[] =>
        [riq.stateful, riq.stateless].flatMap((template) =>
          Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).flatMap(
            (p) => (p.Properties['PolicyDocument'] as { Statement: PolicyStatementJson[] }).Statement,
          ),
        );

      it('grants no wildcard action', () => {
        const statements = allStatements();
        expect(statements.length).toBeGreaterThan(0);
        for (const statement of statements) {
          for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
        }
      });

      it('grants on Resource "*" only the X-Ray actions, which have no resource-level permissions', () => {
        const onAnyResource = allStatements().filter((s) => asArray(s.Resource).includes('*'));
        expect(onAnyResource.length).toBe(Object.keys(functions).length);
        for (const statement of onAnyResource)
          expect(sorted(asArray(statement.Action))).toEqual(XRAY_ACTIONS);
      });

      it('attaches no managed policy except the API Gateway logging role', () => {
        const roles = Object.values(resourcesOfType(riq.stateless, 'AWS::IAM::Role'));
        const withManaged = roles.filter((r) => r.Properties['ManagedPolicyArns'] !== undefined);
        expect(withManaged).toHaveLength(1);
        expect(JSON.stringify(withManaged[0]?.Properties['ManagedPolicyArns'])).toContain(
          'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
        );
      });

      it('lets each function do exactly what its role needs', () => {
        const base = [...LOG_ACTIONS, ...XRAY_ACTIONS];
        const expected: Record<string, string[]> = {
          // DIRECT calls (routing.direct, on by default): what a worker's calls need.
          [apiFunctionId('submit')]: [
            ...base,
            'dynamodb:ConditionCheckItem',
            'dynamodb:DeleteItem',
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'sqs:SendMessage',
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            ...BODY_READ_WRITE,
          ],
          [apiFunctionId('result')]: [...base, 'dynamodb:GetItem', ...BODY_READ],
          [apiFunctionId('health')]: [
            ...base,
            'dynamodb:GetItem',
            'dynamodb:Query',
            'sqs:GetQueueAttributes',
          ],
          [apiFunctionId('circuitBreakers')]: [...base, 'dynamodb:GetItem'],
          // Breaker and rate-bucket items, the dead count on the by-status index, queue depths.
          [apiFunctionId('metrics')]: [
            ...base,
            'dynamodb:GetItem',
            'dynamodb:Query',
            'sqs:GetQueueAttributes',
          ],
          [sweeperId()]: [
            ...base,
            'dynamodb:GetItem',
            'dynamodb:Query',
            'dynamodb:UpdateItem',
            'sqs:SendMessage',
          ],
          [apiFunctionId('deadLetters')]: [
            ...base,
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
        };
        for (const service of SERVICES) {
          expected[workerId(service)] = [
            ...base,
            ...EVENT_SOURCE_ACTIONS,
            'dynamodb:DeleteItem',
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'sqs:SendMessage',
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            ...BODY_READ_WRITE,
          ];
        }
        for (const [id, actions] of Object.entries(expected)) {
          expect(actionsOf(statementsOfFunction(riq.stateless, id)), id).toEqual(sorted(actions));
        }
      });

      it('lets health, metrics, the dead-letter API and the sweeper query only the by-status index, never the table', () => {
        for (const id of [
          apiFunctionId('health'),
          apiFunctionId('metrics'),
          apiFunctionId('deadLetters'),
          sweeperId(),
        ]) {
          const queries = statementsOfFunction(riq.stateless, id).filter((s) =>
            asArray(s.Action).includes('dynamodb:Query'),
          );
          expect(queries, id).toHaveLength(1);
          const join = (queries[0]?.Resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
          expect(importedLogicalId(riq.stateful, join[1][0])).toBe(tableId());
          expect(join[1][1]).toBe('/index/by-status');
        }
      });

      it('lets metrics read only queue attributes (every work and dead-letter queue) and items of the table', () => {
        const statements = statementsOfFunction(riq.stateless, apiFunctionId('metrics'));
        const sqsTargets = statements
          .filter((s) => asArray(s.Action).includes('sqs:GetQueueAttributes'))
          .flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r)));
        expect(sorted(sqsTargets)).toEqual(
          sorted([...allQueueKeys().map(queueId), ...allQueueKeys().map(dlqId)]),
        );
        const reads = statements.filter((s) => asArray(s.Action).includes('dynamodb:GetItem'));
        expect(reads.map((s) => asArray(s.Action))).toEqual([['dynamodb:GetItem']]);
        expect(
          reads.flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r))),
        ).toEqual([tableId()]);
      });

      it('lets the dead-letter API move messages only out of dead-letter queues, and delete only records', () => {
        const statements = statementsOfFunction(riq.stateless, apiFunctionId('deadLetters'));
        const moveSources = statements
          .filter((s) => asArray(s.Action).includes('sqs:StartMessageMoveTask'))
          .flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r)));
        expect(sorted(moveSources)).toEqual(sorted(allQueueKeys().map(dlqId)));
        const deletes = statements.filter((s) => asArray(s.Action).includes('dynamodb:DeleteItem'));
        expect(
          deletes.flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r))),
        ).toEqual([tableId()]);
        const vars = env(apiFunctionId('deadLetters'));
        expect(vars[RUNTIME_ENV.deadLetterRedrive]).toBe('move_task');
        expect(sorted(jsonEnvKeys(vars[RUNTIME_ENV.deadLetterQueueArns]))).toEqual(sorted(allQueueKeys()));
      });

      it('lets a worker delete only the idempotency records of its calls and its write locks, never a request', () => {
        for (const service of SERVICES) {
          const deletes = statementsOfFunction(riq.stateless, workerId(service)).filter((s) =>
            asArray(s.Action).includes('dynamodb:DeleteItem'),
          );
          expect(deletes, service).toHaveLength(1);
          expect(asArray(deletes[0]?.Action)).toEqual(['dynamodb:DeleteItem']);
          expect(asArray(deletes[0]?.Resource).map((r) => importedLogicalId(riq.stateful, r))).toEqual([
            tableId(),
          ]);
          expect(deletes[0]?.Condition).toEqual({
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [
                `${REQUESTS_TABLE.callKeyPrefix}#*`,
                `${REQUESTS_TABLE.lockKeyPrefix}#*`,
                `${REQUESTS_TABLE.cacheKeyPrefix}#*`,
              ],
            },
          });
        }
      });

      it("lets a worker send only to its own service's queues and dead-letter queues and read only the Atlassian secret", () => {
        for (const service of SERVICES) {
          const statements = statementsOfFunction(riq.stateless, workerId(service));
          const sendTargets = statements
            .filter((s) => asArray(s.Action).includes('sqs:SendMessage'))
            .flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r)));
          // Its own DLQs too: a dead request whose receive count deferrals restarted is put there directly.
          expect(sorted(sendTargets)).toEqual(
            sorted([...keysOf(service).map(queueId), ...keysOf(service).map(dlqId)]),
          );
          const secretReads = statements
            .filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'))
            .flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r)));
          expect(secretReads).toEqual([secretId()]);
        }
      });

      it('lets a worker and the submit function (DIRECT calls) store a new value (the rotated OAuth refresh token) in the Atlassian secret only', () => {
        for (const id of [...SERVICES.map(workerId), apiFunctionId('submit')]) {
          const writes = statementsOfFunction(riq.stateless, id).filter((s) =>
            asArray(s.Action).includes('secretsmanager:PutSecretValue'),
          );
          expect(writes.map((s) => sorted(asArray(s.Action)))).toEqual([['secretsmanager:PutSecretValue']]);
          expect(
            writes.flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r))),
          ).toEqual([secretId()]);
        }
        for (const id of ['result', 'health', 'metrics'] as const) {
          const writes = statementsOfFunction(riq.stateless, apiFunctionId(id)).filter((s) =>
            asArray(s.Action).includes('secretsmanager:PutSecretValue'),
          );
          expect(writes, id).toEqual([]);
        }
      });
    });

    describe('sweeper', () => {
      it('runs every minute from an EventBridge schedule, without retries', () => {
        const rules = Object.values(resourcesOfType(riq.stateless, 'AWS::Events::Rule'));
        expect(rules).toHaveLength(1);
        expect(rules[0]?.Properties['ScheduleExpression']).toBe('rate(1 minute)');
        expect(rules[0]?.Properties['State']).toBe('ENABLED');
        expect(rules[0]?.Properties['Targets']).toEqual([
          expect.objectContaining({
            Arn: { 'Fn::GetAtt': [sweeperId(), 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 0 },
          }),
        ]);
        const permissions = Object.values(resourcesOfType(riq.stateless, 'AWS::Lambda::Permission')).filter(
          (p) => JSON.stringify(p.Properties['FunctionName']).includes(`"${sweeperId()}"`),
        );
        expect(permissions.map((p) => p.Properties['Principal'])).toEqual(['events.amazonaws.com']);
      });

      it('sends to every work queue (never a dead-letter queue) and passes their URLs', () => {
        const targets = statementsOfFunction(riq.stateless, sweeperId())
          .filter((s) => asArray(s.Action).includes('sqs:SendMessage'))
          .flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(riq.stateful, r)));
        expect(sorted(targets)).toEqual(sorted(allQueueKeys().map(queueId)));
        expect(sorted(jsonEnvKeys(env(sweeperId())[RUNTIME_ENV.queueUrls]))).toEqual(sorted(allQueueKeys()));
        expect(fn(sweeperId())['Timeout']).toBeLessThan(60);
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
        const policies = Object.values(resourcesOfType(riq.stateful, 'AWS::S3::BucketPolicy'));
        const statements = policies.flatMap(
          (p) => (p.Properties['PolicyDocument'] as { Statement: PolicyStatementJson[] }).Statement,
        );
        expect(statements).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
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
        expect(bucket().DeletionPolicy).toBe(isProd ? 'Retain' : 'Delete');
        expect(bucket().UpdateReplacePolicy).toBe(isProd ? 'Retain' : 'Delete');
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
              acknowledged.push(id.replace(/^annotation::/i, ''));
            }
          }
        }
        expect(sorted(acknowledged)).toEqual(
          sorted([
            // Only while point-in-time recovery is off (dev, staging).
            ...(isProd ? [] : ['AwsSolutions-DDB3']),
            'AwsSolutions-SMG4',
            'AwsSolutions-APIG3',
            'AwsSolutions-COG4',
            'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
            // One per function role: the X-Ray statement.
            'AwsSolutions-IAM5[Resource::*]',
            // The functions that read or write bodies: objects under requests/ of the bodies bucket.
            `AwsSolutions-IAM5[Resource::riq-${stageName}-bodies-bucket-arn/requests/*]`,
            // The bodies bucket keeps no access logs (its objects are short-lived request bodies).
            'AwsSolutions-S1',
            // The operator role: `*` only for the {token} of retry and purge.
            ...['POST/api/queue/dead-letters/*/retry', 'DELETE/api/queue/dead-letters/*'].map(
              (route) =>
                `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${restApiId()}>/<${stageId()}>/${route}]`,
            ),
          ]),
        );
      });
    });
  });
}

describe('RiqStage submit function and adaptive routing', () => {
  const submitOf = (riq: SynthesizedStage) => {
    const id = logicalIdOf(riq.stage.stateless.api.functions.submit);
    return {
      props: resourcesOfType(riq.stateless, 'AWS::Lambda::Function')[id]?.Properties ?? {},
      actions: actionsOf(statementsOfFunction(riq.stateless, id)),
    };
  };

  it('with DIRECT calls off, gives submit neither the secret nor the workers’ grants', () => {
    const riq = synthStage('dev', { 'riq:stages': { dev: { routing: { direct: false } } } });
    try {
      const { actions } = submitOf(riq);
      expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
      expect(actions).not.toContain('dynamodb:DeleteItem');
    } finally {
      riq.cleanup();
    }
  });

  it('covers a long DIRECT deadline with the submit timeout, still inside API Gateway’s 29 s', () => {
    const riq = synthStage('dev', {
      'riq:stages': { dev: { routing: { directTimeoutMs: 8_000 }, upstream: { timeoutMs: 10_000 } } },
    });
    try {
      expect(submitOf(riq).props['Timeout']).toBe(15);
    } finally {
      riq.cleanup();
    }
    expect(() =>
      synthStage('dev', { 'riq:stages': { dev: { routing: { directTimeoutMs: 25_000 } } } }),
    ).toThrow(/routing\.directTimeoutMs/);
  });
});
