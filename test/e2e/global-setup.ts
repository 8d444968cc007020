/**
 * Starts the local stack exactly as `npm start` does (tsx local/main.ts), on free ports with the
 * database in memory, and hands its endpoints (its RIQ_INFO_FILE) to the tests. Its output goes to
 * .riq-local/e2e-stack.log.
 */
import 'vitest';
import type { TestProject } from 'vitest/node';
import type { StackInfo } from '../../local/ready-line.js';
import { startStackLogged, stopStack, type StartedProcess } from '../support/local-start.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

let started: StartedProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  const stack = await startStackLogged('.riq-local/e2e-stack.log');
  started = stack.started;
  project.provide('stack', stack.info);
}

export async function teardown(): Promise<void> {
  await stopStack(started);
}
