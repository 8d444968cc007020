/**
 * A typed client for the simulator's control API, for tests and scripts:
 * `new SimulatorControl(sim.url).addFault({path: '^/rest/api/3/issue', status: 503, count: 1})`,
 * `.configure({rate_limit: {rate_per_second: 5, burst: 10}, seed: 42})`, `.expireAuth()`.
 */
import type { BehaviourStats, SimConfig, SimConfigInput } from './behaviour.js';
import type { SimObjects } from './control-routes.js';
import type { FaultRule } from './faults.js';
import type { BurstLimitsInput } from './burst-limits.js';
import type { PerIssueWriteLimitInput } from './per-issue-limit.js';
import type { PointsQuotaInput } from './points-quota.js';
import type { RateLimitConfig } from './rate-limit.js';
import type { SimStats } from './state.js';

export type { FaultRule } from './faults.js';
export type { SimObjects } from './control-routes.js';
export type { SimCall, SimStats } from './state.js';
export type { BehaviourStats, OutageMode, SimConfig, SimConfigInput } from './behaviour.js';
export type { RateLimitConfig } from './rate-limit.js';
export type { PointsQuotaInput, QuotaWindowStats } from './points-quota.js';
export type { BurstLimitsInput } from './burst-limits.js';
export type { PerIssueWriteLimitInput } from './per-issue-limit.js';

/** The body of `GET /__sim/stats`: data counters and calls, plus the behaviours' counters. */
export type SimulatorStats = SimStats & BehaviourStats;

/**
 * Every behaviour off (latency 0, no rate limits or points quota, the quota's clock real, no injected
 * failures, no slow answers, no search lag, no outage).
 */
export const QUIET_CONFIG = {
  latency_ms: 0,
  rate_limit: null,
  points_quota: null,
  quota_applies_to: 'oauth',
  time_scale: 1,
  sim_time: null,
  burst_limits: null,
  per_issue_write_limit: null,
  error_rate: 0,
  timeout_rate: 0,
  hang_next: 0,
  drop_after_commit_rate: 0,
  answer_after_commit_ms: 0,
  search_index_lag_ms: 0,
  outage: null,
} as const satisfies SimConfigInput;

export class SimulatorControl {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Adds a fault rule; answers its id. Fault rules take precedence over the configured behaviours. */
  async addFault(rule: FaultRule): Promise<string> {
    const { id } = await this.call<{ id: string }>('POST', '/__sim/faults', rule);
    return id;
  }

  async removeFault(id: string): Promise<void> {
    await this.call('DELETE', `/__sim/faults/${encodeURIComponent(id)}`);
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/__sim/faults');
  }

  async stats(): Promise<SimulatorStats> {
    return this.call<SimulatorStats>('GET', '/__sim/stats');
  }

  /** Every issue (with its comments) and page that exists now. */
  async objects(): Promise<SimObjects> {
    return this.call<SimObjects>('GET', '/__sim/objects');
  }

  /**
   * Clears data and statistics, re-seeds the projects, refills the rate-limit buckets, gives back the
   * quota's points, forgets per-issue writes and restarts the PRNG at its seed (faults, config, the
   * quota's clock and credentials stay).
   */
  async reset(): Promise<void> {
    await this.call('POST', '/__sim/reset');
  }

  /** Changes the given fields of the run-time config; answers the whole config. */
  async configure(config: SimConfigInput): Promise<SimConfig> {
    return this.call<SimConfig>('POST', '/__sim/config', config);
  }

  async config(): Promise<SimConfig> {
    return this.call<SimConfig>('GET', '/__sim/config');
  }

  /** Turns every behaviour off (QUIET_CONFIG); the seed and OAuth token lifetime stay. */
  async quiet(): Promise<SimConfig> {
    return this.configure(QUIET_CONFIG);
  }

  async setLatency(ms: number): Promise<void> {
    await this.configure({ latency_ms: ms });
  }

  /** A token bucket over every Atlassian route (429 `jira-burst-based` when empty); null: none. */
  async setRateLimit(limit: RateLimitConfig | null): Promise<void> {
    await this.configure({ rate_limit: limit });
  }

  /**
   * Atlassian's hourly points quota (429 `jira-quota-global-based` once spent, until the top of the
   * hour), for OAuth calls or, with `appliesTo: 'all'`, API-token calls too; null: none.
   */
  async setPointsQuota(quota: PointsQuotaInput | null, appliesTo?: 'oauth' | 'all'): Promise<void> {
    await this.configure({ points_quota: quota, ...(appliesTo ? { quota_applies_to: appliesTo } : {}) });
  }

  /**
   * The quota's clock: `timeScale` simulated seconds per real second; `simTime` sets its instant
   * (null: the real time).
   */
  async setClock(clock: { timeScale?: number; simTime?: string | null }): Promise<void> {
    await this.configure({
      ...(clock.timeScale !== undefined ? { time_scale: clock.timeScale } : {}),
      ...(clock.simTime !== undefined ? { sim_time: clock.simTime } : {}),
    });
  }

  /** A token bucket per endpoint and method (GET/POST 100/s, PUT/DELETE 50/s unless given); null: none. */
  async setBurstLimits(limits: BurstLimitsInput | null): Promise<void> {
    await this.configure({ burst_limits: limits });
  }

  /** Writes per issue (20 per 2 s and 100 per 30 s unless given); null: none. */
  async setPerIssueWriteLimit(limit: PerIssueWriteLimitInput | null): Promise<void> {
    await this.configure({ per_issue_write_limit: limit });
  }

  /**
   * Answers matching Atlassian calls (every one unless `path`/`method` narrow it) 429 with this
   * `RateLimit-Reason` and `Retry-After`: the next `count` of them, or a `share` drawn from the seed.
   * A fault rule: it takes precedence over every behaviour. Answers the rule's id.
   */
  async injectRateLimitReason(injection: {
    reason: string;
    retryAfter: number;
    count?: number;
    share?: number;
    method?: string;
    path?: string;
  }): Promise<string> {
    const { reason, retryAfter, count, share, method, path } = injection;
    return this.addFault({
      path: path ?? '^/(rest|wiki|ex)/',
      status: 429,
      retry_after: retryAfter,
      headers: { 'RateLimit-Reason': reason },
      ...(method !== undefined ? { method } : {}),
      ...(count !== undefined ? { count } : {}),
      ...(share !== undefined ? { share } : {}),
    });
  }

  /** Share (0..1) of requests answered 503. */
  async setErrorRate(rate: number): Promise<void> {
    await this.configure({ error_rate: rate });
  }

  /** Share (0..1) of requests held without an answer for `hangMs` (default 30 000) or until the client leaves. */
  async setTimeoutRate(rate: number, hangMs?: number): Promise<void> {
    await this.configure({ timeout_rate: rate, ...(hangMs !== undefined ? { hang_ms: hangMs } : {}) });
  }

  /** Share (0..1) of writes (POST/PUT except Jira's search POST) committed, then answered by a destroyed connection. */
  async setDropAfterCommitRate(rate: number): Promise<void> {
    await this.configure({ drop_after_commit_rate: rate });
  }

  /**
   * Writes (POST/PUT except Jira's search POST) that succeed are committed at once and answered `ms`
   * later: a client with a shorter timeout sees a timeout for an object that exists. 0: at once.
   */
  async setAnswerAfterCommit(ms: number): Promise<void> {
    await this.configure({ answer_after_commit_ms: ms });
  }

  /** New Jira issues stay invisible to JQL search for `ms` (unless named in `reconcileIssues`). */
  async setSearchIndexLag(ms: number): Promise<void> {
    await this.configure({ search_index_lag_ms: ms });
  }

  /** Every Atlassian route answers 503 (`mode: 'reset'`: drops the connection) during the window. */
  async startOutage(outage: {
    duration_ms: number;
    start_in_ms?: number;
    mode?: 'error' | 'reset';
  }): Promise<void> {
    await this.configure({ outage });
  }

  async endOutage(): Promise<void> {
    await this.configure({ outage: null });
  }

  /** Restarts the PRNG behind every fraction: the same seed and requests give the same outcomes. */
  async setSeed(seed: number): Promise<void> {
    await this.configure({ seed });
  }

  /** `expires_in` of OAuth access tokens issued from now on. */
  async setOAuthAccessTtl(seconds: number): Promise<void> {
    await this.configure({ oauth_access_ttl_seconds: seconds });
  }

  /** API token: 401 until renewAuth(). OAuth: every access token issued so far stops working. */
  async expireAuth(): Promise<{ api_token_expired: true; access_tokens_revoked: number }> {
    return this.call('POST', '/__sim/auth/expire');
  }

  /** The API token works again (OAuth access tokens revoked by expireAuth() stay revoked). */
  async renewAuth(): Promise<void> {
    await this.call('POST', '/__sim/auth/renew');
  }

  private async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }
        : {}),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`simulator control ${method} ${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
