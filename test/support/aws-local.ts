/** SDK clients pointed at the emulators the integration setup started, and a fresh config per test file. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { S3Objects, type S3ObjectsOptions } from '../../lambdas/adapters/s3/s3-objects.js';
import { resolveConfig, type RiqConfig, type RiqConfigOverrides } from '../../model/config/riq-config.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export function localDynamo(endpoint: string) {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}

/**
 * A client and document client on DynamoDB Local that record the name of every command they send,
 * in order, in `sent`.
 */
export function countingLocalDynamo(endpoint: string) {
  const { client, doc } = localDynamo(endpoint);
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return { client, doc, sent };
}

export function localSqs(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials });
}

/** The S3 emulator, addressed path-style (its bucket host names do not resolve). */
export function localS3(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
}

/** The objects of `bucket` on the S3 emulator, path-style, as RIQ's functions reach them. */
export function localS3Objects(endpoint: string, bucket: string, options: S3ObjectsOptions = {}): S3Objects {
  return new S3Objects(
    { url: `${endpoint}/${bucket}`, region: 'us-east-1' },
    async () => credentials,
    options,
  );
}

/** A config whose names no other test file uses. */
export function isolatedConfig(overrides: RiqConfigOverrides = {}): RiqConfig {
  return resolveConfig({ ...overrides, namePrefix: `t${randomBytes(4).toString('hex')}` });
}
