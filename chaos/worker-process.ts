/**
 * One service's workers in a child process (local/worker-host.ts) that the chaos run can kill with
 * SIGKILL mid-flight — no cleanup, as a Lambda instance dies — and start again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { QueueKey } from '../model/config/resources.js';
import { WORKER_HOST_READY, WORKER_QUEUE_ARNS_ENV, WORKER_QUEUES_ENV } from '../local/worker-host-env.js';

const HOST_ENTRY = fileURLToPath(new URL('../local/worker-host.ts', import.meta.url));

export class WorkerProcess {
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;
  /** Times it was killed. */
  kills = 0;

  /** The running process's id (undefined before `start`). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  constructor(
    readonly name: string,
    private readonly keys: readonly QueueKey[],
    private readonly queueArns: Record<QueueKey, string>,
    logPath: string,
    /** Set on top of this process's environment (e.g. its own DynamoDB endpoint). */
    private readonly env: Record<string, string> = {},
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  /** Starts the process (with the environment the local stack set in this one) and waits until it polls. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', HOST_ENTRY], {
      env: {
        ...process.env,
        ...this.env,
        [WORKER_QUEUES_ENV]: this.keys.join(','),
        [WORKER_QUEUE_ARNS_ENV]: JSON.stringify(this.queueArns),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stderr!.pipe(this.log, { end: false });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`worker ${this.name} did not start in 60 s`)), 60_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        this.log.write(chunk);
        if (ready) return;
        out += chunk.toString();
        if (out.includes(WORKER_HOST_READY)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker ${this.name} exited (${code ?? signal}) before it was ready`));
      });
    });
  }

  /** SIGKILL: in-flight calls, claims and messages are left as they are. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.kills += 1;
  }

  /** SIGTERM: stops polling and lets in-flight batches finish. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => this.log.end(resolve));
  }
}
