import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig } from '../../model/config/riq-config.js';
import {
  queueName,
  deadLetterQueueName,
  reservedConcurrency,
  queueVisibilityTimeoutSeconds,
} from '../../model/config/resources.js';
import { messageBudgetMs } from '../../model/config/message-budget.js';
import { queueKeyFromArn } from '../../lambdas/worker/message-actions.js';
import { allQueueKeys } from '../../model/config/resources.js';

describe('config', () => {
  it('has the seed defaults', () => {
    expect(DEFAULT_CONFIG.services.jira).toMatchObject({ ratePerMinute: 100, burst: 50 });
    expect(DEFAULT_CONFIG.services.confluence).toMatchObject({ ratePerMinute: 50, burst: 50 });
    expect(DEFAULT_CONFIG.retry).toEqual({ maxAttempts: 4, baseDelaySeconds: 1, maxDelaySeconds: 60 });
    expect(DEFAULT_CONFIG.breaker).toEqual({ failureThreshold: 5, windowSeconds: 60, recoverySeconds: 60 });
    expect(DEFAULT_CONFIG.cache).toEqual({ getTtlSeconds: 300, searchTtlSeconds: 120 });
    expect(DEFAULT_CONFIG.api.longPollCapSeconds).toBe(25);
    expect(DEFAULT_CONFIG.retentionDays).toBe(7);
  });

  it('merges nested overrides', () => {
    const c = resolveConfig({ services: { jira: { concurrency: { high: 4 } } }, retry: { maxAttempts: 3 } });
    expect(c.services.jira.concurrency).toEqual({ high: 4, normal: 2, low: 2 });
    expect(c.services.jira.ratePerMinute).toBe(100);
    expect(c.retry).toMatchObject({ maxAttempts: 3, baseDelaySeconds: 1 });
    expect(reservedConcurrency(c, 'jira')).toBe(8);
  });

  it('rejects an impossible config with the field’s path', () => {
    expect(() => resolveConfig({ services: { jira: { concurrency: { low: 1 } } } })).toThrow(
      /services\.jira\.concurrency\.low/,
    );
    expect(() => resolveConfig({ retry: { maxDelaySeconds: 0 } })).toThrow(/retry\.maxDelaySeconds/);
    expect(() => resolveConfig({ api: { longPollCapSeconds: 60 } })).toThrow(/api\.longPollCapSeconds/);
  });

  it('gives a worker the time of one message at its worst: 3 calls of the HTTP timeout and 2 s', () => {
    expect(DEFAULT_CONFIG.worker.timeoutSeconds * 1000).toBeGreaterThanOrEqual(
      messageBudgetMs(DEFAULT_CONFIG.upstream.timeoutMs),
    );
    expect(() => resolveConfig({ worker: { timeoutSeconds: 30 }, upstream: { timeoutMs: 10_000 } })).toThrow(
      /worker\.timeoutSeconds/,
    );
    expect(
      resolveConfig({ worker: { timeoutSeconds: 30 }, upstream: { timeoutMs: 9_000 } }).worker,
    ).toMatchObject({ timeoutSeconds: 30 });
  });

  it('has a reconcile window for creates whose outcome is unknown, 1–900 s', () => {
    expect(DEFAULT_CONFIG.upstream.reconcileWindowSeconds).toBe(30);
    expect(resolveConfig({ upstream: { reconcileWindowSeconds: 5 } }).upstream).toEqual({
      timeoutMs: 10_000,
      reconcileWindowSeconds: 5,
    });
    for (const bad of [0, 901, 2.5]) {
      expect(() => resolveConfig({ upstream: { reconcileWindowSeconds: bad } })).toThrow(
        /upstream\.reconcileWindowSeconds/,
      );
    }
  });

  it('has priority reserves and an adaptive rate for the shared rate limit', () => {
    expect(DEFAULT_CONFIG.services.jira.reserves).toEqual({ normal: 0.1, low: 0.3 });
    expect(DEFAULT_CONFIG.services.confluence.reserves).toEqual({ normal: 0.1, low: 0.3 });
    expect(DEFAULT_CONFIG.rateControl.adaptive).toMatchObject({ decreaseFactor: 0.7, minRateFraction: 0.05 });
    const c = resolveConfig({ services: { confluence: { reserves: { low: 0.5 } } } });
    expect(c.services.confluence.reserves).toEqual({ normal: 0.1, low: 0.5 });
  });

  it('rejects reserves and adaptive settings that cannot work', () => {
    expect(() => resolveConfig({ services: { jira: { reserves: { low: 1 } } } })).toThrow(
      /services\.jira\.reserves\.low/,
    );
    expect(() => resolveConfig({ services: { jira: { reserves: { normal: 0.5, low: 0.2 } } } })).toThrow(
      /services\.jira\.reserves\.low/,
    );
    expect(() => resolveConfig({ rateControl: { adaptive: { decreaseFactor: 1 } } })).toThrow(
      /rateControl\.adaptive\.decreaseFactor/,
    );
    expect(() => resolveConfig({ rateControl: { adaptive: { probeIncreasePerSecond: 0.5 } } })).toThrow(
      /rateControl\.adaptive\.probeIncreasePerSecond/,
    );
  });

  it('has an hourly points budget per service: tier 1’s 65,000 an hour, 5 minutes of burst', () => {
    for (const service of ['jira', 'confluence'] as const) {
      expect(DEFAULT_CONFIG.services[service].points).toEqual({
        quotaPerHour: 65_000,
        windowSeconds: 3600,
        burstSeconds: 300,
        reserves: { normal: 0.1, low: 0.3 },
      });
    }
    const c = resolveConfig({ services: { jira: { points: { quotaPerHour: 100_000 } } } });
    expect(c.services.jira.points).toMatchObject({ quotaPerHour: 100_000, windowSeconds: 3600 });
    expect(c.services.confluence.points.quotaPerHour).toBe(65_000);
  });

  it('rejects a points budget that cannot pace', () => {
    expect(() => resolveConfig({ services: { jira: { points: { quotaPerHour: 0 } } } })).toThrow(
      /services\.jira\.points\.quotaPerHour/,
    );
    expect(() => resolveConfig({ services: { jira: { points: { windowSeconds: 10 } } } })).toThrow(
      /services\.jira\.points\.windowSeconds/,
    );
    expect(() => resolveConfig({ services: { jira: { points: { burstSeconds: 7200 } } } })).toThrow(
      /services\.jira\.points\.burstSeconds/,
    );
    expect(() =>
      resolveConfig({ services: { confluence: { points: { reserves: { normal: 0.4, low: 0.2 } } } } }),
    ).toThrow(/services\.confluence\.points\.reserves\.low/);
  });

  it('has Jira’s per-issue write windows and none for Confluence pages', () => {
    expect(DEFAULT_CONFIG.services.jira.objectWriteWindows).toEqual([
      { writes: 20, seconds: 2 },
      { writes: 100, seconds: 30 },
    ]);
    expect(DEFAULT_CONFIG.services.confluence.objectWriteWindows).toEqual([]);
    // An override replaces the list, it does not merge into it.
    const c = resolveConfig({ services: { jira: { objectWriteWindows: [{ writes: 4, seconds: 1 }] } } });
    expect(c.services.jira.objectWriteWindows).toEqual([{ writes: 4, seconds: 1 }]);
  });

  it('rejects a write window that leaves no rate after its burst', () => {
    expect(() =>
      resolveConfig({ services: { jira: { objectWriteWindows: [{ writes: 1, seconds: 2 }] } } }),
    ).toThrow(/services\.jira\.objectWriteWindows\.0\.writes/);
    expect(() =>
      resolveConfig({ services: { jira: { objectWriteWindows: [{ writes: 20, seconds: 0 }] } } }),
    ).toThrow(/services\.jira\.objectWriteWindows\.0\.seconds/);
  });

  it('derives names and timeouts in one place', () => {
    const c = resolveConfig({ namePrefix: 'riq-dev' });
    expect(queueName(c, 'jira-high')).toBe('riq-dev-jira-high');
    expect(deadLetterQueueName(c, 'jira-high')).toBe('riq-dev-jira-high-dlq');
    expect(queueVisibilityTimeoutSeconds(c)).toBeGreaterThanOrEqual(6 * c.worker.timeoutSeconds);
  });

  it('maps an event source ARN back to its queue key', () => {
    expect(
      queueKeyFromArn('arn:aws:sqs:eu-west-1:123:riq-dev-confluence-low', 'riq-dev', allQueueKeys()),
    ).toBe('confluence-low');
    expect(() => queueKeyFromArn('arn:aws:sqs:eu-west-1:123:other-queue', 'riq-dev', allQueueKeys())).toThrow(
      /unknown queue/,
    );
  });
});
