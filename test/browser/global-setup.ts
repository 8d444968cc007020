/**
 * The browser tests' stack: `npm start` (local/main.ts) on free ports with the database in memory,
 * their own, so the faults they inject and the requests they kill touch no other project's tests.
 * Its output goes to .riq-local/browser-stack.log. Without Chromium this fails the project loudly:
 * the browser tests never skip.
 */
import 'vitest';
import type { TestProject } from 'vitest/node';
import { existsSync } from 'node:fs';
import type { StackInfo } from '../../local/ready-line.js';
import { startStackLogged, stopStack, type StartedProcess } from '../support/local-start.js';
import { CHROMIUM_PATH } from './browser.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

let started: StartedProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM_PATH} (Debian: apt-get install -y chromium; .ci/run installs it)`,
    );
  const stack = await startStackLogged('.riq-local/browser-stack.log');
  started = stack.started;
  project.provide('stack', stack.info);
}

export async function teardown(): Promise<void> {
  await stopStack(started);
}
