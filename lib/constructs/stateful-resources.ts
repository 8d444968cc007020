import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { QueueKey } from '../../model/config/index.js';

/** What the stateful stack keeps and the stateless stack's functions use. */
export interface StatefulResources {
  readonly table: ITable;
  readonly queues: Record<QueueKey, IQueue>;
  /** A worker puts a dead request's message here itself when deferrals restarted its receive count. */
  readonly deadLetterQueues: Record<QueueKey, IQueue>;
  /** Holds `{email, api_token}` or the OAuth grant (see lambdas/adapters/atlassian/connection.ts). */
  readonly atlassianSecret: ISecret;
  /** Large payloads and results (claim check). */
  readonly bodies: IBucket;
}
