/**
 * Runs one benchmark scenario in this process (the local stack configures itself through
 * `process.env`, so one stack per process), writes its chart to bench/out/<scenario>.svg when it
 * ran on the local stack, and prints its result as one `BENCH_RESULT {json}` line.
 * Usage: `tsx bench/run-scenario.ts <scenario>`; `npm run bench` runs all (`--help` lists them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { chartData, renderChart } from './chart-svg.js';
import { writeResult } from './result-line.js';
import { currentRecorder } from './run-recorder.js';
import { SCENARIO_NAMES, type ScenarioName, type ScenarioResult } from './scenario-names.js';
import { SCENARIOS } from './scenarios.js';

export const CHART_DIR = 'bench/out';

const name = process.argv[2] as ScenarioName | undefined;
if (!name || !SCENARIO_NAMES.includes(name)) {
  console.error(`usage: tsx bench/run-scenario.ts ${SCENARIO_NAMES.join('|')}`);
  process.exit(2);
}

/** Writes the run's chart; answers its path, or nothing when the scenario ran no local stack. */
async function writeChart(scenario: ScenarioName): Promise<string | undefined> {
  const recorder = currentRecorder();
  if (!recorder) return undefined;
  const r = await recorder.finish();
  const startedAt = r.measuredFrom ?? r.startedAt;
  const svg = renderChart(
    chartData({
      title: `npm run bench -- ${scenario}, ${new Date(startedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      startedAt,
      endedAt: r.endedAt,
      calls: r.calls,
      depth: r.depth,
      limitPerSecond: r.limitPerSecond,
    }),
  );
  mkdirSync(CHART_DIR, { recursive: true });
  const path = `${CHART_DIR}/${scenario}.svg`;
  writeFileSync(path, svg);
  return path;
}

try {
  const result: ScenarioResult = await SCENARIOS[name]();
  const chart = await writeChart(name);
  writeResult(chart ? { ...result, chart } : result);
  process.exit(0);
} catch (err) {
  console.error(
    `scenario ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  process.exit(1);
}
