import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  functionTimeoutSeconds,
  REQUESTS_TABLE,
  RUNTIME_ENV,
  type QueueKey,
  type RiqConfig,
} from '../../model/config/index.js';
import { RiqFunction } from './riq-function.js';

export interface SweeperProps {
  readonly config: RiqConfig;
  readonly table: ITable;
  readonly queues: Record<QueueKey, IQueue>;
  /** @default Duration.minutes(1) */
  readonly interval?: Duration;
}

/**
 * The sweeper Lambda on an EventBridge schedule (stateless): re-enqueues `queued` records left
 * without a message and `processing` records whose lease expired. It reads the by-status index,
 * stamps the records it repairs, and sends to the work queues; nothing else.
 */
export class Sweeper extends Construct {
  public readonly function: RiqFunction;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const { config } = props;
    this.function = new RiqFunction(this, 'Function', {
      config,
      entry: 'sweeper',
      description: 'RIQ sweeper: re-enqueues orphaned queued requests and expired processing leases',
      timeout: Duration.seconds(functionTimeoutSeconds(config).sweeper),
    });
    this.function.useTable(props.table, {
      // GetItem: reconciling a `waiting` request reads it and its parents.
      actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
      indexes: { [REQUESTS_TABLE.statusIndex.name]: ['dynamodb:Query'] },
    });
    this.function.useQueues(RUNTIME_ENV.queueUrls, props.queues, ['sqs:SendMessage']);

    this.rule = new Rule(this, 'Schedule', {
      description: `${config.namePrefix}: runs the sweeper`,
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    Validations.of(this.rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'The schedule runs the sweeper every minute with no retry: an undelivered run is replaced by the ' +
        'next one, and a stale run kept in a queue would repair nothing.',
    });
  }
}
