/**
 * Whether a worker may start the next message of its batch before its function times out.
 *
 * A message started with less time left than it may take (`messageBudgetMs`, model/config/message-budget.ts)
 * can be cut off by the Lambda timeout: the invocation fails, and every message of the batch, the
 * ones never started included, comes back after the visibility timeout with a receive spent, which
 * moves it towards the dead-letter queue (`maxReceiveCount`) without a real attempt. So the worker
 * stops starting messages when less than the budget is left, and hands the rest back untouched.
 */
import { messageBudgetMs } from '../../../model/config/message-budget.js';

export interface BatchClock {
  /** The Lambda context's remaining time, ms. */
  remainingMs: number;
  /** The HTTP timeout of one call to Atlassian (`upstream.timeoutMs`). */
  upstreamTimeoutMs: number;
  /** Messages of this invocation already started. */
  started: number;
}

/**
 * The first message always starts: handing it back would only deliver it again into the same
 * situation (the config guarantees one message's budget fits a whole invocation). Any later one
 * starts only while its budget still fits the time left.
 */
export function mayStartMessage(clock: BatchClock): boolean {
  return clock.started === 0 || clock.remainingMs >= messageBudgetMs(clock.upstreamTimeoutMs);
}
