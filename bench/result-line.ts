/**
 * How a benchmark process hands its figures to its runner (bench/main.ts, compare/main.ts): one
 * line `<prefix>{json}` on stdout; everything else the process writes goes to its log file.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';

export const RESULT_PREFIX = 'BENCH_RESULT ';

/** Prints `value` as the process's result line. */
export function writeResult(value: unknown, prefix: string = RESULT_PREFIX): void {
  process.stdout.write(`\n${prefix}${JSON.stringify(value)}\n`);
}

export interface ChildRun {
  /** The `.ts` entry and its arguments, run with `node --import tsx`. */
  args: string[];
  /** Where the child's stdout and stderr go. */
  logPath: string;
  /** Names the child in the error when it fails. */
  label: string;
  env?: Record<string, string>;
  prefix?: string;
}

/**
 * Runs one benchmark process with its own local stack (the stack configures itself through
 * `process.env`: one per process) and answers its result line. The workers' per-request INFO lines
 * would be most of the CPU a stack spends, so the child logs at WARN unless told otherwise.
 */
export function runForResult<T>(run: ChildRun): Promise<T> {
  const prefix = run.prefix ?? RESULT_PREFIX;
  mkdirSync('.riq-local', { recursive: true });
  const log = createWriteStream(run.logPath);
  const child = spawn(process.execPath, ['--import', 'tsx', ...run.args], {
    env: {
      ...process.env,
      POWERTOOLS_LOG_LEVEL: process.env['POWERTOOLS_LOG_LEVEL'] ?? 'WARN',
      ...run.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(log);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (code === 0 && line) resolve(JSON.parse(line.slice(prefix.length)) as T);
      else reject(new Error(`${run.label} exited with ${code}; see ${run.logPath}`));
    });
  });
}
