/**
 * The workers of a local stack in a process of their own, so they can be killed mid-flight (as a
 * Lambda instance dies: no cleanup, messages invisible until their visibility timeout, claims held
 * until their lease expires) and started again. The chaos suite (chaos/) runs the API and the
 * sweeper in its own process and one of these per service.
 *
 * It inherits the environment the local stack set in its parent (local/stack.ts: endpoints, table,
 * queue URLs, settings, Atlassian connection) and reads two more variables:
 *   RIQ_WORKER_QUEUES      comma-separated queue keys to poll, e.g. `jira-high,jira-normal,jira-low`
 *   RIQ_WORKER_QUEUE_ARNS  JSON map of queue key → ARN (the event records carry it)
 * It prints `worker-host ready` once polling, and stops cleanly on SIGTERM.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { allQueueKeys, type QueueKey } from '../model/config/resources.js';
import { requiredVariable, runtimeEnv } from '../lambdas/shared/env.js';
import type { WorkerHandler } from './event-source.js';
import { workerMappings } from './stack.js';
import { WORKER_HOST_READY, WORKER_QUEUE_ARNS_ENV, WORKER_QUEUES_ENV } from './worker-host-env.js';

function queueKeys(): QueueKey[] {
  const known = new Set<string>(allQueueKeys());
  const keys = requiredVariable(process.env, WORKER_QUEUES_ENV).split(',');
  for (const key of keys) if (!known.has(key)) throw new Error(`${WORKER_QUEUES_ENV}: unknown queue ${key}`);
  return keys as QueueKey[];
}

async function main(): Promise<void> {
  const keys = queueKeys();
  const config = runtimeEnv.settings;
  const queueUrls = runtimeEnv.queueUrls as Record<QueueKey, string>;
  const queueArns = JSON.parse(requiredVariable(process.env, WORKER_QUEUE_ARNS_ENV)) as Record<
    QueueKey,
    string
  >;
  const log = (message: string) => console.error(`[worker-host ${process.pid}] ${message}`);
  const worker = await import('../lambdas/worker/handler.js');
  const client = new SQSClient({ useQueueUrlAsEndpoint: false });
  const mappings = workerMappings({
    client,
    queues: { queueUrls, queueArns },
    keys,
    config,
    handler: worker.handler as WorkerHandler,
    log,
  });
  mappings.forEach((m) => m.start());
  process.once('SIGTERM', () => {
    void Promise.all(mappings.map((m) => m.stop())).finally(() => process.exit(0));
  });
  console.log(WORKER_HOST_READY);
}

main().catch((err: unknown) => {
  console.error(`[worker-host] failed to start: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
