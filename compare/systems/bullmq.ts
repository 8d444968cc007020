/**
 * System (c): a BullMQ queue on a local Redis. One Worker, as many concurrent jobs as RIQ has
 * workers in all, BullMQ's rate limiter (`limiter: {max, duration}`), `attempts` with exponential
 * backoff, priorities (1 high, 2 normal, 3 low), and the same in-process breaker as system (b)
 * around each call. The calls go through RIQ's own HTTP layer, like system (b).
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { RiqError } from '../../model/errors.js';
import {
  SETTINGS,
  TOTAL_CONCURRENCY,
  errorCode,
  runOpenLoop,
  type SystemRun,
  type WorkItem,
} from '../workload.js';
import { callJira, sharedBreaker, simulatorExecutor } from './direct.js';

const PRIORITY = { high: 1, normal: 2, low: 3 } as const;

export async function runBullmq(
  simUrl: string,
  prepare: () => Promise<readonly WorkItem[]>,
  redisPort: number,
): Promise<SystemRun> {
  const connection = { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null };
  const name = `compare-${process.pid}`;
  const executor = simulatorExecutor(simUrl);
  const breaker = sharedBreaker();
  let opened = 0;
  breaker.onBreak(() => opened++);
  const byId = new Map<number, WorkItem>();
  const waiting = new Map<string, (end: { ok: boolean; error?: string }) => void>();

  const queue = new Queue(name, { connection });
  const worker = new Worker(
    name,
    async (job: Job<{ id: number }>) => {
      const item = byId.get(job.data.id)!;
      try {
        return await breaker.execute(() => callJira(executor, item));
      } catch (err) {
        // RIQ does not retry what a retry cannot help (a 400 or 404); neither does this.
        if (err instanceof RiqError && !err.retryable)
          throw new UnrecoverableError(`${err.code}: ${err.message}`);
        throw err;
      }
    },
    {
      connection,
      concurrency: TOTAL_CONCURRENCY,
      limiter: { max: SETTINGS.ratePerSecond, duration: 1000 },
    },
  );
  worker.on('completed', (job) => waiting.get(String(job.id))?.({ ok: true }));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) waiting.get(String(job.id))?.({ ok: false, error: errorCode(err) });
  });
  worker.on('error', (err) => console.error(`bullmq worker: ${String(err)}`));
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

  try {
    const items = await prepare();
    for (const it of items) byId.set(it.id, it);
    const { startedAt, outcomes } = await runOpenLoop(items, async (item) => {
      const jobId = `job-${item.id}`;
      const end = new Promise<{ ok: boolean; error?: string }>((resolve) => waiting.set(jobId, resolve));
      await queue.add(
        item.operation,
        { id: item.id },
        {
          jobId,
          priority: PRIORITY[item.priority],
          attempts: SETTINGS.attempts,
          backoff: { type: 'exponential', delay: SETTINGS.backoffBaseMs },
          removeOnComplete: false,
          removeOnFail: false,
        },
      );
      const { ok, error } = await end;
      return ok
        ? { status: 'completed', doneAt: Date.now() }
        : { status: 'failed', doneAt: Date.now(), ...(error ? { error } : {}) };
    });
    return {
      system: 'BullMQ + Redis',
      startedAt,
      outcomes,
      notes: [
        `one Worker, concurrency ${TOTAL_CONCURRENCY}, limiter {max: ${SETTINGS.ratePerSecond}, duration: 1000} (a fixed window: no separate burst)`,
        `backoff exponential ${SETTINGS.backoffBaseMs} ms without jitter and without a ${SETTINGS.backoffMaxMs / 1000} s cap (never reached with ${SETTINGS.attempts} attempts)`,
        `breaker opened ${opened} times (an open breaker fails the attempt; BullMQ retries it)`,
      ],
    };
  } finally {
    await worker.close(true);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}
