import { Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { QueueKey, RiqConfig } from '../model/config/index.js';
import { AtlassianSecret } from './constructs/atlassian-secret.js';
import { BodiesBucket } from './constructs/bodies-bucket.js';
import { RequestsTable } from './constructs/requests-table.js';
import type { StatefulResources } from './constructs/stateful-resources.js';
import { WorkQueues } from './constructs/work-queues.js';

export type { StatefulResources } from './constructs/stateful-resources.js';

export interface StatefulStackProps extends StackProps {
  readonly config: RiqConfig;
}

/**
 * Everything that holds data: the requests table, the bodies bucket, the work and dead-letter
 * queues, the credentials.
 */
export class StatefulStack extends Stack implements StatefulResources {
  public readonly table: ITable;
  public readonly queues: Record<QueueKey, IQueue>;
  public readonly deadLetterQueues: Record<QueueKey, IQueue>;
  public readonly atlassianSecret: ISecret;
  public readonly bodies: IBucket;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.table = new RequestsTable(this, 'Requests', { config }).table;
    this.bodies = new BodiesBucket(this, 'Bodies', { config }).shared;
    const workQueues = new WorkQueues(this, 'WorkQueues', { config });
    this.queues = workQueues.queues;
    this.deadLetterQueues = workQueues.deadLetterQueues;
    this.atlassianSecret = new AtlassianSecret(this, 'Atlassian', { config }).secret;
  }
}
