/** The sweeper, run every minute by an EventBridge schedule (a timer in the local stack). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../../model/config/metrics.js';
import {
  claimLeaseSeconds,
  recordRetentionSeconds,
  SWEEPER_STALE_QUEUED_SECONDS,
} from '../../model/config/resources.js';
import { SERVICES } from '../../model/config/riq-config.js';
import { breakerStateValue } from '../core/domain/breaker.js';
import { sweep, type SweepReport, type SweeperDeps } from '../core/use-cases/sweeper.js';
import { systemClock } from '../shared/clock.js';
import { logger } from '../shared/logger.js';
import { emitMetric, emitMetrics, metricLine } from '../shared/metrics.js';
import * as root from '../shared/root.js';

/**
 * CloudWatch metrics (EMF in the log): what each sweep repaired, and the catalogue's
 * `BreakerState` of every service once a minute, the gauge the breaker alarm and the dashboard read.
 */
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'riq-sweeper' });
/** What each sweep repaired, on one EMF line. */
const sweepLine = metricLine(logger);

/** Records of each kind repaired per run; a larger backlog is worked through minute by minute. */
const BATCH_SIZE = 500;

const settings = root.settings();
const deps: SweeperDeps = {
  store: root.requestStore(),
  dependencies: root.dependencyStore(),
  retentionSeconds: recordRetentionSeconds(settings),
  queue: root.workQueue(),
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
// Read only: the sweeper never moves a breaker.
const breaker = root.circuitBreaker();

/** Every service's breaker as the `BreakerState` gauge (1 closed, 0.5 half-open, 0 open). */
async function reportBreakers(): Promise<void> {
  const now = systemClock.now();
  for (const service of SERVICES) {
    const view = await breaker.view(service, now);
    emitMetric(metrics, 'breakerState', breakerStateValue(view.state), { service });
  }
}

async function runSweep(): Promise<SweepReport> {
  const report = await sweep(deps);
  logger.info('sweep done', { ...report });
  try {
    await reportBreakers();
  } catch (err) {
    // A missing gauge reading is not a failed sweep (the alarm treats missing data as fine).
    logger.warn('breaker states could not be read for the metric', { error: err as Error });
  }
  emitMetrics(
    sweepLine,
    {
      sweeperRequeued: report.requeued,
      sweeperRecoveredLeases: report.recovered_leases,
      sweeperFailedSends: report.failed_sends,
      sweeperReleasedDependents: report.released_dependents ?? 0,
    },
    {},
  );
  return report;
}

export const handler = middy<ScheduledEvent, SweepReport>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(runSweep);
