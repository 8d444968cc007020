/**
 * The submit function's wiring: the submit use case's deps from the composition root (root.ts),
 * with adaptive routing's DIRECT path when `routing.direct` is on, and the observer of each submit.
 * The DIRECT path calls and settles exactly as a worker does (call-and-settle.ts), with the short
 * deadline of `routing.directTimeoutMs` (lambdas/core/use-cases/direct-route.ts); off, everything
 * is queued.
 */
import type { Context } from 'aws-lambda';
import { submitFunctionTimeoutSeconds } from '../../model/config/resources.js';
import { directRoute } from '../core/use-cases/direct-route.js';
import type { SubmitDeps } from '../core/use-cases/submit.js';
import { callAndSettleDeps } from './call-and-settle.js';
import { systemClock } from './clock.js';
import { logger } from './logger.js';
import { functionMetrics, observeSubmissions } from './metrics.js';
import * as root from './root.js';

/**
 * What answering `queued` still needs once the DIRECT attempt is no longer waited for: the queue
 * send, the metrics and the log line. Without this bound a DIRECT attempt slowed down (its store and
 * gate calls have no deadline; a saturated CPU slowed DynamoDB) ran into the function's timeout, and
 * middy's early-timeout answer (`TimeoutError: [AbortError]: The operation was aborted.`, 5 ms before
 * the function's) became a 500 for a request that was stored and went on to run.
 */
const DIRECT_ANSWER_RESERVE_MS = 3_000;

export interface SubmitWiring {
  /**
   * The deps of one invocation. With DIRECT calls, the invocation's Lambda context is registered
   * (a DIRECT call's in-progress idempotency record expires with it) and the DIRECT attempt is
   * waited for only while the answer can still be given in time (see DIRECT_ANSWER_RESERVE_MS).
   */
  depsFor(context: Context): SubmitDeps;
  /** Writes the metrics and the log line of a submit. */
  observe: ReturnType<typeof observeSubmissions>;
}

export async function submitWiring(): Promise<SubmitWiring> {
  const config = root.settings();
  /**
   * CloudWatch metrics (EMF in the log, model/config/metrics.ts): those of each submit
   * (lambdas/core/use-cases/submit-answer.ts) and the DIRECT calls' outcomes, as the workers emit them.
   */
  const metrics = functionMetrics('riq-submit', logger);
  // The dead-letter queues only for DIRECT calls, whose last failed attempt is dead-lettered here.
  const queue = config.routing.direct ? root.workQueueWithDeadLetters() : root.workQueue();
  const direct = config.routing.direct
    ? await callAndSettleDeps({
        metrics,
        queue,
        timeoutMs: config.routing.directTimeoutMs,
        functionTimeoutSeconds: submitFunctionTimeoutSeconds(config),
      })
    : undefined;
  const deps: SubmitDeps = {
    store: root.requestStore(),
    queue,
    clock: systemClock,
    config,
    // Large payloads are stored here, large results read or presigned (claim check).
    bodies: root.bodyStore(),
    cache: root.readCache(),
    dependencies: root.dependencyStore(),
    onEnqueueFailure: (token, err) =>
      logger.error('queue send failed after the record was stored; the sweeper will re-enqueue it', {
        token,
        error: err as Error,
      }),
    onCacheFailure: (err) =>
      logger.warn('read cache lookup failed; the read is queued', { error: err as Error }),
    ...(direct
      ? {
          direct: directRoute({
            ...direct.deps,
            timeoutMs: config.routing.directTimeoutMs,
            onQueueFailure: (token, err) =>
              logger.error('queue send after a failed DIRECT call failed; the sweeper re-sends it', {
                token,
                error: err as Error,
              }),
          }),
          slotEarlyMs: config.rateControl.slotWaitMs,
          onDirectFailure: (token, err) =>
            logger.error('DIRECT attempt failed; the request is queued', { token, error: err as Error }),
        }
      : {}),
  };
  return {
    depsFor: (context) => {
      if (!direct) return deps;
      direct.executor.registerLambdaContext(context);
      return { ...deps, directWaitMs: () => context.getRemainingTimeInMillis() - DIRECT_ANSWER_RESERVE_MS };
    },
    observe: observeSubmissions(logger),
  };
}
