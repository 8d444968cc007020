/**
 * The identity of everything that holds data: a logical ID or a replacement-causing property that
 * changes makes CloudFormation replace the resource (a new, empty table, queue, bucket or secret).
 * A feature flag or a refactor that would do so fails here first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RIQ_STAGES } from '../../lib/riq-app.js';
import { allQueueKeys, REQUESTS_TABLE } from '../../model/config/index.js';
import { resourcesOfType, synthStage, type SynthesizedStage } from './support/synth.js';

/** Logical ID → the CloudFormation type, per stack: the same in every stage. */
const STATEFUL_IDS: Record<string, string> = {
  RequestsTable00222A0D: 'AWS::DynamoDB::Table',
  BodiesBucket7CDFEDE9: 'AWS::S3::Bucket',
  AtlassianSecret1CBC49B8: 'AWS::SecretsManager::Secret',
  WorkQueuesjirahighqueue9C0FE925: 'AWS::SQS::Queue',
  WorkQueuesjiranormalqueue851CE3D4: 'AWS::SQS::Queue',
  WorkQueuesjiralowqueue93557C76: 'AWS::SQS::Queue',
  WorkQueuesconfluencehighqueue8D781BFC: 'AWS::SQS::Queue',
  WorkQueuesconfluencenormalqueue6E47E5BC: 'AWS::SQS::Queue',
  WorkQueuesconfluencelowqueue0D6B0333: 'AWS::SQS::Queue',
  WorkQueuesjirahighdlq442B80E9: 'AWS::SQS::Queue',
  WorkQueuesjiranormaldlqE8795179: 'AWS::SQS::Queue',
  WorkQueuesjiralowdlq129E4EFC: 'AWS::SQS::Queue',
  WorkQueuesconfluencehighdlq5213F3F2: 'AWS::SQS::Queue',
  WorkQueuesconfluencenormaldlqA8D315CD: 'AWS::SQS::Queue',
  WorkQueuesconfluencelowdlq7A2CA1CE: 'AWS::SQS::Queue',
};
const STATELESS_IDS: Record<string, string> = {
  ObservabilityAlarmTopicKey48516DE9: 'AWS::KMS::Key',
  ApiAccessLogs50B185DB: 'AWS::Logs::LogGroup',
  ApiSubmitLogs933D25FD: 'AWS::Logs::LogGroup',
  ApiResultLogs9E865627: 'AWS::Logs::LogGroup',
  ApiHealthLogsBA320D76: 'AWS::Logs::LogGroup',
  ApiCircuitBreakersLogs4F866E6C: 'AWS::Logs::LogGroup',
  ApiDeadLettersLogsDB51F4C4: 'AWS::Logs::LogGroup',
  ApiMetricsLogs9B32F4B8: 'AWS::Logs::LogGroup',
  ApiNotFoundLogs028E4C65: 'AWS::Logs::LogGroup',
  SweeperFunctionLogs85A1FD11: 'AWS::Logs::LogGroup',
  WorkersJiraWorkerLogs12B7D93A: 'AWS::Logs::LogGroup',
  WorkersConfluenceWorkerLogsAE00C2D8: 'AWS::Logs::LogGroup',
};
const STATEFUL_TYPES = [
  'AWS::DynamoDB::Table',
  'AWS::S3::Bucket',
  'AWS::SecretsManager::Secret',
  'AWS::SQS::Queue',
  'AWS::KMS::Key',
  'AWS::Logs::LogGroup',
];

describe.each(RIQ_STAGES)('stateful identity, %s', (stageName) => {
  let riq: SynthesizedStage;

  beforeAll(() => {
    riq = synthStage(stageName);
  });
  afterAll(() => riq?.cleanup());

  const idsOf = (which: 'stateful' | 'stateless') =>
    Object.fromEntries(
      STATEFUL_TYPES.flatMap((type) =>
        Object.keys(resourcesOfType(riq[which], type)).map((id) => [id, type]),
      ),
    );

  it('keeps the logical IDs of the data, keys and log groups', () => {
    expect(idsOf('stateful')).toEqual(STATEFUL_IDS);
    expect(idsOf('stateless')).toEqual(STATELESS_IDS);
  });

  it('keeps the properties whose change replaces them', () => {
    const prefix = `riq-${stageName}`;
    const stateful = riq.stateful.toJSON()['Resources'] as Record<
      string,
      { Properties: Record<string, unknown> }
    >;
    const table = stateful['RequestsTable00222A0D']!.Properties;
    expect(table['TableName']).toBe(`${prefix}-requests`);
    expect(table['KeySchema']).toEqual([{ AttributeName: REQUESTS_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect((table['GlobalSecondaryIndexes'] as { IndexName: string }[]).map((i) => i.IndexName)).toEqual([
      REQUESTS_TABLE.statusIndex.name,
    ]);
    expect(stateful['AtlassianSecret1CBC49B8']!.Properties['Name']).toBe(`${prefix}/atlassian`);
    const queueNames = Object.values(resourcesOfType(riq.stateful, 'AWS::SQS::Queue'))
      .map((q) => q.Properties['QueueName'])
      .sort();
    expect(queueNames).toEqual(
      allQueueKeys()
        .flatMap((key) => [`${prefix}-${key}`, `${prefix}-${key}-dlq`])
        .sort(),
    );
    // The bucket's name is CloudFormation's (from the logical ID): none set, none to change.
    expect(stateful['BodiesBucket7CDFEDE9']!.Properties['BucketName']).toBeUndefined();
  });

  it('retains the data where the stage says so', () => {
    const retained = riq.config.deployment.retainData ? 'Retain' : 'Delete';
    for (const id of Object.keys(STATEFUL_IDS)) {
      expect(riq.stateful.toJSON()['Resources'][id]['DeletionPolicy'], id).toBe(retained);
    }
  });
});
