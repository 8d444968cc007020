/**
 * A loopback proxy in front of DynamoDB Local that answers chosen operations the way DynamoDB does
 * when a table or partition is throttled: HTTP 400 with `ProvisionedThroughputExceededException` or
 * `ThrottlingException` in the body and in `x-amzn-ErrorType`. Every other request is passed through
 * untouched, so RIQ's SDK clients meet the real wire format and their own retry policy decides what
 * reaches RIQ's code.
 *
 * Hand-written because the fault is on the wire: DynamoDB Local has no switch for throttling, and
 * a wrapper inside the handlers' clients would not reach the worker processes the chaos run kills.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** DynamoDB operation names as sent in `X-Amz-Target` (`DynamoDB_20120810.<name>`). */
export type DynamoOperation =
  'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'TransactWriteItems' | 'BatchWriteItem';

export interface ThrottleBurst {
  operations: readonly DynamoOperation[];
  /** Share of those operations' requests answered as throttled while the burst lasts. */
  rate: number;
}

const THROTTLE_ERRORS = [
  {
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    name: 'ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  {
    type: 'com.amazon.coral.availability#ThrottlingException',
    name: 'ThrottlingException',
    message: 'Throughput exceeds the current capacity of your table or index.',
  },
] as const;

export class DynamoThrottleProxy {
  private burst: ThrottleBurst | undefined;
  private readonly counts = new Map<string, number>();
  private server: Server | undefined;
  private seq = 0;

  constructor(
    private readonly target: string,
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts listening on a free loopback port; answers the proxy's endpoint. */
  async start(): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Throttles from now until `stopThrottling()`. */
  startThrottling(burst: ThrottleBurst): void {
    this.burst = burst;
  }

  stopThrottling(): void {
    this.burst = undefined;
  }

  /** Requests answered as throttled so far, per operation. */
  throttled(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const burst = this.burst;
    if (burst && (burst.operations as readonly string[]).includes(operation) && this.random() < burst.rate) {
      const error = THROTTLE_ERRORS[this.seq++ % THROTTLE_ERRORS.length]!;
      this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
      req.resume();
      res.writeHead(400, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-errortype': `${error.name}:`,
        'x-amzn-requestid': `throttled-${this.seq}`,
      });
      res.end(JSON.stringify({ __type: error.type, message: error.message }));
      return;
    }
    const url = new URL(req.url ?? '/', this.target);
    const upstream = request(
      url,
      { method: req.method, headers: { ...req.headers, host: url.host } },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }
}
