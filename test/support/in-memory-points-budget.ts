/**
 * A PointsBudget in memory running the same arithmetic as DynamoPointsBudget
 * (lambdas/core/domain/points-budget.ts), for unit tests of the use cases. One instance stands for
 * the shared budget of all workers.
 */
import type { PointsBudget, PointsDecision, PointsView } from '../../lambdas/core/ports/points-budget.js';
import type { RateLimitSignals } from '../../lambdas/core/domain/rate-limit-signals.js';
import {
  freshBudget,
  observeSignals,
  pointsSettingsFor,
  pointsViewOf,
  settle,
  tryCharge,
  type PointsSettings,
  type PointsState,
} from '../../lambdas/core/domain/points-budget.js';
import {
  DEFAULT_CONFIG,
  type AuthMode,
  type Priority,
  type RiqConfig,
  type Service,
} from '../../model/config/riq-config.js';

export class InMemoryPointsBudget implements PointsBudget {
  private readonly budgets = new Map<Service, PointsState>();
  /** Every call, in order, for assertions. */
  readonly calls: Array<
    | {
        kind: 'charge';
        service: Service;
        priority: Priority;
        estimate: number;
        now: number;
        decision: PointsDecision;
      }
    | { kind: 'settle'; service: Service; giveBack: number; now: number }
    | { kind: 'observe'; service: Service; signals: RateLimitSignals; now: number }
  > = [];

  constructor(
    private readonly config: RiqConfig = DEFAULT_CONFIG,
    private readonly authMode: AuthMode = 'oauth',
  ) {}

  async charge(service: Service, priority: Priority, estimate: number, now: number): Promise<PointsDecision> {
    const { state, decision } = tryCharge(
      this.budget(service, now),
      this.settingsOf(service),
      priority,
      estimate,
      now,
    );
    this.budgets.set(service, state);
    const answer: PointsDecision = decision.granted ? decision : { ...decision, reason: 'no_points' };
    this.calls.push({ kind: 'charge', service, priority, estimate, now, decision: answer });
    return answer;
  }

  async settle(service: Service, giveBack: number, now: number): Promise<void> {
    this.budgets.set(service, settle(this.budget(service, now), this.settingsOf(service), giveBack, now));
    this.calls.push({ kind: 'settle', service, giveBack, now });
  }

  async observe(service: Service, signals: RateLimitSignals, now: number): Promise<void> {
    this.budgets.set(
      service,
      observeSignals(this.budget(service, now), this.settingsOf(service), signals, now),
    );
    this.calls.push({ kind: 'observe', service, signals, now });
  }

  async view(service: Service, now: number): Promise<PointsView> {
    return pointsViewOf(service, this.budget(service, now), this.settingsOf(service), now);
  }

  /** The budget as stored (not advanced to any time); undefined before first use. */
  state(service: Service): PointsState | undefined {
    const s = this.budgets.get(service);
    return s && structuredClone(s);
  }

  /** Replaces a service's budget, e.g. to start a test from an empty or exhausted one. */
  setState(service: Service, state: PointsState): void {
    this.budgets.set(service, structuredClone(state));
  }

  private budget(service: Service, now: number): PointsState {
    return this.budgets.get(service) ?? freshBudget(this.settingsOf(service), now);
  }

  private settingsOf(service: Service): PointsSettings {
    return pointsSettingsFor(this.config, service, this.authMode);
  }
}
