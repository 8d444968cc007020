/**
 * Runs a handler as Lambda runs a function: with a fresh context whose remaining time counts down
 * from the function's configured timeout, and a failed invocation once that time is up.
 *
 * Lambda stops a function at its timeout; Node cannot stop a promise, so the handler's late work
 * goes on here in the background (its calls may still land), but its result or error is ignored:
 * whoever invoked it has already seen the invocation fail, as on AWS. A few lines of its own rather
 * than a timeout package: it also builds the Lambda context and reports the ignored late outcome.
 */
import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

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
  return new Promise<R>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new FunctionTimeoutError(fn.functionName, fn.timeoutSeconds));
    }, fn.timeoutSeconds * 1000);
    // A handler that throws synchronously fails the invocation like one that rejects.
    Promise.resolve()
      .then(() => handler(event, context))
      .then(
        (value) => {
          clearTimeout(timer);
          if (timedOut) options.onLate?.({});
          else resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (timedOut) options.onLate?.({ error });
          else reject(error);
        },
      );
  });
}
