/**
 * One chaos run (see chaos/README.md): RIQ's local stack with its API and sweeper in this process
 * and each service's workers in a child process, the simulated Atlassian on OAuth 2.0 with a fault
 * mix, and a timeline of disasters while the plan's requests are submitted. Then the faults stop,
 * the backlog drains, and everything observed is judged (chaos/checks.ts).
 *
 * The local stack configures itself through `process.env`: run this in a process of its own
 * (chaos/main.ts does).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allQueueKeys, parseQueueKey } from '../model/config/resources.js';
import { resolveConfig, type RiqConfig, type Service } from '../model/config/riq-config.js';
import { RUNTIME_ENV } from '../model/config/runtime-env.js';
import { SimulatorControl, type SimulatorStats } from '../local/atlassian-sim/control.js';
import { startAtlassianSimulator } from '../local/atlassian-sim/server.js';
import {
  SIMULATOR_CREDENTIALS,
  simulatorConnectionEnv,
  startLocalStack,
  type LocalStack,
} from '../local/stack.js';
import { queueKey } from '../model/config/resources.js';
import { serviceOf, type OperationName } from '../model/operations.js';
import { sqsClient } from '../lambdas/shared/aws-clients.js';
import { SqsWorkQueue, queueDepthAt, totalMessages } from '../lambdas/adapters/sqs/sqs-work-queue.js';
import {
  judge,
  type BigPageCheck,
  type ChaosVerdict,
  type RequestOutcome,
  type StrayCopies,
} from './checks.js';
import type { ProgressCounts } from '../bench/progress.js';
import { DynamoThrottleProxy } from './dynamo-throttle.js';
import { PROJECT, SPACE, buildPlan, resolveTemplates, type PlannedRequest, type Seeded } from './plan.js';
import type { ChaosSettings } from './settings.js';
import { WorkerProcess } from './worker-process.js';

const TERMINAL = new Set(['completed', 'failed', 'dead']);

export interface ChaosRunResult {
  settings: ChaosSettings;
  verdict: ChaosVerdict;
  /** What happened when, as offsets from the first submit. */
  timeline: string[];
  /** From the first submit until every request had ended (or the drain timed out). */
  durationMs: number;
  /** The simulator's own counters of what it injected. */
  injected: Record<string, number>;
  /** Calls to Atlassian per 10 s from the first submit: `+<s> s: <calls> (<status> ×n, …)`. */
  callsPer10s: string[];
}

export function chaosConfig(s: ChaosSettings): RiqConfig {
  const service = { ratePerMinute: s.riqRatePerMinute, burst: s.riqBurst };
  return resolveConfig({
    stage: 'local',
    namePrefix: 'riqchaos',
    services: { jira: service, confluence: service },
    breaker: s.breaker,
    upstream: { timeoutMs: s.upstreamTimeoutMs },
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface View {
  token?: string;
  status?: string;
  attempts?: number;
  result?: Record<string, unknown>;
  /** A result too large to answer inline: a presigned GET of its JSON. */
  result_url?: string;
  error?: { code?: string };
}

/** Where a view says a request stands: its status, with its error code and attempts when given. */
function finalOf(status: string, view: View): NonNullable<RequestOutcome['final']> {
  return {
    status,
    ...(view.error?.code ? { errorCode: view.error.code } : {}),
    ...(view.attempts !== undefined ? { attempts: view.attempts } : {}),
  };
}

class Api {
  constructor(readonly url: string) {}

  async submit(body: unknown): Promise<{ status: number; view: View; error?: string }> {
    try {
      const res = await fetch(`${this.url}/api/queue/submit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      const view = (await res.json()) as View;
      return { status: res.status, view, ...(res.ok ? {} : { error: view.error?.code ?? 'no code' }) };
    } catch (err) {
      return { status: 0, view: {}, error: String(err) };
    }
  }

  async result(token: string, waitSeconds = 0): Promise<View | undefined> {
    try {
      const res = await fetch(`${this.url}/api/queue/result/${token}?wait=${waitSeconds}`, {
        signal: AbortSignal.timeout((waitSeconds + 30) * 1000),
      });
      return res.status === 200 ? ((await res.json()) as View) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until the request ends (or the deadline passes): its last view, and its result (inline or
   * from its `result_url`) when it completed.
   */
  async ended(token: string, deadline: number): Promise<{ view?: View; result?: Record<string, unknown> }> {
    let view: View | undefined;
    while (Date.now() < deadline) {
      view = (await this.result(token, 20)) ?? view;
      if (view?.status === 'completed') {
        if (view.result) return { view, result: view.result };
        if (!view.result_url) return { view };
        const res = await fetch(view.result_url, { signal: AbortSignal.timeout(60_000) });
        return res.ok ? { view, result: (await res.json()) as Record<string, unknown> } : { view };
      }
      if (view && TERMINAL.has(String(view.status))) return { view };
    }
    return view ? { view } : {};
  }

  async deadTokens(): Promise<string[]> {
    const tokens: string[] = [];
    let cursor: string | null = null;
    do {
      const query = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await fetch(`${this.url}/api/queue/dead-letters?${query}`);
      if (!res.ok) throw new Error(`dead-letter listing answered ${res.status}: ${await res.text()}`);
      const page = (await res.json()) as { dead_letters: { token: string }[]; next_cursor: string | null };
      tokens.push(...page.dead_letters.map((d) => d.token));
      cursor = page.next_cursor;
    } while (cursor);
    return tokens;
  }
}

/** Creates the objects the plan reads and updates, through RIQ, before any fault. */
async function seed(api: Api, s: ChaosSettings, run: string): Promise<Seeded> {
  const create = async (operation: string, payload: Record<string, unknown>, field: string) => {
    const submitted = await api.submit({ operation, payload, priority: 'high' });
    const token = submitted.view.token;
    if (!token) throw new Error(`seeding ${operation}: submit answered ${submitted.status}`);
    for (let view: View | undefined = submitted.view; ; view = await api.result(token, 20)) {
      if (view?.status === 'completed') return String(view.result?.[field]);
      if (view && TERMINAL.has(String(view.status))) throw new Error(`seeding ${operation}: ${view.status}`);
    }
  };
  const issueKeys: string[] = [];
  const pageIds: string[] = [];
  for (let i = 0; i < s.seededIssues; i++) {
    issueKeys.push(
      await create('jira.create_task', { project_id: PROJECT, title: `seeded ${run} ${i}` }, 'key'),
    );
  }
  for (let i = 0; i < s.seededPages; i++) {
    pageIds.push(
      await create(
        'confluence.create_page',
        { space_id: SPACE, title: `seeded ${run} ${i}`, content: '<p>seeded</p>' },
        'id',
      ),
    );
  }
  return { issueKeys, pageIds };
}

function serviceOfPath(path: string): Service | undefined {
  if (path.startsWith('/ex/jira/')) return 'jira';
  if (path.startsWith('/ex/confluence/')) return 'confluence';
  return undefined;
}

export async function runChaos(
  s: ChaosSettings,
  options: {
    logDir: string;
    log: (message: string) => void;
    /** Receives the counts so far every half second, for a status line. */
    progress?: (counts: Omit<ProgressCounts, 'label'>) => void;
  },
): Promise<ChaosRunResult> {
  const { log } = options;
  const tally: Tally = { phase: 'starting', submitted: 0, total: 0 };
  let stopProgress = (): void => undefined;
  const run = Date.now().toString(36);
  const runDir = mkdtempSync(join(tmpdir(), 'riq-chaos-'));
  const sim = await startAtlassianSimulator({ port: 0, ...SIMULATOR_CREDENTIALS });
  if (options.progress) stopProgress = reportProgress(sim.state, tally, options.progress);
  const control = new SimulatorControl(sim.url);
  let stack: LocalStack | undefined;
  const workers: WorkerProcess[] = [];
  // DynamoDB's throttling, on the wire: one front for the API process, one for the worker processes.
  const fronts: { api?: DynamoThrottleProxy; workers?: DynamoThrottleProxy } = {};
  let workerDynamoEndpoint = '';
  try {
    await control.quiet();
    stack = await startLocalStack({
      config: chaosConfig(s),
      apiPort: 0,
      atlassian: {
        ...simulatorConnectionEnv(sim.url, 'oauth'),
        // Shared by the API process and the worker processes: each refresh rotates the token.
        [RUNTIME_ENV.atlassianOAuthTokenFile]: join(runDir, 'oauth-token.json'),
      },
      startWorkers: false,
      sweepIntervalMs: s.sweepIntervalMs,
      log,
      frontDynamoDb: async (dynamoLocal) => {
        fronts.api = new DynamoThrottleProxy(dynamoLocal);
        fronts.workers = new DynamoThrottleProxy(dynamoLocal);
        workerDynamoEndpoint = await fronts.workers.start();
        return fronts.api.start();
      },
    });
    const localStack = stack;
    for (const service of ['jira', 'confluence'] as const) {
      const keys = allQueueKeys().filter((k) => parseQueueKey(k).service === service);
      workers.push(
        new WorkerProcess(
          service,
          keys,
          stack.queueArns,
          join(options.logDir, `chaos-worker-${service}.log`),
          { AWS_ENDPOINT_URL_DYNAMODB: workerDynamoEndpoint },
        ),
      );
    }
    await Promise.all(workers.map((w) => w.start()));
    const api = new Api(stack.url);
    tally.phase = 'seeding';
    const seeded = await seed(api, s, run);
    const plan = buildPlan({
      run,
      requests: s.requests,
      submitSeconds: s.submitSeconds,
      seed: s.seed,
      seeded,
    });
    log(
      `seeded ${seeded.issueKeys.length} issues and ${seeded.pageIds.length} pages; ${plan.length} requests planned`,
    );

    await control.configure({
      latency_ms: s.faults.latencyMs,
      search_index_lag_ms: s.faults.searchIndexLagMs,
      rate_limit: { rate_per_second: s.simulatorRate.perSecond, burst: s.simulatorRate.burst },
      error_rate: s.faults.errorRate,
      timeout_rate: s.faults.timeoutRate,
      hang_next: s.faults.hangFirst,
      hang_ms: s.faults.hangMs,
      drop_after_commit_rate: s.faults.dropAfterCommitRate,
      seed: s.seed,
    });
    const callsBefore = (await control.stats()).calls.length;
    const t0 = Date.now();
    const at = (ms: number) => sleep(t0 + ms - Date.now());
    const timeline: string[] = [];
    const note = (what: string) => {
      const line = `+${((Date.now() - t0) / 1000).toFixed(1)} s  ${what}`;
      timeline.push(line);
      log(line);
    };
    note(`faults on: ${JSON.stringify(s.faults)}`);

    const stormWindow = { from: 0, to: 0 };
    const outageWindow = { from: t0 + s.outage.atMs, to: t0 + s.outage.atMs + s.outage.durationMs };
    const events: Promise<void>[] = [
      at(s.storm.atMs).then(async () => {
        stormWindow.from = Date.now();
        const rule = await control.addFault({
          path: '^/ex/',
          status: 429,
          retry_after: s.storm.retryAfterSeconds,
          headers: { 'RateLimit-Reason': 'jira-burst-based' },
        });
        note(`429 storm: every call answered 429 (Retry-After ${s.storm.retryAfterSeconds} s)`);
        await sleep(s.storm.durationMs);
        await control.removeFault(rule);
        stormWindow.to = Date.now();
        note(`429 storm over`);
      }),
      at(s.outage.atMs).then(async () => {
        outageWindow.from = Date.now();
        outageWindow.to = outageWindow.from + s.outage.durationMs;
        await control.startOutage({ duration_ms: s.outage.durationMs });
        note(`outage: every route answers 503 for ${s.outage.durationMs / 1000} s`);
      }),
      at(s.expireTokenAtMs).then(async () => {
        const expired = await control.expireAuth();
        note(`token expiry: ${expired.access_tokens_revoked} OAuth access tokens revoked`);
      }),
      at(s.sqsRestartAtMs).then(async () => {
        await localStack.restartSqs();
        note('SQS emulator restarted: every queued message lost');
      }),
      ...s.dynamoThrottle.bursts.map((burst) =>
        at(burst.atMs).then(async () => {
          const { rate } = s.dynamoThrottle;
          fronts.api!.startThrottling({ operations: s.dynamoThrottle.apiOperations, rate });
          fronts.workers!.startThrottling({ operations: s.dynamoThrottle.workerOperations, rate });
          note(`DynamoDB throttling: ${rate * 100} % of requests refused for ${burst.durationMs / 1000} s`);
          await sleep(burst.durationMs);
          fronts.api!.stopThrottling();
          fronts.workers!.stopThrottling();
          note('DynamoDB throttling over');
        }),
      ),
      ...s.workerKillsAtMs.map((ms, i) =>
        at(ms).then(async () => {
          const worker = workers[i % workers.length]!;
          await worker.kill();
          note(`worker process ${worker.name} killed (SIGKILL)`);
          await sleep(s.workerDownMs);
          await worker.start();
          note(`worker process ${worker.name} started again`);
        }),
      ),
    ];

    const bigPage = at(s.bigPage.atMs).then(() => bigPageRoundTrip(api, s, run, note));
    tally.phase = 'submitting';
    tally.total = plan.length;
    const outcomes = await submitAll(api, plan, at, tally);
    note(`all ${plan.length} requests submitted`);
    await Promise.all(events);
    await at(s.faultsEndAtMs);
    const faultsNow = await control.stats();
    await control.clearFaults();
    await control.configure({
      error_rate: 0,
      timeout_rate: 0,
      hang_next: 0,
      drop_after_commit_rate: 0,
      outage: null,
    });
    note('faults off; draining');
    tally.phase = 'draining';

    const drainDeadline = Date.now() + s.drainTimeoutMs;
    await drain(api, outcomes, drainDeadline, log, tally);
    tally.phase = 'checking';
    const durationMs = Date.now() - t0;
    note(
      outcomes.every((o) => !o.token || TERMINAL.has(o.final?.status ?? ''))
        ? 'every request ended'
        : 'drain timed out',
    );

    const big = await bigPage;
    outcomes.push(...big.outcomes);
    const strays = await sendStrayCopies(api, outcomes, localStack, control, note);

    const stats = await control.stats();
    const calls = stats.calls.slice(callsBefore, strays.callsBefore);
    const outageCalls: Record<string, number> = {};
    for (const c of calls) {
      const service = serviceOfPath(c.path);
      if (service && c.status === 503 && c.at >= outageWindow.from && c.at <= outageWindow.to + 1_000) {
        outageCalls[service] = (outageCalls[service] ?? 0) + 1;
      }
    }
    const verdict = judge({
      settings: s,
      outcomes,
      deadListed: await api.deadTokens(),
      objects: await control.objects(),
      outageCalls,
      tooManyRequests: {
        total: calls.filter((c) => c.status === 429).length,
        // The storm's rule answers before the simulator's own rate limit: every 429 in its window.
        injected: calls.filter((c) => c.status === 429 && c.at >= stormWindow.from && c.at <= stormWindow.to)
          .length,
        byReason: stats.rate_limited_by_reason,
      },
      upstreamCalls: calls.filter((c) => serviceOfPath(c.path)).length,
      strays,
      bigPage: big.check,
    });
    return {
      settings: s,
      verdict,
      timeline,
      durationMs,
      injected: {
        ...injectedCounters(faultsNow, stats, workers),
        ...throttledCounters(fronts.api, fronts.workers),
      },
      callsPer10s: histogram(
        calls.filter((c) => serviceOfPath(c.path)),
        t0,
      ),
    };
  } finally {
    stopProgress();
    await Promise.all(workers.map((w) => w.stop()));
    await stack?.stop();
    await fronts.api?.stop();
    await fronts.workers?.stop();
    await sim.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** The calls per 10 s window, with their statuses (0: the connection was dropped). */
function histogram(calls: readonly { at: number; status: number }[], t0: number): string[] {
  const windows = new Map<number, Map<number, number>>();
  for (const c of calls) {
    const w = Math.floor((c.at - t0) / 10_000);
    const byStatus = windows.get(w) ?? new Map<number, number>();
    byStatus.set(c.status, (byStatus.get(c.status) ?? 0) + 1);
    windows.set(w, byStatus);
  }
  return [...windows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([w, byStatus]) => {
      const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
      const parts = [...byStatus.entries()].sort(([a], [b]) => a - b).map(([st, n]) => `${st}×${n}`);
      return `+${String(w * 10).padStart(4)} s: ${String(total).padStart(4)} calls (${parts.join(', ')})`;
    });
}

function injectedCounters(
  atFaultsEnd: SimulatorStats,
  atEnd: SimulatorStats,
  workers: WorkerProcess[],
): Record<string, number> {
  return {
    errors_503: atFaultsEnd.errors_injected,
    timeouts: atFaultsEnd.timeouts_injected,
    dropped_after_commit: atFaultsEnd.dropped_after_commit,
    outage_rejected: atFaultsEnd.outage_rejected,
    oauth_refreshes: atEnd.oauth_refreshes,
    worker_kills: workers.reduce((n, w) => n + w.kills, 0),
  };
}

/**
 * A page of `s.bigPage.bytes` created, then updated with another body of that size, then read back
 * fresh, through RIQ while the faults run: the read must answer the update's body, whole.
 */
async function bigPageRoundTrip(
  api: Api,
  s: ChaosSettings,
  run: string,
  note: (what: string) => void,
): Promise<{ outcomes: RequestOutcome[]; check: BigPageCheck }> {
  const deadline = Date.now() + s.drainTimeoutMs;
  const marker = `chaos-${run}-big-page`;
  const body = (fill: string) => `<p>${fill.repeat(s.bigPage.bytes - 7)}</p>`;
  const outcomes: RequestOutcome[] = [];
  const step = async (operation: OperationName, payload: Record<string, unknown>, extra = {}) => {
    const submitted = await api.submit({ operation, payload, priority: 'normal', ...extra });
    const outcome: RequestOutcome = {
      index: -1 - outcomes.length,
      operation,
      priority: 'normal',
      submitStatus: submitted.status,
      ...(submitted.error ? { submitError: submitted.error } : {}),
      ...(submitted.view.token ? { token: submitted.view.token } : {}),
      ...(submitted.view.status ? { final: finalOf(submitted.view.status, submitted.view) } : {}),
    };
    outcomes.push(outcome);
    if (!outcome.token) return { outcome, result: undefined };
    const { view, result } = await api.ended(outcome.token, deadline);
    if (view?.status) outcome.final = finalOf(view.status, view);
    return { outcome, result };
  };
  const check: BigPageCheck = { bytes: s.bigPage.bytes, readBack: 'not read' };
  const created = await step('confluence.create_page', {
    space_id: SPACE,
    title: marker,
    content: body('a'),
  });
  created.outcome.creates = { kind: 'page', marker };
  note(`big page: a ${s.bigPage.bytes}-byte page created (${created.outcome.final?.status ?? 'no answer'})`);
  const pageId = created.result?.['id'];
  if (typeof pageId !== 'string') {
    check.readBack = `not read: the create ended ${created.outcome.final?.status ?? 'without an answer'}`;
    return { outcomes, check };
  }
  const updated = await step('confluence.update_page', { page_id: pageId, content: body('b') });
  if (!updated.result) {
    check.readBack = `not read: the update ended ${updated.outcome.final?.status ?? 'without an answer'}`;
    return { outcomes, check };
  }
  const read = await step('confluence.get_page', { page_id: pageId }, { fresh: true });
  const text = read.result?.['body'];
  check.readBack =
    typeof text !== 'string'
      ? 'no body'
      : text === body('b')
        ? 'whole'
        : `${text.length} bytes, not the update's ${s.bigPage.bytes}`;
  note(`big page: updated and read back fresh: ${check.readBack}`);
  return { outcomes, check };
}

/** DynamoDB requests the fronts answered as throttled, per operation. */
function throttledCounters(...fronts: Array<DynamoThrottleProxy | undefined>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const front of fronts) {
    for (const [operation, n] of Object.entries(front?.throttled() ?? {})) {
      counts[`dynamodb_throttled_${operation}`] = (counts[`dynamodb_throttled_${operation}`] ?? 0) + n;
    }
  }
  return counts;
}

/**
 * Once every request has ended: a stray copy of each one's message (a late duplicate, a sweeper
 * re-send) is sent to its work queue. The workers must acknowledge them all without calling
 * Atlassian or changing any record; the copies' effect is read back once the queues are empty.
 */
async function sendStrayCopies(
  api: Api,
  outcomes: readonly RequestOutcome[],
  stack: LocalStack,
  control: SimulatorControl,
  note: (what: string) => void,
): Promise<StrayCopies & { callsBefore: number }> {
  const ended = outcomes.filter((o) => o.token && o.final && TERMINAL.has(o.final.status));
  const stateOf = async (token: string) => {
    const view = await api.result(token);
    return view ? `${String(view.status)}/${view.attempts ?? '-'}` : 'unreadable';
  };
  const before = new Map<string, string>();
  for (const o of ended) before.set(o.token!, await stateOf(o.token!));
  const client = sqsClient();
  try {
    const queue = new SqsWorkQueue(client, stack.queueUrls);
    const callsBefore = (await control.stats()).calls.length;
    for (const o of ended) {
      await queue.send(queueKey(serviceOf(o.operation as OperationName), o.priority as never), o.token!);
    }
    note(`stray copies: one message sent again for each of the ${ended.length} ended requests`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const depths = await Promise.all(
        Object.values(stack.queueUrls).map((url) => queueDepthAt(client, url)),
      );
      if (depths.every((d) => totalMessages(d) === 0) || Date.now() > deadline) break;
      await sleep(1_000);
    }
    const changed: string[] = [];
    for (const o of ended) {
      const was = before.get(o.token!)!;
      const now = await stateOf(o.token!);
      if (now !== was) changed.push(`request ${o.index} (${o.token}): ${was} became ${now}`);
    }
    const callsAfter = (await control.stats()).calls.length - callsBefore;
    note(`stray copies consumed: ${changed.length} records changed, ${callsAfter} calls to Atlassian`);
    return { sent: ended.length, changed, callsAfter, callsBefore };
  } finally {
    client.destroy();
  }
}

/** What the run has done so far, for its status line. */
interface Tally {
  phase: string;
  submitted: number;
  total: number;
  /** Requests not ended yet, known once the drain has read them. */
  open?: number;
}

/** Reports the tally and the simulator's counts every half second; answers the stop. */
function reportProgress(
  state: { stats(): { calls: readonly unknown[]; rate_limited: number } },
  tally: Tally,
  progress: (counts: Omit<ProgressCounts, 'label'>) => void,
): () => void {
  const timer = setInterval(() => {
    const stats = state.stats();
    progress({
      phase: tally.phase,
      done: tally.open === undefined ? tally.submitted : tally.total - tally.open,
      total: tally.total,
      calls: stats.calls.length,
      http429: stats.rate_limited,
    });
  }, 500);
  timer.unref();
  return () => clearInterval(timer);
}

/** Submits the plan on its schedule; a chain's step waits for its parents' tokens. */
async function submitAll(
  api: Api,
  plan: readonly PlannedRequest[],
  at: (ms: number) => Promise<void>,
  tally: Tally,
): Promise<RequestOutcome[]> {
  const tokens = plan.map(() => {
    let settle!: (token: string | undefined) => void;
    const promise = new Promise<string | undefined>((resolve) => (settle = resolve));
    return { promise, settle };
  });
  return Promise.all(
    plan.map(async (r): Promise<RequestOutcome> => {
      const outcome: RequestOutcome = {
        index: r.index,
        operation: r.operation,
        priority: r.priority,
        submitStatus: 0,
        ...(r.creates ? { creates: r.creates } : {}),
      };
      try {
        await at(r.atMs);
        const parents = await Promise.all(r.dependsOn.map((i) => tokens[i]!.promise));
        if (parents.some((t) => t === undefined)) {
          outcome.submitError = 'not sent: a parent was not accepted';
          return outcome;
        }
        const byIndex = new Map(r.dependsOn.map((i, n) => [i, parents[n]!]));
        const body = {
          operation: r.operation,
          payload: resolveTemplates(r.payload, (i) => byIndex.get(i)!),
          priority: r.priority,
          ...(parents.length > 0 ? { depends_on: parents } : {}),
          ...(r.idempotencyKey ? { idempotency_key: r.idempotencyKey } : {}),
          ...(r.fresh ? { fresh: true } : {}),
          ...(r.fireAndForget ? { fire_and_forget: true } : {}),
        };
        const first = await api.submit(body);
        tally.submitted++;
        outcome.submitStatus = first.status;
        if (first.error) outcome.submitError = first.error;
        if (first.view.token) outcome.token = first.view.token;
        if (first.view.status === 'cached') outcome.cached = true;
        // An answer that is already the end (completed, cached, failed) is kept with its error code.
        if (first.view.status) outcome.final = finalOf(first.view.status, first.view);
        tokens[r.index]!.settle(outcome.token);
        if (r.resubmitAfterMs !== undefined) {
          await new Promise((resolve) => setTimeout(resolve, r.resubmitAfterMs));
          const again = await api.submit(body);
          outcome.resubmit = {
            status: again.status,
            ...(again.view.token ? { token: again.view.token } : {}),
          };
        }
      } finally {
        tokens[r.index]!.settle(outcome.token);
      }
      return outcome;
    }),
  );
}

/** Reads every unfinished request until all have ended or the deadline passes. */
async function drain(
  api: Api,
  outcomes: RequestOutcome[],
  deadline: number,
  log: (message: string) => void,
  tally: Tally,
): Promise<void> {
  for (;;) {
    const open = outcomes.filter((o) => o.token && !TERMINAL.has(o.final?.status ?? ''));
    if (open.length === 0) return;
    for (let i = 0; i < open.length; i += 20) {
      await Promise.all(
        open.slice(i, i + 20).map(async (o) => {
          const view = await api.result(o.token!);
          if (!view) return;
          o.final = finalOf(String(view.status), view);
        }),
      );
    }
    const still = outcomes.filter((o) => o.token && !TERMINAL.has(o.final?.status ?? '')).length;
    tally.open = still;
    if (still === 0) return;
    if (Date.now() >= deadline) return;
    log(`draining: ${still} requests not ended yet`);
    await sleep(5_000);
  }
}
