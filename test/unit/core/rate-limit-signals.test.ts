import { describe, expect, it } from 'vitest';
import {
  MAX_RETRY_AFTER_SECONDS,
  NEAR_LIMIT_SHARE,
  RATE_LIMIT_REASONS,
  parseRetryAfter,
  rateLimitedReasonOf,
  readRateLimitSignals,
  resetTimeOf,
  scopeOfReason,
  type HeaderSource,
  type RateLimitScope,
} from '../../../lambdas/core/domain/rate-limit-signals.js';
import { RATE_LIMITED_REASONS } from '../../../model/config/metrics.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');

function read(headers: Record<string, string>) {
  return readRateLimitSignals(new Headers(headers), NOW);
}

describe('rate-limit signals', () => {
  describe('RateLimit-Reason and its scope', () => {
    it.each<[string, string, RateLimitScope]>([
      ['jira-quota-global-based', 'jira-quota-global-based', 'quota'],
      ['jira-quota-tenant-based', 'jira-quota-tenant-based', 'quota'],
      ['jira-burst-based', 'jira-burst-based', 'burst'],
      ['jira-per-issue-on-write', 'jira-per-issue-on-write', 'per_issue'],
      ['confluence-quota-global-based', 'confluence-quota-global-based', 'quota'],
      ['confluence-quota-tenant-based', 'confluence-quota-tenant-based', 'quota'],
      [' JIRA-Burst-Based ', 'jira-burst-based', 'burst'],
      ['jira-cost-based', 'unknown', 'unknown'],
      ['confluence-quota-something-new', 'unknown', 'unknown'],
    ])('%j is %s with scope %s', (header, name, scope) => {
      const { reason } = read({ 'RateLimit-Reason': header });
      expect(reason).toEqual({ name, text: header.trim(), scope });
      expect(scopeOfReason(header)).toBe(scope);
    });

    it('keeps an unknown reason’s text as sent, cut to 128 characters', () => {
      const long = `x-${'a'.repeat(200)}`;
      const { reason } = read({ 'RateLimit-Reason': long });
      expect(reason?.name).toBe('unknown');
      expect(reason?.text).toBe(`${long.slice(0, 128)}…`);
    });

    it('has no reason without the header (or with a blank one); its scope is unknown', () => {
      expect(read({}).reason).toBeUndefined();
      expect(read({ 'RateLimit-Reason': '  ' }).reason).toBeUndefined();
      expect(scopeOfReason(undefined)).toBe('unknown');
      expect(scopeOfReason(null)).toBe('unknown');
    });

    it.each<[string, string, RateLimitScope]>([
      ['"jira-quota-tenant-based"', 'jira-quota-tenant-based', 'quota'],
      ['jira-quota-global-based, jira-quota-global-based', 'jira-quota-global-based', 'quota'],
      ['jira-per-issue-on-write, jira-burst-based', 'jira-burst-based', 'burst'],
      ['jira-burst-based, jira-cost-based', 'unknown', 'unknown'],
      ['jira-cost-based, "confluence-quota-global-based"', 'confluence-quota-global-based', 'quota'],
      [', jira-burst-based,', 'jira-burst-based', 'burst'],
    ])('reads the quoted or repeated reason %j as its broadest member: %s (%s)', (header, name, scope) => {
      expect(read({ 'RateLimit-Reason': header }).reason).toEqual({ name, text: header, scope });
      expect(scopeOfReason(header)).toBe(scope);
      expect(rateLimitedReasonOf(header)).toBe(name);
    });

    it('reads a reason sent on two header lines', () => {
      const headers = new Headers();
      headers.append('RateLimit-Reason', 'jira-quota-global-based');
      headers.append('RateLimit-Reason', 'jira-quota-global-based');
      expect(readRateLimitSignals(headers, NOW).reason).toMatchObject({
        name: 'jira-quota-global-based',
        scope: 'quota',
      });
    });

    it('gives every documented reason a scope other than unknown', () => {
      for (const reason of Object.keys(RATE_LIMIT_REASONS)) expect(scopeOfReason(reason)).not.toBe('unknown');
    });
  });

  describe('rateLimitedReasonOf (the RateLimited metric dimension)', () => {
    it.each<[string | null | undefined, string]>([
      ['jira-burst-based', 'jira-burst-based'],
      [' Confluence-Quota-Tenant-Based ', 'confluence-quota-tenant-based'],
      ['jira-cost-based', 'unknown'],
      ['', 'unknown'],
      [null, 'unknown'],
      [undefined, 'unknown'],
    ])('%j is %s', (text, dimension) => {
      expect(rateLimitedReasonOf(text)).toBe(dimension);
    });

    it('has one dimension value per documented reason, and unknown', () => {
      expect([...RATE_LIMITED_REASONS].sort()).toEqual(
        [...Object.keys(RATE_LIMIT_REASONS), 'unknown'].sort(),
      );
      for (const reason of Object.keys(RATE_LIMIT_REASONS)) expect(rateLimitedReasonOf(reason)).toBe(reason);
    });
  });

  describe('Retry-After', () => {
    it.each<[string, number | undefined]>([
      ['120', 120],
      ['1.2', 2],
      ['Mon, 23 Nov 2026 10:00:30 GMT', 30],
      ['Mon, 23 Nov 2026 09:59:00 GMT', 0],
      ['9223372036854775807', MAX_RETRY_AFTER_SECONDS],
      ['soon', undefined],
      ['-5', undefined],
    ])('%j → %s (as parseRetryAfter reads it)', (value, seconds) => {
      const signals = read({ 'Retry-After': value });
      expect(signals.retryAfterSeconds).toBe(seconds);
      expect(parseRetryAfter(value, NOW)).toBe(seconds);
      expect(signals.malformed.length).toBe(seconds === undefined ? 1 : 0);
    });

    it.each<[string, number]>([
      ['30, 30', 30],
      ['5, 30', 30],
      ['30, soon', 30],
      ['Mon, 23 Nov 2026 10:00:30 GMT, Mon, 23 Nov 2026 10:01:00 GMT', 60],
      ['10, Mon, 23 Nov 2026 10:00:30 GMT', 30],
      ['Monday, 23-Nov-26 10:00:45 GMT, 20', 45],
      ['soon, 30', 30],
    ])('reads a repeated Retry-After %j as its longest wait: %i s', (value, seconds) => {
      expect(read({ 'Retry-After': value }).retryAfterSeconds).toBe(seconds);
      expect(parseRetryAfter(value, NOW)).toBe(seconds);
    });

    it('reads Retry-After sent on two header lines', () => {
      const headers = new Headers();
      headers.append('Retry-After', '30');
      headers.append('Retry-After', '30');
      expect(readRateLimitSignals(headers, NOW).retryAfterSeconds).toBe(30);
    });

    it('reads Beta-Retry-After apart from Retry-After', () => {
      expect(read({ 'Retry-After': '3', 'Beta-Retry-After': '9' })).toMatchObject({
        retryAfterSeconds: 3,
        betaRetryAfterSeconds: 9,
      });
      const beta = read({ 'Beta-Retry-After': '9' });
      expect(beta.retryAfterSeconds).toBeUndefined();
      expect(beta.betaRetryAfterSeconds).toBe(9);
    });
  });

  describe('X-RateLimit-*', () => {
    it('reads Limit, Remaining, Reset and NearLimit', () => {
      const signals = read({
        'X-RateLimit-Limit': '300000',
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': '2026-11-23T10:01:00Z',
        'X-RateLimit-NearLimit': 'true',
      });
      expect(signals).toMatchObject({
        limit: 300000,
        remaining: 0,
        reset: { text: '2026-11-23T10:01:00Z', at: Date.parse('2026-11-23T10:01:00Z') },
        nearLimitHeader: true,
        nearLimit: true,
        malformed: [],
      });
    });

    it('reads the reset in Atlassian’s minute form and with an offset', () => {
      expect(read({ 'X-RateLimit-Reset': '2026-11-23T10:01Z' }).reset?.at).toBe(NOW + 60_000);
      expect(read({ 'X-RateLimit-Reset': '2026-11-23T11:01:00+01:00' }).reset?.at).toBe(NOW + 60_000);
    });

    it.each<[string, number]>([
      ['2026-11-23T10:01:00z', NOW + 60_000],
      ['2026-11-23t10:01:00Z', NOW + 60_000],
      ['2026-11-23 10:01:00Z', NOW + 60_000],
      ['2026-11-23T11:01:00+0100', NOW + 60_000],
      ['2026-11-23T09:01:00.000-0100', NOW + 60_000],
      ['2026-11-23T10:01:00', NOW + 60_000],
      ['2026-11-23T10:00:30Z, 2026-11-23T10:01:00Z', NOW + 60_000],
    ])('reads the reset %j leniently (no offset: UTC; a list: its latest)', (value, at) => {
      const signals = read({ 'X-RateLimit-Reset': value });
      expect(signals.reset).toEqual({ text: value, at });
      expect(signals.malformed).toEqual([]);
      expect(resetTimeOf(value)).toBe(at);
    });

    it('reads the counts of a repeated header as their least, NearLimit as true when any member is', () => {
      const signals = read({
        'X-RateLimit-Limit': '100, 100',
        'X-RateLimit-Remaining': '40, 12',
        'X-RateLimit-NearLimit': 'true, true',
      });
      expect(signals).toMatchObject({ limit: 100, remaining: 12, nearLimitHeader: true, malformed: [] });
      expect(read({ 'X-RateLimit-NearLimit': 'false, true' }).nearLimit).toBe(true);
      expect(read({ 'X-RateLimit-NearLimit': 'false, false' }).nearLimit).toBe(false);
    });

    it.each<[string, boolean, number]>([
      ['true', true, 0],
      ['TRUE', true, 0],
      ['false', false, 0],
      ['yes', false, 1],
    ])('NearLimit %j is %s (%i malformed)', (value, near, malformed) => {
      const signals = read({ 'X-RateLimit-NearLimit': value });
      expect(signals.nearLimitHeader).toBe(near);
      expect(signals.nearLimit).toBe(near);
      expect(signals.malformed).toHaveLength(malformed);
    });

    it('leaves out what it cannot read and names it in malformed', () => {
      const signals = read({
        'X-RateLimit-Limit': 'lots',
        'X-RateLimit-Remaining': '-1',
        'X-RateLimit-Reset': '17',
      });
      expect(signals.limit).toBeUndefined();
      expect(signals.remaining).toBeUndefined();
      expect(signals.reset).toEqual({ text: '17' }); // kept as text, with no time
      expect(signals.malformed.map((m) => m.header)).toEqual([
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
      ]);
    });

    it('has nothing but empty lists and no near-limit for an answer without rate-limit headers', () => {
      expect(read({ 'Content-Type': 'application/json' })).toEqual({
        policies: [],
        statuses: [],
        nearLimit: false,
        nearBurstLimit: false,
        malformed: [],
      });
    });
  });

  describe('RateLimit-Policy and RateLimit (structured, IETF draft)', () => {
    it('reads Atlassian’s quota policy and its status', () => {
      const signals = read({
        'RateLimit-Policy': '"global-app-quota";q=65000;w=3600',
        RateLimit: '"global-app-quota";r=1200;t=1800',
      });
      expect(signals.policies).toEqual([
        { name: 'global-app-quota', quota: 65000, windowSeconds: 3600, beta: false },
      ]);
      expect(signals.statuses).toEqual([
        { name: 'global-app-quota', remaining: 1200, resetSeconds: 1800, beta: false },
      ]);
      expect(signals.malformed).toEqual([]);
    });

    it('reads a status without r (Atlassian shows r only once ~80 % is spent)', () => {
      const signals = read({ 'Beta-RateLimit': '"global-app-quota";t=1800' });
      expect(signals.statuses).toEqual([{ name: 'global-app-quota', resetSeconds: 1800, beta: true }]);
      expect(signals.malformed).toEqual([]);
    });

    it('reads several comma-separated policies, token names, other parameters and spacing', () => {
      const signals = read({
        'RateLimit-Policy': '"global-app-quota";q=65000;w=3600, burst;q=100;w=1;qu="request" ,"t;x,y";q=5',
      });
      expect(signals.policies).toEqual([
        { name: 'global-app-quota', quota: 65000, windowSeconds: 3600, beta: false },
        { name: 'burst', quota: 100, windowSeconds: 1, beta: false },
        { name: 't;x,y', quota: 5, beta: false },
      ]);
    });

    it('reads spaces around a parameter’s =', () => {
      const signals = read({
        'RateLimit-Policy': '"global-app-quota"; q = 65000; w= 3600',
        RateLimit: '"global-app-quota";r =1200 ;t = 1800',
      });
      expect(signals.policies).toEqual([
        { name: 'global-app-quota', quota: 65000, windowSeconds: 3600, beta: false },
      ]);
      expect(signals.statuses).toEqual([
        { name: 'global-app-quota', remaining: 1200, resetSeconds: 1800, beta: false },
      ]);
      expect(signals.malformed).toEqual([]);
    });

    it('takes a Headers value that joined two header lines', () => {
      const headers = new Headers();
      headers.append('RateLimit-Policy', '"a";q=1;w=60');
      headers.append('RateLimit-Policy', '"b";q=2;w=60');
      expect(readRateLimitSignals(headers, NOW).policies.map((p) => p.name)).toEqual(['a', 'b']);
    });

    it('prefers the unprefixed entry of a name and falls back to Beta- for the others', () => {
      const signals = read({
        'Beta-RateLimit-Policy': '"global-app-quota";q=50000;w=3600, "tenant-quota";q=100000;w=3600',
        'RateLimit-Policy': '"global-app-quota";q=65000;w=3600',
        'Beta-RateLimit': '"global-app-quota";r=1;t=10, "tenant-quota";r=90000;t=1800',
        RateLimit: '"global-app-quota";t=1800',
      });
      expect(signals.policies).toEqual([
        { name: 'global-app-quota', quota: 65000, windowSeconds: 3600, beta: false },
        { name: 'tenant-quota', quota: 100000, windowSeconds: 3600, beta: true },
      ]);
      expect(signals.statuses).toEqual([
        { name: 'global-app-quota', resetSeconds: 1800, beta: false },
        { name: 'tenant-quota', remaining: 90000, resetSeconds: 1800, beta: true },
      ]);
    });

    it('falls back to Beta- when the unprefixed header cannot be read', () => {
      const signals = read({
        'RateLimit-Policy': 'garbage=;;',
        'Beta-RateLimit-Policy': '"global-app-quota";q=65000;w=3600',
      });
      expect(signals.policies).toEqual([
        { name: 'global-app-quota', quota: 65000, windowSeconds: 3600, beta: true },
      ]);
      expect(signals.malformed).toHaveLength(1);
      expect(signals.malformed[0]).toMatchObject({ header: 'RateLimit-Policy', value: 'garbage=;;' });
    });

    it.each<[string, string, string]>([
      ['RateLimit-Policy', '"global-app-quota";w=3600', 'no q'],
      ['RateLimit-Policy', '"global-app-quota";q=-1;w=3600', 'q is not a non-negative integer'],
      ['RateLimit-Policy', '"global-app-quota";q=6.5;w=3600', 'q is not a non-negative integer'],
      ['RateLimit-Policy', '"global-app-quota";q="65000"', 'q is not a non-negative integer'],
      ['RateLimit-Policy', '"global-app-quota";q=65000;w=soon', 'w is not a non-negative integer'],
      ['RateLimit-Policy', '"global-app-quota;q=65000', 'an unterminated quoted name'],
      ['RateLimit-Policy', '"";q=1', 'an empty name'],
      ['RateLimit-Policy', ';q=1', 'no name'],
      ['RateLimit-Policy', '"a" q=1', 'text after the name that is not a parameter'],
      ['RateLimit-Policy', '"a";=1', 'a parameter without a key'],
      ['RateLimit-Policy', '"a";q=', 'an unreadable value of q'],
      ['RateLimit', '"global-app-quota";r=lots;t=10', 'r is not a non-negative integer'],
      ['RateLimit', '"global-app-quota";r=10;t=-3', 't is not a non-negative integer'],
    ])('%s: %j is left out (%s)', (header, value, problem) => {
      const signals = read({ [header]: value });
      expect(signals.policies).toEqual([]);
      expect(signals.statuses).toEqual([]);
      expect(signals.malformed).toEqual([{ header, value, problem }]);
    });

    it('keeps the readable entries of a list with a broken one, and the first of two with one name', () => {
      const signals = read({ 'RateLimit-Policy': '"a";q=1, , "b";q=x, "a";q=2, "c";q=3;w=60' });
      expect(signals.policies.map((p) => [p.name, p.quota])).toEqual([
        ['a', 1],
        ['c', 3],
      ]);
      expect(signals.malformed.map((m) => m.problem)).toEqual([
        'an empty entry',
        'q is not a non-negative integer',
        'a second entry named a',
      ]);
    });

    it('never throws on hostile values', () => {
      const values = [
        '"',
        '\\',
        ';;;',
        ',,,',
        '"a\\',
        '"a";q=1;q',
        'a;b=?1;c=:YWJj:;d="x\\"y"',
        '\u0000;q=1',
      ];
      for (const value of values) {
        for (const header of ['RateLimit-Policy', 'RateLimit', 'Beta-RateLimit']) {
          expect(() =>
            readRateLimitSignals({ get: (n) => (n === header.toLowerCase() ? value : null) }),
          ).not.toThrow();
        }
      }
    });
  });

  describe('the nearLimit verdict', () => {
    const policy = '"global-app-quota";q=65000;w=3600';
    it.each<[string, Record<string, string>, boolean]>([
      ['no headers', {}, false],
      ['NearLimit true', { 'X-RateLimit-NearLimit': 'true' }, true],
      [
        'r just under 20 % of q',
        { 'RateLimit-Policy': policy, RateLimit: '"global-app-quota";r=12999;t=60' },
        true,
      ],
      ['r at 20 % of q', { 'RateLimit-Policy': policy, RateLimit: '"global-app-quota";r=13000;t=60' }, false],
      ['r = 0', { 'RateLimit-Policy': policy, RateLimit: '"global-app-quota";r=0;t=60' }, true],
      ['no r', { 'RateLimit-Policy': policy, RateLimit: '"global-app-quota";t=60' }, false],
      [
        'r without a policy of its name',
        { 'RateLimit-Policy': policy, RateLimit: '"other";r=0;t=60' },
        false,
      ],
      [
        'the Beta- forms',
        { 'Beta-RateLimit-Policy': policy, 'Beta-RateLimit': '"global-app-quota";r=100;t=60' },
        true,
      ],
      [
        'the unprefixed r over the Beta- one',
        {
          'RateLimit-Policy': policy,
          RateLimit: '"global-app-quota";r=60000;t=60',
          'Beta-RateLimit': '"global-app-quota";r=1;t=60',
        },
        false,
      ],
      ['NearLimit false with plenty left', { 'X-RateLimit-NearLimit': 'false' }, false],
    ])('%s → %s', (_, headers, near) => {
      expect(read(headers).nearLimit).toBe(near);
    });

    it('gives X-RateLimit-NearLimit to the request rate only while no quota of the answer is nearly spent', () => {
      const policy = '"global-app-quota";q=65000;w=3600';
      expect(read({ 'X-RateLimit-NearLimit': 'true' }).nearBurstLimit).toBe(true);
      expect(
        read({
          'X-RateLimit-NearLimit': 'true',
          'Beta-RateLimit-Policy': policy,
          'Beta-RateLimit': '"global-app-quota";r=20000;t=60',
        }).nearBurstLimit,
      ).toBe(true);
      const quotaLow = read({
        'X-RateLimit-NearLimit': 'true',
        'Beta-RateLimit-Policy': policy,
        'Beta-RateLimit': '"global-app-quota";r=12000;t=60',
      });
      expect(quotaLow.nearLimit).toBe(true);
      expect(quotaLow.nearBurstLimit).toBe(false);
    });

    it('uses the share Atlassian uses for X-RateLimit-NearLimit', () => {
      expect(NEAR_LIMIT_SHARE).toBe(0.2);
    });
  });

  it('reads a plain getter as well as Headers (names asked for in lower case)', () => {
    const map: Record<string, string> = { 'ratelimit-reason': 'jira-burst-based', 'retry-after': '7' };
    const source: HeaderSource = { get: (name) => map[name] ?? null };
    expect(readRateLimitSignals(source, NOW)).toMatchObject({
      reason: { name: 'jira-burst-based', scope: 'burst' },
      retryAfterSeconds: 7,
    });
  });
});
