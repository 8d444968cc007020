/**
 * A RateGate in memory running the same arithmetic as DynamoRateGate (lambdas/core/domain/token-bucket.ts),
 * for unit tests of the use cases. One instance stands for the shared bucket of all workers.
 */
import type {
  CallScope,
  PermitDecision,
  RateFeedback,
  RateGate,
  RateView,
  RateViews,
} from '../../lambdas/core/ports/flow-control.js';
import {
  applyFeedback,
  fullBucket,
  rateSettingsFor,
  rateViewOf,
  tryAcquire,
  type BucketState,
  type RateSettings,
} from '../../lambdas/core/domain/token-bucket.js';
import { DEFAULT_CONFIG, type RiqConfig, type Service } from '../../model/config/riq-config.js';

export class InMemoryRateGate implements RateGate, RateViews {
  private readonly buckets = new Map<Service, BucketState>();
  /** Every call, in order, for assertions (`granted` on acquire). */
  readonly calls: Array<
    | { kind: 'acquire'; scope: CallScope; now: number; decision: PermitDecision }
    | { kind: 'report'; scope: CallScope; feedback: RateFeedback; now: number }
  > = [];

  constructor(private readonly config: RiqConfig = DEFAULT_CONFIG) {}

  async acquire(scope: CallScope, now: number): Promise<PermitDecision> {
    const settings = this.settingsOf(scope.service);
    const { state, decision } = tryAcquire(this.bucket(scope.service, now), scope, settings, now);
    this.buckets.set(scope.service, state);
    this.calls.push({ kind: 'acquire', scope, now, decision });
    return decision;
  }

  async report(scope: CallScope, feedback: RateFeedback, now: number): Promise<void> {
    const settings = this.settingsOf(scope.service);
    this.buckets.set(
      scope.service,
      applyFeedback(this.bucket(scope.service, now), scope, feedback, settings, now),
    );
    this.calls.push({ kind: 'report', scope, feedback, now });
  }

  async view(service: Service, now: number): Promise<RateView> {
    return rateViewOf(service, this.bucket(service, now), this.settingsOf(service), now);
  }

  /** The bucket as stored (not advanced to any time); undefined before first use. */
  state(service: Service): BucketState | undefined {
    const s = this.buckets.get(service);
    return s && structuredClone(s);
  }

  /** Replaces a service's bucket, e.g. to start a test from an empty or paused one. */
  setState(service: Service, state: BucketState): void {
    this.buckets.set(service, structuredClone(state));
  }

  private bucket(service: Service, now: number): BucketState {
    return this.buckets.get(service) ?? fullBucket(this.settingsOf(service), now);
  }

  private settingsOf(service: Service): RateSettings {
    return rateSettingsFor(this.config, service);
  }
}
