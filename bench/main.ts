/**
 * `npm run bench [-- scenario…]`: runs the benchmarks one after another, each in its own
 * process with its own local stack (see bench/run-scenario.ts), and prints their figures. The
 * stacks' logs go to .riq-local/bench-<scenario>.log. Figures are printed, never asserted: the
 * target is shown next to them.
 */
import { cpus, loadavg } from 'node:os';
import { runForResult } from './result-line.js';
import { SCENARIO_NAMES, type ScenarioResult } from './scenario-names.js';

const requested = process.argv.slice(2);
const unknown = requested.filter((n) => !(SCENARIO_NAMES as readonly string[]).includes(n));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIO_NAMES.join(', ')}`);
  process.exit(2);
}
const names = requested.length > 0 ? requested : [...SCENARIO_NAMES];

function runScenario(name: string): Promise<ScenarioResult> {
  return runForResult<ScenarioResult>({
    args: ['bench/run-scenario.ts', name],
    logPath: `.riq-local/bench-${name}.log`,
    label: `scenario ${name}`,
    // The cost counts the log bytes the functions write at the level they are deployed with.
    ...(name === 'cost'
      ? { env: { POWERTOOLS_LOG_LEVEL: process.env['POWERTOOLS_LOG_LEVEL'] ?? 'INFO' } }
      : {}),
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
  process.stdout.write(`\n== ${name} `);
  try {
    const r = await runScenario(name);
    console.log(`(${Math.round((Date.now() - started) / 1000)} s)`);
    console.log(`   setup:  ${r.setup}`);
    for (const [k, v] of Object.entries(r.figures)) console.log(`   ${k.padEnd(34)} ${v}`);
    for (const v of r.verdicts ?? [r]) console.log(`   target: ${v.target} -> ${v.met ? 'met' : 'NOT met'}`);
  } catch (err) {
    failures++;
    console.log(`\n   failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
