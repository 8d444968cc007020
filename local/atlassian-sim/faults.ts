/**
 * Injected faults: rules matched by method and a path regex, answered instead of the real route,
 * optionally only the first `count` times and only for a `share` of the matching requests. A 429
 * with any `RateLimit-Reason` header (e.g. the undocumented `jira-cost-based`) is one such rule.
 */
import * as z from 'zod';
import { jiraError, type SimResponse } from './router.js';

export const faultRuleSchema = z.strictObject({
  method: z.string().min(1).optional(),
  /** A regular expression tested against the request path. */
  path: z.string().refine(
    (p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be a valid regular expression' },
  ),
  status: z.number().int().min(200).max(599),
  /** How many requests the rule answers; unlimited when absent. */
  count: z.number().int().min(1).optional(),
  /**
   * Share (0..1) of the matching requests the rule answers, drawn from the simulator's seeded PRNG
   * (only for requests this rule matches); every one when absent.
   */
  share: z.number().min(0).max(1).optional(),
  /** Seconds, sent as `Retry-After`. */
  retry_after: z.number().int().min(0).optional(),
  /** Response body; a Jira-like error body when absent. */
  body: z.record(z.string(), z.unknown()).optional(),
  /** Extra response headers, e.g. `RateLimit-Reason`. */
  headers: z.record(z.string(), z.string()).optional(),
});

export type FaultRule = z.infer<typeof faultRuleSchema>;

interface ActiveRule {
  id: string;
  rule: FaultRule;
  pattern: RegExp;
  remaining: number;
}

export class FaultRegistry {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  /** `draw`: the next value in [0, 1) of the simulator's PRNG, for rules with a `share`. */
  constructor(private readonly draw: () => number = Math.random) {}

  add(rule: FaultRule): string {
    const id = `fault-${this.nextId++}`;
    this.rules.push({ id, rule, pattern: new RegExp(rule.path), remaining: rule.count ?? Infinity });
    return id;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length < before;
  }

  clear(): number {
    const n = this.rules.length;
    this.rules = [];
    return n;
  }

  list(): (FaultRule & { id: string; remaining: number | null })[] {
    return this.rules.map((r) => ({
      ...r.rule,
      id: r.id,
      remaining: Number.isFinite(r.remaining) ? r.remaining : null,
    }));
  }

  /**
   * The response of the first rule matching this request (using up one of its count), if any. A rule
   * with a `share` that the draw passes over lets the next matching rule answer.
   */
  take(method: string, path: string): SimResponse | undefined {
    const active = this.rules.find(
      (r) =>
        (r.rule.method === undefined || r.rule.method.toUpperCase() === method.toUpperCase()) &&
        r.pattern.test(path) &&
        (r.rule.share === undefined || this.draw() < r.rule.share),
    );
    if (!active) return undefined;
    active.remaining--;
    if (active.remaining <= 0) this.rules = this.rules.filter((r) => r !== active);
    return faultResponse(active.rule);
  }
}

function faultResponse(rule: FaultRule): SimResponse {
  const headers: Record<string, string> = { ...rule.headers };
  if (rule.retry_after !== undefined) headers['Retry-After'] = String(rule.retry_after);
  const base = rule.body
    ? { status: rule.status, body: rule.body }
    : jiraError(rule.status, [defaultMessage(rule.status)]);
  return { ...base, headers };
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit exceeded.';
  if (status >= 500) return `Simulated upstream failure (${status}).`;
  return `Simulated fault (${status}).`;
}
