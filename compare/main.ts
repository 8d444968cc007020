/**
 * `npm run compare`: the same workload against the same simulated Atlassian, one system after the
 * other — (a) RIQ's local stack, (b) direct calls with cockatiel retry + breaker, (c) BullMQ with
 * its rate limiter on a local Redis — and one table of what each achieved. See compare/README.md.
 *
 * The simulator runs in this process; each system runs in a child process of its own
 * (`tsx compare/main.ts --system riq|direct|bullmq`: the local stack configures itself through
 * `process.env`), which prepares the simulator (reset, seed, fault mix), runs the workload and
 * prints its outcomes as one `COMPARE_RESULT {json}` line. The children's logs go to
 * .riq-local/compare-<system>.log.
 */
import { cpus, loadavg } from 'node:os';
import { startAtlassianSimulator } from '../local/atlassian-sim/server.js';
import { SimulatorControl } from '../local/atlassian-sim/control.js';
import { SIMULATOR_CREDENTIALS } from '../local/stack.js';
import { namesOrExit, type CliSpec } from '../bench/cli.js';
import { ProgressLine, trackProgress } from '../bench/progress.js';
import { runForResult, writeResult } from '../bench/result-line.js';
import { startRedis, type RunningRedis } from './redis.js';
import {
  RESULT_PREFIX,
  SETTINGS,
  TOTAL_CONCURRENCY,
  createLabel,
  prepareSimulator,
  workload,
  type SystemRun,
  type WorkItem,
} from './workload.js';

const SYSTEMS = ['riq', 'direct', 'bullmq'] as const;
type SystemName = (typeof SYSTEMS)[number];

const COMPARE_CLI: CliSpec = {
  command: 'npm run compare --',
  summary:
    "Runs the same workload against the same simulated Atlassian with RIQ's local stack, direct calls with cockatiel retry + breaker, and BullMQ on a local Redis, one after the other, and prints one table of what each achieved (compare/README.md).",
  env: {
    COMPARE_SYSTEMS: `the systems to run, comma-separated (default ${SYSTEMS.join(',')})`,
    COMPARE_ERROR_RATE: "the simulator's share of 503 answers, 0..1 (default 0.1)",
    COMPARE_DROP_RATE:
      'the share of writes committed then answered with a dropped connection, 0..1 (default 0.02)',
    POWERTOOLS_LOG_LEVEL: "RIQ's functions' log level (default WARN)",
  },
  notes: ['Logs: .riq-local/compare-<system>.log.'],
};

/** The systems to run, in order: all of them, or the comma-separated list in COMPARE_SYSTEMS. */
function chosenSystems(): readonly SystemName[] {
  const raw = process.env['COMPARE_SYSTEMS'];
  if (raw === undefined || raw.trim() === '') return SYSTEMS;
  const names = raw.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(SYSTEMS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    console.error(`COMPARE_SYSTEMS: unknown system(s) ${unknown.join(', ')}; known: ${SYSTEMS.join(', ')}`);
    process.exit(2);
  }
  return names as SystemName[];
}

// ---- child mode: one system ------------------------------------------------------------------

async function runSystem(name: SystemName): Promise<SystemRun> {
  const simUrl = process.env['COMPARE_SIM_URL'];
  if (!simUrl) throw new Error('COMPARE_SIM_URL is not set');
  const prepare = async (): Promise<readonly WorkItem[]> => workload(await prepareSimulator(simUrl));
  switch (name) {
    case 'riq': {
      const { runRiq } = await import('./systems/riq.js');
      return runRiq(simUrl, prepare);
    }
    case 'direct': {
      const { runDirect } = await import('./systems/direct.js');
      return runDirect(simUrl, prepare);
    }
    case 'bullmq': {
      const port = Number(process.env['COMPARE_REDIS_PORT']);
      if (!Number.isInteger(port) || port <= 0) throw new Error('COMPARE_REDIS_PORT is not set');
      const { runBullmq } = await import('./systems/bullmq.js');
      return runBullmq(simUrl, prepare, port);
    }
  }
}

if (process.argv[2] === '--system') {
  const name = process.argv[3] as SystemName;
  if (!SYSTEMS.includes(name)) {
    console.error(`usage: tsx compare/main.ts --system ${SYSTEMS.join('|')}`);
    process.exit(2);
  }
  try {
    const run = await runSystem(name);
    writeResult(run, RESULT_PREFIX);
    process.exit(0);
  } catch (err) {
    console.error(
      `system ${name} crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    process.exit(1);
  }
}

// ---- parent mode: the runner and the report ---------------------------------------------------

function spawnSystem(name: SystemName, env: Record<string, string>): Promise<SystemRun> {
  return runForResult<SystemRun>({
    args: ['compare/main.ts', '--system', name],
    logPath: `.riq-local/compare-${name}.log`,
    label: `system ${name}`,
    env,
    prefix: RESULT_PREFIX,
  });
}

interface Row {
  system: string;
  completed: number | string;
  failed: number | string;
  lost: number | string;
  duplicated: number | string;
  http429: number | string;
  calls: number | string;
  highP50: number | string;
  highP95: number | string;
  drain: number | string;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1]!;
}

function summarize(
  run: SystemRun,
  issues: { labels: string[] }[],
  calls: { status: number; at: number }[],
): { row: Row; extra: string[] } {
  const o = run.outcomes;
  const labelCounts = new Map<string, number>();
  for (const issue of issues) {
    for (const l of issue.labels) if (l.startsWith('cmp-')) labelCounts.set(l, (labelCounts.get(l) ?? 0) + 1);
  }
  const creates = o.filter((x) => x.operation === 'jira.create_task');
  let duplicated = 0;
  let ghost = 0;
  let missing = 0;
  for (const c of creates) {
    const n = labelCounts.get(createLabel(c.id)) ?? 0;
    duplicated += Math.max(0, n - 1);
    if (c.status !== 'completed' && n > 0) ghost++;
    if (c.status === 'completed' && n === 0) missing++;
  }
  const high = o
    .filter((x) => x.priority === 'high' && x.status === 'completed')
    .map((x) => x.doneAt! - x.sentAt);
  const lost = o.filter((x) => x.status === 'lost').length;
  const ends = o.filter((x) => x.doneAt !== undefined).map((x) => x.doneAt!);
  const drainS = ends.length > 0 ? (Math.max(...ends) - run.startedAt) / 1000 : NaN;
  const errors = new Map<string, number>();
  for (const x of o)
    if (x.status === 'failed') errors.set(x.error ?? '?', (errors.get(x.error ?? '?') ?? 0) + 1);
  const mine = calls.filter((c) => c.at >= run.startedAt);
  return {
    row: {
      system: run.system,
      completed: o.filter((x) => x.status === 'completed').length,
      failed: o.filter((x) => x.status === 'failed').length,
      lost,
      duplicated,
      http429: mine.filter((c) => c.status === 429).length,
      calls: mine.length,
      highP50: Math.round(percentile(high, 0.5)),
      highP95: Math.round(percentile(high, 0.95)),
      drain: lost > 0 ? `>${drainS.toFixed(1)}` : drainS.toFixed(1),
    },
    extra: [
      `failures by code: ${[...errors.entries()].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
      `creates: ${creates.length}; failed or lost yet created in Jira: ${ghost}; completed yet not in Jira: ${missing}`,
      ...run.notes,
    ],
  };
}

const COLUMNS: [keyof Row, string][] = [
  ['system', 'system'],
  ['completed', 'completed'],
  ['failed', 'failed'],
  ['lost', 'lost'],
  ['duplicated', 'duplicated'],
  ['http429', '429s'],
  ['calls', 'calls'],
  ['highP50', 'high p50 ms'],
  ['highP95', 'high p95 ms'],
  ['drain', 'drain s'],
];

function table(rows: Row[]): string {
  const widths = COLUMNS.map(([k, h]) => Math.max(h.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    line(COLUMNS.map(([, h]) => h)),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(COLUMNS.map(([k]) => String(r[k])))),
  ].join('\n');
}

namesOrExit(COMPARE_CLI, process.argv.slice(2));
const systems = chosenSystems();
const S = SETTINGS;
const cpu = cpus();
console.log(
  `RIQ side by side, ${new Date().toISOString()}, ${cpu.length} CPUs (${cpu[0]?.model ?? '?'}), load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, Node ${process.version}`,
);
console.log(
  `workload: ${S.requests} requests arriving at ${S.arrivalPerSecond}/s (open loop), ${S.createShare * 100} % jira.create_task (label cmp-<n> each), the rest jira.get_task on ${S.seededIssues} seeded issues; priority ${S.highShare * 100} % high, ${S.lowShare * 100} % low, the rest normal`,
);
console.log(
  `simulator: rate limit ${S.ratePerSecond}/s burst ${S.burst}; ${S.faults.error_rate * 100} % 503s, ${S.faults.drop_after_commit_rate * 100} % of writes committed then dropped, latency ${S.faults.latency_ms} ms; seed ${S.simulatorSeed}; reset before each system`,
);
console.log(
  `shared settings: rate ${S.ratePerSecond}/s burst ${S.burst} (RIQ token bucket; BullMQ limiter ${S.ratePerSecond}/1 s; direct: none); ${S.attempts} attempts, exponential backoff base ${S.backoffBaseMs / 1000} s max ${S.backoffMaxMs / 1000} s; per-call timeout ${S.callTimeoutMs / 1000} s; breaker ${S.breakerFailures} failures in ${S.breakerWindowMs / 1000} s, open ${S.breakerRecoveryMs / 1000} s; workers ${TOTAL_CONCURRENCY} (RIQ ${S.concurrency.high}/${S.concurrency.normal}/${S.concurrency.low} per priority, BullMQ one worker x${TOTAL_CONCURRENCY}; direct: one call per caller)`,
);

const sim = await startAtlassianSimulator({ port: 0, ...SIMULATOR_CREDENTIALS });
const control = new SimulatorControl(sim.url);
const rows: Row[] = [];
const details: string[] = [];
let crashed = 0;
try {
  for (const name of systems) {
    const started = Date.now();
    process.stderr.write(`running ${name}…\n`);
    let redis: RunningRedis | undefined;
    try {
      const env: Record<string, string> = { COMPARE_SIM_URL: sim.url };
      if (name === 'bullmq') {
        redis = await startRedis((line) => console.error(line));
        env['COMPARE_REDIS_PORT'] = String(redis.port);
      }
      // The simulator runs here: its counts feed the status line while the system runs.
      const stopProgress = trackProgress(new ProgressLine({ stream: process.stderr }), () => {
        const stats = sim.state.stats();
        return { label: name, calls: stats.calls.length, http429: stats.rate_limited };
      });
      const run = await spawnSystem(name, env).finally(stopProgress);
      const stats = await control.stats();
      const calls = stats.calls.filter((c) => !c.path.startsWith('/__sim'));
      const { row, extra } = summarize(run, sim.state.issues(), calls);
      rows.push(row);
      details.push(
        `${row.system} (${Math.round((Date.now() - started) / 1000)} s in all):`,
        ...extra.map((e) => `  ${e}`),
      );
      process.stderr.write(`${name} done (${Math.round((Date.now() - started) / 1000)} s)\n`);
    } catch (err) {
      crashed++;
      process.stderr.write(`${name} crashed\n`);
      const message = err instanceof Error ? err.message : String(err);
      rows.push({
        system: name,
        completed: '-',
        failed: '-',
        lost: '-',
        duplicated: '-',
        http429: '-',
        calls: '-',
        highP50: '-',
        highP95: '-',
        drain: '-',
      });
      details.push(`${name}: CRASHED: ${message}`);
    } finally {
      await redis?.stop();
    }
  }
} finally {
  await sim.stop();
}
console.log('');
console.log(table(rows));
console.log('');
for (const d of details) console.log(d);
console.log('');
console.log(
  'lost = submitted, never completed nor failed within the settle timeout; duplicated = extra Jira issues for one logical create (counted by its label); 429s and calls = what the simulator received during that run; latency = arrival to the caller learning of the completion, completed high requests only; drain = first arrival to the last request ending',
);
process.exit(crashed === 0 ? 0 : 1);
