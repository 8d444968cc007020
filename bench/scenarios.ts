/**
 * The benchmarks: drain (queued first, and as users cause it), unknown limit, priority, outage, the
 * adaptive-routing burst and cost. Each runs against its own local stack (one per process: see
 * bench/run-scenario.ts) and answers its figures; none asserts a time, the targets are printed next
 * to the figures for a reader to compare.
 *
 * Common set-up, stated with every result: Jira limited to R requests/s with burst B both in RIQ's
 * config and in the simulator (scenario b halves the simulator's rate), the simulator answering
 * each call after `SERVICE_LATENCY_MS`, and the workload `jira.get_task` on issues created before
 * the clock starts.
 */
import {
  awaitAll,
  busiestWindow,
  callsSince,
  latencyMs,
  percentile,
  round,
  seedIssues,
  sleep,
  startBench,
  submit,
  submitAll,
  view,
  type Bench,
  type RequestView,
  type SubmitBody,
} from './harness.js';
import { MESSAGES_RECEIVED, awsCallCounts, awsCallsBetween, countAwsCalls } from './aws-calls.js';
import { cliStart } from './cli-start.js';
import { coldstart } from './coldstart.js';
import { cost } from './cost-scenario.js';
import { countPointsCharges } from './points-charges.js';
import type { ScenarioName, ScenarioResult } from './scenario-names.js';

/** Requests per second RIQ is configured for (and the simulator enforces, unless halved). */
export const RATE = 10;
export const BURST = 20;
/** What the simulator waits before answering: a fast but real Atlassian answer. */
export const SERVICE_LATENCY_MS = 50;
const BACKLOG = 500;
const ISSUES = 25;

/**
 * Workers per priority queue. The token bucket, not the worker count, sets the pace; enough
 * workers are needed that one is always asking when a token comes due.
 */
const CONCURRENCY = { high: 2, normal: 4, low: 4 };

function riqOverrides(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    services: {
      jira: { ratePerMinute: RATE * 60, burst: BURST, concurrency: CONCURRENCY },
    },
    // BENCH_ADAPTIVE='{"probeBand":0.1}' tries other adaptive settings (rateControl.adaptive).
    ...(process.env['BENCH_ADAPTIVE']
      ? { rateControl: { adaptive: JSON.parse(process.env['BENCH_ADAPTIVE']) as unknown } }
      : {}),
    ...extra,
  };
}

function getTasks(keys: string[], n: number, priority: 'high' | 'normal' | 'low'): SubmitBody[] {
  return Array.from({ length: n }, (_, i) => ({
    operation: 'jira.get_task',
    payload: { task_id: keys[i % keys.length]! },
    priority,
    // Repeated reads of the same issues: skip the read cache, and DIRECT calls, so the queue is
    // what is measured (the burst scenario measures adaptive routing).
    fresh: true,
    routing: 'queued',
  }));
}

const SETUP = `R=${RATE}/s, B=${BURST}, simulator latency ${SERVICE_LATENCY_MS} ms, workers per queue high/normal/low ${CONCURRENCY.high}/${CONCURRENCY.normal}/${CONCURRENCY.low}`;

interface Drained {
  submitSeconds: number;
  firstCallSeconds: number;
  lastCallSeconds: number;
  drainSeconds: number;
  calls: number;
  rateLimited: number;
  maxAttempts: number;
  deliveries: number;
  deferrals: number;
}

async function drainAgainst(
  bench: Bench,
  simRate: number,
  nearLimitHeader = true,
): Promise<Drained & { idealSeconds: number }> {
  countAwsCalls();
  const keys = await seedIssues(bench, ISSUES);
  await bench.sim.configure({
    latency_ms: SERVICE_LATENCY_MS,
    rate_limit: { rate_per_second: simRate, burst: BURST, near_limit_header: nearLimitHeader },
  });
  const drained = await drainQueued(bench, getTasks(keys, BACKLOG, 'normal'));
  return { ...drained, idealSeconds: (BACKLOG - BURST) / simRate };
}

/**
 * Queues every body with the workers held, then starts them: the clock runs from the start of the
 * workers to the last completion, and every request must complete. Counts the AWS calls only when
 * `countAwsCalls` was called.
 */
async function drainQueued(bench: Bench, bodies: SubmitBody[]): Promise<Drained> {
  // The backlog is queued before the workers start: the clock starts with all of it waiting, as if
  // submitted at one instant (on this one machine the submits would otherwise take the workers'
  // CPU; on AWS they run in other Lambdas).
  const submitStarted = Date.now();
  const submitted = await submitAll(bench, bodies);
  const submitSeconds = (Date.now() - submitStarted) / 1000;
  const started = Date.now();
  const before = awsCallCounts();
  bench.stack.startWorkers();
  const views = await awaitAll(
    bench,
    submitted.map((s) => s.token),
    600_000,
  );
  const during = awsCallsBetween(before, awsCallCounts());
  const notCompleted = views.filter((v) => v.status !== 'completed');
  if (notCompleted.length > 0) {
    throw new Error(`${notCompleted.length} requests ended ${JSON.stringify(notCompleted[0])}`);
  }
  const lastDone = Math.max(...views.map((v) => Date.parse(v.completed_at!)));
  const calls = await callsSince(bench, started);
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  if (process.env['BENCH_DUMP']) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env['BENCH_DUMP'], JSON.stringify({ started, calls }));
  }
  return {
    submitSeconds,
    firstCallSeconds: (times[0]! - started) / 1000,
    lastCallSeconds: (times[times.length - 1]! - started) / 1000,
    drainSeconds: (lastDone - started) / 1000,
    calls: calls.length,
    rateLimited: calls.filter((c) => c.status === 429).length,
    maxAttempts: Math.max(...views.map((v) => v.attempts)),
    deliveries: during[MESSAGES_RECEIVED] ?? 0,
    // Every message sent while the backlog drains is a deferral's (or a retry's) copy.
    deferrals: during['SendMessage'] ?? 0,
  };
}

/** (a) 500 requests at once against the limit RIQ is configured with. */
export async function drain(): Promise<ScenarioResult> {
  const bench = await startBench(riqOverrides(), { startWorkers: false });
  try {
    const r = await drainAgainst(bench, RATE);
    const ratio = r.drainSeconds / r.idealSeconds;
    return {
      scenario: 'drain',
      figures: {
        requests: BACKLOG,
        drain_s: round(r.drainSeconds),
        ideal_s: round(r.idealSeconds),
        ratio: round(ratio, 3),
        submit_s: round(r.submitSeconds),
        first_call_s: round(r.firstCallSeconds),
        last_call_s: round(r.lastCallSeconds),
        calls: r.calls,
        http_429: r.rateLimited,
        max_attempts: r.maxAttempts,
        deliveries_per_request: round(r.deliveries / BACKLOG, 2),
        deferrals: r.deferrals,
      },
      target: 'ratio <= 1.05 with 0 429s; deliveries per request <= 1.5',
      met: ratio <= 1.05 && r.rateLimited === 0 && r.deliveries / BACKLOG <= 1.5,
      setup: SETUP,
    };
  } finally {
    await bench.stack.stop();
  }
}

const LIVE = { rate: 5, burst: 10, requests: 300, inFlight: 20 };

/** Reads the service's stored rate state (`RATE#jira`), for `BENCH_DUMP`'s timeline. */
async function rateItemReader(bench: Bench): Promise<() => Promise<unknown>> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient, GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: bench.stack.dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    }),
  );
  return async () =>
    (await doc.send(new GetCommand({ TableName: bench.stack.tableName, Key: { pk: 'RATE#jira' } }))).Item;
}

/**
 * (a′) The drain as users cause it: the workers run from the start, the requests arrive while they
 * do (20 callers in flight, each submitting again as soon as it is answered), routing is adaptive
 * (DIRECT while the bucket has room), and RIQ is configured to exactly the simulator's limit
 * (5/s, burst 10). The clock runs from the first submit to the last completion; ideal is the time
 * the limit allows after the burst.
 */
export async function drainLive(): Promise<ScenarioResult> {
  countAwsCalls();
  const bench = await startBench({
    services: {
      jira: { ratePerMinute: LIVE.rate * 60, burst: LIVE.burst, concurrency: CONCURRENCY },
    },
  });
  try {
    const keys = await seedIssues(bench, ISSUES);
    await bench.sim.configure({
      latency_ms: SERVICE_LATENCY_MS,
      rate_limit: { rate_per_second: LIVE.rate, burst: LIVE.burst },
    });
    // The seeding's calls are behind; both buckets full again before the clock starts.
    await sleep((LIVE.burst / LIVE.rate) * 1000 + 500);
    const before = awsCallCounts();
    const started = Date.now();
    const samples: unknown[] = [];
    let sampling = process.env['BENCH_DUMP'] !== undefined;
    void (async () => {
      const read = await rateItemReader(bench);
      while (sampling) {
        const item = await read().catch(() => (sampling = false));
        samples.push({ at: Date.now(), item });
        await sleep(250);
      }
    })();
    const bodies = getTasks(keys, LIVE.requests, 'normal').map(({ routing: _queued, ...body }) => body);
    const submitted = await submitAll(bench, bodies, LIVE.inFlight);
    const submitSeconds = (Date.now() - started) / 1000;
    const views = await awaitAll(
      bench,
      submitted.map((s) => s.token),
      600_000,
    );
    const during = awsCallsBetween(before, awsCallCounts());
    const notCompleted = views.filter((v) => v.status !== 'completed');
    if (notCompleted.length > 0) {
      throw new Error(`${notCompleted.length} requests ended ${JSON.stringify(notCompleted[0])}`);
    }
    sampling = false;
    const lastDone = Math.max(...views.map((v) => Date.parse(v.completed_at!)));
    const calls = await callsSince(bench, started);
    if (process.env['BENCH_DUMP']) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(process.env['BENCH_DUMP'], JSON.stringify({ started, calls, views, samples }));
    }
    const drainSeconds = (lastDone - started) / 1000;
    const idealSeconds = (LIVE.requests - LIVE.burst) / LIVE.rate;
    const ratio = drainSeconds / idealSeconds;
    const rateLimited = calls.filter((c) => c.status === 429).length;
    const direct = submitted.filter((s) => s.routingPath === 'DIRECT').length;
    const queued = LIVE.requests - direct;
    // DIRECT requests are never delivered from a queue; the rest at least once.
    const deliveries = during[MESSAGES_RECEIVED] ?? 0;
    return {
      scenario: 'drain-live',
      figures: {
        requests: LIVE.requests,
        drain_s: round(drainSeconds),
        ideal_s: round(idealSeconds),
        ratio: round(ratio, 3),
        submit_s: round(submitSeconds),
        direct,
        queued,
        calls: calls.length,
        http_429: rateLimited,
        deliveries_per_queued_request: queued > 0 ? round(deliveries / queued, 2) : 0,
        max_attempts: Math.max(...views.map((v) => v.attempts)),
      },
      target: 'ratio <= 1.05 with 0 429s',
      met: ratio <= 1.05 && rateLimited === 0,
      setup: `R=${LIVE.rate}/s, B=${LIVE.burst} in RIQ and the simulator, ${LIVE.requests} jira.get_task, ${LIVE.inFlight} submits in flight while the workers run, routing adaptive, simulator latency ${SERVICE_LATENCY_MS} ms, workers per queue high/normal/low ${CONCURRENCY.high}/${CONCURRENCY.normal}/${CONCURRENCY.low}`,
    };
  } finally {
    await bench.stack.stop();
  }
}

/**
 * (b) The simulator enforces half the configured rate: RIQ must find the real limit. `unknown-limit`
 * with `X-RateLimit-NearLimit` on the answers near it, `unknown-limit-silent` without (only
 * `Retry-After` and `X-RateLimit-*`, as some sites answer). A process runs one stack, so one each.
 */
async function unknownLimitRun(nearLimitHeader: boolean): Promise<ScenarioResult> {
  const bench = await startBench(riqOverrides(), { startWorkers: false });
  try {
    const r = await drainAgainst(bench, RATE / 2, nearLimitHeader);
    const share = r.idealSeconds / r.drainSeconds;
    const share429 = r.rateLimited / r.calls;
    return {
      scenario: nearLimitHeader ? 'unknown-limit' : 'unknown-limit-silent',
      figures: {
        requests: BACKLOG,
        simulator_rate: RATE / 2,
        drain_s: round(r.drainSeconds),
        ideal_s: round(r.idealSeconds),
        of_ideal: round(share, 3),
        calls: r.calls,
        http_429: r.rateLimited,
        share_429: `${round(share429 * 100, 2)} %`,
        max_attempts: r.maxAttempts,
      },
      target: '>= 0.85 of ideal with <= 1 % 429s',
      met: share >= 0.85 && share429 <= 0.01,
      setup: `${SETUP}; simulator enforces ${RATE / 2}/s, ${nearLimitHeader ? 'with' : 'without'} X-RateLimit-NearLimit`,
    };
  } finally {
    await bench.stack.stop();
  }
}

export const unknownLimit = (): Promise<ScenarioResult> => unknownLimitRun(true);
export const unknownLimitSilent = (): Promise<ScenarioResult> => unknownLimitRun(false);

/**
 * (c) 500 `low` queued, then 20 `high` submitted one every 250 ms while the backlog drains.
 * Service time: the latency of a lone `high` request on the idle stack (median of 10).
 */
export async function priority(): Promise<ScenarioResult> {
  const bench = await startBench(riqOverrides());
  try {
    const keys = await seedIssues(bench, ISSUES);
    await bench.sim.configure({
      latency_ms: SERVICE_LATENCY_MS,
      rate_limit: { rate_per_second: RATE, burst: BURST },
    });
    const idle: number[] = [];
    for (const body of getTasks(keys, 10, 'high')) {
      const s = await submit(bench, body);
      const [v] = await awaitAll(bench, [s.token], 30_000);
      idle.push(latencyMs(v!));
      await sleep(200);
    }
    const serviceMs = percentile(idle, 0.5);
    // Let the bucket refill after the idle calls so the backlog starts from a full bucket.
    await sleep((BURST / RATE) * 1000);

    const lows = await submitAll(bench, getTasks(keys, BACKLOG, 'low'));
    await sleep(3000); // the backlog is draining: the bucket is down to `low`'s reserve
    const highs = [];
    for (const body of getTasks(keys, 20, 'high')) {
      highs.push(await submit(bench, body));
      await sleep(250);
    }
    const highViews = await awaitAll(
      bench,
      highs.map((h) => h.token),
      120_000,
    );
    const lowsOpen = (await Promise.all(lows.slice(-50).map((l) => fetchStatus(bench, l.token)))).filter(
      (s) => s !== 'completed',
    ).length;
    const latencies = highViews.map((v) => (v.completed_at === undefined ? Infinity : latencyMs(v)));
    const p50 = percentile(latencies, 0.5);
    const p95 = percentile(latencies, 0.95);
    const budget = 2 * serviceMs + 1000 / RATE;
    await awaitAll(
      bench,
      lows.map((l) => l.token),
      600_000,
    );
    return {
      scenario: 'priority',
      figures: {
        low_backlog: BACKLOG,
        high_requests: highViews.length,
        service_time_ms: serviceMs,
        high_p50_ms: p50,
        high_p95_ms: p95,
        budget_ms: budget,
        lows_unfinished_when_highs_done: `${lowsOpen} of last 50`,
      },
      target: 'high p95 <= 2 service times + 1 token interval',
      met: p95 <= budget,
      setup: SETUP,
    };
  } finally {
    await bench.stack.stop();
  }
}

async function fetchStatus(bench: Bench, token: string): Promise<string> {
  const res = await fetch(`${bench.stack.url}/api/queue/result/${token}`);
  return ((await res.json()) as { status: string }).status;
}

const OUTAGE_MS = 60_000;
const BREAKER = { failureThreshold: 5, windowSeconds: 60, recoverySeconds: 15 };

/**
 * (d) Steady load of 4 requests/s for 100 s with a 60 s outage (every call answered 503) starting
 * at 20 s. Counts the calls that reached the dead service and how long RIQ took to serve again
 * after it came back.
 */
export async function outage(): Promise<ScenarioResult> {
  const bench = await startBench(riqOverrides({ breaker: BREAKER }));
  try {
    const keys = await seedIssues(bench, ISSUES);
    await bench.sim.configure({ latency_ms: SERVICE_LATENCY_MS });
    const loadRate = 4;
    const loadSeconds = 100;
    const outageStartsIn = 20_000;
    const started = Date.now();
    await bench.sim.startOutage({ duration_ms: OUTAGE_MS, start_in_ms: outageStartsIn, mode: 'error' });
    const outageStart = started + outageStartsIn;
    const outageEnd = outageStart + OUTAGE_MS;
    const submitted = [];
    for (const body of getTasks(keys, loadRate * loadSeconds, 'normal')) {
      submitted.push(submit(bench, body));
      await sleep(1000 / loadRate);
    }
    const tokens = (await Promise.all(submitted)).map((s) => s.token);
    const views = await awaitAll(bench, tokens, 600_000);
    const calls = await callsSince(bench, started);
    const duringOutage = calls.filter((c) => c.at >= outageStart && c.at < outageEnd);
    const firstOkAfter = calls.find((c) => c.at >= outageEnd && c.status === 200);
    const caughtUpAt = Math.max(...views.map((v) => Date.parse(v.completed_at ?? v.created_at)));
    const probes = Math.ceil(OUTAGE_MS / 1000 / BREAKER.recoverySeconds);
    const limit = BREAKER.failureThreshold + probes;
    const byStatus = countBy(views.map((v) => v.status));
    return {
      scenario: 'outage',
      figures: {
        requests: tokens.length,
        outage_s: OUTAGE_MS / 1000,
        calls_during_outage: duringOutage.length,
        threshold_plus_probes: limit,
        first_success_after_outage_s: firstOkAfter ? round((firstOkAfter.at - outageEnd) / 1000) : 'none',
        backlog_cleared_after_outage_s: round((caughtUpAt - outageEnd) / 1000),
        outcomes: JSON.stringify(byStatus),
      },
      target: 'calls to the dead service <= threshold + probes',
      met: duringOutage.length <= limit,
      setup: `${SETUP}; breaker threshold ${BREAKER.failureThreshold} in ${BREAKER.windowSeconds} s, recovery ${BREAKER.recoverySeconds} s; load ${loadRate}/s`,
    };
  } finally {
    await bench.stack.stop();
  }
}

const BURST_REQUESTS = 500;
const SEED_BUCKET = { ratePerMinute: 100, burst: 50 };

/**
 * (e) The seed's adaptive-routing burst: 500 reads at once (50 callers in flight) with the seed's
 * bucket (100 a minute, burst 50, enforced by the simulator too) and the default routing. About a
 * burst goes DIRECT; the rest is queued and drains at the rate. Latency of a DIRECT request: its
 * submit's round trip (the answer carries the result); of a QUEUED one: submit to completion.
 */
export async function burst(): Promise<ScenarioResult> {
  const bench = await startBench({
    services: { jira: { ...SEED_BUCKET, concurrency: CONCURRENCY } },
  });
  try {
    const keys = await seedIssues(bench, ISSUES);
    const rate = SEED_BUCKET.ratePerMinute / 60;
    await bench.sim.configure({ latency_ms: SERVICE_LATENCY_MS });
    // A lone DIRECT read on the idle stack (median of 10): the path's own cost, for comparison.
    const lone: number[] = [];
    for (const { routing: _queued, ...body } of getTasks(keys, 10, 'normal')) {
      const s = await submit(bench, body);
      if (s.routingPath !== 'DIRECT') throw new Error(`a lone read was not DIRECT: ${s.routingPath}`);
      lone.push(s.answeredAt - s.sentAt);
    }
    // The bucket back to its burst before the burst; the simulator enforces the same budget.
    await sleep((10 / rate) * 1000 + 500);
    await bench.sim.configure({ rate_limit: { rate_per_second: rate, burst: SEED_BUCKET.burst } });
    const started = Date.now();
    const bodies = getTasks(keys, BURST_REQUESTS, 'normal').map(({ routing: _queued, ...body }) => body);
    const submitted = await submitAll(bench, bodies, 50);
    const submitSeconds = (Date.now() - started) / 1000;
    const direct = submitted.filter((s) => s.routingPath === 'DIRECT');
    const queued = submitted.filter((s) => s.routingPath !== 'DIRECT');
    const views = await awaitAll(
      bench,
      queued.map((s) => s.token),
      900_000,
    );
    const calls = await callsSince(bench, started);
    const times = calls.map((c) => c.at).sort((a, b) => a - b);
    const done = views.filter((v) => v.completed_at !== undefined);
    const lastDone = Math.max(...done.map((v) => Date.parse(v.completed_at!)));
    const busiest1s = busiestWindow(times, 1000);
    const directP50 = percentile(
      direct.map((s) => s.answeredAt - s.sentAt),
      0.5,
    );
    const queuedP50 = percentile(views.map(latencyMs), 0.5);
    const rateLimited = calls.filter((c) => c.status === 429).length;
    const drainSeconds = (lastDone - started) / 1000;
    const idealSeconds = (BURST_REQUESTS - SEED_BUCKET.burst) / rate;
    // `normal` leaves 10 % of the burst to `high`; the bucket refills while the submits arrive.
    const directMin = Math.floor(SEED_BUCKET.burst * 0.9);
    const directMax = SEED_BUCKET.burst + Math.ceil(rate * submitSeconds);
    return {
      scenario: 'burst',
      figures: {
        requests: BURST_REQUESTS,
        direct: `${direct.length} (expected ${directMin}..${directMax}: B less the normal reserve, plus R × submit_s)`,
        queued: queued.length,
        direct_completed_in_answer: direct.filter((s) => s.status === 'completed').length,
        direct_p50_ms: directP50,
        lone_direct_ms: percentile(lone, 0.5),
        queued_p50_ms: queuedP50,
        submit_s: round(submitSeconds),
        drain_s: round(drainSeconds),
        ideal_drain_s: round(idealSeconds),
        calls: calls.length,
        busiest_1s_window: `${busiest1s} calls (bound ${SEED_BUCKET.burst + Math.ceil(rate)})`,
        http_429: rateLimited,
        outcomes: JSON.stringify(countBy(views.map((v) => v.status))),
      },
      target:
        'about a burst DIRECT (B less the reserve, plus the refill while submitting), the rest QUEUED, 0 429s',
      met: direct.length >= directMin && direct.length <= directMax && rateLimited === 0,
      setup: `seed bucket ${SEED_BUCKET.ratePerMinute}/min, B=${SEED_BUCKET.burst} (RIQ and simulator), simulator latency ${SERVICE_LATENCY_MS} ms, 50 submits in flight, routing adaptive, priority normal`,
    };
  } finally {
    await bench.stack.stop();
  }
}

/**
 * The compressed hour of the `quota` scenario: 60 real seconds. RIQ's clock is not compressed, so
 * RIQ's window is configured in real seconds, 3600 / 60.
 *
 * The simulator's hour is a quota window of 60 s on its real-time clock, so that the policy it
 * announces (`Beta-RateLimit-Policy: …;q=2000;w=60`) means the same span to RIQ. Compressing its
 * clock instead (`time_scale` 60, window 3600) announces `w=3600`, which RIQ learns as 3,600 real
 * seconds and obeys over its config (points-budget.ts: a learned quota wins): it then paces the
 * quota 60 times too slowly. `BENCH_QUOTA_TIME_SCALE=60` runs that variant.
 */
const TIME_SCALE = Number(process.env['BENCH_QUOTA_TIME_SCALE'] ?? 1);
/**
 * Whether the simulator sends `X-RateLimit-NearLimit: true` once under 20 % of the quota is left,
 * as Atlassian does. `BENCH_QUOTA_NEAR_LIMIT_HEADER=0`: only `r` in `Beta-RateLimit` says so.
 */
const NEAR_LIMIT_HEADER = process.env['BENCH_QUOTA_NEAR_LIMIT_HEADER'] !== '0';

const QUOTA = {
  points: 2_000,
  /** RIQ's capacity: 5 minutes of the pace, as the default's 300 s of an hour, compressed. */
  burstSeconds: 5,
  /** Points of the backlog (the quota's 2.5 hours). */
  backlogPoints: 5_000,
  /** Results per search: 1 + 5 = 6 points. */
  searchResults: 5,
  rate: 25,
  /** Enough that their p95 is the 38th of 40 (of 10 it would be the slowest one). */
  highs: 40,
  /** The highs are submitted over this part of the hour (as shares of it). */
  highsFrom: 0.75,
  highsTo: 0.95,
} as const;

/** The points Atlassian charges each operation of the `quota` backlog (the simulator's figures). */
const QUOTA_POINTS = { get: 2, search: 1 + QUOTA.searchResults, write: 1 } as const;

function quotaBacklog(keys: string[]): { bodies: SubmitBody[]; points: number } {
  const bodies: SubmitBody[] = [];
  let points = 0;
  // Per 10: 3 reads of an issue, 4 searches, 3 writes; half `low`, half `normal`.
  const pattern = [
    'get',
    'search',
    'write',
    'search',
    'get',
    'write',
    'search',
    'get',
    'search',
    'write',
  ] as const;
  for (let i = 0; points < QUOTA.backlogPoints; i++) {
    const kind = pattern[i % pattern.length]!;
    const key = keys[i % keys.length]!;
    const priority = i % 2 === 0 ? 'low' : 'normal';
    const body: SubmitBody =
      kind === 'get'
        ? { operation: 'jira.get_task', payload: { task_id: key }, priority }
        : kind === 'search'
          ? {
              operation: 'jira.search_tasks',
              payload: { jql: 'project = RIQ ORDER BY key', max_results: QUOTA.searchResults },
              priority,
            }
          : { operation: 'jira.update_task', payload: { task_id: key, title: `quota write ${i}` }, priority };
    bodies.push({ ...body, fresh: true, routing: 'queued' });
    points += QUOTA_POINTS[kind];
  }
  return { bodies, points };
}

/**
 * (g) A compressed hour against Atlassian's points quota: the simulator charges 2,000 points per
 * 60-second window (see TIME_SCALE for why not a scaled clock), every connection's
 * (`quota_applies_to: 'all'`, so the local API-token connection counts; RIQ's budget switches on at
 * the first answer announcing the quota), its window starting as the backlog arrives; RIQ's budget
 * is configured to the same quota over the same span. A backlog of ~5,000 points (reads, small
 * searches, writes; `low` and `normal`) arrives at the start; `high` reads are submitted late in
 * the hour. Points spent by the hour's end are the simulator's own count, read just before the reset.
 */
export async function quota(): Promise<ScenarioResult> {
  /** The hour in real seconds (RIQ's window); the simulator's window is this on its clock. */
  const windowSeconds = 60;
  const simWindowSeconds = windowSeconds * TIME_SCALE;
  const bench = await startBench(
    {
      services: {
        jira: {
          ratePerMinute: QUOTA.rate * 60,
          burst: QUOTA.rate,
          concurrency: CONCURRENCY,
          points: {
            quotaPerHour: QUOTA.points,
            windowSeconds,
            burstSeconds: QUOTA.burstSeconds,
            reserves: { normal: 0.1, low: 0.3 },
          },
        },
      },
    },
    { startWorkers: false },
  );
  try {
    const keys = await seedIssues(bench, ISSUES);
    await bench.sim.configure({ latency_ms: SERVICE_LATENCY_MS });
    // The backlog is queued before the workers start (as in `drain`): on this one machine the
    // submits would take the workers' CPU for the first part of the hour.
    const backlog = quotaBacklog(keys);
    const submitStarted = Date.now();
    const submitted = await submitAll(bench, backlog.bodies);
    const submitSeconds = (Date.now() - submitStarted) / 1000;

    // The hour starts with the workers.
    await bench.sim.configure({
      points_quota: {
        quota: QUOTA.points,
        window_seconds: simWindowSeconds,
        headers: 'beta',
        near_limit_header: NEAR_LIMIT_HEADER,
      },
      quota_applies_to: 'all',
      time_scale: TIME_SCALE,
      sim_time: '2030-01-01T10:00:00.000Z',
    });
    bench.stack.startWorkers();
    const hourStart = Date.now();
    const hourEnd = hourStart + windowSeconds * 1000;
    // The simulator's count of each hour's points, read just before its reset.
    const perHour: number[] = [];
    let sampling = true;
    const hourOneStats = (async () => {
      await sleep(hourEnd - 300 - Date.now());
      return bench.sim.stats();
    })();
    void (async () => {
      try {
        perHour.push((await hourOneStats).points_quota?.jira.spent ?? 0);
        for (let k = 2; sampling; k++) {
          await sleep(hourStart + k * windowSeconds * 1000 - 300 - Date.now());
          if (sampling) perHour.push((await bench.sim.stats()).points_quota?.jira.spent ?? 0);
        }
      } catch {
        // The stack stopped while a read was on its way: the hours counted so far stand.
      }
    })();

    // `high` reads late in the hour, spread over its last part.
    const highs: Promise<Awaited<ReturnType<typeof submit>>>[] = [];
    const highBodies = getTasks(keys, QUOTA.highs, 'high');
    const highsStart = hourStart + QUOTA.highsFrom * windowSeconds * 1000;
    const highsSpacing = ((QUOTA.highsTo - QUOTA.highsFrom) * windowSeconds * 1000) / QUOTA.highs;
    for (let i = 0; i < highBodies.length; i++) {
      await sleep(highsStart + i * highsSpacing - Date.now());
      highs.push(submit(bench, highBodies[i]!));
    }
    const highViews = await viewsWithin(
      bench,
      (await Promise.all(highs)).map((h) => h.token),
      hourEnd + 30_000,
    );
    const atEnd = await hourOneStats;
    const spentByEnd = atEnd.points_quota?.jira.spent ?? 0;
    const limitedByEnd = atEnd.rate_limited_by_reason;
    // The backlog is 2.5 hours of the quota: it ends in the third hour at the quota's pace.
    const views = await viewsWithin(
      bench,
      submitted.map((s) => s.token),
      hourStart + 5 * windowSeconds * 1000,
    );
    sampling = false;
    const stats = await bench.sim.stats();
    const calls = await callsSince(bench, hourStart);
    // Service time: a lone `high` read on the stack idle again (in a fresh window of the quota).
    const idle: number[] = [];
    for (const body of getTasks(keys, 10, 'high')) {
      const s = await submit(bench, body);
      const [v] = await awaitAll(bench, [s.token], 30_000);
      idle.push(latencyMs(v!));
      await sleep(200);
    }
    const serviceMs = percentile(idle, 0.5);
    const quota429s = Object.entries(stats.rate_limited_by_reason)
      .filter(([reason]) => reason.includes('quota'))
      .reduce((n, [, count]) => n + count, 0);
    const completedByEnd = views.filter(
      (v) => v.status === 'completed' && Date.parse(v.completed_at!) < hourEnd,
    ).length;
    const latencies = highViews.map((v) => (v.completed_at === undefined ? Infinity : latencyMs(v)));
    const highP95 = percentile(latencies, 0.95);
    const bound = 2 * serviceMs + 1000 / QUOTA.rate;
    const share = spentByEnd / QUOTA.points;
    const done = views.filter((v) => v.completed_at !== undefined);
    const lastDone = Math.max(...done.map((v) => Date.parse(v.completed_at!)));
    return {
      scenario: 'quota',
      figures: {
        backlog_requests: submitted.length,
        backlog_points: backlog.points,
        backlog_submit_s: `${round(submitSeconds)} (workers held)`,
        quota_points_per_hour: QUOTA.points,
        points_spent_by_hour_end: `${spentByEnd} (${round(share * 100, 1)} % of the quota)`,
        points_spent_per_hour: perHour.join(', '),
        http_429_quota: quota429s,
        http_429_by_reason: JSON.stringify(stats.rate_limited_by_reason),
        http_429_by_reason_in_hour: JSON.stringify(limitedByEnd),
        requests_completed_in_hour: `${completedByEnd} of ${submitted.length}`,
        requests_completed: `${views.filter((v) => v.status === 'completed').length} of ${submitted.length}`,
        outcomes: JSON.stringify(countBy(views.map((v) => v.status))),
        max_attempts: Math.max(...views.map((v) => v.attempts)),
        high_outcomes: JSON.stringify(countBy(highViews.map((v) => v.status))),
        last_completed_s: round((lastDone - hourStart) / 1000),
        calls: calls.length,
        service_time_ms: serviceMs,
        high_requests: highViews.length,
        high_p50_ms: percentile(latencies, 0.5),
        high_p95_ms: highP95,
        high_max_ms: Math.max(...latencies),
        high_bound_ms: bound,
      },
      target:
        "0 quota 429s; >= 95 % of the quota spent by the hour's end; high p95 <= 2 service times + 1 token interval",
      met: quota429s === 0 && share >= 0.95 && highP95 <= bound,
      setup: `simulator quota ${QUOTA.points} points per window of ${simWindowSeconds} s on a clock at ${TIME_SCALE}x (the hour = ${windowSeconds} real s; it announces w=${simWindowSeconds}), counting every connection (quota_applies_to all; RIQ connects with an API token), X-RateLimit-NearLimit ${NEAR_LIMIT_HEADER ? 'on' : 'off'}; RIQ points.quotaPerHour ${QUOTA.points}, windowSeconds ${windowSeconds} (real seconds: RIQ's clock is not compressed), burstSeconds ${QUOTA.burstSeconds}; Jira R=${QUOTA.rate}/s, B=${QUOTA.rate}; backlog low/normal: get_task ${QUOTA_POINTS.get} pts, search_tasks max_results ${QUOTA.searchResults} (${QUOTA_POINTS.search} pts), update_task ${QUOTA_POINTS.write} pt; ${QUOTA.highs} high get_task from ${QUOTA.highsFrom * 100} % to ${QUOTA.highsTo * 100} % of the hour; simulator latency ${SERVICE_LATENCY_MS} ms, workers per queue high/normal/low ${CONCURRENCY.high}/${CONCURRENCY.normal}/${CONCURRENCY.low}`,
    };
  } finally {
    await bench.stack.stop();
  }
}

/**
 * (h) The `quota` backlog on an API-token connection: Atlassian counts OAuth apps' points, not
 * API-token (Basic auth) calls, which meet only the rate and per-endpoint burst limits. The
 * simulator keeps the `quota` scenario's 2,000 points per 60 s for OAuth calls only
 * (`quota_applies_to: 'oauth'`), enforces RIQ's rate (R = B = 25) on the site and Atlassian's
 * per-endpoint bursts; RIQ's points budget is left at its default, off until an answer announces a
 * quota (none does). The backlog should drain at the rate limit's pace, as in `drain`, 2.5 times
 * faster than the quota would allow.
 *
 * Twice `drain`'s workers for `normal` and `low`: at 25/s, 4 per queue (8 in all) would each have
 * to turn a request around in 320 ms, about what one takes on a small shared machine (DynamoDB
 * Local, the SQS emulator and the simulator on the same cores), and the worker count, not the
 * bucket, would set the pace.
 */
export async function apiToken(): Promise<ScenarioResult> {
  countAwsCalls();
  const charges = countPointsCharges();
  const concurrency = { ...CONCURRENCY, normal: 8, low: 8 };
  const bench = await startBench(
    { services: { jira: { ratePerMinute: QUOTA.rate * 60, burst: QUOTA.rate, concurrency } } },
    { startWorkers: false },
  );
  try {
    const keys = await seedIssues(bench, ISSUES);
    await bench.sim.configure({
      latency_ms: SERVICE_LATENCY_MS,
      rate_limit: { rate_per_second: QUOTA.rate, burst: QUOTA.rate },
      burst_limits: {},
      points_quota: { quota: QUOTA.points, window_seconds: 60, headers: 'beta' },
      quota_applies_to: 'oauth',
    });
    const backlog = quotaBacklog(keys);
    const r = await drainQueued(bench, backlog.bodies);
    const stats = await bench.sim.stats();
    const health = (await (await fetch(`${bench.stack.url}/api/queue/health`)).json()) as {
      budgets: { jira: { points: { enabled: boolean; quota_source: string } } };
    };
    const budget = health.budgets.jira.points;
    const requests = backlog.bodies.length;
    const idealSeconds = (requests - QUOTA.rate) / QUOTA.rate;
    const share = idealSeconds / r.drainSeconds;
    const noPoints = charges.refused['no_points'] ?? 0;
    const quotaPacedSeconds = (backlog.points / QUOTA.points) * 60;
    return {
      scenario: 'api-token',
      figures: {
        backlog_requests: requests,
        backlog_points: backlog.points,
        drain_s: round(r.drainSeconds),
        ideal_s: round(idealSeconds),
        of_ideal: round(share, 3),
        quota_paced_s: round(quotaPacedSeconds),
        calls: r.calls,
        calls_per_s: `${round(r.calls / (r.lastCallSeconds - r.firstCallSeconds))} (configured ${QUOTA.rate})`,
        http_429: r.rateLimited,
        http_429_by_reason: JSON.stringify(stats.rate_limited_by_reason),
        simulator_quota_points_counted: stats.points_quota?.jira.spent ?? 0,
        riq_points_budget: budget.enabled ? `on (quota from ${budget.quota_source})` : 'off',
        riq_points_charged: `${charges.charged} in ${charges.granted} charges`,
        riq_points_refusals: JSON.stringify(charges.refused),
        max_attempts: r.maxAttempts,
        deferrals: r.deferrals,
      },
      // Limited by bursts only: faster than the quota would let an OAuth app go, no 429, no points
      // counted. How close it comes to the rate's ideal is the local stack's CPU (a figure, not the target).
      target:
        "drain_s < quota_paced_s with 0 429s; RIQ's points budget off: 0 points charged, 0 no_points refusals",
      met:
        r.drainSeconds < quotaPacedSeconds &&
        r.rateLimited === 0 &&
        !budget.enabled &&
        charges.charged === 0 &&
        noPoints === 0,
      setup: `RIQ on its API-token connection, points budget at its default; simulator quota ${QUOTA.points} points per 60 s for OAuth calls only (quota_applies_to oauth), site limit R=${QUOTA.rate}/s, B=${QUOTA.rate} (RIQ the same), per-endpoint bursts at Atlassian's (GET/POST 100/s, PUT/DELETE 50/s); the quota scenario's backlog queued before the workers start; simulator latency ${SERVICE_LATENCY_MS} ms, workers per queue high/normal/low ${concurrency.high}/${concurrency.normal}/${concurrency.low}`,
    };
  } finally {
    await bench.stack.stop();
  }
}

/**
 * The views of `tokens` once all are terminal or at `deadline` (epoch ms), whichever is first: a
 * figure of the scenario is how many finished, so an unfinished one is reported, not thrown.
 */
async function viewsWithin(bench: Bench, tokens: string[], deadline: number): Promise<RequestView[]> {
  try {
    return await awaitAll(bench, tokens, Math.max(1_000, deadline - Date.now()));
  } catch {
    const views: RequestView[] = [];
    for (let i = 0; i < tokens.length; i += 10) {
      views.push(...(await Promise.all(tokens.slice(i, i + 10).map((t) => view(bench, t)))));
    }
    return views;
  }
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

export const SCENARIOS: Record<ScenarioName, () => Promise<ScenarioResult>> = {
  drain,
  'drain-live': drainLive,
  'unknown-limit': unknownLimit,
  'unknown-limit-silent': unknownLimitSilent,
  priority,
  outage,
  burst,
  cost,
  quota,
  'api-token': apiToken,
  coldstart,
  cli: cliStart,
};
