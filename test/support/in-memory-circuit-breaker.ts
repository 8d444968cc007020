/**
 * A CircuitBreaker in memory with the same semantics as DynamoCircuitBreaker (for unit tests): the
 * same state machine and read–decide–write loop over a versioned map. Several instances may share
 * one `InMemoryBreakerStateStore` to stand for several workers of one service.
 */
import type { Service } from '../../model/config/riq-config.js';
import { DEFAULT_CONFIG } from '../../model/config/riq-config.js';
import {
  INITIAL_BREAKER_STATE,
  StoredCircuitBreaker,
  breakerSettingsOf,
  type BreakerSettings,
  type BreakerState,
  type BreakerStateStore,
  type StoredCircuitBreakerOptions,
  type VersionedBreakerState,
} from '../../lambdas/core/domain/breaker.js';

export class InMemoryBreakerStateStore implements BreakerStateStore {
  readonly items = new Map<Service, VersionedBreakerState>();

  async load(service: Service): Promise<VersionedBreakerState> {
    const item = this.items.get(service);
    return item ? structuredClone(item) : { state: INITIAL_BREAKER_STATE, version: 0 };
  }

  async save(service: Service, state: BreakerState, version: number): Promise<boolean> {
    if ((this.items.get(service)?.version ?? 0) !== version) return false;
    this.items.set(service, { state: structuredClone(state), version: version + 1 });
    return true;
  }

  /** The stored state of a service (the initial closed state when never written). */
  stateOf(service: Service): BreakerState {
    return this.items.get(service)?.state ?? INITIAL_BREAKER_STATE;
  }
}

export class InMemoryCircuitBreaker extends StoredCircuitBreaker {
  constructor(
    settings: BreakerSettings = breakerSettingsOf(DEFAULT_CONFIG),
    readonly states: InMemoryBreakerStateStore = new InMemoryBreakerStateStore(),
    options?: StoredCircuitBreakerOptions,
  ) {
    super(states, settings, options);
  }
}
