/**
 * SDK clients, built once per module scope. Endpoints come from the SDK's own configuration
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_S3`), which the local
 * stack sets: no local switches in this code.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3BodyStore } from '../adapters/s3/s3-body-store.js';
import type { BodyBucket } from './env.js';

/** The plain DynamoDB client (Powertools idempotency wants this one, not the document client). */
export function dynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

export function documentClient(client: DynamoDBClient = dynamoDbClient()): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

/**
 * Requests go to the region's SQS endpoint (or AWS_ENDPOINT_URL_SQS), never to whatever host a
 * queue URL names: on AWS they are the same; the local emulator's queue URLs name a host that
 * does not resolve.
 */
export function sqsClient(): SQSClient {
  return new SQSClient({ useQueueUrlAsEndpoint: false });
}

/** The bodies bucket (claim check) as a BodyStore, addressed as the environment says. */
export function bodyStore(bucket: BodyBucket): S3BodyStore {
  return new S3BodyStore(new S3Client({ forcePathStyle: bucket.pathStyle }), bucket.name);
}
