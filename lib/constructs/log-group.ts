import { RemovalPolicy } from 'aws-cdk-lib';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { RiqConfig } from '../../model/config/index.js';

/** The retention periods CloudWatch Logs accepts (every `RetentionDays` but `INFINITE`). */
const ALLOWED_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays).filter(
  (v): v is RetentionDays => typeof v === 'number' && v !== RetentionDays.INFINITE,
);

/**
 * `config.deployment.logRetentionDays` as a `RetentionDays`; throws at synth for a value
 * CloudWatch Logs would reject at deploy time.
 */
export function logRetention(config: RiqConfig): RetentionDays {
  const days = config.deployment.logRetentionDays;
  if (!ALLOWED_RETENTION_DAYS.includes(days)) {
    throw new Error(
      `deployment.logRetentionDays must be one of ${ALLOWED_RETENTION_DAYS.join(', ')} (got ${days})`,
    );
  }
  return days as RetentionDays;
}

/** A log group with the stage's retention, kept on stack deletion when the stage retains data. */
export function riqLogGroup(scope: Construct, id: string, config: RiqConfig): LogGroup {
  return new LogGroup(scope, id, {
    retention: logRetention(config),
    removalPolicy: config.deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
}
