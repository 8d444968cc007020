/**
 * System (b), the approach of seed 004: every caller calls Atlassian itself, through a retry policy
 * wrapped around an in-process circuit breaker (cockatiel), with no queue and no rate limiter.
 * The HTTP layer is RIQ's own (AtlassianExecutor → JiraAdapter → AtlassianHttpClient), so the calls,
 * their per-call timeout and their error classification are the ones RIQ's workers make.
 */
import {
  CircuitState,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  noJitterGenerator,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IBreaker,
} from 'cockatiel';
import type { CreateTaskInput, GetTaskInput } from '../../lambdas/adapters/atlassian/jira-adapter.js';
import { AtlassianExecutor } from '../../lambdas/adapters/atlassian/operation-executor.js';
import { RiqError } from '../../model/errors.js';
import { SIMULATOR_CREDENTIALS } from '../../local/stack.js';
import { SETTINGS, runOpenLoop, type SystemRun, type WorkItem } from '../workload.js';

/**
 * RIQ's breaker rule in cockatiel's terms: it opens when `threshold` failures fall within
 * `windowMs` (successes do not reset the count, as in lambdas/core/domain/breaker.ts). Cockatiel's own
 * ConsecutiveBreaker would reset on every success and, at a 10 % error rate, almost never open.
 */
export class WindowBreaker implements IBreaker {
  state: number[] = [];

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
  ) {}

  success(): void {
    // A success in closed state changes nothing; cockatiel closes the circuit after a good probe.
  }

  failure(state: CircuitState): boolean {
    const now = Date.now();
    if (state === CircuitState.HalfOpen) return true;
    this.state = [...this.state.filter((t) => now - t < this.windowMs), now].slice(-this.threshold);
    const open = this.state.length >= this.threshold;
    if (open) this.state = [];
    return open;
  }
}

/** What a retry may help with: RIQ's retryable codes (429, 5xx, timeouts, dropped connections). */
export function isRetryable(err: Error): boolean {
  if (err instanceof RiqError) return err.retryable;
  return isBrokenCircuitError(err);
}

/** What says the service is unwell: RIQ counts neither a 429 nor an auth problem (they are neutral). */
export function isServiceFailure(err: Error): boolean {
  return (
    err instanceof RiqError && err.retryable && err.code !== 'RATE_LIMITED' && err.code !== 'AUTH_FAILED'
  );
}

/** The shared breaker: 5 failures within 60 s open it for 15 s. */
export function sharedBreaker(): CircuitBreakerPolicy {
  return circuitBreaker(handleWhen(isServiceFailure), {
    halfOpenAfter: SETTINGS.breakerRecoveryMs,
    breaker: new WindowBreaker(SETTINGS.breakerFailures, SETTINGS.breakerWindowMs),
  });
}

/** RIQ's HTTP layer pointed at the simulator with its credentials and the shared per-call timeout. */
export function simulatorExecutor(simUrl: string): AtlassianExecutor {
  return new AtlassianExecutor({
    jiraBaseUrl: simUrl,
    confluenceBaseUrl: `${simUrl}/wiki`,
    auth: { email: SIMULATOR_CREDENTIALS.email, apiToken: SIMULATOR_CREDENTIALS.apiToken },
    timeoutMs: SETTINGS.callTimeoutMs,
  });
}

/**
 * One call through RIQ's Jira adapter, without a request token: the approach has no idempotency
 * marker, so a retried create whose first answer was lost is a second create.
 */
export function callJira(executor: AtlassianExecutor, item: WorkItem): Promise<unknown> {
  return item.operation === 'jira.create_task'
    ? executor.jira.createTask(item.payload as CreateTaskInput)
    : executor.jira.getTask(item.payload as GetTaskInput);
}

export async function runDirect(
  simUrl: string,
  prepare: () => Promise<readonly WorkItem[]>,
): Promise<SystemRun> {
  const executor = simulatorExecutor(simUrl);
  const breaker = sharedBreaker();
  const retryPolicy = retry(handleWhen(isRetryable), {
    maxAttempts: SETTINGS.attempts - 1,
    backoff: new ExponentialBackoff({
      initialDelay: SETTINGS.backoffBaseMs,
      maxDelay: SETTINGS.backoffMaxMs,
      generator: noJitterGenerator,
    }),
  });
  // Retry outside, breaker inside: every attempt asks the breaker; a refused attempt is retried.
  const policy = wrap(retryPolicy, breaker);
  let opened = 0;
  breaker.onBreak(() => opened++);
  const items = await prepare();
  const { startedAt, outcomes } = await runOpenLoop(items, async (item) => {
    await policy.execute(() => callJira(executor, item));
    return { status: 'completed', doneAt: Date.now() };
  });
  return {
    system: 'direct (cockatiel)',
    startedAt,
    outcomes,
    notes: [
      `no rate limiter and no queue: each of the ${items.length} callers calls when it arrives`,
      `breaker opened ${opened} times`,
    ],
  };
}
