import { describe, expect, it } from 'vitest';
import { table } from '../../../client/cli/format.js';
import type { DeadLetterPage } from '../../../client/types.js';
import { fakeClient, riq, TOKEN, view } from './cli-harness.js';

const HEALTH = {
  status: 'degraded',
  timestamp: '2026-01-01T00:00:00.000Z',
  reasons: ['jira circuit breaker open', '1 dead request'],
  services: {
    jira: {
      circuit_breaker: 'open',
      queues: {
        high: { visible: 0, in_flight: 1, delayed: 0, dead_letter_queue: 0 },
        normal: { visible: 12, in_flight: 0, delayed: 3, dead_letter_queue: 1 },
      },
    },
    confluence: {
      circuit_breaker: 'closed',
      queues: { normal: { visible: 0, in_flight: 0, delayed: 0, dead_letter_queue: 0 } },
    },
  },
  circuit_breakers: { total_circuits: 2 },
  dead_letters: 1,
  budgets: {
    jira: {
      rate: {
        tokens: 3.14159,
        burst: 50,
        effective_rate_per_second: 4.1666,
        configured_rate_per_second: 8.3333,
        pauses: [
          { scope: 'service', target: null, until: '2026-01-01T00:00:09.000Z' },
          { scope: 'endpoint', target: 'jira:search', until: '2026-01-01T00:00:04.000Z' },
        ],
        slow_until: null,
        margin_tokens: 0,
        lines: {
          normal: { next_slot_at: '2026-01-01T00:00:01.500Z', ahead_ms: 1500 },
          low: { next_slot_at: '2026-01-01T00:00:02.250Z', ahead_ms: 2250 },
        },
      },
      points: {
        enabled: true,
        points: 812.6,
        capacity: 5416.67,
        pace_per_second: 0,
        quota: 65000,
        window_seconds: 3600,
        quota_source: 'headers',
        reset_at: '2026-01-01T01:00:00.000Z',
        slow_until: null,
        margin_tokens: 0,
        exhausted_until: '2026-01-01T01:00:00.000Z',
      },
    },
    confluence: {
      rate: {
        tokens: 50,
        burst: 50,
        effective_rate_per_second: 8.3333,
        configured_rate_per_second: 8.3333,
        pauses: [],
        slow_until: null,
        margin_tokens: 0,
        lines: { normal: { next_slot_at: null, ahead_ms: 0 }, low: { next_slot_at: null, ahead_ms: 0 } },
      },
      points: {
        enabled: false,
        points: 5416.67,
        capacity: 5416.67,
        pace_per_second: 18.06,
        quota: 65000,
        window_seconds: 3600,
        quota_source: 'config',
        reset_at: null,
        slow_until: null,
        margin_tokens: 0,
        exhausted_until: null,
      },
    },
  },
};

const PAGE: DeadLetterPage = {
  dead_letters: [
    {
      token: TOKEN,
      operation: 'jira.create_task',
      service: 'jira',
      priority: 'normal',
      owner: 'arn:aws:iam::1:user/a',
      attempts: 4,
      error: { code: 'SERVICE_UNAVAILABLE', message: '503', retryable: true },
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:01:00.000Z',
    },
    {
      token: 'req_ffffffffffffffffffffffffffffffff',
      operation: 'confluence.create_page',
      service: 'confluence',
      priority: 'high',
      owner: 'arn:aws:iam::1:user/b',
      attempts: 12,
      error: null,
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:02:00.000Z',
    },
  ],
  count: 2,
  next_cursor: 'cur_2',
};

describe('riq output', () => {
  it('aligns table columns, numbers to the right', () => {
    expect(
      table(
        ['name', 'count'],
        [
          ['a', 5],
          ['longer', 120],
        ],
      ),
    ).toBe('NAME    COUNT\na           5\nlonger    120\n');
  });

  it('result: key/value lines and the result as indented JSON', async () => {
    const out = await riq(['result', TOKEN]);
    expect(out.stdout).toContain(`token:         ${TOKEN}\n`);
    expect(out.stdout).toContain('status:        completed\n');
    expect(out.stdout).toContain('attempts:      1\n');
    expect(out.stdout).toContain('result:\n  {\n    "key": "MD-1",\n    "id": "10000"\n  }\n');
    expect(out.stdout).not.toContain('waiting_on');
  });

  it('result: the error code and message of a failed request', async () => {
    const client = fakeClient();
    client.getResult.mockResolvedValueOnce(
      view({
        status: 'failed',
        result: undefined,
        error: { code: 'NOT_FOUND', message: 'issue MD-9 not found', retryable: false },
      }),
    );
    const out = await riq(['result', TOKEN], client);
    expect(out.stdout).toMatch(/error: +NOT_FOUND: issue MD-9 not found/);
  });

  it('result --json: exactly the API JSON', async () => {
    const out = await riq(['result', TOKEN, '--json']);
    expect(JSON.parse(out.stdout)).toEqual(view());
    expect(out.stdout.endsWith('\n')).toBe(true);
  });

  it('submit: token, status and routing path', async () => {
    const out = await riq(['submit', 'jira.get_task', '{"task_id":"MD-1"}']);
    expect(out.stdout).toMatch(new RegExp(`^token: +${TOKEN}$`, 'm'));
    expect(out.stdout).toMatch(/^status: +queued$/m);
    expect(out.stdout).toMatch(/^routing_path: +QUEUED$/m);
  });

  it('submit: a cached answer shows its result', async () => {
    const client = fakeClient();
    client.submit.mockResolvedValueOnce({
      status: 'cached',
      routing_path: 'CACHE',
      result: { key: 'MD-1' },
      cached_at: '2026-01-01T00:00:00.000Z',
    });
    const out = await riq(['submit', 'jira.get_task', '{"task_id":"MD-1"}'], client);
    expect(out.stdout).toMatch(/^status: +cached$/m);
    expect(out.stdout).toContain('"key": "MD-1"');
  });

  it('health: status, reasons and a queue table', async () => {
    const client = fakeClient();
    client.health.mockResolvedValue(HEALTH);
    const out = await riq(['health'], client);
    expect(out.stdout).toMatch(/^status: +degraded$/m);
    expect(out.stdout).toMatch(/^reasons: +jira circuit breaker open; 1 dead request$/m);
    expect(out.stdout).toMatch(/^dead_letters: +1$/m);
    const lines = out.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('SERVICE'));
    expect(header).toBe('SERVICE     PRIORITY  BREAKER  VISIBLE  IN_FLIGHT  DELAYED  DLQ');
    expect(lines).toContain('jira        normal    open          12          0        3    1');
    expect(lines).toContain('confluence  normal    closed         0          0        0    0');

    const json = await riq(['health', '--json'], client);
    expect(JSON.parse(json.stdout)).toEqual(HEALTH);
  });

  it('health: a table of each token bucket and one of each points budget', async () => {
    const client = fakeClient();
    client.health.mockResolvedValue(HEALTH);
    const lines = (await riq(['health'], client)).stdout.split('\n');
    const rateAt = lines.indexOf('rate limit (tokens per second):');
    expect(lines[rateAt + 1]).toMatch(
      /^SERVICE +TOKENS +BURST +RATE\/CONFIGURED +NORMAL_LINE +LOW_LINE +PAUSES +SLOW_UNTIL$/,
    );
    const jiraRate = lines[rateAt + 2]!.split(/ {2,}/);
    expect(jiraRate).toEqual([
      'jira',
      '3.1',
      '50',
      '4.17/8.33',
      '1.5s',
      '2.3s',
      'service until 2026-01-01T00:00:09.000Z; endpoint jira:search until 2026-01-01T00:00:04.000Z',
      '-',
    ]);
    expect(lines[rateAt + 3]!.split(/ {2,}/)).toEqual([
      'confluence',
      '50',
      '50',
      '8.33/8.33',
      '0s',
      '0s',
      '-',
      '-',
    ]);
    const pointsAt = lines.indexOf('points budget (per hour):');
    expect(lines[pointsAt + 1]).toMatch(
      /^SERVICE +BUDGET +POINTS +CAPACITY +PACE\/S +QUOTA +SOURCE +NEAR_LIMIT_UNTIL +EXHAUSTED_UNTIL$/,
    );
    expect(lines[pointsAt + 2]!.split(/ {2,}/)).toEqual([
      'jira',
      'on',
      '813',
      '5417',
      '0',
      '65000/3600s',
      'headers',
      '-',
      '2026-01-01T01:00:00.000Z',
    ]);
    expect(lines[pointsAt + 3]!.split(/ {2,}/)).toEqual([
      'confluence',
      'off',
      '5417',
      '5417',
      '18.06',
      '65000/3600s',
      'config',
      '-',
      '-',
    ]);
  });

  it('breakers: one row per service', async () => {
    const client = fakeClient();
    client.circuitBreakers.mockResolvedValueOnce({
      timestamp: 't',
      circuit_breakers: {
        jira: {
          name: 'jira',
          state: 'open',
          failure_count: 5,
          failure_threshold: 5,
          opened_at: '2026-01-01T00:00:00.000Z',
          next_attempt_at: '2026-01-01T00:01:00.000Z',
          last_failure_at: '2026-01-01T00:00:00.000Z',
        },
        confluence: {
          name: 'confluence',
          state: 'closed',
          failure_count: 0,
          failure_threshold: 5,
          opened_at: null,
          next_attempt_at: null,
          last_failure_at: null,
        },
      },
    });
    const out = await riq(['breakers'], client);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAME +STATE +FAILURES +THRESHOLD +OPENED_AT +NEXT_ATTEMPT_AT +LAST_FAILURE_AT$/,
    );
    expect(lines[1]).toMatch(/^jira +open +5 +5 +2026-01-01T00:00:00.000Z/);
    expect(lines[2]).toMatch(/^confluence +closed +0 +5 +- +- +-$/);
  });

  it('metrics: each array as a table', async () => {
    const client = fakeClient();
    client.metrics.mockResolvedValueOnce({
      timestamp: 't',
      dead_requests: 0,
      queues: [
        { service: 'jira', priority: 'high', visible: 1, in_flight: 0, delayed: 0, dead_letter_queue: 0 },
      ],
      circuit_breakers: [{ service: 'jira', state: 'closed', value: 0 }],
      rate_limits: [],
    });
    const out = await riq(['metrics'], client);
    expect(out.stdout).toMatch(/^queues:\nSERVICE +PRIORITY +VISIBLE/m);
    expect(out.stdout).toMatch(/^jira +high +1 +0 +0 +0$/m);
    expect(out.stdout).toMatch(/^rate_limits:\n\(none\)$/m);
  });

  it('dlq list: a table, the count and the next cursor', async () => {
    const client = fakeClient();
    client.listDeadLetters.mockResolvedValue(PAGE);
    const out = await riq(['dlq', 'list'], client);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toMatch(/^TOKEN +OPERATION +SERVICE +PRIORITY +OWNER +ATTEMPTS +ERROR +UPDATED_AT$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${TOKEN} +jira.create_task +jira +normal .* +4 +SERVICE_UNAVAILABLE +2026`),
    );
    expect(lines[2]).toMatch(/^req_f+ +confluence.create_page +confluence +high .* +12 +- +2026/);
    // The attempts column is right-aligned: both rows end it at the same column.
    expect(lines[1]!.indexOf(' 4 ') + 2).toBe(lines[2]!.indexOf('12 ') + 2);
    expect(out.stdout).toContain('2 dead letters; next page: --cursor cur_2\n');

    const json = await riq(['dlq', 'list', '--json'], client);
    expect(JSON.parse(json.stdout)).toEqual(PAGE);
  });

  it('dlq list: says so when there are none', async () => {
    expect((await riq(['dlq', 'list'])).stdout).toBe('No dead letters.\n');
  });

  it('dlq retry: the answer as key/value lines', async () => {
    const out = await riq(['dlq', 'retry', TOKEN]);
    expect(out.stdout).toBe(`token:   ${TOKEN}\nstatus:  queued\n`);
  });
});
