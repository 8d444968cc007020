/**
 * `npm run chaos` (the full run: 1,000 requests) or `npm run chaos -- reduced` (150, as in
 * `npm test`): runs chaos/scenario.ts in a child process (the local stack configures itself through
 * `process.env`; its logs go to .riq-local/chaos-<name>.log, the worker processes' to
 * .riq-local/chaos-worker-<service>.log), then prints the timeline, the figures and every broken
 * promise. Exits 1 when any check failed.
 */
import { cpus } from 'node:os';
import { namesOrExit, type CliSpec } from '../bench/cli.js';
import { ProgressLine, type ProgressCounts } from '../bench/progress.js';
import { runForResult, writeProgress, writeResult } from '../bench/result-line.js';
import type { ChaosRunResult } from './scenario.js';
import { PRESETS } from './settings.js';

export const CHAOS_RESULT_PREFIX = 'CHAOS_RESULT ';
const LOG_DIR = '.riq-local';

type PresetName = keyof typeof PRESETS;

export const CHAOS_CLI: CliSpec = {
  command: 'npm run chaos --',
  summary:
    'Runs the chaos scenario (a 429 storm, an outage, token expiry, an SQS restart, DynamoDB throttling, killed workers) against the local stack, then checks every promise: nothing lost, stuck or done twice.',
  positional: {
    name: 'preset',
    choices: {
      full: `${PRESETS.full.requests} requests over ${PRESETS.full.submitSeconds} s`,
      reduced: `${PRESETS.reduced.requests} requests over ${PRESETS.reduced.submitSeconds} s (the one npm test runs)`,
    },
    multiple: false,
    otherwise: 'full',
  },
  env: {
    POWERTOOLS_LOG_LEVEL: "the functions' log level (default WARN)",
  },
  notes: [
    `Logs: ${LOG_DIR}/chaos-<preset>.log and ${LOG_DIR}/chaos-worker-<service>.log. Exits 1 when a check failed.`,
  ],
};

/** Runs one preset in a child process and answers its result; its counts go to `onProgress`. */
export function runChaosChild(
  name: PresetName,
  onProgress?: (counts: ProgressCounts) => void,
): Promise<ChaosRunResult> {
  return runForResult<ChaosRunResult>({
    args: ['chaos/main.ts', '--run', name],
    logPath: `${LOG_DIR}/chaos-${name}.log`,
    label: `chaos ${name}`,
    prefix: CHAOS_RESULT_PREFIX,
    ...(onProgress ? { onProgress } : {}),
  });
}

export function report(result: ChaosRunResult): string {
  const s = result.settings;
  const lines = [
    `RIQ chaos run '${s.name}' — ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`,
    `${s.requests} requests over ${s.submitSeconds} s; simulator limit ${s.simulatorRate.perSecond}/s (burst ${s.simulatorRate.burst}); ` +
      `RIQ ${s.riqRatePerMinute}/min per service; breaker ${s.breaker.failureThreshold} in ${s.breaker.windowSeconds} s, recovery ${s.breaker.recoverySeconds} s`,
    '',
    'timeline:',
    ...result.timeline.map((t) => `  ${t}`),
    '',
    `injected: ${Object.entries(result.injected)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `run time: ${(result.durationMs / 1000).toFixed(1)} s from the first submit until every request ended`,
    '',
    'calls to Atlassian per 10 s (status × count):',
    ...result.callsPer10s.map((l) => `  ${l}`),
    '',
    'figures:',
    ...Object.entries(result.verdict.figures).map(([k, v]) => `  ${k.padEnd(38)} ${v}`),
    '',
    result.verdict.violations.length === 0
      ? 'PASSED: nothing lost, nothing stuck, nothing done twice, the breakers held during the outage'
      : `FAILED: ${result.verdict.violations.length} broken promise(s):`,
    ...result.verdict.violations.slice(0, 50).map((v) => `  - ${v}`),
  ];
  return lines.join('\n');
}

if (process.argv[2] === '--run') {
  const name = (namesOrExit(CHAOS_CLI, process.argv.slice(3))[0] ?? 'full') as PresetName;
  const { runChaos } = await import('./scenario.js');
  const result = await runChaos(PRESETS[name], {
    logDir: LOG_DIR,
    log: (m) => console.error(m),
    progress: (counts) => writeProgress({ label: `chaos ${name}`, ...counts }),
  });
  writeResult(result, CHAOS_RESULT_PREFIX);
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const name = (namesOrExit(CHAOS_CLI, process.argv.slice(2))[0] ?? 'full') as PresetName;
  console.log(`chaos '${name}': running (logs in ${LOG_DIR}/chaos-${name}.log) …`);
  const status = new ProgressLine({ stream: process.stdout });
  status.update({ label: `chaos ${name}`, phase: 'starting' });
  const ticker = setInterval(() => status.tick(), 500);
  const result = await runChaosChild(name, (counts) => status.update(counts)).finally(() => {
    clearInterval(ticker);
    status.clear();
  });
  console.log(report(result));
  process.exit(result.verdict.violations.length === 0 ? 0 : 1);
}
