/**
 * How each SDK client is configured; lambdas/shared/root.ts builds each once per module. Endpoints
 * come from the SDK's own configuration (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`),
 * which the local stack sets: no local switches in this code. S3 is reached without a client
 * (lambdas/adapters/s3/s3-objects.ts), with the credentials every client uses.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

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

/**
 * The credentials every SDK client takes by default: in the deployed bundles the Lambda
 * environment's (lambdas/shared/lambda-credentials.ts), from source the SDK's whole default chain.
 */
export function awsCredentials(): AwsCredentialIdentityProvider {
  return defaultProvider();
}

export function secretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}
