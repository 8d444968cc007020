/**
 * (f) `cost`: what one RIQ request uses in AWS, measured in the local stack, and what it costs per
 * million at list prices (bench/cost-model.ts), against the goals: ≤ $8 per million DIRECT
 * `jira.get_task`, ≤ $12 per million queued ones.
 *
 * Measured in this process (bench/aws-calls.ts): DynamoDB read and write units as DynamoDB Local
 * reports them (the indexes' writes included), SQS requests, and the bytes the handlers log
 * (state lines and EMF metrics, at the log level the stack runs with); and each function's own work
 * per invocation (bench/durations.ts: its duration less the time it waited on the Atlassian
 * simulator, p90, rounded up to 1 ms), an upper bound as DynamoDB Local and the SQS emulator answer
 * slower than DynamoDB and SQS. Assumed: Atlassian's answer time where a function calls it (stated
 * in the result), one receive per delivered message (Lambda's pollers batch up to 10 under load, so
 * this is the upper bound), and the traced share (none: tracing is off by default).
 *
 * A queued request is read once after its worker invocation settled (no long poll: a long poll
 * bills the result function's waiting, priced apart in docs/runbook.md#cost).
 */
import { DEFAULT_CONFIG } from '../model/config/riq-config.js';
import {
  FAILED_CONDITIONS,
  INDEX_WRITE_UNITS,
  LOG_BYTES,
  MESSAGES_RECEIVED,
  READ_UNITS,
  WRITE_UNITS,
  awsCallCounts,
  awsCallsBetween,
  countAwsCalls,
  countLogBytes,
} from './aws-calls.js';
import { costPerMillion, describeCost, type Invocation, type RequestUsage } from './cost-model.js';
import { ownWork, recordInvocations, timeUpstreamCalls, type OwnWork } from './durations.js';
import { round, seedIssues, startBench, submit, type SubmitBody } from './harness.js';
import type { ScenarioResult } from './scenario-names.js';

const SAMPLES = 40;
/**
 * Requests of each kind sent first and not measured: a function that serves a million requests is
 * warm (its code compiled, its clients connected), so the first invocations of this process, which
 * also warm DynamoDB Local's JVM, would price cold starts as every request's work.
 */
const WARMUP = 8;
const SERVICE_LATENCY_MS = 50;

/** The goals, dollars per million requests. */
export const COST_GOALS = { directGet: 8, queuedGet: 12 } as const;

/** SQS actions billed per request; receives are counted per delivered message instead. */
const SQS_ACTIONS = [
  'SendMessage',
  'SendMessageBatch',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
];

/** Assumed: Atlassian's answer, added to the measured own work of a function that calls it. */
const ATLASSIAN_S = 0.3;
const API_MEMORY_MB = 256;
const WORKER_MEMORY_MB = DEFAULT_CONFIG.worker.memoryMb;

/**
 * Share of requests X-Ray records a trace of: none with tracing off (the default); with
 * `deployment.tracing: active`, Lambda's fixed 1 a second and 5 % of the rest.
 */
const TRACED_SHARE = DEFAULT_CONFIG.deployment.tracing === 'off' ? 0 : 0.05;

interface Measured {
  calls: string;
  usage: Omit<RequestUsage, 'apiCalls' | 'api' | 'invocations' | 'tracedShare'>;
  /** Billed seconds per function (`submit`, `worker`, `result`) that ran. */
  seconds: Record<string, number>;
  durations: string;
}

const FUNCTIONS = { submit: 'riq-submit', worker: 'riq-worker-jira', result: 'riq-result' } as const;

/**
 * A function's billed seconds: its measured own work, plus Atlassian's assumed answer time when the
 * function waited on the simulator.
 */
function billedSeconds(w: OwnWork): number {
  return w.billedMs / 1000 + (w.upstreamMedianMs > 0 ? ATLASSIAN_S : 0);
}

function describeOwnWork(name: string, w: OwnWork): string {
  return (
    `${name} own work median ${round(w.medianMs, 1)} ms, mean ${round(w.meanMs, 1)}, p90 ${round(w.p90Ms, 1)} ` +
    `(${w.samples} invocations)` +
    (w.upstreamMedianMs > 0 ? `, waited on the simulator ${round(w.upstreamMedianMs, 1)} ms (median)` : '')
  );
}

export async function cost(): Promise<ScenarioResult> {
  countAwsCalls();
  countLogBytes();
  const bench = await startBench({
    services: { jira: { ratePerMinute: 60_000, burst: 500, concurrency: { high: 2, normal: 4, low: 4 } } },
  });
  try {
    const seeded = await seedIssues(bench, SAMPLES + WARMUP);
    const warmKeys = seeded.slice(SAMPLES);
    const keys = seeded.slice(0, SAMPLES);
    await bench.sim.configure({ latency_ms: SERVICE_LATENCY_MS });
    timeUpstreamCalls(bench.simUrl);
    const measure = async (bodies: SubmitBody[], readResult: boolean): Promise<Measured> => {
      const invocations = recordInvocations();
      const before = awsCallCounts();
      try {
        for (const body of bodies) {
          const workerDone = readResult ? invocations.next(FUNCTIONS.worker) : undefined;
          const s = await submit(bench, body);
          if (workerDone === undefined) continue;
          await workerDone;
          const res = await fetch(`${bench.stack.url}/api/queue/result/${s.token}`);
          const { status } = (await res.json()) as { status?: string };
          if (status !== 'completed') throw new Error(`${s.token} was ${status} after its worker invocation`);
        }
      } finally {
        invocations.stop();
      }
      const d = awsCallsBetween(before, awsCallCounts());
      const seconds: Record<string, number> = {};
      const durations: string[] = [];
      for (const [name, fn] of Object.entries(FUNCTIONS)) {
        const w = ownWork(invocations.timings, fn);
        if (w === undefined) continue;
        seconds[name] = billedSeconds(w);
        durations.push(describeOwnWork(name, w));
      }
      const per = (n: number | undefined) => (n ?? 0) / bodies.length;
      const calls = Object.entries(d)
        .filter(([name]) => !name.includes('.'))
        .map(([name, n]) => `${name} ${round(per(n), 2)}`)
        .join(', ');
      const sqs = SQS_ACTIONS.reduce((s, a) => s + per(d[a]), 0) + per(d[MESSAGES_RECEIVED]);
      return {
        calls: `${calls}; read units ${round(per(d[READ_UNITS]), 2)}, write units ${round(per(d[WRITE_UNITS]), 2)} (index ${round(per(d[INDEX_WRITE_UNITS]), 2)}, refused conditions ${round(per(d[FAILED_CONDITIONS]), 2)}), log ${Math.round(per(d[LOG_BYTES]))} B`,
        usage: {
          dynamoReadUnits: per(d[READ_UNITS]),
          dynamoWriteUnits: per(d[WRITE_UNITS]),
          sqsRequests: sqs,
          logBytes: per(d[LOG_BYTES]),
        },
        seconds,
        durations: durations.join('; '),
      };
    };
    const reads = (routing: 'adaptive' | 'queued', fresh: boolean, of = keys): SubmitBody[] =>
      of.map((key) => ({
        operation: 'jira.get_task',
        payload: { task_id: key },
        routing,
        ...(fresh ? { fresh: true } : {}),
      }));
    const creates = (routing: 'adaptive' | 'queued', n = SAMPLES, label = 'cost'): SubmitBody[] =>
      Array.from({ length: n }, (_, i) => ({
        operation: 'jira.create_task',
        payload: { title: `${label} ${routing} ${i}`, project_id: 'RIQ' },
        routing,
      }));
    await measure(reads('adaptive', false, warmKeys), false);
    await measure(reads('adaptive', false, warmKeys), false);
    await measure(reads('queued', true, warmKeys), true);
    await measure(creates('adaptive', WARMUP, 'warm-up'), false);
    await measure(creates('queued', WARMUP, 'warm-up'), true);
    const directRead = await measure(reads('adaptive', false), false);
    const cachedRead = await measure(reads('adaptive', false), false);
    const queuedRead = await measure(reads('queued', true), true);
    const directCreate = await measure(creates('adaptive'), false);
    const queuedCreate = await measure(creates('queued'), true);

    const memoryMb: Record<string, number> = {
      submit: API_MEMORY_MB,
      worker: WORKER_MEMORY_MB,
      result: API_MEMORY_MB,
    };
    const usage = (m: Measured, apiCalls: number): RequestUsage => ({
      ...m.usage,
      apiCalls,
      api: 'http',
      invocations: Object.entries(m.seconds).map(([name, seconds]): Invocation => ({
        name,
        memoryMb: memoryMb[name] ?? API_MEMORY_MB,
        seconds,
      })),
      tracedShare: TRACED_SHARE,
    });
    const directGet = costPerMillion(usage(directRead, 1));
    const queuedGet = costPerMillion(usage(queuedRead, 2));
    const directWrite = costPerMillion(usage(directCreate, 1));
    const queuedWrite = costPerMillion(usage(queuedCreate, 2));
    const cached = costPerMillion(usage(cachedRead, 1));
    const dollars = (c: { total: number }) => `$${c.total.toFixed(2)}`;
    return {
      scenario: 'cost',
      figures: {
        samples_each: SAMPLES,
        direct_get_task: directRead.calls,
        direct_get_task_durations: directRead.durations,
        cached_get_task_durations: cachedRead.durations,
        queued_get_task_durations: queuedRead.durations,
        direct_create_task_durations: directCreate.durations,
        queued_create_task_durations: queuedCreate.durations,
        cached_get_task: cachedRead.calls,
        queued_get_task_plus_one_result_read: queuedRead.calls,
        direct_create_task: directCreate.calls,
        queued_create_task_plus_one_result_read: queuedCreate.calls,
        direct_get_per_million: `${dollars(directGet)} (goal ≤ $${COST_GOALS.directGet}): ${describeCost(directGet).join('; ')}`,
        queued_get_per_million: `${dollars(queuedGet)} (goal ≤ $${COST_GOALS.queuedGet}): ${describeCost(queuedGet).join('; ')}`,
        direct_create_per_million: `${dollars(directWrite)}: ${describeCost(directWrite).join('; ')}`,
        queued_create_per_million: `${dollars(queuedWrite)}: ${describeCost(queuedWrite).join('; ')}`,
        cached_get_per_million: `${dollars(cached)}: ${describeCost(cached).join('; ')}`,
      },
      target: `≤ $${COST_GOALS.directGet} per million DIRECT gets, ≤ $${COST_GOALS.queuedGet} per million queued gets`,
      met: directGet.total <= COST_GOALS.directGet && queuedGet.total <= COST_GOALS.queuedGet,
      verdicts: [
        {
          target: `≤ $${COST_GOALS.directGet} per million DIRECT gets (${dollars(directGet)})`,
          met: directGet.total <= COST_GOALS.directGet,
        },
        {
          target: `≤ $${COST_GOALS.queuedGet} per million queued gets (${dollars(queuedGet)})`,
          met: queuedGet.total <= COST_GOALS.queuedGet,
        },
      ],
      setup:
        `one request at a time, ${SAMPLES} of each after ${WARMUP} unmeasured, simulator latency ${SERVICE_LATENCY_MS} ms, bucket 1000/s (no deferrals), ` +
        `log level ${process.env['POWERTOOLS_LOG_LEVEL'] ?? 'INFO'}; measured: each function's own work (p90 of its invocations, ` +
        `rounded up to 1 ms; an upper bound, DynamoDB Local and the SQS emulator being slower than AWS); ` +
        `assumed: ${ATLASSIAN_S} s for Atlassian's answer where a function calls it, API ${API_MEMORY_MB} MB, worker ${WORKER_MEMORY_MB} MB, ` +
        `tracing ${DEFAULT_CONFIG.deployment.tracing} (${TRACED_SHARE * 100} % traced), one receive per delivered message, the HTTP API; ` +
        `a BatchGetItem's read units priced as AWS bills them (each item read apart: 1 unit strongly consistent, 0.5 eventually, per 4 KB), ` +
        `not as DynamoDB Local reports them`,
    };
  } finally {
    await bench.stack.stop();
  }
}
