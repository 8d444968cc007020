/**
 * The points budget's side of a call (points-budget.ts): the gate charges the operation's estimate
 * before the call (flow-gate.ts `passFlowControl`), and `PointsMeteredExecutor`, wrapped around the
 * Atlassian executor, settles the estimate against what the call actually cost and feeds every
 * answer's rate-limit headers to the budget. Both sides compute the estimate from the same attempt
 * number, so the settlement gives back exactly what the charge over-counted.
 *
 * The metered executor sits inside the done-once layer (IdempotentExecutor): a result replayed from
 * an earlier attempt makes no call and settles nothing, so its charge stays spent, the safe side.
 * A call that fails settles nothing either (Atlassian counted what it answered); its headers are
 * still observed, a quota 429 most of all.
 *
 * Each call it meters is told to `onMetered` once, for the `PointsSpent` / `PointsRemaining` metrics.
 */
import type { Service } from '../../../model/config/riq-config.js';
import { serviceOf, type OperationName } from '../../../model/operations.js';
import type { RequestRecord } from '../../../model/request-record.js';
import type { CallContext, Clock, OperationExecutor } from '../ports/index.js';
import type { PointsBudget } from '../ports/points-budget.js';
import { signalsConcernPoints } from './points-budget.js';
import { estimatePoints, settlePoints } from './points-cost.js';
import type { RateLimitSignals } from './rate-limit-signals.js';

/**
 * The number a call is made as (`CallContext.attempt`), from the attempt's own number and the calls
 * `record` made before it: after a redrive reset the attempts, the calls made before still count, so
 * a retried write still looks for what an earlier call made. The gate's estimate and the metered
 * executor's settlement both follow from this number, so what one charges the other settles.
 */
export function callAttemptOf(attempt: number, record: Pick<RequestRecord, 'calls'>): number {
  return Math.max(attempt, (record.calls ?? 0) + 1);
}

/** The points the gate charges for a call of `record` made as `attempt` (`callAttemptOf`). */
export function pointsEstimateOf(record: RequestRecord, attempt: number): number {
  return estimatePoints(record.operation, record.payload, { attempt }).points;
}

/** What one metered call spent, and what Atlassian said is left. */
export interface PointsReading {
  service: Service;
  /**
   * The points the budget keeps counted for the call: its actual cost once settled, or the estimate
   * charged for a call that failed (nothing is given back then).
   */
  spent: number;
  /**
   * Atlassian's `r` (`RateLimit`, else `Beta-RateLimit`) from the last answer of the call that gave
   * one, the lowest when it listed several quotas; absent when none did (Atlassian shows `r` only
   * once about 80 % of the quota is spent).
   */
  remaining?: number;
}

export interface PointsMeterOptions {
  budget: PointsBudget;
  clock: Clock;
  /** A settle or observe that failed: the call's outcome stands, the budget refills by itself. */
  onFailure?: (step: 'settle' | 'observe', err: unknown) => void;
  /** Told once per call, after it is settled and its headers observed; a throw is ignored. */
  onMetered?: (reading: PointsReading) => void;
}

export class PointsMeteredExecutor implements OperationExecutor {
  constructor(
    private readonly inner: OperationExecutor,
    private readonly options: PointsMeterOptions,
  ) {}

  async execute(
    operation: OperationName,
    payload: Record<string, unknown>,
    context: CallContext,
  ): Promise<unknown> {
    const answers: RateLimitSignals[] = [];
    const forward = context.onUpstreamSignal;
    const metered: CallContext = {
      ...context,
      onUpstreamSignal: (signal) => {
        if (signal.rateLimit !== undefined && signalsConcernPoints(signal.rateLimit)) {
          answers.push(signal.rateLimit);
        }
        forward?.(signal);
      },
    };
    let result: unknown;
    try {
      result = await this.inner.execute(operation, payload, metered);
    } catch (err) {
      await this.observe(operation, answers);
      const charged = estimatePoints(operation, payload, { attempt: context.attempt ?? 1 }).points;
      this.tell(operation, charged, answers);
      throw err;
    }
    // Settled before the headers are observed: a resync caps the points at Atlassian's `r`, and a
    // give-back after it would lift them above it again.
    const spent = await this.settle(operation, payload, context, result);
    await this.observe(operation, answers);
    this.tell(operation, spent, answers);
    return result;
  }

  /** Settles the call's charge; answers its actual cost. */
  private async settle(
    operation: OperationName,
    payload: Record<string, unknown>,
    context: CallContext,
    result: unknown,
  ): Promise<number> {
    const attempt = context.attempt ?? 1;
    const { giveBack, actual } = settlePoints(operation, payload, result, { attempt });
    if (giveBack === 0) return actual;
    try {
      await this.options.budget.settle(serviceOf(operation), giveBack, this.options.clock.now());
    } catch (err) {
      this.options.onFailure?.('settle', err);
    }
    return actual;
  }

  private tell(operation: OperationName, spent: number, answers: readonly RateLimitSignals[]): void {
    if (!this.options.onMetered) return;
    const remaining = remainingOf(answers);
    try {
      this.options.onMetered({
        service: serviceOf(operation),
        spent,
        ...(remaining !== undefined ? { remaining } : {}),
      });
    } catch {
      // Metrics must not turn an answered call into a failed one.
    }
  }

  private async observe(operation: OperationName, answers: readonly RateLimitSignals[]): Promise<void> {
    for (const signals of answers) {
      try {
        await this.options.budget.observe(serviceOf(operation), signals, this.options.clock.now());
      } catch (err) {
        this.options.onFailure?.('observe', err);
        return;
      }
    }
  }
}

/** The lowest `r` of the last answer that gave one (see PointsReading). */
export function remainingOf(answers: readonly RateLimitSignals[]): number | undefined {
  for (let i = answers.length - 1; i >= 0; i--) {
    const left = answers[i]!.statuses.flatMap((s) => (s.remaining !== undefined ? [s.remaining] : []));
    if (left.length > 0) return Math.min(...left);
  }
  return undefined;
}
