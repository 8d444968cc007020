/**
 * Runs a handler as Lambda runs a function: with a fresh context whose remaining time counts down
 * from the function's configured timeout, and a failed invocation once that time is up.
 *
 * Lambda stops a function at its timeout; Node cannot stop a promise, so the handler's late work
 * goes on here in the background (its calls may still land), but its result or error is ignored:
 * whoever invoked it has already seen the invocation fail, as on AWS. A few lines of its own rather
 * than a timeout package: it also builds the Lambda context and reports the ignored late outcome.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

/**
 * One invocation's time, as a benchmark prices it: how long the handler ran (Lambda bills from the
 * handler's start until it settles) and the part of it spent waiting on an upstream service
 * (`noteUpstreamWait`), so that the rest is the function's own work.
 */
export interface InvocationTiming {
  functionName: string;
  /** From the handler's start until it settled, in milliseconds. */
  durationMs: number;
  /** Time during which at least one upstream call of this invocation was in flight, in milliseconds. */
  upstreamMs: number;
  /** The invocation ran past its function's timeout (its duration is then the time it ran). */
  timedOut: boolean;
}

type InvocationObserver = (timing: InvocationTiming) => void;

const observers = new Set<InvocationObserver>();

/** The invocation a piece of async work belongs to, and its upstream calls in flight. */
interface RunningInvocation {
  upstreamMs: number;
  inFlight: number;
  /** performance.now() when the in-flight count last rose from 0. */
  waitingSince: number;
}

const running = new AsyncLocalStorage<RunningInvocation>();

/** Tells `observer` of every invocation that settles from now on; the answer stops it. */
export function observeInvocations(observer: InvocationObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/**
 * Marks the start of an upstream call made by the invocation running in this async context (none:
 * a no-op); the answer marks its end. Overlapping calls count once: what is measured is the time
 * the invocation waited, not the sum of its calls.
 */
export function noteUpstreamWait(): () => void {
  const inv = running.getStore();
  if (inv === undefined) return () => undefined;
  if (inv.inFlight++ === 0) inv.waitingSince = performance.now();
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--inv.inFlight === 0) inv.upstreamMs += performance.now() - inv.waitingSince;
  };
}

export interface FunctionSettings {
  functionName: string;
  /** The function's timeout (model/config/resources.ts `functionTimeoutSeconds`); fractions allowed. */
  timeoutSeconds: number;
}

/** The invocation ran out of its function's time: Lambda's `Task timed out after N seconds`. */
export class FunctionTimeoutError extends Error {
  override readonly name = 'FunctionTimeoutError';
  constructor(
    readonly functionName: string,
    readonly timeoutSeconds: number,
  ) {
    super(`${functionName}: Task timed out after ${timeoutSeconds} seconds`);
  }
}

export interface InvokeOptions {
  /** Told of the result or error of an invocation that had already timed out (it is ignored). */
  onLate?: (outcome: { error?: unknown }) => void;
}

/**
 * The handler's result, or its error; a `FunctionTimeoutError` when it has not settled within the
 * function's timeout.
 */
export function invokeWithTimeout<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  event: E,
  fn: FunctionSettings,
  options: InvokeOptions = {},
): Promise<R> {
  const context = lambdaContext(fn.functionName, fn.timeoutSeconds);
  const inv: RunningInvocation = { upstreamMs: 0, inFlight: 0, waitingSince: 0 };
  const started = performance.now();
  const settled = (timedOut: boolean) => {
    if (observers.size === 0) return;
    const now = performance.now();
    const upstreamMs = inv.upstreamMs + (inv.inFlight > 0 ? now - inv.waitingSince : 0);
    const timing = { functionName: fn.functionName, durationMs: now - started, upstreamMs, timedOut };
    for (const observe of observers) observe(timing);
  };
  return new Promise<R>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new FunctionTimeoutError(fn.functionName, fn.timeoutSeconds));
    }, fn.timeoutSeconds * 1000);
    // A handler that throws synchronously fails the invocation like one that rejects.
    running
      .run(inv, () => Promise.resolve().then(() => handler(event, context)))
      .then(
        (value) => {
          clearTimeout(timer);
          settled(timedOut);
          if (timedOut) options.onLate?.({});
          else resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          settled(timedOut);
          if (timedOut) options.onLate?.({ error });
          else reject(error);
        },
      );
  });
}
