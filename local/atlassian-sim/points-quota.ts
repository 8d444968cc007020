/**
 * The hourly points quota Atlassian applies to OAuth 2.0 (3LO), Connect and Forge traffic: each
 * product (Jira, Confluence) has `quota` points per window of `window_seconds` (3600), and the
 * windows start at multiples of the window on the simulated clock (the top of each UTC hour). Once
 * spent, every call of that product is refused with 429 until the reset.
 *
 * A call is charged after it is answered, since a search's cost is known only then, and refused
 * only when the quota was already spent before it: the last call of a window may overdraw it (a
 * search of 100 issues with 3 points left spends 101). `remaining` never goes below 0.
 *
 * Every answer carries `Beta-RateLimit-Policy: "<policy>";q=<quota>;w=<window>` (and/or the
 * unprefixed form) and, once 80 % is spent, `Beta-RateLimit: "<policy>";r=<remaining>;t=<seconds>`;
 * under 20 % left, `X-RateLimit-NearLimit: true`. `w` is the configured window; `t`, `Retry-After`
 * and `X-RateLimit-Reset` are real time (seconds rounded up, the real instant), since a client
 * waits in real time: with `time_scale` 60 an hour's window resets within a real minute.
 */
import * as z from 'zod';
import { jiraError, type SimResponse } from './router.js';
import type { SimClock } from './sim-clock.js';

export const pointsQuotaSchema = z.strictObject({
  /** Points per window (`q`): 65 000 for tier 1's global pool. */
  quota: z.number().int().min(1).max(100_000_000),
  /** The window (`w`) in simulated seconds. @default 3600 */
  window_seconds: z.number().int().min(1).max(86_400).optional(),
  /** 1: the app's global pool (`*-quota-global-based`); 2: per tenant (`*-quota-tenant-based`). @default 1 */
  tier: z.union([z.literal(1), z.literal(2)]).optional(),
  /** The policy name in the structured headers. @default 'global-app-quota' */
  policy_name: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .optional(),
  /** `beta`: `Beta-RateLimit(-Policy)`; `plain`: `RateLimit(-Policy)`; `both`. @default 'beta' */
  headers: z.enum(['beta', 'plain', 'both']).optional(),
  /** false: never send `X-RateLimit-NearLimit` for the quota (a client must read `r`). @default true */
  near_limit_header: z.boolean().optional(),
});

export type PointsQuotaInput = z.infer<typeof pointsQuotaSchema>;
export type PointsQuotaConfig = Required<PointsQuotaInput>;
export type QuotaProduct = 'jira' | 'confluence';

/** Share of the quota spent from which `r` is sent. */
export const REMAINING_FROM_SPENT = 0.8;
/** Share left under which `X-RateLimit-NearLimit: true` is sent. */
export const QUOTA_NEAR_LIMIT = 0.2;

export function quotaConfig(input: PointsQuotaInput): PointsQuotaConfig {
  return {
    quota: input.quota,
    window_seconds: input.window_seconds ?? 3600,
    tier: input.tier ?? 1,
    policy_name: input.policy_name ?? 'global-app-quota',
    headers: input.headers ?? 'beta',
    near_limit_header: input.near_limit_header ?? true,
  };
}

/** One product's window, for `GET /__sim/stats`. */
export interface QuotaWindowStats {
  spent: number;
  remaining: number;
  /** The simulated instant the window resets. */
  resets_at: string;
}

export class PointsQuota {
  private readonly windows = new Map<QuotaProduct, { index: number; spent: number }>();

  constructor(
    readonly config: PointsQuotaConfig,
    private readonly clock: SimClock,
  ) {}

  /** The 429 to answer when `product`'s quota is spent, else undefined. */
  refusal(product: QuotaProduct): SimResponse | undefined {
    const window = this.window(product);
    if (window.spent < this.config.quota) return undefined;
    const { retryAfterSeconds, resetAtReal } = this.untilReset();
    return {
      ...jiraError(429, ['Rate limit exceeded.']),
      headers: {
        'Retry-After': String(retryAfterSeconds),
        'X-RateLimit-Limit': String(this.config.quota),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': new Date(resetAtReal).toISOString(),
        'RateLimit-Reason': `${product}-quota-${this.config.tier === 1 ? 'global' : 'tenant'}-based`,
      },
    };
  }

  charge(product: QuotaProduct, points: number): void {
    this.window(product).spent += points;
  }

  /** The quota headers of an answer, after its charge. */
  headers(product: QuotaProduct): Record<string, string> {
    const { quota, window_seconds: w, policy_name: name, headers: mode } = this.config;
    const spent = this.window(product).spent;
    const remaining = Math.max(0, quota - spent);
    const prefixes = mode === 'beta' ? ['Beta-'] : mode === 'plain' ? [''] : ['Beta-', ''];
    const out: Record<string, string> = {};
    for (const prefix of prefixes) {
      out[`${prefix}RateLimit-Policy`] = `"${name}";q=${quota};w=${w}`;
      if (spent >= quota * REMAINING_FROM_SPENT) {
        out[`${prefix}RateLimit`] = `"${name}";r=${remaining};t=${this.untilReset().retryAfterSeconds}`;
      }
    }
    if (this.config.near_limit_header && remaining < quota * QUOTA_NEAR_LIMIT) {
      out['X-RateLimit-NearLimit'] = 'true';
    }
    return out;
  }

  stats(): Record<QuotaProduct, QuotaWindowStats> {
    const of = (product: QuotaProduct): QuotaWindowStats => {
      const spent = this.window(product).spent;
      return {
        spent,
        remaining: Math.max(0, this.config.quota - spent),
        resets_at: new Date(this.resetAtSim()).toISOString(),
      };
    };
    return { jira: of('jira'), confluence: of('confluence') };
  }

  private window(product: QuotaProduct): { index: number; spent: number } {
    const index = Math.floor(this.clock.now() / (this.config.window_seconds * 1000));
    let window = this.windows.get(product);
    if (!window || window.index !== index) {
      window = { index, spent: 0 };
      this.windows.set(product, window);
    }
    return window;
  }

  private resetAtSim(): number {
    const w = this.config.window_seconds * 1000;
    return (Math.floor(this.clock.now() / w) + 1) * w;
  }

  /** Real seconds (rounded up, at least 1) and the real instant until the window resets. */
  private untilReset(): { retryAfterSeconds: number; resetAtReal: number } {
    const realMs = this.clock.realSpan(this.resetAtSim() - this.clock.now());
    return {
      retryAfterSeconds: Math.max(1, Math.ceil(realMs / 1000)),
      resetAtReal: this.clock.real() + realMs,
    };
  }
}
