/**
 * What a production stage needs beyond working: alarms that reach a person, dead-letter queues
 * whose every message the console can redrive, a key CloudWatch may use for this stage's alarms
 * only, and data that outlives a deleted stack. Prod is synthesized once with an existing alarm
 * topic only (no e-mail), staging once with no subscription at all.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRiqApp, resolveStageConfig } from '../../lib/riq-app.js';
import {
  allQueueKeys,
  deadLetterQueueName,
  queueName,
  RUNTIME_ENV,
  type QueueKey,
} from '../../model/config/index.js';
import {
  cdkJsonContext,
  functionId,
  importedLogicalId,
  logicalIdOf,
  policyStatements,
  resourcesOfType,
  synthStage,
  type PolicyStatementJson,
  type Resource,
  type SynthesizedStage,
} from './support/synth.js';

type Json = Record<string, unknown>;

const ONCALL_TOPIC = 'arn:aws:sns:eu-west-1:111122223333:oncall';
const stages = () => cdkJsonContext()['riq:stages'];

/**
 * A JSON object environment variable built with `Stack.toJsonString` (a `Fn::Join`), each value
 * the CloudFormation token it holds.
 */
function jsonEnvTokens(value: unknown): Record<string, unknown> {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`not a Fn::Join: ${JSON.stringify(value)}`);
  const tokens: unknown[] = [];
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      tokens.push(part);
      return `@token:${tokens.length - 1}`;
    })
    .join(join[0]);
  const parsed = JSON.parse(text) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(parsed).map(([key, v]) => [key, tokens[Number(v.replace('@token:', ''))]]),
  );
}

/** A `Fn::Join` of strings and pseudo-parameter refs as text: `arn:${AWS::Partition}:…`. */
function joined(value: unknown): string {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return JSON.stringify(value);
  return join[1]
    .map((part) => (typeof part === 'string' ? part : `\${${(part as { Ref: string }).Ref}}`))
    .join(join[0]);
}

describe('an alarm subscription', () => {
  const missing =
    /Stage prod needs an alarm subscription.*observability\.alarmEmail.*observability\.alarmTopicArn.*riq:stages\.prod.*-c alarmEmail=.*-c alarmTopicArn=/;

  it('is required for prod: the app refuses to build without one, naming the settings', () => {
    expect(() => resolveStageConfig('prod', stages())).toThrow(missing);
    expect(() => buildRiqApp({ context: { ...cdkJsonContext(), stage: 'prod' } })).toThrow(missing);
  });

  it('is optional for dev and staging', () => {
    for (const stage of ['dev', 'staging'] as const) {
      const { observability } = resolveStageConfig(stage, stages());
      expect(observability.alarmEmail).toBeUndefined();
      expect(observability.alarmTopicArn).toBeUndefined();
    }
  });

  it('may be an e-mail or an existing topic, from the context or from the stage overrides', () => {
    expect(
      resolveStageConfig('prod', stages(), {}, { alarmEmail: 'a@example.com' }).observability,
    ).toMatchObject({
      alarmEmail: 'a@example.com',
    });
    expect(
      resolveStageConfig('prod', stages(), {}, { alarmTopicArn: ONCALL_TOPIC }).observability,
    ).toMatchObject({
      alarmTopicArn: ONCALL_TOPIC,
    });
    const inCdkJson = { prod: { observability: { alarmTopicArn: ONCALL_TOPIC, api5xxPercent: 5 } } };
    expect(resolveStageConfig('prod', inCdkJson).observability).toMatchObject({
      alarmTopicArn: ONCALL_TOPIC,
      api5xxPercent: 5,
    });
    // The context wins over cdk.json and keeps the stage's other observability settings.
    expect(
      resolveStageConfig('prod', inCdkJson, {}, { alarmTopicArn: `${ONCALL_TOPIC}-2` }).observability,
    ).toMatchObject({ alarmTopicArn: `${ONCALL_TOPIC}-2`, api5xxPercent: 5 });
  });

  it('rejects what is not an e-mail address or an SNS topic ARN, with its path', () => {
    expect(() => resolveStageConfig('prod', stages(), {}, { alarmTopicArn: 'oncall' })).toThrow(
      /observability\.alarmTopicArn: must be an SNS topic ARN/,
    );
    expect(() =>
      resolveStageConfig(
        'prod',
        stages(),
        {},
        {
          alarmTopicArn: 'arn:aws:sqs:eu-west-1:111122223333:oncall',
        },
      ),
    ).toThrow(/observability\.alarmTopicArn/);
    expect(() => resolveStageConfig('dev', stages(), {}, { alarmEmail: 'oncall' })).toThrow(
      /observability\.alarmEmail/,
    );
  });

  it('reads -c alarmEmail and -c alarmTopicArn', () => {
    const { config } = buildRiqApp({
      context: {
        ...cdkJsonContext(),
        stage: 'prod',
        alarmEmail: 'a@example.com',
        alarmTopicArn: ONCALL_TOPIC,
      },
    });
    expect(config.observability).toMatchObject({ alarmEmail: 'a@example.com', alarmTopicArn: ONCALL_TOPIC });
    expect(() => buildRiqApp({ context: { ...cdkJsonContext(), stage: 'prod', alarmEmail: '' } })).toThrow(
      'Context "alarmEmail" must be a non-empty string',
    );
  });
});

describe.each([
  { stageName: 'prod', context: { alarmTopicArn: ONCALL_TOPIC } },
  { stageName: 'staging', context: {} },
] as const)('$stageName', ({ stageName, context }) => {
  const isProd = stageName === 'prod';
  let riq: SynthesizedStage;
  let queues: Record<string, Resource>;

  beforeAll(() => {
    // Replaces the e-mail support/synth.ts gives prod: the topic alone must do.
    riq = synthStage(stageName, { alarmEmail: undefined, ...context });
    queues = resourcesOfType(riq.stateful, 'AWS::SQS::Queue');
  });
  afterAll(() => riq?.cleanup());

  const queueNamed = (name: string): [string, Resource] => {
    const found = Object.entries(queues).filter(([, q]) => q.Properties['QueueName'] === name);
    expect(found, name).toHaveLength(1);
    return found[0] as [string, Resource];
  };
  const workQueue = (key: QueueKey) => queueNamed(queueName(riq.config, key));
  const deadLetterQueue = (key: QueueKey) => queueNamed(deadLetterQueueName(riq.config, key));

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(riq.app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });

  describe('alarm notifications', () => {
    const topicRef = () => ({ Ref: logicalIdOf(riq.stage.stateless.observability.topic) });
    const alarms = () => Object.values(resourcesOfType(riq.stateless, 'AWS::CloudWatch::Alarm'));

    it(`notify ${isProd ? 'the stage topic and the existing topic' : 'the stage topic alone'}, on ALARM and OK`, () => {
      const expected = isProd ? [topicRef(), ONCALL_TOPIC] : [topicRef()];
      expect(alarms().length).toBeGreaterThan(0);
      expect(alarms()).toHaveLength(riq.stage.stateless.observability.alarms.length);
      for (const alarm of alarms()) {
        expect(alarm.Properties['AlarmActions'], alarm.Properties['AlarmName'] as string).toEqual(expected);
        expect(alarm.Properties['OKActions'], alarm.Properties['AlarmName'] as string).toEqual(expected);
      }
    });

    it('subscribe no e-mail when only a topic is given', () => {
      expect(resourcesOfType(riq.stateless, 'AWS::SNS::Subscription')).toEqual({});
    });
  });

  describe("the alarm topic's key", () => {
    it("lets CloudWatch use it for this account's alarms of this stage only, as the topic policy does", () => {
      const keys = Object.values(resourcesOfType(riq.stateless, 'AWS::KMS::Key'));
      expect(keys).toHaveLength(1);
      const statements = (keys[0]?.Properties['KeyPolicy'] as { Statement: PolicyStatementJson[] }).Statement;
      const forCloudWatch = statements.filter(
        (s) =>
          JSON.stringify((s as unknown as Json)['Principal']) === '{"Service":"cloudwatch.amazonaws.com"}',
      );
      expect(forCloudWatch).toHaveLength(1);
      const condition = forCloudWatch[0]?.Condition ?? {};
      expect(condition['StringEquals']).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
      const sourceArn = joined((condition['ArnLike'] as Json | undefined)?.['aws:SourceArn']);
      expect(sourceArn).toBe(
        `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:riq-${stageName}-*`,
      );

      const topicAllows = policyStatements(
        Object.values(resourcesOfType(riq.stateless, 'AWS::SNS::TopicPolicy')),
      ).filter((s) => s.Effect === 'Allow');
      expect(topicAllows.map((s) => s.Condition)).toEqual([condition]);
    });
  });

  describe('dead-letter redrive', () => {
    it('lets each dead-letter queue serve its own work queue alone (byQueue)', () => {
      for (const key of allQueueKeys()) {
        const policy = deadLetterQueue(key)[1].Properties['RedriveAllowPolicy'] as {
          redrivePermission: string;
          sourceQueueArns: unknown[];
        };
        expect(policy.redrivePermission, key).toBe('byQueue');
        expect(policy.sourceQueueArns, key).toHaveLength(1);
        expect(joined(policy.sourceQueueArns[0]), key).toBe(
          `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${queueName(riq.config, key)}`,
        );
        // The work queue's own redrive policy points at that same dead-letter queue.
        expect(workQueue(key)[1].Properties['RedrivePolicy']).toMatchObject({
          deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueue(key)[0], 'Arn'] },
        });
      }
    });

    it("gives the dead-letter function each dead-letter queue's ARN and its work queue's ARN", () => {
      const functions = resourcesOfType(riq.stateless, 'AWS::Lambda::Function');
      const variables = (
        functions[functionId(riq, 'deadLetters')]?.Properties['Environment'] as { Variables: Json }
      ).Variables;
      const sources = jsonEnvTokens(variables[RUNTIME_ENV.deadLetterQueueArns]);
      const destinations = jsonEnvTokens(variables[RUNTIME_ENV.queueArns]);
      expect(Object.keys(destinations).sort()).toEqual([...allQueueKeys()].sort());
      for (const key of allQueueKeys()) {
        expect(importedLogicalId(riq.stateful, sources[key]), key).toBe(deadLetterQueue(key)[0]);
        expect(importedLogicalId(riq.stateful, destinations[key]), key).toBe(workQueue(key)[0]);
      }
      expect(variables[RUNTIME_ENV.deadLetterRedrive]).toBe('move_task');
    });
  });

  describe('data that outlives the stack', () => {
    const removal = isProd ? 'Retain' : 'Delete';

    it(`${isProd ? 'retains' : 'deletes'} the work queues with their dead-letter queues`, () => {
      for (const key of allQueueKeys()) {
        for (const [id, queue] of [workQueue(key), deadLetterQueue(key)]) {
          expect(
            { DeletionPolicy: queue.DeletionPolicy, UpdateReplacePolicy: queue.UpdateReplacePolicy },
            id,
          ).toEqual({ DeletionPolicy: removal, UpdateReplacePolicy: removal });
        }
      }
    });

    it(`${isProd ? 'protects' : 'does not protect'} the table from deletion and keeps point-in-time recovery on`, () => {
      const tables = Object.values(resourcesOfType(riq.stateful, 'AWS::DynamoDB::Table'));
      expect(tables).toHaveLength(1);
      expect(tables[0]?.Properties['DeletionProtectionEnabled']).toBe(isProd);
      expect(tables[0]?.Properties['PointInTimeRecoverySpecification']).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
    });
  });
});

describe('dev', () => {
  it('keeps point-in-time recovery off and the table unprotected (short-lived test data)', () => {
    const { deployment } = resolveStageConfig('dev', stages());
    expect(deployment).toMatchObject({ retainData: false, pointInTimeRecovery: false });
  });
});
