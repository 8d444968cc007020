/**
 * The workload and the settings every system of the comparison shares (see compare/README.md):
 * the same requests, arriving on the same schedule, against a simulator prepared the same way
 * (fresh state, the same seeded issues, the same fault mix and PRNG seed), with the same rate,
 * retries, per-call timeout, breaker and worker concurrency wherever a system has such a knob.
 */
import { UnrecoverableError } from 'bullmq';
import { isBrokenCircuitError } from 'cockatiel';
import { SimulatorControl } from '../local/atlassian-sim/control.js';
import { SeededRandom } from '../local/atlassian-sim/random.js';
import { SIMULATOR_CREDENTIALS } from '../local/stack.js';

export type Priority = 'high' | 'normal' | 'low';
export type Operation = 'jira.get_task' | 'jira.create_task';

/** A share (0..1) from the environment, for trying other fault mixes; the default otherwise. */
function fractionEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new Error(`${name} must be a share from 0 to 1, got '${raw}'`);
  return n;
}

/**
 * The shared knobs. Printed with the report. The fault mix may be changed for a run with
 * COMPARE_ERROR_RATE and COMPARE_DROP_RATE (e.g. `COMPARE_ERROR_RATE=0 npm run compare`).
 */
export const SETTINGS = {
  requests: 300,
  /** Arrival rate of the workload (open loop: a request arrives whether or not others are done). */
  arrivalPerSecond: 20,
  /** Share of `jira.create_task` (the rest are `jira.get_task`). */
  createShare: 0.4,
  /** Share of `high` (then `low`; the rest `normal`). */
  highShare: 0.1,
  lowShare: 0.3,
  /** Issues created before the clock starts, read by `jira.get_task`. */
  seededIssues: 20,
  project: 'MD',
  /** Atlassian's limit as the simulator enforces it, and the rate each system is given. */
  ratePerSecond: 10,
  burst: 20,
  /** Calls per logical request, first one included. */
  attempts: 4,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  /** Timeout of every single HTTP call to Atlassian. */
  callTimeoutMs: 10_000,
  /** Failures within `breakerWindowMs` that open the breaker, and how long it stays open. */
  breakerFailures: 5,
  breakerWindowMs: 60_000,
  breakerRecoveryMs: 15_000,
  /** Concurrent workers: RIQ's per-priority queues high/normal/low, BullMQ's one worker the sum. */
  concurrency: { high: 2, normal: 4, low: 4 },
  /** The simulator's fault mix, the same PRNG seed for each system. */
  faults: {
    error_rate: fractionEnv('COMPARE_ERROR_RATE', 0.1),
    drop_after_commit_rate: fractionEnv('COMPARE_DROP_RATE', 0.02),
    latency_ms: 50,
  },
  simulatorSeed: 8_003,
  /** A request not completed nor failed this long after the last arrival counts as lost. */
  settleTimeoutMs: 150_000,
} as const;

export const TOTAL_CONCURRENCY =
  SETTINGS.concurrency.high + SETTINGS.concurrency.normal + SETTINGS.concurrency.low;

export interface WorkItem {
  /** 0-based; also the label `cmp-<id>` of a create. */
  id: number;
  operation: Operation;
  priority: Priority;
  payload: Record<string, unknown>;
  /** Offset of its arrival from the start of the run, ms. */
  arriveAtMs: number;
}

export function createLabel(id: number): string {
  return `cmp-${id}`;
}

/** The workload: `issueKeys` are the seeded issues (the same keys after every reset). */
export function workload(issueKeys: readonly string[]): WorkItem[] {
  // The simulator's mulberry32: the workload is the same for every system and run.
  const seeded = new SeededRandom(12_345);
  const random = () => seeded.next();
  return Array.from({ length: SETTINGS.requests }, (_, id) => {
    const create = random() < SETTINGS.createShare;
    const p = random();
    const priority: Priority =
      p < SETTINGS.highShare ? 'high' : p < SETTINGS.highShare + SETTINGS.lowShare ? 'low' : 'normal';
    const arriveAtMs = Math.round((id * 1000) / SETTINGS.arrivalPerSecond);
    if (create) {
      return {
        id,
        operation: 'jira.create_task' as const,
        priority,
        arriveAtMs,
        payload: { project_id: SETTINGS.project, title: `compare ${id}`, labels: [createLabel(id)] },
      };
    }
    return {
      id,
      operation: 'jira.get_task' as const,
      priority,
      arriveAtMs,
      payload: { task_id: issueKeys[Math.floor(random() * issueKeys.length)]! },
    };
  });
}

/** What a system reports for one request. Times are epoch ms on this machine's clock. */
export interface Outcome {
  id: number;
  priority: Priority;
  operation: Operation;
  sentAt: number;
  /** When the caller learnt the request's end (completed or failed); absent: lost. */
  doneAt?: number;
  status: 'completed' | 'failed' | 'lost';
  /** The error code of a failure. */
  error?: string;
}

export interface SystemRun {
  system: string;
  /** Epoch ms of the first arrival. */
  startedAt: number;
  outcomes: Outcome[];
  /** Anything a reader should know about this run (e.g. what the system did with its knobs). */
  notes: string[];
}

export const RESULT_PREFIX = 'COMPARE_RESULT ';

/**
 * Gives the simulator a fresh state: reset (data, statistics, rate bucket, PRNG), every behaviour
 * off while the issues are seeded, then the rate limit, the fault mix and the seed. Answers the
 * seeded issues' keys.
 */
export async function prepareSimulator(simUrl: string): Promise<string[]> {
  const sim = new SimulatorControl(simUrl);
  await sim.quiet();
  await sim.reset();
  const auth = Buffer.from(`${SIMULATOR_CREDENTIALS.email}:${SIMULATOR_CREDENTIALS.apiToken}`).toString(
    'base64',
  );
  const keys: string[] = [];
  for (let i = 0; i < SETTINGS.seededIssues; i++) {
    const res = await fetch(`${simUrl}/rest/api/3/issue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${auth}` },
      body: JSON.stringify({
        fields: { project: { key: SETTINGS.project }, summary: `seeded ${i}`, issuetype: { name: 'Task' } },
      }),
    });
    const body = (await res.json()) as { key?: string };
    if (!res.ok || !body.key) throw new Error(`seeding issue ${i}: ${res.status} ${JSON.stringify(body)}`);
    keys.push(body.key);
  }
  await sim.configure({
    ...SETTINGS.faults,
    rate_limit: { rate_per_second: SETTINGS.ratePerSecond, burst: SETTINGS.burst },
    seed: SETTINGS.simulatorSeed,
  });
  return keys;
}

/**
 * Runs `send` for each item at its arrival time (open loop) and answers when every returned
 * promise has settled or the settle timeout after the last arrival passed; unsettled ones are lost.
 */
export async function runOpenLoop(
  items: readonly WorkItem[],
  send: (item: WorkItem) => Promise<Omit<Outcome, 'id' | 'priority' | 'operation' | 'sentAt'>>,
): Promise<{ startedAt: number; outcomes: Outcome[] }> {
  const startedAt = Date.now();
  const outcomes: Outcome[] = items.map((it) => ({
    id: it.id,
    priority: it.priority,
    operation: it.operation,
    sentAt: startedAt + it.arriveAtMs,
    status: 'lost',
  }));
  const settled = items.map(async (it, i) => {
    const wait = startedAt + it.arriveAtMs - Date.now();
    if (wait > 0) await sleep(wait);
    outcomes[i]!.sentAt = Date.now();
    try {
      Object.assign(outcomes[i]!, await send(it));
    } catch (err) {
      Object.assign(outcomes[i]!, { status: 'failed', doneAt: Date.now(), error: errorCode(err) });
    }
  });
  const lastArrival = Math.max(...items.map((it) => it.arriveAtMs));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(settled),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, startedAt + lastArrival + SETTINGS.settleTimeoutMs - Date.now());
    }),
  ]);
  clearTimeout(timer);
  return { startedAt, outcomes: outcomes.map((o) => ({ ...o })) };
}

export function errorCode(err: unknown): string {
  if (isBrokenCircuitError(err)) return 'BREAKER_OPEN';
  if (err instanceof UnrecoverableError) return err.message.split(':')[0] ?? 'UNRECOVERABLE';
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; name?: unknown };
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'ERROR';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
