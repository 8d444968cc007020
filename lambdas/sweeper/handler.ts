/** The sweeper, run every minute by an EventBridge schedule (a timer in the local stack). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { claimLeaseSeconds, SWEEPER_STALE_QUEUED_SECONDS } from '../../lib/config/resources.js';
import { sweep, type SweepReport, type SweeperDeps } from '../core/sweeper.js';
import { documentClient, sqsClient } from '../shared/aws-clients.js';
import { systemClock } from '../shared/clock.js';
import { readQueueUrls, readSettings, readTableName } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { DynamoDependencyStore } from '../store/dynamo-dependencies.js';
import { DynamoRequestStore } from '../store/dynamo-request-store.js';
import { SqsWorkQueue } from '../store/sqs-work-queue.js';

/** CloudWatch metrics (EMF in the log): what each sweep repaired. */
const metrics = new Metrics({ namespace: 'RIQ', serviceName: 'riq-sweeper' });

/** Records of each kind repaired per run; a larger backlog is worked through minute by minute. */
const BATCH_SIZE = 500;

const settings = readSettings();
const retentionSeconds = settings.retentionDays * 24 * 3600;
const deps: SweeperDeps = {
  store: new DynamoRequestStore(documentClient(), readTableName(), retentionSeconds),
  dependencies: new DynamoDependencyStore(documentClient(), readTableName(), retentionSeconds),
  retentionSeconds,
  queue: new SqsWorkQueue(sqsClient(), readQueueUrls()),
  clock: systemClock,
  // A released request waits out its retry backoff (up to retry.maxDelaySeconds plus jitter) with
  // its message invisible, and a claimed one may hold its lease: neither is an orphan yet.
  staleQueuedSeconds: Math.max(
    SWEEPER_STALE_QUEUED_SECONDS,
    2 * settings.retry.maxDelaySeconds,
    claimLeaseSeconds(settings),
  ),
  batchSize: BATCH_SIZE,
  onSendFailure: (token, err) => logger.error('sweeper could not re-enqueue', { token, error: err as Error }),
};

async function runSweep(): Promise<SweepReport> {
  const report = await sweep(deps);
  logger.info('sweep done', { ...report });
  metrics.addMetric('SweeperRequeued', MetricUnit.Count, report.requeued);
  metrics.addMetric('SweeperRecoveredLeases', MetricUnit.Count, report.recovered_leases);
  metrics.addMetric('SweeperFailedSends', MetricUnit.Count, report.failed_sends);
  metrics.addMetric('SweeperReleasedDependents', MetricUnit.Count, report.released_dependents ?? 0);
  return report;
}

export const handler = middy<ScheduledEvent, SweepReport>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(runSweep);
