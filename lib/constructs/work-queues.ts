import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption, RedrivePermission, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  allQueueKeys,
  deadLetterQueueName,
  messageRetentionSeconds,
  parseQueueKey,
  queueName,
  queueVisibilityTimeoutSeconds,
  type QueueKey,
  type RiqConfig,
  type Service,
} from '../../model/config/index.js';

/** The longest SQS keeps a message: dead letters wait there for an operator. */
const DEAD_LETTER_RETENTION = Duration.days(14);

export interface WorkQueuesProps {
  readonly config: RiqConfig;
}

/**
 * One queue per service and priority, each with its own dead-letter queue (stateful).
 *
 * A message moves to the dead-letter queue after `config.retry.maxAttempts` receives; all queues
 * are encrypted with SQS-managed keys and refuse requests without TLS. Each dead-letter queue
 * serves its one work queue alone (redrive allow policy `byQueue`). With
 * `config.deployment.retainData` both stay when the stack is deleted: a message is a request.
 */
export class WorkQueues extends Construct {
  public readonly queues: Record<QueueKey, IQueue>;
  public readonly deadLetterQueues: Record<QueueKey, IQueue>;

  constructor(scope: Construct, id: string, props: WorkQueuesProps) {
    super(scope, id);
    const { config } = props;
    const queues: Partial<Record<QueueKey, IQueue>> = {};
    const deadLetterQueues: Partial<Record<QueueKey, IQueue>> = {};

    const removalPolicy = config.deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    for (const key of allQueueKeys()) {
      // The work queue by its ARN, built from its name: its RedrivePolicy already references the
      // dead-letter queue, so a reference back to the construct would be a circular dependency.
      const source = Queue.fromQueueAttributes(this, `${key}-source`, {
        queueName: queueName(config, key),
        queueArn: Stack.of(this).formatArn({
          service: 'sqs',
          resource: queueName(config, key),
          arnFormat: ArnFormat.NO_RESOURCE_NAME,
        }),
      });
      const deadLetterQueue = new Queue(this, `${key}-dlq`, {
        queueName: deadLetterQueueName(config, key),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: DEAD_LETTER_RETENTION,
        redriveAllowPolicy: { redrivePermission: RedrivePermission.BY_QUEUE, sourceQueues: [source] },
        removalPolicy,
      });

      queues[key] = new Queue(this, `${key}-queue`, {
        queueName: queueName(config, key),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(queueVisibilityTimeoutSeconds(config)),
        retentionPeriod: Duration.seconds(messageRetentionSeconds(config)),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: config.retry.maxAttempts },
        removalPolicy,
      });
      Validations.of(deadLetterQueue).acknowledge({
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'A dead-letter queue is where a request ends after its retries: an operator retries, redrives or ' +
          'purges it (the DLQ alarm pages on its first message); a queue behind it would hide it.',
      });
      deadLetterQueues[key] = deadLetterQueue;
    }

    this.queues = queues as Record<QueueKey, IQueue>;
    this.deadLetterQueues = deadLetterQueues as Record<QueueKey, IQueue>;
  }

  /** The three priority queues of one service. */
  queuesOf(service: Service): Partial<Record<QueueKey, IQueue>> {
    return pick(this.queues, service);
  }
}

/** The entries of a QueueKey map that belong to one service. */
export function pick<T>(map: Record<QueueKey, T>, service: Service): Partial<Record<QueueKey, T>> {
  const out: Partial<Record<QueueKey, T>> = {};
  for (const key of allQueueKeys()) {
    if (parseQueueKey(key).service === service) out[key] = map[key];
  }
  return out;
}
