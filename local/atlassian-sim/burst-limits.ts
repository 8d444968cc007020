/**
 * Jira's per-endpoint burst limits: one token bucket per endpoint, an endpoint being the route
 * template with its method as the simulator names it in `GET /__sim/stats` (e.g.
 * `PUT /rest/api/3/issue/:issueIdOrKey`; every unmatched path of a method shares `GET (unmatched)`).
 * Each bucket refills at its limit per second and holds one second's worth, so a burst of that many
 * calls passes and the next is refused with 429 `jira-burst-based` until a token is back. Defaults are
 * Atlassian's: GET and POST 100/s, PUT and DELETE 50/s (other methods as POST); `endpoints` overrides
 * one endpoint. Confluence routes answer `confluence-burst-based`, named like Confluence's quota
 * reasons (Atlassian documents no Confluence burst reason). Real time: these are per-second limits.
 */
import * as z from 'zod';
import { rateLimitedResponse, TokenBucket } from './rate-limit.js';
import type { SimResponse } from './router.js';

const perSecond = z.number().positive().max(100_000);

export const burstLimitsSchema = z.strictObject({
  /** Calls per second per endpoint, by method. @default GET 100, POST 100, PUT 50, DELETE 50 */
  per_second: z
    .strictObject({
      GET: perSecond.optional(),
      POST: perSecond.optional(),
      PUT: perSecond.optional(),
      DELETE: perSecond.optional(),
    })
    .optional(),
  /** Calls per second of one endpoint (`"PUT /rest/api/3/issue/:issueIdOrKey"`), instead of its method's. */
  endpoints: z.record(z.string().regex(/^[A-Z]+ \S+$/), perSecond).optional(),
});

export type BurstLimitsInput = z.infer<typeof burstLimitsSchema>;

export interface BurstLimitsConfig {
  per_second: { GET: number; POST: number; PUT: number; DELETE: number };
  endpoints: Record<string, number>;
}

export const DEFAULT_BURST_PER_SECOND = { GET: 100, POST: 100, PUT: 50, DELETE: 50 } as const;

export function burstLimitsConfig(input: BurstLimitsInput): BurstLimitsConfig {
  return {
    per_second: { ...DEFAULT_BURST_PER_SECOND, ...input.per_second },
    endpoints: { ...input.endpoints },
  };
}

export class EndpointBursts {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    readonly config: BurstLimitsConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token of the endpoint `template` (`"METHOD /path"`); the 429 to answer when it has none. */
  take(template: string, product: 'jira' | 'confluence'): SimResponse | undefined {
    let bucket = this.buckets.get(template);
    if (!bucket) {
      const rate = this.limitOf(template);
      bucket = new TokenBucket({ rate_per_second: rate, burst: Math.max(1, Math.floor(rate)) }, this.now);
      this.buckets.set(template, bucket);
    }
    const decision = bucket.take();
    return decision.allowed
      ? undefined
      : rateLimitedResponse(decision, bucket.config.burst, `${product}-burst-based`);
  }

  private limitOf(template: string): number {
    const override = this.config.endpoints[template];
    if (override !== undefined) return override;
    const method = template.slice(0, template.indexOf(' '));
    const perSecond = this.config.per_second;
    return method === 'GET' || method === 'HEAD'
      ? perSecond.GET
      : method === 'PUT' || method === 'PATCH'
        ? perSecond.PUT
        : method === 'DELETE'
          ? perSecond.DELETE
          : perSecond.POST;
  }
}
