/**
 * Least privilege, role by role: every (action, resource, condition) a role of the stage is allowed,
 * written out in a table. An action, a resource or a missing condition that the table does not
 * list fails the test, and so does a role the table does not know.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { requestKey } from '../../lambdas/adapters/dynamodb/request-items.js';
import { REQUEST_KEY_PREFIX } from '../../lib/constructs/api.js';
import {
  asArray,
  FUNCTION_NAMES,
  functionId,
  importedLogicalId,
  logicalIdOf,
  resourcesOfType,
  statementsOfRole,
  synthStage,
  withStage,
  type FunctionName,
  type SynthesizedStage,
} from './support/synth.js';
import { PRIORITIES, SERVICES, type Service } from '../../model/config/index.js';

type Json = Record<string, unknown>;

/** `<actions> @ <resource>[ if <condition>]`, one line per action and resource. */
type Grant = string;

const grants = (actions: string[], resources: string[], condition?: Json): Grant[] =>
  actions.flatMap((action) =>
    resources.map(
      (resource) => `${action} @ ${resource}${condition ? ` if ${JSON.stringify(condition)}` : ''}`,
    ),
  );

const queuesOf = (services: readonly Service[] = SERVICES) =>
  services.flatMap((service) => PRIORITIES.map((priority) => `queue ${service}-${priority}`));
const dlqsOf = (services: readonly Service[] = SERVICES) =>
  services.flatMap((service) => PRIORITIES.map((priority) => `dlq ${service}-${priority}`));

const TABLE = 'table';
const INDEX = 'table/index/by-listed-status';
const SECRET = 'secret';
const BODIES = 'bodies';
const BODY_OBJECTS = 'bodies/requests/*';
const OWN_LOGS = 'own log group';

const LOGS = grants(['logs:CreateLogStream', 'logs:PutLogEvents'], [OWN_LOGS]);
const BODY_READ = [
  ...grants(['s3:GetObject'], [BODY_OBJECTS]),
  ...grants(['s3:ListBucket'], [BODIES], { StringLike: { 's3:prefix': 'requests/*' } }),
];
const BODY_WRITE = grants(['s3:PutObject'], [BODY_OBJECTS]);
/** A caller of Atlassian deletes only saved calls (`CALL#`) and stale read-cache entries (`CACHE#`). */
const DELETE_CALLS_AND_CACHE = grants(['dynamodb:DeleteItem'], [TABLE], {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CALL#*', 'CACHE#*'] },
});
/** What calling Atlassian and settling a request needs (lib/constructs/atlassian-caller.ts). */
const ATLASSIAN_CALLS = [
  ...grants(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], [TABLE]),
  ...DELETE_CALLS_AND_CACHE,
  // PutSecretValue: the OAuth token manager stores each rotated refresh token.
  ...grants(['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], [SECRET]),
];
/** The submit function without its DIRECT path. */
const SUBMIT_QUEUED_ONLY = [
  ...LOGS,
  ...grants(
    ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem'],
    [TABLE],
  ),
  ...grants(['sqs:SendMessage'], queuesOf()),
  ...BODY_READ,
  ...BODY_WRITE,
];
const worker = (service: Service): Grant[] => [
  ...LOGS,
  ...ATLASSIAN_CALLS,
  ...BODY_READ,
  ...BODY_WRITE,
  // Retry backoff and re-enqueueing on its own queues; dead copies to its own DLQs.
  ...grants(['sqs:ChangeMessageVisibility', 'sqs:SendMessage'], queuesOf([service])),
  ...grants(['sqs:SendMessage'], dlqsOf([service])),
  // What the SQS event source mapping grants itself.
  ...grants(
    [
      'sqs:ReceiveMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueUrl',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
    ],
    queuesOf([service]),
  ),
];

/** Every role of a stage (routing.direct on, the default) and everything it may do. */
const ROLE_GRANTS: Record<FunctionName | 'operator', Grant[]> = {
  submit: [...SUBMIT_QUEUED_ONLY, ...ATLASSIAN_CALLS, ...grants(['sqs:SendMessage'], dlqsOf())],
  result: [...LOGS, ...grants(['dynamodb:GetItem'], [TABLE]), ...BODY_READ],
  health: [
    ...LOGS,
    ...grants(['dynamodb:GetItem'], [TABLE]),
    ...grants(['dynamodb:Query'], [INDEX]),
    ...grants(['sqs:GetQueueAttributes'], [...queuesOf(), ...dlqsOf()]),
  ],
  circuitBreakers: [...LOGS, ...grants(['dynamodb:GetItem'], [TABLE])],
  deadLetters: [
    ...LOGS,
    ...grants(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [TABLE]),
    // Purge: request records only.
    ...grants(['dynamodb:DeleteItem'], [TABLE], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REQ#*'] },
    }),
    ...grants(['dynamodb:Query'], [INDEX]),
    ...grants(['sqs:SendMessage'], queuesOf()),
    ...grants(
      ['sqs:StartMessageMoveTask', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      dlqsOf(),
    ),
  ],
  metrics: [
    ...LOGS,
    ...grants(['dynamodb:GetItem'], [TABLE]),
    ...grants(['dynamodb:Query'], [INDEX]),
    ...grants(['sqs:GetQueueAttributes'], [...queuesOf(), ...dlqsOf()]),
  ],
  notFound: [...LOGS],
  sweeper: [
    ...LOGS,
    ...grants(['dynamodb:UpdateItem', 'dynamodb:GetItem'], [TABLE]),
    ...grants(['dynamodb:Query'], [INDEX]),
    ...grants(['sqs:SendMessage'], queuesOf()),
  ],
  'jira worker': worker('jira'),
  'confluence worker': worker('confluence'),
  operator: grants(
    ['execute-api:Invoke'],
    [
      'api/GET/api/queue/health',
      'api/GET/api/queue/circuit-breakers',
      'api/GET/api/queue/metrics',
      'api/GET/api/queue/requests',
      'api/GET/api/queue/requests/*',
      'api/GET/api/queue/dead-letters',
      'api/POST/api/queue/dead-letters/redrive',
      'api/POST/api/queue/dead-letters/*/retry',
      'api/DELETE/api/queue/dead-letters/*',
    ],
  ),
};

/** Names the resources a statement of the stateless stack points to, as the table above does. */
class ResourceLabels {
  private readonly byStatefulId: Map<string, string>;

  constructor(
    private readonly riq: SynthesizedStage,
    private readonly ownLogGroupId: string | undefined,
  ) {
    const prefix = `${riq.config.namePrefix}-`;
    this.byStatefulId = new Map<string, string>([
      [logicalIdOf(riq.stage.stateful.table), TABLE],
      [logicalIdOf(riq.stage.stateful.atlassianSecret), SECRET],
    ]);
    for (const [id, queue] of Object.entries(resourcesOfType(riq.stateful, 'AWS::SQS::Queue'))) {
      const name = (queue.Properties['QueueName'] as string).slice(prefix.length);
      this.byStatefulId.set(id, name.endsWith('-dlq') ? `dlq ${name.slice(0, -4)}` : `queue ${name}`);
    }
  }

  of(resource: unknown): string {
    if (resource === '*') return '*';
    const value = resource as Json;
    const exportName = value['Fn::ImportValue'];
    if (exportName === `${this.riq.config.namePrefix}-bodies-bucket-arn`) return BODIES;
    if (exportName !== undefined) {
      const id = importedLogicalId(this.riq.stateful, value);
      return this.byStatefulId.get(id) ?? `stateful ${id}`;
    }
    const getAtt = value['Fn::GetAtt'] as string[] | undefined;
    if (getAtt) return getAtt[0] === this.ownLogGroupId ? OWN_LOGS : `stateless ${getAtt[0]}`;
    const join = value['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) {
      const text = join[1].map((part) => (typeof part === 'string' ? part : this.of(part))).join(join[0]);
      // execute-api ARNs: `arn:…:execute-api:<region>:<account>:<api>/<stage>/<method><path>`.
      const route = /:execute-api:.*\/(?:dev|staging|prod)\/(.*)$/.exec(text);
      return route ? `api/${route[1]}` : text;
    }
    if (typeof value['Ref'] === 'string') return `<${value['Ref']}>`;
    return JSON.stringify(resource);
  }
}

function grantsOfRole(riq: SynthesizedStage, roleId: string, ownLogGroupId?: string): Grant[] {
  const labels = new ResourceLabels(riq, ownLogGroupId);
  return statementsOfRole(riq.stateless, roleId).flatMap((statement) => {
    expect(statement.Effect, roleId).toBe('Allow');
    return grants(
      asArray(statement.Action),
      asArray(statement.Resource).map((r) => labels.of(r)),
      statement.Condition,
    );
  });
}

/** The role and the log group of a function. */
function functionRole(template: Template, functionLogicalId: string): { role: string; logs: string } {
  const fn = resourcesOfType(template, 'AWS::Lambda::Function')[functionLogicalId]!;
  const role = ((fn.Properties['Role'] as Json)['Fn::GetAtt'] as string[])[0]!;
  const logs = ((fn.Properties['LoggingConfig'] as Json)['LogGroup'] as Json)['Ref'] as string;
  return { role, logs };
}

const sortedSet = (values: Grant[]) => [...new Set(values)].sort();

describe.each(['dev', 'staging', 'prod'] as const)('least privilege, %s', (stageName) => {
  let riq: SynthesizedStage;

  beforeAll(() => {
    riq = synthStage(stageName);
  });
  afterAll(() => riq?.cleanup());

  it.each(FUNCTION_NAMES)('the %s function may do exactly what its code calls', (name) => {
    const { role, logs } = functionRole(riq.stateless, functionId(riq, name));
    expect(sortedSet(grantsOfRole(riq, role, logs))).toEqual(sortedSet(ROLE_GRANTS[name]));
  });

  it('the operator role may invoke the operator, health, breaker and metrics routes only', () => {
    const role = logicalIdOf(riq.stage.stateless.operator.role);
    expect(sortedSet(grantsOfRole(riq, role))).toEqual(sortedSet(ROLE_GRANTS.operator));
  });

  it('has no role the table does not list', () => {
    const functionRoles = FUNCTION_NAMES.map(
      (name) => functionRole(riq.stateless, functionId(riq, name)).role,
    );
    const known = [...functionRoles, logicalIdOf(riq.stage.stateless.operator.role)].sort();
    expect(Object.keys(resourcesOfType(riq.stateless, 'AWS::IAM::Role')).sort()).toEqual(known);
    // The stateful stack has only CDK's provider of the bodies bucket's auto-delete, where the
    // stage does not retain data (the bucket policy, not this role's, lets it delete objects).
    expect(Object.keys(resourcesOfType(riq.stateful, 'AWS::IAM::Role'))).toEqual(
      riq.config.deployment.retainData
        ? []
        : [expect.stringMatching(/^CustomS3AutoDeleteObjectsCustomResourceProviderRole/)],
    );
    // Every inline policy is attached to one of them.
    for (const policy of Object.values(resourcesOfType(riq.stateless, 'AWS::IAM::Policy'))) {
      for (const role of policy.Properties['Roles'] as Json[]) expect(known).toContain(role['Ref']);
    }
    expect(Object.keys(resourcesOfType(riq.stateless, 'AWS::IAM::ManagedPolicy'))).toEqual([]);
  });
});

describe('least privilege without the DIRECT path', () => {
  it('the submit function neither reads nor writes the secret, deletes nothing and sends to no DLQ', () => {
    withStage('dev', { 'riq:stages': { dev: { routing: { direct: false } } } }, (riq) => {
      const { role, logs } = functionRole(riq.stateless, functionId(riq, 'submit'));
      expect(sortedSet(grantsOfRole(riq, role, logs))).toEqual(sortedSet(SUBMIT_QUEUED_ONLY));
    });
  });
});

describe('the request key prefix the dead-letter purge may delete', () => {
  it('is the prefix of the request records the functions write', () => {
    expect(Object.values(requestKey('t-1'))).toEqual([`${REQUEST_KEY_PREFIX}#t-1`]);
  });
});
