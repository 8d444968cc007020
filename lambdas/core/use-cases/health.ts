/** Health use case: queue depths per service and priority, dead letters, and an overall verdict. */
import { PRIORITIES, SERVICES, type Priority, type Service } from '../../../model/config/riq-config.js';
import { queueKey } from '../../../model/config/resources.js';
import { summarizeBreakers, type BreakerSummary } from './breaker-report.js';
import type { BreakerStateName, CircuitBreaker } from '../ports/flow-control.js';
import type { Clock, RequestStore, WorkQueue } from '../ports/index.js';

export interface HealthDeps {
  queue: Pick<WorkQueue, 'depth' | 'deadLetterDepth'>;
  store: Pick<RequestStore, 'countByStatus'>;
  /** Read only: the health check never moves a breaker. */
  breaker: Pick<CircuitBreaker, 'view'>;
  clock: Clock;
}

interface QueueView {
  visible: number;
  in_flight: number;
  delayed: number;
  dead_letter_queue: number;
}

export interface HealthReport {
  /** `degraded` while a breaker is open or anything waits for an operator (dead letters). */
  status: 'healthy' | 'degraded';
  timestamp: string;
  reasons: string[];
  services: Record<Service, { circuit_breaker: BreakerStateName; queues: Record<Priority, QueueView> }>;
  circuit_breakers: BreakerSummary;
  dead_letters: number;
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
          if (dlq > 0) reasons.push(`${dlq} message(s) in the ${key} dead-letter queue`);
        }),
      );
      const breaker = breakers.find((b) => b.service === service)?.state ?? 'closed';
      services[service] = { circuit_breaker: breaker, queues };
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
  };
}
