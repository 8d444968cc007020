/**
 * Health use case: queue depths per service and priority, dead letters, each service's budgets
 * (token bucket and hourly points), and an overall verdict.
 */
import { PRIORITIES, SERVICES, type Priority, type Service } from '../../../model/config/riq-config.js';
import { queueKey } from '../../../model/config/resources.js';
import { summarizeBreakers, type BreakerSummary } from './breaker-report.js';
import type { BreakerStateName, CircuitBreaker, RateView, RateViews } from '../ports/flow-control.js';
import type { Clock, RequestStore, WorkQueue } from '../ports/index.js';
import type { PointsView, PointsViews } from '../ports/points-budget.js';

export interface HealthDeps {
  queue: Pick<WorkQueue, 'depth' | 'deadLetterDepth'>;
  store: Pick<RequestStore, 'countByStatus'>;
  /** Read only: the health check never moves a breaker. */
  breaker: Pick<CircuitBreaker, 'view'>;
  /** Read only, like the breaker: viewing a bucket or a budget takes nothing from it. */
  rate: RateViews;
  points: PointsViews;
  clock: Clock;
}

/** A service's two budgets: the token bucket (requests per second) and the hourly points. */
export interface BudgetsView {
  rate: Omit<RateView, 'service'>;
  points: Omit<PointsView, 'service'>;
}

interface QueueView {
  visible: number;
  in_flight: number;
  delayed: number;
  dead_letter_queue: number;
}

export interface HealthReport {
  /**
   * `degraded` while a breaker is open or dead requests (records with status `dead`) wait for an
   * operator. A dead-letter queue's messages are shown but do not degrade it: a request retried by
   * the operator leaves its copy there (a redrive moves copies), and the record says what is dead.
   */
  status: 'healthy' | 'degraded';
  timestamp: string;
  reasons: string[];
  services: Record<Service, { circuit_breaker: BreakerStateName; queues: Record<Priority, QueueView> }>;
  circuit_breakers: BreakerSummary;
  dead_letters: number;
  /** Where each service's budgets stand; they explain waiting, not a fault, so they never degrade. */
  budgets: Record<Service, BudgetsView>;
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const now = deps.clock.now();
  const services = {} as HealthReport['services'];
  const reasons: string[] = [];
  const breakers = await Promise.all(SERVICES.map((s) => deps.breaker.view(s, now)));
  for (const view of breakers) {
    if (view.state === 'open') reasons.push(`the ${view.service} circuit breaker is open`);
  }
  await Promise.all(
    SERVICES.map(async (service) => {
      const queues = {} as Record<Priority, QueueView>;
      await Promise.all(
        PRIORITIES.map(async (priority) => {
          const key = queueKey(service, priority);
          const [depth, dlq] = await Promise.all([deps.queue.depth(key), deps.queue.deadLetterDepth(key)]);
          queues[priority] = {
            visible: depth.visible,
            in_flight: depth.inFlight,
            delayed: depth.delayed,
            dead_letter_queue: dlq,
          };
        }),
      );
      const breaker = breakers.find((b) => b.service === service)?.state ?? 'closed';
      services[service] = { circuit_breaker: breaker, queues };
    }),
  );
  const budgets = {} as HealthReport['budgets'];
  await Promise.all(
    SERVICES.map(async (service) => {
      const [{ service: _r, ...rate }, { service: _p, ...points }] = await Promise.all([
        deps.rate.view(service, now),
        deps.points.view(service, now),
      ]);
      budgets[service] = { rate, points };
    }),
  );
  const deadLetters = await deps.store.countByStatus('dead');
  if (deadLetters > 0) reasons.push(`${deadLetters} dead request(s) wait for an operator`);
  return {
    status: reasons.length > 0 ? 'degraded' : 'healthy',
    timestamp: new Date(now).toISOString(),
    reasons: reasons.sort(),
    services,
    circuit_breakers: summarizeBreakers(breakers),
    dead_letters: deadLetters,
    budgets,
  };
}
