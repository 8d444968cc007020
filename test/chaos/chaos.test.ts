/**
 * The reduced chaos run inside `npm test`: chaos/settings.ts REDUCED — 150 requests of all ten
 * operations under 20 % 503s, 5 % hangs, 2 % writes dropped after commit, search lagging creates,
 * a 429 storm, a 20 s outage, an OAuth token expiry, two worker processes killed mid-flight, the
 * SQS emulator restarted empty and two DynamoDB throttling bursts, plus a 1 MB page round trip and
 * stray copies of every ended request — judged by chaos/checks.ts. Its own process and stack (chaos/main.ts); the logs
 * are in .riq-local/chaos-reduced.log and .riq-local/chaos-worker-*.log. It runs after the other
 * projects (vitest.config.ts), alone, so its load does not slow their timing-sensitive tests.
 */
import { describe, expect, it } from 'vitest';
import { report, runChaosChild } from '../../chaos/main.js';

describe('chaos (reduced)', () => {
  it('loses nothing, leaves nothing stuck, does nothing twice, and holds the breakers in the outage', async () => {
    const result = await runChaosChild('reduced');
    const text = report(result);
    console.log(text);
    expect(result.verdict.violations, text).toEqual([]);

    const f = result.verdict.figures;
    // Every request is accounted for: completed, failed for good, dead and listed, or a cache hit.
    // The plan's requests and the big page's three steps.
    expect(Number(f['requests'])).toBe(result.settings.requests + 3);
    expect(
      Number(f['completed']) +
        Number(f['failed_non_retryable']) +
        Number(f['dead_and_listed']) +
        Number(f['cached_at_submit']),
    ).toBe(Number(f['requests']));
    expect(f['duplicates']).toBe(0);
    // One object per completed create, none for a create that failed; a dead create's object may
    // exist (its answer was lost, then every attempt failed): its redrive adopts it.
    expect(Number(f['created_objects_found'])).toBe(
      Number(f['creates_completed']) + Number(f['created_objects_of_dead_creates']),
    );
    // The disasters happened: a run that injected nothing would prove nothing.
    expect(result.injected['errors_503']).toBeGreaterThan(0);
    expect(result.injected['timeouts']).toBeGreaterThan(0);
    expect(result.injected['outage_rejected']).toBeGreaterThan(0);
    expect(result.injected['oauth_refreshes']).toBeGreaterThan(0);
    expect(result.injected['worker_kills']).toBe(result.settings.workerKillsAtMs.length);
    expect(result.timeline.some((l) => l.includes('SQS emulator restarted'))).toBe(true);
    expect(f['429_injected']).toBeGreaterThan(0);
    const throttled = Object.entries(result.injected).filter(([k]) => k.startsWith('dynamodb_throttled_'));
    expect(throttled.reduce((n, [, v]) => n + v, 0)).toBeGreaterThan(0);
    expect(f['big_page_read_back']).toBe('whole');
    expect(Number(f['stray_copies_sent'])).toBeGreaterThan(0);
  }, 900_000);
});
