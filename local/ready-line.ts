/** The line `npm start` prints once the stack is up, for scripts and the e2e tests to read. */
import type { QueueKey } from '../model/config/resources.js';

export const READY_PREFIX = 'RIQ_READY ';

export interface StackInfo {
  url: string;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  s3Endpoint: string;
  bodiesBucket: string;
  simulatorUrl: string | null;
  tableName: string;
  queueUrls: Record<QueueKey, string>;
  deadLetterQueueUrls: Record<QueueKey, string>;
}
