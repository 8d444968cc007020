/**
 * How a benchmark process hands its figures to its runner (bench/main.ts, compare/main.ts): one
 * line `<prefix>{json}` on stdout; everything else the process writes goes to its log file.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import type { ProgressCounts } from './progress.js';

export const RESULT_PREFIX = 'BENCH_RESULT ';
/** A child's counts so far, for its runner's status line (never written to the log). */
export const PROGRESS_PREFIX = 'RIQ_PROGRESS ';
/** Set by the runner when it shows a status line: the child then reports its counts. */
export const PROGRESS_ENV = 'RIQ_PROGRESS';

/** Reports the counts so far to the runner, when it asked for them (`RIQ_PROGRESS=1`). */
export function writeProgress(counts: ProgressCounts): void {
  if (process.env[PROGRESS_ENV] === '1')
    process.stdout.write(`\n${PROGRESS_PREFIX}${JSON.stringify(counts)}\n`);
}

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
  /** Receives the counts the child reports with `writeProgress`. */
  onProgress?: (counts: ProgressCounts) => void;
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
      ...(run.onProgress ? { [PROGRESS_ENV]: '1' } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(log);
  let out = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    // Whole lines only: a progress line goes to the runner, every other line to the log.
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith(PROGRESS_PREFIX)) {
        run.onProgress?.(JSON.parse(line.slice(PROGRESS_PREFIX.length)) as ProgressCounts);
        continue;
      }
      log.write(`${line}\n`);
      out += `${line}\n`;
    }
  });
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      out += partial;
      log.write(partial);
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (code === 0 && line) resolve(JSON.parse(line.slice(prefix.length)) as T);
      else reject(new Error(`${run.label} exited with ${code}; see ${run.logPath}`));
    });
  });
}
