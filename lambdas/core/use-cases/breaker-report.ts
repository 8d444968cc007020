/**
 * `GET /api/queue/circuit-breakers`: every service's breaker in the shape of seed 004's monitoring
 * endpoints (snake_case, `name`, `state`, `failure_count`, `failure_threshold`, `opened_at`, and the
 * seed health summary's `total_circuits`, `circuits_by_state`, `open_circuits`), plus the timing
 * RIQ's breaker adds (`next_attempt_at`, `recovery_timeout_seconds`, `window_seconds`).
 * The health endpoint can reuse `summarizeBreakers`.
 */
import { SERVICES, type Service } from '../../../model/config/riq-config.js';
import type { BreakerSettings } from '../domain/breaker.js';
import type { BreakerStateName, BreakerView, CircuitBreaker } from '../ports/flow-control.js';
import type { Clock } from '../ports/index.js';

export interface CircuitBreakerEntry {
  name: Service;
  state: BreakerStateName;
  failure_count: number;
  failure_threshold: number;
  /** ISO 8601, null when never opened. */
  opened_at: string | null;
  /** ISO 8601, while open: when a probe may pass. */
  next_attempt_at: string | null;
  last_failure_at: string | null;
  recovery_timeout_seconds: number;
  window_seconds: number;
}

export interface OpenCircuit {
  name: Service;
  failure_count: number;
  opened_at: string | null;
  next_attempt_at: string | null;
}

export interface BreakerSummary {
  total_circuits: number;
  circuits_by_state: Record<BreakerStateName, number>;
  /** The breakers refusing calls now (state `open`), as in the seed's degraded health answer. */
  open_circuits: OpenCircuit[];
}

export interface CircuitBreakersReport {
  timestamp: string;
  /** Keyed by service, like the seed's map keyed by breaker name. */
  circuit_breakers: Record<Service, CircuitBreakerEntry>;
  summary: BreakerSummary;
}

type ReportSettings = Pick<BreakerSettings, 'failureThreshold' | 'windowSeconds' | 'recoverySeconds'>;

export function breakerEntry(view: BreakerView, settings: ReportSettings): CircuitBreakerEntry {
  return {
    name: view.service,
    state: view.state,
    failure_count: view.failure_count,
    failure_threshold: settings.failureThreshold,
    opened_at: view.opened_at,
    next_attempt_at: view.next_attempt_at,
    last_failure_at: view.last_failure_at,
    recovery_timeout_seconds: settings.recoverySeconds,
    window_seconds: settings.windowSeconds,
  };
}

export function summarizeBreakers(views: readonly BreakerView[]): BreakerSummary {
  const circuits_by_state: Record<BreakerStateName, number> = { closed: 0, open: 0, half_open: 0 };
  for (const v of views) circuits_by_state[v.state] += 1;
  return {
    total_circuits: views.length,
    circuits_by_state,
    open_circuits: views
      .filter((v) => v.state === 'open')
      .map((v) => ({
        name: v.service,
        failure_count: v.failure_count,
        opened_at: v.opened_at,
        next_attempt_at: v.next_attempt_at,
      })),
  };
}

/** The report from one view per service (every service of SERVICES must be present). */
export function buildBreakerReport(
  views: readonly BreakerView[],
  settings: ReportSettings,
  now: number,
): CircuitBreakersReport {
  const circuit_breakers = {} as Record<Service, CircuitBreakerEntry>;
  for (const service of SERVICES) {
    const view = views.find((v) => v.service === service);
    if (!view) throw new Error(`no breaker view for ${service}`);
    circuit_breakers[service] = breakerEntry(view, settings);
  }
  return {
    timestamp: new Date(now).toISOString(),
    circuit_breakers,
    summary: summarizeBreakers(views),
  };
}

export interface BreakerReportDeps {
  breaker: Pick<CircuitBreaker, 'view'>;
  clock: Clock;
  settings: ReportSettings;
}

/** Use case: reads every service's breaker (read-only) and builds the report. */
export async function readBreakerReport(deps: BreakerReportDeps): Promise<CircuitBreakersReport> {
  const now = deps.clock.now();
  const views = await Promise.all(SERVICES.map((s) => deps.breaker.view(s, now)));
  return buildBreakerReport(views, deps.settings, now);
}
