/**
 * System (a): RIQ's local stack (DynamoDB Local, the SQS emulator, the API and worker handlers in
 * this process) in front of the shared simulator. Each request is submitted over HTTP and its
 * result awaited with the long poll (`GET /api/queue/result/{token}?wait=20`), as a caller would.
 * The local stack configures itself through `process.env`: run this in its own process.
 */
import { resolveConfig } from '../../model/config/riq-config.js';
import { simulatorConnectionEnv, startLocalStack } from '../../local/stack.js';
import { startProcessProbe } from '../process-probe.js';
import { SETTINGS, runOpenLoop, sleep, type Outcome, type SystemRun, type WorkItem } from '../workload.js';

const TERMINAL = new Set(['completed', 'failed', 'dead']);
const LONG_POLL_SECONDS = 20;

interface View {
  token?: string;
  status?: string;
  routing_path?: string;
  created_at?: string;
  completed_at?: string;
  updated_at?: string;
  error?: { code?: string };
  timeline?: Array<{ at: string; event: string; reason?: string; status_code?: number }>;
}

/** How many of the slowest completed `high` requests the report shows the timeline of. */
const SLOWEST_SHOWN = 3;

/**
 * One request's timeline as a line: each entry's event (with its reason or Atlassian's status) and
 * its offset from the request's arrival.
 */
export function timelineLine(view: View): string {
  const start = Date.parse(view.created_at ?? '');
  return (view.timeline ?? [])
    .map((e) => {
      const offset = Number.isFinite(start) ? `+${((Date.parse(e.at) - start) / 1000).toFixed(2)} s` : e.at;
      const why = e.reason ?? (e.status_code !== undefined ? String(e.status_code) : undefined);
      return `${e.event}${why !== undefined ? ` (${why})` : ''} ${offset}`;
    })
    .join(', ');
}

export function riqConfig(): ReturnType<typeof resolveConfig> {
  return resolveConfig({
    stage: 'local',
    namePrefix: 'riqcmp',
    services: {
      jira: {
        ratePerMinute: SETTINGS.ratePerSecond * 60,
        burst: SETTINGS.burst,
        concurrency: SETTINGS.concurrency,
      },
    },
    retry: {
      maxAttempts: SETTINGS.attempts,
      baseDelaySeconds: SETTINGS.backoffBaseMs / 1000,
      maxDelaySeconds: SETTINGS.backoffMaxMs / 1000,
    },
    breaker: {
      failureThreshold: SETTINGS.breakerFailures,
      windowSeconds: SETTINGS.breakerWindowMs / 1000,
      recoverySeconds: SETTINGS.breakerRecoveryMs / 1000,
    },
    upstream: { timeoutMs: SETTINGS.callTimeoutMs },
  });
}

function ended(view: View, answeredAt: number): Omit<Outcome, 'id' | 'priority' | 'operation' | 'sentAt'> {
  // The record's own end time (same machine clock), so the long poll's own pace is not measured.
  const at = Date.parse(view.completed_at ?? view.updated_at ?? '');
  const doneAt = Number.isFinite(at) ? Math.min(at, answeredAt) : answeredAt;
  if (view.status === 'completed') return { status: 'completed', doneAt };
  return { status: 'failed', doneAt, error: view.error?.code ?? String(view.status) };
}

export async function runRiq(
  simUrl: string,
  prepare: () => Promise<readonly WorkItem[]>,
): Promise<SystemRun> {
  const config = riqConfig();
  const probe = startProcessProbe();
  const stack = await startLocalStack({
    config,
    apiPort: 0,
    atlassian: simulatorConnectionEnv(simUrl, 'api_token'),
    sweepIntervalMs: 60_000,
    log: (line) => console.error(line),
  });
  const routes: Record<string, number> = {};
  const tokens = new Map<number, string>();
  try {
    const items = await prepare();
    const { startedAt, outcomes } = await runOpenLoop(items, async (item) => {
      const res = await fetch(`${stack.url}/api/queue/submit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          operation: item.operation,
          payload: item.payload,
          priority: item.priority,
          // Every read reaches Atlassian, as in the other systems (RIQ's read cache would answer
          // most of these repeated reads without a call).
          fresh: true,
        }),
      });
      let view = (await res.json()) as View;
      if (!res.ok || typeof view.token !== 'string') {
        return { status: 'failed', doneAt: Date.now(), error: `submit ${res.status}` };
      }
      routes[String(view.routing_path)] = (routes[String(view.routing_path)] ?? 0) + 1;
      const token = view.token;
      tokens.set(item.id, token);
      while (!TERMINAL.has(String(view.status))) {
        const poll = await fetch(`${stack.url}/api/queue/result/${token}?wait=${LONG_POLL_SECONDS}`);
        if (!poll.ok) {
          await sleep(1000);
          continue;
        }
        view = (await poll.json()) as View;
      }
      return ended(view, Date.now());
    });
    // What the lost requests were doing when the caller gave up: still queued, or stuck?
    const states = new Map<string, number>();
    for (const o of outcomes.filter((x) => x.status === 'lost')) {
      const token = tokens.get(o.id);
      let state = 'submit never answered';
      if (token) {
        const v = (await (await fetch(`${stack.url}/api/queue/result/${token}`)).json()) as View & {
          attempts?: number;
        };
        state = `${String(v.status)} after ${v.attempts ?? '?'} attempt(s)`;
      }
      states.set(state, (states.get(state) ?? 0) + 1);
    }
    // What the slowest `high` requests spent their time on.
    const slowest = outcomes
      .filter((o) => o.priority === 'high' && o.status === 'completed' && o.doneAt !== undefined)
      .sort((a, b) => b.doneAt! - b.sentAt - (a.doneAt! - a.sentAt))
      .slice(0, SLOWEST_SHOWN);
    const slowLines: string[] = [];
    for (const o of slowest) {
      const token = tokens.get(o.id);
      if (token === undefined) continue;
      const v = (await (await fetch(`${stack.url}/api/queue/result/${token}`)).json()) as View;
      slowLines.push(
        `  ${o.operation} ${((o.doneAt! - o.sentAt) / 1000).toFixed(1)} s, ${String(v.routing_path)}: ${timelineLine(v)}`,
      );
    }
    const unfinished = [...states.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([state, n]) => `${n} ${state}`);
    return {
      system: 'RIQ (local stack)',
      startedAt,
      outcomes,
      notes: [
        `routing at submit: ${Object.entries(routes)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        ...(unfinished.length > 0
          ? [`lost = unfinished when the caller gave up; their state then: ${unfinished.join(', ')}`]
          : []),
        ...(slowLines.length > 0 ? ['slowest high requests (timeline from arrival):', ...slowLines] : []),
        `concurrency high/normal/low ${SETTINGS.concurrency.high}/${SETTINGS.concurrency.normal}/${SETTINGS.concurrency.low}, adaptive rate control on (default)`,
        ...probe.stop(),
      ],
    };
  } finally {
    await stack.stop();
  }
}
