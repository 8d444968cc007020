/**
 * SDK clients, built once per module scope. Endpoints come from the SDK's own configuration
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`), which the local stack sets: no local
 * switches in this code.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

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
