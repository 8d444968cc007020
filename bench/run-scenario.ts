/**
 * Runs one benchmark scenario in this process (the local stack configures itself through
 * `process.env`, so one stack per process) and prints its result as one `BENCH_RESULT {json}` line.
 * Usage: `tsx bench/run-scenario.ts drain|unknown-limit|priority|outage`; `npm run bench` runs all.
 */
import { writeResult } from './result-line.js';
import { SCENARIO_NAMES, type ScenarioName } from './scenario-names.js';
import { SCENARIOS } from './scenarios.js';

const name = process.argv[2] as ScenarioName | undefined;
if (!name || !SCENARIO_NAMES.includes(name)) {
  console.error(`usage: tsx bench/run-scenario.ts ${SCENARIO_NAMES.join('|')}`);
  process.exit(2);
}
try {
  const result = await SCENARIOS[name]();
  writeResult(result);
  process.exit(0);
} catch (err) {
  console.error(
    `scenario ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  process.exit(1);
}
