/**
 * `npm run bench [-- scenario…]`: runs the benchmarks one after another, each in its own
 * process with its own local stack (see bench/run-scenario.ts), and prints their figures. The
 * stacks' logs go to .riq-local/bench-<scenario>.log, each run's chart to bench/out/<scenario>.svg.
 * Figures are printed, never asserted: the target is shown next to them. `--help` lists the
 * scenarios.
 */
import { cpus, loadavg } from 'node:os';
import { namesOrExit, type CliSpec } from './cli.js';
import { ProgressLine } from './progress.js';
import { runForResult } from './result-line.js';
import { SCENARIO_NAMES, SCENARIO_SUMMARIES, type ScenarioResult } from './scenario-names.js';

export const BENCH_CLI: CliSpec = {
  command: 'npm run bench --',
  summary:
    'Runs benchmark scenarios against the local stack (each in its own process) and prints their figures next to their targets.',
  positional: { name: 'scenario', choices: SCENARIO_SUMMARIES, multiple: true, otherwise: 'all of them' },
  env: {
    POWERTOOLS_LOG_LEVEL:
      "the functions' log level (default WARN; INFO for cost, whose figures count log bytes)",
    BENCH_ADAPTIVE: 'JSON merged into rateControl.adaptive, e.g. \'{"probeBand":0.1}\'',
    BENCH_DUMP: "a file for drain's, drain-live's and the drain-shaped scenarios' raw calls (JSON)",
    BENCH_QUOTA_TIME_SCALE: "quota: the simulator's clock speed-up (default 1)",
    BENCH_QUOTA_NEAR_LIMIT_HEADER: 'quota: 0 turns X-RateLimit-NearLimit off',
    BENCH_COLDSTART_SDK: "coldstart: 'external' leaves the AWS SDK out of the bundle",
    BENCH_COLDSTART_SOURCE_MAPS: 'coldstart: 1 bundles source maps',
  },
  notes: [
    "Each run's stack logs to .riq-local/bench-<scenario>.log; a scenario on the local stack writes",
    'bench/out/<scenario>.svg (calls per second against the limit, queue depth, 429s over time).',
  ],
};

const requested = namesOrExit(BENCH_CLI, process.argv.slice(2));
const names = requested.length > 0 ? requested : [...SCENARIO_NAMES];

function runScenario(name: string, status: ProgressLine): Promise<ScenarioResult> {
  return runForResult<ScenarioResult>({
    args: ['bench/run-scenario.ts', name],
    logPath: `.riq-local/bench-${name}.log`,
    label: `scenario ${name}`,
    // The cost counts the log bytes the functions write at the level they are deployed with.
    ...(name === 'cost'
      ? { env: { POWERTOOLS_LOG_LEVEL: process.env['POWERTOOLS_LOG_LEVEL'] ?? 'INFO' } }
      : {}),
    ...(status.mode !== 'off' ? { onProgress: (counts) => status.update(counts) } : {}),
  });
}

console.log(
  `RIQ benchmarks, ${new Date().toISOString()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
let failures = 0;
for (const name of names) {
  const started = Date.now();
  console.log(`\n== ${name}`);
  const status = new ProgressLine({ stream: process.stdout });
  status.update({ label: name, phase: 'starting' });
  const ticker = setInterval(() => status.tick(), 500);
  try {
    const r = await runScenario(name, status);
    clearInterval(ticker);
    status.clear();
    console.log(`   time:   ${Math.round((Date.now() - started) / 1000)} s`);
    console.log(`   setup:  ${r.setup}`);
    for (const [k, v] of Object.entries(r.figures)) console.log(`   ${k.padEnd(34)} ${v}`);
    for (const v of r.verdicts ?? [r]) console.log(`   target: ${v.target} -> ${v.met ? 'met' : 'NOT met'}`);
    if (r.chart) console.log(`   chart:  ${r.chart}`);
  } catch (err) {
    clearInterval(ticker);
    status.clear();
    failures++;
    console.log(`   failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
