/** Health use case: queue depths per service and priority, dead letters, and an overall verdict. */
import { PRIORITIES, SERVICES, type Priority, type Service } from '../../lib/config/riq-config.js';
import { queueKey } from '../../lib/config/resources.js';
import type { Clock, RequestStore, WorkQueue } from './ports.js';

export interface HealthDeps {
  queue: Pick<WorkQueue, 'depth' | 'deadLetterDepth'>;
  store: Pick<RequestStore, 'countByStatus'>;
  clock: Clock;
}

interface QueueView {
  visible: number;
  in_flight: number;
  delayed: number;
  dead_letter_queue: number;
}

export interface HealthReport {
  /** `degraded` while anything waits for an operator (dead letters). */
  status: 'healthy' | 'degraded';
  timestamp: string;
  reasons: string[];
  services: Record<Service, { queues: Record<Priority, QueueView> }>;
  dead_letters: number;
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const services = {} as HealthReport['services'];
  const reasons: string[] = [];
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
      services[service] = { queues };
    }),
  );
  const deadLetters = await deps.store.countByStatus('dead');
  if (deadLetters > 0) reasons.push(`${deadLetters} dead request(s) wait for an operator`);
  return {
    status: reasons.length > 0 ? 'degraded' : 'healthy',
    timestamp: new Date(deps.clock.now()).toISOString(),
    reasons: reasons.sort(),
    services,
    dead_letters: deadLetters,
  };
}
