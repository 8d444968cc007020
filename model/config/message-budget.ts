/**
 * How long one message of a worker batch may take at most: what the worker must have left before
 * it starts another message (lambdas/worker/handler.ts), and what a worker's timeout must hold
 * (model/config/riq-config.ts). Pure and free of imports, so the config may use it.
 */

/**
 * The HTTP calls one attempt makes at most on the paths that write: `jira.transition_task` reads the
 * issue, lists its transitions and posts one; a retried create or comment looks up before writing;
 * `confluence.update_page` reads the version and writes. Searches that follow more pages, a page
 * update that meets a version conflict and a comment reconcile scan can make more.
 */
export const CALLS_PER_ATTEMPT = 3;

/**
 * The longest a message waits in the invocation for its rate slot (config
 * `rateControl.slotWaitMs` is at most this), all its waits together.
 */
export const MAX_SLOT_WAIT_MS = 1_000;

/**
 * Room for what a message does besides its calls: claim, gate, call record, settle, cache and
 * dependents in DynamoDB, the SQS send of a deferral or retry (2 s), and its wait for a rate slot.
 */
export const MESSAGE_MARGIN_MS = 2_000 + MAX_SLOT_WAIT_MS;

/** One message's budget: each of its calls may use the whole HTTP timeout, plus the margin. */
export function messageBudgetMs(upstreamTimeoutMs: number): number {
  return upstreamTimeoutMs * CALLS_PER_ATTEMPT + MESSAGE_MARGIN_MS;
}
