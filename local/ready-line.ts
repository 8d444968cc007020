/**
 * Where the running local stack's parts are. `npm start` writes it as JSON to the file named by
 * `RIQ_INFO_FILE` once the stack is up (whole: written aside, then renamed), for scripts and the
 * e2e tests to read.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { QueueKey } from '../model/config/resources.js';

export const INFO_FILE_ENV = 'RIQ_INFO_FILE';

export interface StackInfo {
  url: string;
  dynamoEndpoint: string;
  /** DynamoDB Local's process (a `java` child of `npm start`). */
  dynamoPid: number;
  sqsEndpoint: string;
  s3Endpoint: string;
  bodiesBucket: string;
  simulatorUrl: string | null;
  tableName: string;
  queueUrls: Record<QueueKey, string>;
  deadLetterQueueUrls: Record<QueueKey, string>;
}

export function writeStackInfo(path: string, info: StackInfo): void {
  const aside = `${path}.${process.pid}.tmp`;
  writeFileSync(aside, JSON.stringify(info, null, 2) + '\n');
  renameSync(aside, path);
}
