/**
 * `npm run bench -- cli`: how long the `riq` command takes to start. Builds the CLI into dist/ as
 * `npm ci` does (bin/riq-bundle.mjs), then runs `node bin/riq.mjs --help` in `RUNS` fresh processes, one at a
 * time, and for comparison the same through tsx (`npm run riq`'s way) and a bare `node -e 0` (the
 * floor: what node itself takes on this machine right now). No local stack, no network.
 *
 * Each run's wall-clock time is measured from here (spawn to exit); its CPU time (user + system) is
 * reported by the child itself at exit, through a one-line `--import` module: on a busy machine the
 * wall clock also counts waiting for a CPU, the CPU time does not.
 */
import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import { buildBundle, REPO_ROOT } from '../bin/riq-bundle.mjs';
import { percentile } from './harness.js';
import type { ScenarioResult } from './scenario-names.js';

/** The goal: `riq --help` in at most this many ms (median wall clock of `RUNS` processes). */
export const HELP_GOAL_MS = 300;
export const RUNS = 5;

/** Prints the process's CPU milliseconds to stderr as it exits (stderr is a pipe: written at once). */
const CPU_PROBE =
  'data:text/javascript,process.on("exit",()=>{const u=process.cpuUsage();' +
  'process.stderr.write("\\nBENCH_CPU_MS "+(u.user+u.system)/1000+"\\n")})';

export interface StartFigures {
  readonly wallMs: readonly number[];
  readonly cpuMs: readonly number[];
}

/** One fresh `node …args` process: its wall-clock and CPU milliseconds; a non-zero exit throws. */
async function startOnce(args: readonly string[]): Promise<{ wallMs: number; cpuMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', CPU_PROBE, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const wallMs = performance.now() - started;
  const cpu = /BENCH_CPU_MS ([0-9.]+)/.exec(stderr);
  if (code !== 0 || !cpu) throw new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
  return { wallMs, cpuMs: Number(cpu[1]) };
}

/** `RUNS` fresh processes of `node …args`, one after another. */
export async function measureStart(args: readonly string[], runs = RUNS): Promise<StartFigures> {
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const once = await startOnce(args);
    wallMs.push(once.wallMs);
    cpuMs.push(once.cpuMs);
  }
  return { wallMs, cpuMs };
}

function describe(f: StartFigures): string {
  const median = (values: readonly number[]) => Math.round(percentile([...values], 0.5));
  return (
    `median ${median(f.wallMs)} ms (${f.wallMs.map((ms) => Math.round(ms)).join(', ')}); ` +
    `CPU median ${median(f.cpuMs)} ms`
  );
}

export async function cliStart(): Promise<ScenarioResult> {
  const { entry, entryBytes, bytes, ms } = await buildBundle();
  // The first start after a build reads the bundle from disk; the runs measure a warm file cache.
  await startOnce(['bin/riq.mjs', '--help']);
  const riq = await measureStart(['bin/riq.mjs', '--help']);
  const tsx = await measureStart(['--import', 'tsx', 'client/cli/main.ts', '--help']);
  const bare = await measureStart(['-e', '0']);
  const medianMs = percentile([...riq.wallMs], 0.5);
  const met = medianMs <= HELP_GOAL_MS;
  return {
    scenario: 'cli',
    figures: {
      'entry file': `${relative(REPO_ROOT, entry)}, ${Math.round(entryBytes / 1024)} KB (${Math.round(bytes / 1024)} KB with the chunks loaded on use); built in ${Math.round(ms)} ms`,
      'riq --help (node bin/riq.mjs)': `${describe(riq)}: ${met ? 'met' : 'NOT met'}`,
      'the same through tsx (npm run riq)': describe(tsx),
      'node -e 0 (the floor)': describe(bare),
    },
    target: `median riq --help <= ${HELP_GOAL_MS} ms`,
    met,
    setup: `esbuild ESM, code splitting, minified (bin/riq-bundle.mjs); ${RUNS} fresh node ${process.version} processes each, one at a time`,
  };
}
