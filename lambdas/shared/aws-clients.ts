/**
 * How each SDK client is configured; lambdas/shared/root.ts builds each once per module. Endpoints
 * come from the SDK's own configuration (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`,
 * `AWS_ENDPOINT_URL_S3`), which the local stack sets: no local switches in this code.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { BodyBucket } from './env.js';

/** The plain DynamoDB client (Powertools idempotency wants this one, not the document client). */
export function dynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

/** The document client over `client`: both share its connections. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
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

/** The bodies bucket's client, addressed as the environment says. */
export function s3Client(bucket: BodyBucket): S3Client {
  return new S3Client({ forcePathStyle: bucket.pathStyle });
}

export function secretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}
