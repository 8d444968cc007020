/**
 * (f) `cost`: what one RIQ request uses in AWS, measured in the local stack, and what it costs per
 * million at list prices (bench/cost-model.ts), against the goals: ≤ $8 per million DIRECT
 * `jira.get_task`, ≤ $12 per million queued ones.
 *
 * Measured in this process (bench/aws-calls.ts): DynamoDB read and write units as DynamoDB Local
 * reports them (the indexes' writes included), SQS requests, and the bytes the handlers log
 * (state lines and EMF metrics, at the log level the stack runs with). Assumed: each function's
 * billed duration (stated in the result), one receive per delivered message (Lambda's pollers batch
 * up to 10 under load, so this is the upper bound), and the traced share (none: tracing is off by default).
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
import { round, seedIssues, startBench, submit, type SubmitBody } from './harness.js';
import type { ScenarioResult } from './scenario-names.js';

const SAMPLES = 40;
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

/** Billed durations assumed: RIQ's own work per function, plus Atlassian's answer where it calls. */
const OWN_WORK_S = 0.1;
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
}

export async function cost(): Promise<ScenarioResult> {
  countAwsCalls();
  countLogBytes();
  const bench = await startBench({
    services: { jira: { ratePerMinute: 60_000, burst: 500, concurrency: { high: 2, normal: 4, low: 4 } } },
  });
  try {
    const keys = await seedIssues(bench, SAMPLES);
    await bench.sim.configure({ latency_ms: SERVICE_LATENCY_MS });
    const measure = async (bodies: SubmitBody[], readResult: boolean): Promise<Measured> => {
      const before = awsCallCounts();
      for (const body of bodies) {
        const s = await submit(bench, body);
        if (readResult) await fetch(`${bench.stack.url}/api/queue/result/${s.token}?wait=20`);
      }
      const d = awsCallsBetween(before, awsCallCounts());
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
      };
    };
    const reads = (routing: 'adaptive' | 'queued', fresh: boolean): SubmitBody[] =>
      keys.map((key) => ({
        operation: 'jira.get_task',
        payload: { task_id: key },
        routing,
        ...(fresh ? { fresh: true } : {}),
      }));
    const creates = (routing: 'adaptive' | 'queued'): SubmitBody[] =>
      keys.map((_, i) => ({
        operation: 'jira.create_task',
        payload: { title: `cost ${routing} ${i}`, project_id: 'RIQ' },
        routing,
      }));
    const directRead = await measure(reads('adaptive', false), false);
    const cachedRead = await measure(reads('adaptive', false), false);
    const queuedRead = await measure(reads('queued', true), true);
    const directCreate = await measure(creates('adaptive'), false);
    const queuedCreate = await measure(creates('queued'), true);

    const submitFn: Invocation = {
      name: 'submit',
      memoryMb: API_MEMORY_MB,
      seconds: OWN_WORK_S + ATLASSIAN_S,
    };
    const queuedSubmit: Invocation = { name: 'submit', memoryMb: API_MEMORY_MB, seconds: OWN_WORK_S };
    const worker: Invocation = {
      name: 'worker',
      memoryMb: WORKER_MEMORY_MB,
      seconds: OWN_WORK_S + ATLASSIAN_S,
    };
    const result: Invocation = { name: 'result', memoryMb: API_MEMORY_MB, seconds: OWN_WORK_S };
    const usage = (m: Measured, apiCalls: number, invocations: Invocation[]): RequestUsage => ({
      ...m.usage,
      apiCalls,
      api: 'http',
      invocations,
      tracedShare: TRACED_SHARE,
    });
    const directGet = costPerMillion(usage(directRead, 1, [submitFn]));
    const queuedGet = costPerMillion(usage(queuedRead, 2, [queuedSubmit, worker, result]));
    const directWrite = costPerMillion(usage(directCreate, 1, [submitFn]));
    const queuedWrite = costPerMillion(usage(queuedCreate, 2, [queuedSubmit, worker, result]));
    const cached = costPerMillion(usage(cachedRead, 1, [queuedSubmit]));
    const dollars = (c: { total: number }) => `$${c.total.toFixed(2)}`;
    return {
      scenario: 'cost',
      figures: {
        samples_each: SAMPLES,
        direct_get_task: directRead.calls,
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
        `one request at a time, ${SAMPLES} of each, simulator latency ${SERVICE_LATENCY_MS} ms, bucket 1000/s (no deferrals), ` +
        `log level ${process.env['POWERTOOLS_LOG_LEVEL'] ?? 'INFO'}; assumed: ${OWN_WORK_S} s of RIQ's own work per function, ` +
        `${ATLASSIAN_S} s for Atlassian's answer, API ${API_MEMORY_MB} MB, worker ${WORKER_MEMORY_MB} MB, ` +
        `tracing ${DEFAULT_CONFIG.deployment.tracing} (${TRACED_SHARE * 100} % traced), one receive per delivered message, the HTTP API; ` +
        `a BatchGetItem's read units priced as AWS bills them (each item read apart: 1 unit strongly consistent, 0.5 eventually, per 4 KB), ` +
        `not as DynamoDB Local reports them`,
    };
  } finally {
    await bench.stack.stop();
  }
}
