/**
 * Retry backoff: `base·2^(n-1)` plus jitter in `[0, base·2^(n-1))`, capped at the max, where n is the
 * attempt that just failed. With base 1 s: 1–2 s, 2–4 s, 4–8 s (the quick reference's schedule).
 * Whole seconds, because SQS visibility timeouts are whole seconds.
 */
export interface RetryPolicy {
  baseDelaySeconds: number;
  maxDelaySeconds: number;
}

export function retryDelaySeconds(
  policy: RetryPolicy,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failedAttempt - 1);
  const step = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** exponent);
  const jittered = step + random() * step;
  return Math.min(policy.maxDelaySeconds, Math.max(1, Math.ceil(jittered)));
}
