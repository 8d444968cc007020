/** What local/worker-host.ts reads besides the local stack's own variables, and what it prints. */
export const WORKER_HOST_READY = 'worker-host ready';
/** Comma-separated queue keys to poll, e.g. `jira-high,jira-normal,jira-low`. */
export const WORKER_QUEUES_ENV = 'RIQ_WORKER_QUEUES';
/** JSON map of queue key → ARN (the event records carry it). */
export const WORKER_QUEUE_ARNS_ENV = 'RIQ_WORKER_QUEUE_ARNS';
