/**
 * The port of Atlassian's hourly points quota (DESIGN invariant 5): every call charges its estimated
 * points before it goes (lambdas/core/domain/points-cost.ts), settles the difference to its actual
 * cost after, and feeds the answer's rate-limit headers back. One budget per service lives in
 * DynamoDB so every worker and the DIRECT path spend from it; an in-memory version serves the unit
 * tests of the use cases. The arithmetic is lambdas/core/domain/points-budget.ts.
 */
import type { Priority, Service } from '../../../model/config/riq-config.js';
import type { RateLimitSignals } from '../domain/rate-limit-signals.js';
import type { GateReading } from './flow-control.js';

/**
 * The answer to "may this call spend its points now?". `charged`: the points taken (0 while the
 * budget is off), what `settle` later corrects. `waitMs`: exactly when enough will have refilled.
 */
export type PointsDecision =
  { granted: true; charged: number } | { granted: false; waitMs: number; reason: 'no_points' };

/** A service's budget as the health view shows it. Times are ISO 8601, null when not set. */
export interface PointsView {
  service: Service;
  /** False for an API-token connection to which no quota was announced: nothing is counted. */
  enabled: boolean;
  points: number;
  capacity: number;
  /** Points per second the budget refills at now. */
  pace_per_second: number;
  quota: number;
  window_seconds: number;
  /** `headers`: Atlassian announced the quota (`RateLimit-Policy`); `config`: the configured one. */
  quota_source: 'config' | 'headers';
  /** When the quota resets, as the headers last said. */
  reset_at: string | null;
  /** Until then the pace is halved: Atlassian said the quota is nearly spent. */
  slow_until: string | null;
  /** Until then nothing is granted: the quota is spent. */
  exhausted_until: string | null;
}

export interface PointsBudget {
  /**
   * Takes `estimate` points from the service's budget for a call of `priority`, atomically across
   * all workers, if the priority's reserve is left after it; refused while the quota is spent.
   * `reading`: the budget as the gate's read found it (flow-control.ts FlowGateReader).
   */
  charge(
    service: Service,
    priority: Priority,
    estimate: number,
    now: number,
    reading?: GateReading,
  ): Promise<PointsDecision>;
  /** Gives back what a call did not spend (`charged − actual`); negative takes what it spent beyond. */
  settle(service: Service, giveBack: number, now: number): Promise<void>;
  /** Feeds one answer's rate-limit headers back: announced quota, where it stands, near limit, quota 429. */
  observe(service: Service, signals: RateLimitSignals, now: number): Promise<void>;
  view(service: Service, now: number): Promise<PointsView>;
}

/** The budgets as the health check reads them: a function without an Atlassian connection may. */
export type PointsViews = Pick<PointsBudget, 'view'>;
