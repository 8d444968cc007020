/**
 * Starts DynamoDB Local and the SQS and S3 emulators once for the integration tests and hands their
 * endpoints to the tests (`inject('dynamoEndpoint')`, `inject('sqsEndpoint')`, `inject('s3Endpoint')`).
 */
import 'vitest';
import type { TestProject } from 'vitest/node';
import {
  startDynamoDbLocal,
  startS3Emulator,
  startSqsEmulator,
  type RunningService,
} from '../../local/services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
    s3Endpoint: string;
  }
}

let services: RunningService[] = [];

export async function setup(project: TestProject): Promise<void> {
  const [dynamo, sqs, s3] = await Promise.all([startDynamoDbLocal(), startSqsEmulator(), startS3Emulator()]);
  services = [dynamo, sqs, s3];
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
}

export async function teardown(): Promise<void> {
  await Promise.all(services.map((s) => s.stop()));
}
