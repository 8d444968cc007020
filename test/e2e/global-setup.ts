/**
 * Starts the local stack exactly as `npm start` does (tsx local/main.ts), on free ports with the
 * database in memory, and hands its endpoints to the tests. Its output goes to .riq-local/e2e-stack.log.
 */
import 'vitest';
import type { TestProject } from 'vitest/node';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { READY_PREFIX, type StackInfo } from '../../local/ready-line.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

let child: ChildProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  mkdirSync('.riq-local', { recursive: true });
  const log = createWriteStream('.riq-local/e2e-stack.log');
  child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    env: {
      ...process.env,
      RIQ_PORT: '0',
      SIM_PORT: '0',
      RIQ_DATA_DIR: 'memory',
      ATLASSIAN_SITE_URL: '',
      JIRA_BASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log);
  const info = await new Promise<StackInfo>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error('local stack did not start in 90 s; see .riq-local/e2e-stack.log')),
      90_000,
    );
    let buffered = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line) {
        clearTimeout(timer);
        ok(JSON.parse(line.slice(READY_PREFIX.length)) as StackInfo);
      }
    });
    child!.once('exit', (code) =>
      fail(new Error(`local stack exited with ${code}; see .riq-local/e2e-stack.log`)),
    );
  });
  project.provide('stack', info);
}

export async function teardown(): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((ok) => child!.once('exit', ok));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
