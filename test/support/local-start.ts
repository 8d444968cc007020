/**
 * Runs `npm start` (local/main.ts under tsx) as a child process on free ports with the database in
 * memory, and waits until it has written its endpoints to its RIQ_INFO_FILE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackInfo } from '../../local/ready-line.js';

export interface StartedProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Its exit code (null after a signal), once it has exited. */
  exited: Promise<number | null>;
}

export function spawnLocalStart(env: Record<string, string> = {}, nodeArgs: string[] = []): StartedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'local/main.ts'], {
    env: {
      ...process.env,
      RIQ_PORT: '0',
      SIM_PORT: '0',
      RIQ_DATA_DIR: 'memory',
      ATLASSIAN_SITE_URL: '',
      JIRA_BASE_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, output: () => text, exited };
}

/** A fresh path for an info file, in a temporary folder. */
export function infoFilePath(): string {
  return join(mkdtempSync(join(tmpdir(), 'riq-info-')), 'stack.json');
}

/** The info the started process wrote to `path`; fails if it exits first or takes over `timeoutMs`. */
export async function waitForStackInfo(
  started: StartedProcess,
  path: string,
  timeoutMs = 90_000,
): Promise<StackInfo> {
  let exitCode: number | null | undefined;
  void started.exited.then((code) => (exitCode = code));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) {
      const info = JSON.parse(readFileSync(path, 'utf8')) as StackInfo;
      rmSync(path, { force: true });
      return info;
    }
    if (exitCode !== undefined) throw new Error(`local stack exited with ${exitCode}:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`local stack did not start in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A test project's own stack: `npm start` with its output in `logFile` (under .riq-local), its
 * endpoints once it is up. A failed start names the log.
 */
export async function startStackLogged(
  logFile: string,
): Promise<{ started: StartedProcess; info: StackInfo }> {
  mkdirSync('.riq-local', { recursive: true });
  const log = createWriteStream(logFile);
  const infoFile = infoFilePath();
  const started = spawnLocalStart({ RIQ_INFO_FILE: infoFile });
  started.child.stdout?.pipe(log);
  started.child.stderr?.pipe(log);
  try {
    return { started, info: await waitForStackInfo(started, infoFile) };
  } catch (err) {
    throw new Error(`${String(err)}\nsee ${logFile}`, { cause: err });
  }
}

/** Stops a started stack: SIGTERM, then SIGKILL after 10 s. */
export async function stopStack(started: StartedProcess | undefined): Promise<void> {
  const child = started?.child;
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await started!.exited;
  clearTimeout(timer);
}
