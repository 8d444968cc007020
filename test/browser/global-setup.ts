/**
 * The browser tests' stack: `npm start` (local/main.ts) on free ports with the database in memory,
 * their own, so the faults they inject and the requests they kill touch no other project's tests.
 * Its output goes to .riq-local/browser-stack.log. Without Chromium this fails the project loudly:
 * the browser tests never skip.
 */
import 'vitest';
import type { TestProject } from 'vitest/node';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import type { StackInfo } from '../../local/ready-line.js';
import {
  infoFilePath,
  spawnLocalStart,
  waitForStackInfo,
  type StartedProcess,
} from '../support/local-start.js';
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
  mkdirSync('.riq-local', { recursive: true });
  const log = createWriteStream('.riq-local/browser-stack.log');
  const infoFile = infoFilePath();
  started = spawnLocalStart({ RIQ_INFO_FILE: infoFile });
  started.child.stdout?.pipe(log);
  started.child.stderr?.pipe(log);
  try {
    project.provide('stack', await waitForStackInfo(started, infoFile));
  } catch (err) {
    throw new Error(`${String(err)}\nsee .riq-local/browser-stack.log`, { cause: err });
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
