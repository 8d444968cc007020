/**
 * What every benchmark scenario needs: a local stack (DynamoDB Local, the SQS emulator, the workers
 * and the simulated Atlassian, in this process) tuned by the scenario, a caller that submits and
 * reads results over HTTP like any service would, and the simulator's own record of the calls it
 * received — the evidence for "how many calls, how many 429s, when".
 */
import { resolveConfig, type RiqConfig } from '../model/config/riq-config.js';
import { SimulatorControl, type SimCall } from '../local/atlassian-sim/control.js';
import { SIMULATOR_CREDENTIALS, startLocalStack, type LocalStack } from '../local/stack.js';
import { currentRecorder, startRecorder } from './run-recorder.js';

export interface Bench {
  stack: LocalStack;
  sim: SimulatorControl;
  config: RiqConfig;
  /** The simulator's base URL (its REST routes and `/__sim/` control API). */
  simUrl: string;
}

/** `startWorkers: false`: the queues are not polled until `bench.stack.startWorkers()`. */
export async function startBench(
  overrides: Record<string, unknown>,
  options: { startWorkers?: boolean } = {},
): Promise<Bench> {
  const config = resolveConfig({ stage: 'local', namePrefix: 'riqbench', ...overrides });
  const stack = await startLocalStack({
    config,
    apiPort: 0,
    sweepIntervalMs: 60_000,
    startWorkers: options.startWorkers ?? true,
    log: (line) => console.error(line),
  });
  const simUrl = stack.simulatorUrl!;
  const sim = new SimulatorControl(simUrl);
  await sim.quiet();
  // The run's chart and status line; the simulator's calls are read once more before it stops.
  const recorder = startRecorder(
    {
      sim,
      sqsEndpoint: stack.sqsEndpoint,
      queueUrls: Object.values(stack.queueUrls),
      limitPerSecond: config.services.jira.ratePerMinute / 60,
      tally: () => ({ submitted: submittedCount, ended: ended.size }),
    },
    process.argv[2] ?? 'bench',
  );
  const stop = stack.stop.bind(stack);
  stack.stop = async () => {
    await recorder.finish();
    await stop();
  };
  return { stack, sim, config, simUrl };
}

/** Requests submitted in this process, and those seen ended: the status line's counts. */
let submittedCount = 0;
const ended = new Set<string>();

export interface Submitted {
  token: string;
  /** Epoch ms just before the submit was sent. */
  sentAt: number;
  /** Epoch ms when its answer had arrived. */
  answeredAt: number;
  /** `DIRECT` (answered completed) or `QUEUED`. */
  routingPath: string;
  status: string;
}

export interface SubmitBody {
  operation: string;
  payload: Record<string, unknown>;
  priority?: 'high' | 'normal' | 'low';
  /** Skip RIQ's read cache (a cached answer has no token to measure). */
  fresh?: boolean;
  /** `queued`: never a DIRECT call (the queue is what is measured). @default adaptive */
  routing?: 'adaptive' | 'queued';
}

export async function submit(bench: Bench, body: SubmitBody): Promise<Submitted> {
  const sentAt = Date.now();
  const res = await fetch(`${bench.stack.url}/api/queue/submit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { token?: string; routing_path?: string; status?: string };
  // A cached read has no token (nothing was stored): only the cost scenario submits such reads.
  const cached = res.ok && answer.status === 'cached';
  if (!res.ok || (typeof answer.token !== 'string' && !cached)) {
    throw new Error(`submit answered ${res.status}: ${JSON.stringify(answer)}`);
  }
  submittedCount++;
  if (answer.status !== undefined && TERMINAL.has(answer.status) && answer.token) ended.add(answer.token);
  return {
    token: answer.token ?? '',
    sentAt,
    answeredAt: Date.now(),
    routingPath: String(answer.routing_path),
    status: String(answer.status),
  };
}

/** Submits all bodies with at most `parallel` submits in flight, as a burst of callers would. */
export async function submitAll(bench: Bench, bodies: SubmitBody[], parallel = 25): Promise<Submitted[]> {
  const out: Submitted[] = new Array<Submitted>(bodies.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(parallel, bodies.length) }, async () => {
    while (next < bodies.length) {
      const i = next++;
      out[i] = await submit(bench, bodies[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}

export interface RequestView {
  token: string;
  status: string;
  attempts: number;
  created_at: string;
  completed_at?: string;
  error?: { code: string };
}

const TERMINAL = new Set(['completed', 'failed', 'dead']);

/** One read of a request's status (no long poll). */
export async function view(bench: Bench, token: string): Promise<RequestView> {
  const res = await fetch(`${bench.stack.url}/api/queue/result/${token}`);
  return (await res.json()) as RequestView;
}

/**
 * Waits until every request is terminal, reading the unfinished ones once a second (a handful of
 * reads in parallel, so the watching costs the stack little), and answers their final views.
 */
export async function awaitAll(bench: Bench, tokens: string[], timeoutMs: number): Promise<RequestView[]> {
  const done = new Map<string, RequestView>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = tokens.filter((t) => !done.has(t));
    for (let i = 0; i < open.length; i += 10) {
      const views = await Promise.all(open.slice(i, i + 10).map((t) => view(bench, t)));
      for (const v of views) {
        if (!TERMINAL.has(v.status)) continue;
        done.set(v.token, v);
        ended.add(v.token);
      }
      // Stop reading at the first unfinished batch: later ones are most likely unfinished too.
      if (views.some((v) => !TERMINAL.has(v.status))) break;
    }
    if (done.size === tokens.length) return tokens.map((t) => done.get(t)!);
    if (Date.now() > deadline) {
      throw new Error(
        `${tokens.length - done.size} of ${tokens.length} requests unfinished after ${timeoutMs} ms`,
      );
    }
    await sleep(1000);
  }
}

/** The simulator's recorded calls to Atlassian routes (not its control API) since `since`. */
export async function callsSince(bench: Bench, since: number): Promise<SimCall[]> {
  currentRecorder()?.markMeasured(since);
  const stats = await bench.sim.stats();
  return stats.calls.filter((c) => c.at >= since && !c.path.startsWith('/__sim'));
}

/** Creates `n` Jira issues straight through the simulator's REST API (setup, not measured). */
export async function seedIssues(bench: Bench, n: number): Promise<string[]> {
  const auth = Buffer.from(`${SIMULATOR_CREDENTIALS.email}:${SIMULATOR_CREDENTIALS.apiToken}`).toString(
    'base64',
  );
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${bench.simUrl}/rest/api/3/issue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${auth}` },
      body: JSON.stringify({
        fields: { project: { key: 'RIQ' }, summary: `bench issue ${i}`, issuetype: { name: 'Task' } },
      }),
    });
    const body = (await res.json()) as { key?: string };
    if (!res.ok || !body.key) throw new Error(`seeding issue ${i}: ${res.status} ${JSON.stringify(body)}`);
    keys.push(body.key);
  }
  return keys;
}

/**
 * The most calls in any window of `windowMs` that starts at a call (times sorted, epoch ms): what
 * a token bucket bounds by burst + rate × window.
 */
export function busiestWindow(sorted: readonly number[], windowMs: number): number {
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The value below which `p` (0..1) of the sorted values lie (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Milliseconds from submit to completion, from the record's own timestamps. */
export function latencyMs(v: RequestView): number {
  return Date.parse(v.completed_at ?? v.created_at) - Date.parse(v.created_at);
}
