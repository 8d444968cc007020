#!/usr/bin/env node
/**
 * The `riq` CLI's entry: `node --import tsx client/cli/main.ts <command> …`, `npm run riq -- …` or
 * `npx riq …` (bin/riq.mjs). Wires `run` to the process and the real `QueueClient`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QueueClient } from '../queue-client.js';
import { run } from './run.js';

/** Runs `riq` on this process's arguments and streams; answers the exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  // `riq console` is a long-running server with its own options (client/console/command.ts).
  // Imported only for it: the console's server and page are no part of any other command's start.
  if (argv[0] === 'console') {
    const { runConsole } = await import('../console/command.js');
    return runConsole(argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env });
  }
  return run(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    clientFactory: (options) => new QueueClient(options),
    isTTY: process.stderr.isTTY === true,
    stdin: process.stdin,
  });
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // exitCode, not exit(): stdout is flushed before the process ends.
  process.exitCode = await main();
}
