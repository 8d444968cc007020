/**
 * PointsBudget on DynamoDB: one item per service (`pk = POINTS#<service>`) in the requests table,
 * shared by every worker and the DIRECT path (DESIGN invariant 5). The arithmetic is
 * lambdas/core/domain/points-budget.ts; this class only loads the budget, runs it through that, and
 * stores it back with optimistic concurrency (versioned-item.ts), as DynamoRateGate does: each write
 * is conditional on the `version` it read, so two workers that computed from the same state cannot
 * both spend it, and the loser recomputes from the winner's state.
 *
 * The item carries no `listed_status` attribute, so it never appears in the by-status index that
 * lists requests, and no TTL attribute: the budget (and the quota Atlassian announced) lives as long as
 * the table. It also carries the auth mode of the connection that last wrote it (`auth_mode`), so
 * the health check, which holds no Atlassian connection, can say whether the budget counts
 * (DynamoPointsViews).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import {
  AUTH_MODES,
  SERVICES,
  type AuthMode,
  type Priority,
  type RiqConfig,
  type Service,
} from '../../../model/config/riq-config.js';
import type {
  PointsBudget,
  PointsDecision,
  PointsView,
  PointsViews,
} from '../../core/ports/points-budget.js';
import type { GateReading } from '../../core/ports/flow-control.js';
import type { RateLimitSignals } from '../../core/domain/rate-limit-signals.js';
import {
  advance,
  basePaceOf,
  freshBudget,
  observeSignals,
  pointsSettingsFor,
  pointsViewOf,
  samePoints,
  settle,
  tryCharge,
  type PointsSettings,
  type PointsState,
} from '../../core/domain/points-budget.js';
import { itemFromReading } from './gate-reading.js';
import { VersionedItems, type RaceRetry } from './versioned-item.js';

const PK = REQUESTS_TABLE.partitionKey;

/** The key of a service's budget item. */
export function pointsBudgetKey(service: Service): Record<string, string> {
  return { [PK]: `POINTS#${service}` };
}

export interface DynamoPointsBudgetOptions {
  /** Conditional writes tried before giving up on one charge/settle/observe. @default 12 */
  maxAttempts?: number;
  /** Pause before retrying a lost race: up to `jitterMs × attempt`, random. @default 15 */
  jitterMs?: number;
}

/** Thrown by `settle` and `observe` when contention outlasted every retry. */
export class PointsBudgetContentionError extends Error {
  override readonly name = 'PointsBudgetContentionError';
  constructor(service: Service, attempts: number) {
    super(`points budget of ${service} still contended after ${attempts} conditional writes`);
  }
}

/** A budget as stored, with the auth mode of the connection that wrote it. */
interface StoredBudget {
  state: PointsState;
  authMode?: AuthMode;
}

export class DynamoPointsBudget implements PointsBudget {
  private readonly settings: Record<Service, PointsSettings>;
  private readonly budgets: VersionedItems<StoredBudget>;
  private readonly retry: RaceRetry;

  /** `authMode`: the connection's (lambdas/adapters/atlassian/connection.ts); OAuth turns the budget on. */
  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    config: RiqConfig,
    private readonly authMode: AuthMode,
    options: DynamoPointsBudgetOptions = {},
  ) {
    this.settings = Object.fromEntries(
      SERVICES.map((s) => [s, pointsSettingsFor(config, s, authMode)]),
    ) as Record<Service, PointsSettings>;
    this.budgets = budgetItems(client, tableName);
    this.retry = { attempts: options.maxAttempts ?? 12, jitterMs: options.jitterMs ?? 15 };
  }

  /**
   * A refusal, or a grant of nothing (the budget is off), writes nothing: refill is a function of
   * time, so the stored state stays right. An API-token connection's charge still reads the item:
   * another worker may have learned a quota since. When every retry lost a race, the answer is a refusal for
   * the time the estimate takes to refill: heavy contention means heavy demand, and a deferral costs
   * the request no attempt.
   */
  async charge(
    service: Service,
    priority: Priority,
    estimate: number,
    now: number,
    reading?: GateReading,
  ): Promise<PointsDecision> {
    const settings = this.settings[service];
    const found = itemFromReading(reading, service, pointsBudgetKey(service));
    let base = freshBudget(settings, now);
    return this.budgets.update(
      pointsBudgetKey(service),
      this.retry,
      (read) => {
        base = read?.value.state ?? freshBudget(settings, now);
        const { state, decision } = tryCharge(base, settings, priority, estimate, now);
        const answer: PointsDecision = decision.granted ? decision : { ...decision, reason: 'no_points' };
        const unchanged = decision.granted ? decision.charged === 0 : read !== undefined;
        return { answer, write: unchanged ? undefined : { state, authMode: this.authMode } };
      },
      () => {
        const waitMs = Math.ceil((Math.max(1, estimate) / basePaceOf(base, settings)) * 1000);
        return { granted: false, reason: 'no_points', waitMs };
      },
      found && { read: this.budgets.decode(found.item) },
    );
  }

  async settle(service: Service, giveBack: number, now: number): Promise<void> {
    await this.update(service, now, (state, settings) => settle(state, settings, giveBack, now));
  }

  async observe(service: Service, signals: RateLimitSignals, now: number): Promise<void> {
    await this.update(service, now, (state, settings) => observeSignals(state, settings, signals, now));
  }

  async view(service: Service, now: number): Promise<PointsView> {
    const settings = this.settings[service];
    const read = await this.budgets.read(pointsBudgetKey(service));
    return pointsViewOf(service, read?.value.state ?? freshBudget(settings, now), settings, now);
  }

  /** The stored budget as it is (not advanced), for tests. */
  async peek(service: Service): Promise<PointsState | undefined> {
    return (await this.budgets.read(pointsBudgetKey(service)))?.value.state;
  }

  /** Writes only when `change` changed something: an answer without rate headers costs one read. */
  private async update(
    service: Service,
    now: number,
    change: (state: PointsState, settings: PointsSettings) => PointsState,
  ): Promise<void> {
    const settings = this.settings[service];
    await this.budgets.update(
      pointsBudgetKey(service),
      this.retry,
      (read) => {
        const current = advance(read?.value.state ?? freshBudget(settings, now), settings, now);
        const next = change(current, settings);
        const unchanged = read !== undefined && samePoints(current, next);
        return { answer: undefined, write: unchanged ? undefined : { state: next, authMode: this.authMode } };
      },
      () => {
        throw new PointsBudgetContentionError(service, this.retry.attempts);
      },
    );
  }
}

/**
 * The budgets as the health check reads them, without an Atlassian connection: each with the
 * settings of the auth mode its item was last written under. A budget never written (no call
 * counted yet, or an API-token connection that learned no quota) shows as the config's, off.
 */
export class DynamoPointsViews implements PointsViews {
  private readonly budgets: VersionedItems<StoredBudget>;

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    private readonly config: RiqConfig,
  ) {
    this.budgets = budgetItems(client, tableName);
  }

  async view(service: Service, now: number): Promise<PointsView> {
    const read = await this.budgets.read(pointsBudgetKey(service));
    const settings = pointsSettingsFor(this.config, service, read?.value.authMode ?? 'api_token');
    return pointsViewOf(service, read?.value.state ?? freshBudget(settings, now), settings, now);
  }
}

function budgetItems(client: DynamoDBDocumentClient, tableName: string): VersionedItems<StoredBudget> {
  return new VersionedItems(client, tableName, { toItem, fromItem });
}

/** Snake case like the request items; optional fields are left out rather than written as null. */
function toItem({ state, authMode }: StoredBudget): Record<string, unknown> {
  const item: Record<string, unknown> = { points: state.points, updated_at: state.updatedAt };
  if (state.learned !== undefined) {
    item['learned_quota'] = state.learned.quota;
    item['learned_window_seconds'] = state.learned.windowSeconds;
  }
  if (state.resyncPace !== undefined) {
    item['resync_pace'] = state.resyncPace.perSecond;
    item['resync_until'] = state.resyncPace.until;
  }
  if (state.resetAt !== undefined) item['reset_at'] = state.resetAt;
  if (state.slowUntil !== undefined) item['slow_until'] = state.slowUntil;
  if (state.exhaustedUntil !== undefined) item['exhausted_until'] = state.exhaustedUntil;
  if (authMode !== undefined) item['auth_mode'] = authMode;
  return item;
}

function fromItem(item: Record<string, unknown>): StoredBudget {
  const state: PointsState = {
    points: num(item['points']) ?? 0,
    updatedAt: num(item['updated_at']) ?? 0,
  };
  const quota = num(item['learned_quota']);
  const windowSeconds = num(item['learned_window_seconds']);
  if (quota !== undefined && windowSeconds !== undefined && quota > 0 && windowSeconds > 0) {
    state.learned = { quota, windowSeconds };
  }
  const pace = num(item['resync_pace']);
  const until = num(item['resync_until']);
  if (pace !== undefined && until !== undefined && pace >= 0) state.resyncPace = { perSecond: pace, until };
  const resetAt = num(item['reset_at']);
  if (resetAt !== undefined) state.resetAt = resetAt;
  const slowUntil = num(item['slow_until']);
  if (slowUntil !== undefined) state.slowUntil = slowUntil;
  const exhaustedUntil = num(item['exhausted_until']);
  if (exhaustedUntil !== undefined) state.exhaustedUntil = exhaustedUntil;
  const mode = item['auth_mode'];
  const authMode = AUTH_MODES.find((m) => m === mode);
  return { state, ...(authMode !== undefined ? { authMode } : {}) };
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
