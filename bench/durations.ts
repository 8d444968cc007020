/**
 * The billed durations of the cost arithmetic, measured: the local stack runs the Lambda handlers
 * in this process (local/lambda-invoke.ts times each invocation), and the calls the handlers make to
 * the Atlassian simulator are timed here, so that each invocation splits into RIQ's own work and
 * the time it waited on Atlassian. The own work is priced as measured; Atlassian's answer time is
 * the simulator's configured latency here, so it is priced as an assumption instead.
 *
 * Benchmark-only code: nothing in the product imports it.
 */
import { noteUpstreamWait, observeInvocations, type InvocationTiming } from '../local/lambda-invoke.js';
import { percentile } from './harness.js';

let upstreamPrefixes: string[] = [];
let fetchWrapped = false;

/**
 * Counts the time a handler's `fetch` to a URL under `baseUrl` is in flight as time waiting on
 * Atlassian, until the answer's headers arrive (the body follows at once over loopback; reading it
 * stays in the own work, which is thus an upper bound). Calls made outside an invocation (the
 * benchmark's own requests to the API) are not counted.
 */
export function timeUpstreamCalls(baseUrl: string): void {
  upstreamPrefixes.push(baseUrl.replace(/\/$/, ''));
  if (fetchWrapped) return;
  fetchWrapped = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!upstreamPrefixes.some((p) => url.startsWith(p))) return original(input, init);
    const done = noteUpstreamWait();
    try {
      return await original(input, init);
    } finally {
      done();
    }
  };
}

/** Stops counting calls to any URL (the wrapper stays, passing every call through). */
export function stopTimingUpstreamCalls(): void {
  upstreamPrefixes = [];
}

/** The invocations that settled while it ran, in order. */
export interface InvocationLog {
  readonly timings: InvocationTiming[];
  /** Resolves when the next invocation of a function whose name starts with `prefix` settles. */
  next(prefix: string): Promise<InvocationTiming>;
  stop(): void;
}

export function recordInvocations(): InvocationLog {
  const timings: InvocationTiming[] = [];
  const waiting: Array<{ prefix: string; resolve: (t: InvocationTiming) => void }> = [];
  const stop = observeInvocations((t) => {
    timings.push(t);
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i]!;
      if (!t.functionName.startsWith(w.prefix)) continue;
      waiting.splice(i, 1);
      w.resolve(t);
    }
  });
  return {
    timings,
    next: (prefix) => new Promise((resolve) => waiting.push({ prefix, resolve })),
    stop,
  };
}

/** The own work of a function's invocations, in milliseconds. */
export interface OwnWork {
  samples: number;
  medianMs: number;
  meanMs: number;
  p90Ms: number;
  /** What is priced: the p90 rounded up to Lambda's 1 ms billing granularity. */
  billedMs: number;
  /** Median time waiting on Atlassian (0 for a function that does not call it). */
  upstreamMedianMs: number;
}

/**
 * The own work (duration less the time waiting on Atlassian) of the invocations of `functionName`
 * among `timings`; undefined when there are none. Priced at the p90 rather than the median: a bill
 * sums every invocation, so the figure must not sit below the mean, and on a shared machine a few
 * invocations stall; the p90 stays above the mean unless the slowest tenth is very slow, and is not
 * swayed by the one stall that would move a mean of 40 samples.
 */
export function ownWork(timings: readonly InvocationTiming[], functionName: string): OwnWork | undefined {
  const mine = timings.filter((t) => t.functionName === functionName && !t.timedOut);
  if (mine.length === 0) return undefined;
  const own = mine.map((t) => Math.max(0, t.durationMs - t.upstreamMs));
  const p90 = percentile(own, 0.9);
  return {
    samples: mine.length,
    medianMs: percentile(own, 0.5),
    meanMs: own.reduce((s, x) => s + x, 0) / own.length,
    p90Ms: p90,
    billedMs: Math.max(1, Math.ceil(p90)),
    upstreamMedianMs: percentile(
      mine.map((t) => t.upstreamMs),
      0.5,
    ),
  };
}
