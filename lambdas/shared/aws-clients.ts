/**
 * SDK clients, built once per module scope. Endpoints come from the SDK's own configuration
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`), which the local stack sets: no local
 * switches in this code.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
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
