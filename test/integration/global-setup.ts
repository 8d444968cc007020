/**
 * Starts DynamoDB Local and the SQS emulator once for the integration tests and hands their
 * endpoints to the tests (`inject('dynamoEndpoint')`, `inject('sqsEndpoint')`).
 */
import 'vitest';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, startSqsEmulator, type RunningService } from '../../local/services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

let services: RunningService[] = [];

export async function setup(project: TestProject): Promise<void> {
  const [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  services = [dynamo, sqs];
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
}

export async function teardown(): Promise<void> {
  await Promise.all(services.map((s) => s.stop()));
}
