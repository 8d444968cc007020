/**
 * Starts the local stack exactly as `npm start` does (tsx local/main.ts), on free ports with the
 * database in memory, and hands its endpoints (its RIQ_INFO_FILE) to the tests. Its output goes to
 * .riq-local/e2e-stack.log.
 */
import 'vitest';
import type { TestProject } from 'vitest/node';
import { createWriteStream, mkdirSync } from 'node:fs';
import type { StackInfo } from '../../local/ready-line.js';
import {
  infoFilePath,
  spawnLocalStart,
  waitForStackInfo,
  type StartedProcess,
} from '../support/local-start.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

let started: StartedProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  mkdirSync('.riq-local', { recursive: true });
  const log = createWriteStream('.riq-local/e2e-stack.log');
  const infoFile = infoFilePath();
  started = spawnLocalStart({ RIQ_INFO_FILE: infoFile });
  started.child.stdout?.pipe(log);
  started.child.stderr?.pipe(log);
  try {
    project.provide('stack', await waitForStackInfo(started, infoFile));
  } catch (err) {
    throw new Error(`${String(err)}\nsee .riq-local/e2e-stack.log`, { cause: err });
  }
}

export async function teardown(): Promise<void> {
  const child = started?.child;
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await started!.exited;
  clearTimeout(timer);
}
