/**
 * The simulator's site-wide burst limit (`rate_limit`): one token bucket over every Atlassian route,
 * answered like Jira's `jira-burst-based` 429 (Retry-After, X-RateLimit-* and RateLimit-Reason
 * headers). The token bucket also serves the per-endpoint limits of burst-limits.ts.
 */
import { jiraError, type SimResponse } from './router.js';

export interface RateLimitConfig {
  /** Tokens added per second. */
  rate_per_second: number;
  /** Bucket size: requests allowed at once after a quiet period. */
  burst: number;
  /**
   * false: never send `X-RateLimit-NearLimit` (a site whose answers give no warning before the 429,
   * only `Retry-After` and `X-RateLimit-*`). @default true
   */
  near_limit_header?: boolean;
}

/** Below this share of the burst left, successful answers carry `X-RateLimit-NearLimit: true`. */
export const NEAR_LIMIT_FRACTION = 0.2;

export type BucketDecision =
  | { allowed: true; remaining: number; nearLimit: boolean }
  | { allowed: false; retryAfterSeconds: number; resetAt: number };

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = config.burst;
    this.updatedAt = now();
  }

  /** Takes one token if there is one; a refused request takes none. */
  take(): BucketDecision {
    const now = this.now();
    const { rate_per_second: rate, burst } = this.config;
    this.tokens = Math.min(burst, this.tokens + ((now - this.updatedAt) / 1000) * rate);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return {
        allowed: true,
        remaining: Math.floor(this.tokens),
        nearLimit: this.config.near_limit_header !== false && this.tokens < burst * NEAR_LIMIT_FRACTION,
      };
    }
    const waitMs = ((1 - this.tokens) / rate) * 1000;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      resetAt: now + waitMs,
    };
  }
}

/** Jira's burst-limit answer to a request an empty bucket of size `limit` refused. */
export function rateLimitedResponse(
  decision: Extract<BucketDecision, { allowed: false }>,
  limit: number,
  reason = 'jira-burst-based',
): SimResponse {
  return {
    ...jiraError(429, ['Rate limit exceeded.']),
    headers: {
      'Retry-After': String(decision.retryAfterSeconds),
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': new Date(decision.resetAt).toISOString(),
      'RateLimit-Reason': reason,
    },
  };
}
