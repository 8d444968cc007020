import { DynamoDBClient, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoThrottleProxy } from '../../../chaos/dynamo-throttle.js';

/** A stand-in for DynamoDB Local that answers every operation with an empty JSON object. */
let upstream: Server;
let upstreamUrl = '';
const seen: string[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen.push(String(req.headers['x-amz-target']));
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{"TableNames":[]}');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
}

describe('DynamoThrottleProxy', () => {
  it('answers the chosen operations as DynamoDB throttles them and passes the others through', async () => {
    const proxy = new DynamoThrottleProxy(upstreamUrl, () => 0);
    const endpoint = await proxy.start();
    const dynamo = client(endpoint);
    try {
      const put = new PutItemCommand({ TableName: 'requests', Item: { pk: { S: 'a' } } });
      await expect(dynamo.send(put)).resolves.toBeDefined();
      proxy.startThrottling({ operations: ['PutItem'], rate: 0.5 });
      await expect(dynamo.send(put)).rejects.toMatchObject({
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
      });
      await expect(dynamo.send(put)).rejects.toMatchObject({ name: 'ThrottlingException' });
      await expect(dynamo.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
      proxy.stopThrottling();
      await expect(dynamo.send(put)).resolves.toBeDefined();
      expect(proxy.throttled()).toEqual({ PutItem: 2 });
      expect(seen.filter((t) => t.endsWith('.PutItem'))).toHaveLength(2);
    } finally {
      dynamo.destroy();
      await proxy.stop();
    }
  });

  it('throttles only the share it is given', async () => {
    const draws = [0.1, 0.9, 0.3, 0.7];
    const proxy = new DynamoThrottleProxy(upstreamUrl, () => draws.shift() ?? 1);
    const dynamo = client(await proxy.start());
    try {
      proxy.startThrottling({ operations: ['PutItem'], rate: 0.5 });
      const put = new PutItemCommand({ TableName: 'requests', Item: { pk: { S: 'b' } } });
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => dynamo.send(put)));
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2);
    } finally {
      dynamo.destroy();
      await proxy.stop();
    }
  });
});
