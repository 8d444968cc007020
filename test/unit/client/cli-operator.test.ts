/** `riq list` and `riq watch`: what they ask the client and what they print. */
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../../client/cli/args.js';
import { WATCH_INTERVAL_MS } from '../../../client/cli/run.js';
import type { OperatorRequestView, TimelineEntry } from '../../../client/types.js';
import { fakeClient, riq, TOKEN } from './cli-harness.js';

const submitted: TimelineEntry = { at: '2026-01-01T00:00:00.000Z', event: 'submitted' };
const started: TimelineEntry = { at: '2026-01-01T00:00:01.000Z', event: 'attempt_started', attempt: 1 };
const failedAttempt: TimelineEntry = {
  at: '2026-01-01T00:00:02.000Z',
  event: 'failed_attempt',
  attempt: 1,
  status_code: 503,
  error: 'SERVICE_UNAVAILABLE: down',
  delay_seconds: 4,
};
const succeeded: TimelineEntry = { at: '2026-01-01T00:00:07.000Z', event: 'succeeded', attempt: 2 };

function operatorView(overrides: Partial<OperatorRequestView>): OperatorRequestView {
  return {
    token: TOKEN,
    status: 'queued',
    service: 'jira',
    operation: 'jira.create_task',
    priority: 'normal',
    attempts: 0,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    timeline: [submitted],
    ...overrides,
  } as OperatorRequestView;
}

/** A clock that moves only when watch sleeps: the test never waits. */
function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

describe('riq list', () => {
  it('passes each filter to listRequests and prints a table with the next cursor', async () => {
    const client = fakeClient();
    client.listRequests.mockResolvedValueOnce({
      requests: [
        {
          token: TOKEN,
          status: 'queued',
          service: 'jira',
          operation: 'jira.create_task',
          priority: 'high',
          attempts: 1,
          created_at: '2026-01-01T00:00:00.000Z',
          updated_at: '2026-01-01T00:00:05.000Z',
        },
      ],
      next_cursor: 'c2',
    });
    const out = await riq(
      [
        'list',
        '--status',
        'queued',
        '--operation',
        'jira.create_task',
        '--service',
        'jira',
        '--limit',
        '5',
        '--cursor',
        'c1',
      ],
      client,
    );
    expect(out.code, out.stderr).toBe(0);
    expect(client.listRequests).toHaveBeenCalledWith({
      status: 'queued',
      operation: 'jira.create_task',
      service: 'jira',
      limit: 5,
      cursor: 'c1',
    });
    const lines = out.stdout.split('\n');
    expect(lines[0]!.split(/ {2,}/)).toEqual([
      'TOKEN',
      'STATUS',
      'OPERATION',
      'PRIORITY',
      'ATTEMPTS',
      'CREATED_AT',
      'UPDATED_AT',
      'LAST_ERROR',
    ]);
    expect(lines[1]).toContain(`${TOKEN}  queued`);
    expect(out.stdout).toContain('1 request; next page: --cursor c2\n');
  });

  it('asks for nothing it was not given; --json prints the page', async () => {
    const client = fakeClient();
    const out = await riq(['list', '--json'], client);
    expect(client.listRequests).toHaveBeenCalledWith({});
    expect(JSON.parse(out.stdout)).toEqual({ requests: [] });
    expect((await riq(['list'], client)).stdout).toBe('No requests.\n');
  });

  it('a mistyped operation: exit 2 with the nearest, no call', async () => {
    const client = fakeClient();
    const out = await riq(['list', '--operation', 'jira.creat_task'], client);
    expect(out.code).toBe(2);
    expect(out.stderr.split('\n')[0]).toBe(
      "riq: unknown operation 'jira.creat_task'; did you mean 'jira.create_task'?",
    );
    expect(out.stderr).toContain('Usage: riq list');
    expect(client.listRequests).not.toHaveBeenCalled();
  });

  it.each([
    [['list', 'extra'], /unexpected argument 'extra'/],
    [['list', '--limit', '0'], /--limit must be a positive integer/],
    [['list', '--service', 'github'], /--service must be one of jira, confluence/],
    [['list', '--wait'], /--wait does not apply to 'list'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrow(UsageError);
    expect(() => parseCommandLine(argv, {})).toThrow(message);
  });
});

describe('riq watch', () => {
  it('prints the timeline, then each new entry once, until the request completes (exit 0)', async () => {
    const client = fakeClient();
    client.getRequest
      .mockResolvedValueOnce(operatorView({ timeline: [submitted] }))
      .mockResolvedValueOnce(operatorView({ status: 'processing', timeline: [submitted, started] }))
      .mockResolvedValueOnce(
        operatorView({ status: 'queued', timeline: [submitted, started, failedAttempt] }),
      )
      .mockResolvedValueOnce(
        operatorView({ status: 'queued', timeline: [submitted, started, failedAttempt] }),
      )
      .mockResolvedValueOnce(
        operatorView({
          status: 'completed',
          attempts: 2,
          timeline: [submitted, started, failedAttempt, succeeded],
        }),
      );
    const time = fakeTime();
    const out = await riq(['watch', TOKEN], client, { sleep: time.sleep, now: time.now });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.split('\n')).toEqual([
      `${TOKEN}  jira.create_task  normal  queued`,
      '2026-01-01T00:00:00.000Z  submitted',
      '2026-01-01T00:00:01.000Z  attempt_started   attempt 1',
      '2026-01-01T00:00:02.000Z  failed_attempt    attempt 1, HTTP 503, delay 4 s, error SERVICE_UNAVAILABLE: down',
      '2026-01-01T00:00:07.000Z  succeeded         attempt 2',
      `${TOKEN} completed`,
      '',
    ]);
    expect(client.getRequest).toHaveBeenCalledTimes(5);
    expect(time.sleeps).toEqual([1, 2, 3, 4].map(() => WATCH_INTERVAL_MS));
  });

  it('tells new entries by content when the capped timeline drops its oldest', async () => {
    const client = fakeClient();
    client.getRequest
      .mockResolvedValueOnce(operatorView({ status: 'processing', timeline: [submitted, started] }))
      .mockResolvedValueOnce(operatorView({ status: 'dead', timeline: [started, failedAttempt] }));
    const time = fakeTime();
    const out = await riq(['watch', TOKEN, '--json'], client, { sleep: time.sleep, now: time.now });
    expect(out.code).toBe(1);
    const lines = out.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, 3)).toEqual([submitted, started, failedAttempt]);
    expect(lines[3]).toMatchObject({ token: TOKEN, status: 'dead' });
    expect(lines).toHaveLength(4);
  });

  it('--timeout: stops after that long, exit 4, saying how to go on', async () => {
    const client = fakeClient();
    client.getRequest.mockResolvedValue(operatorView({ status: 'processing' }));
    const time = fakeTime();
    const out = await riq(['watch', TOKEN, '--timeout', '3'], client, { sleep: time.sleep, now: time.now });
    expect(out.code).toBe(4);
    expect(out.stderr).toBe(
      `riq: stopped watching ${TOKEN} after 3 s (status: processing); watch again with: riq watch ${TOKEN}\n`,
    );
    expect(time.now()).toBe(3 * WATCH_INTERVAL_MS);
  });

  it('an unknown token: exit 3 with NOT_FOUND, as the API answers', async () => {
    const { RiqApiError } = await import('../../../client/errors.js');
    const client = fakeClient();
    client.getRequest.mockRejectedValueOnce(
      new RiqApiError(404, { code: 'NOT_FOUND', message: 'no such request', retryable: false }, {}),
    );
    const out = await riq(['watch', TOKEN], client);
    expect(out.code).toBe(3);
    expect(out.stderr).toContain('NOT_FOUND (HTTP 404)');
  });

  it.each([
    [['watch'], /missing <token>/],
    [['watch', TOKEN, '--timeout', 'soon'], /--timeout must be a positive number of seconds/],
    [['watch', TOKEN, '--wait'], /--wait does not apply to 'watch'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrow(UsageError);
    expect(() => parseCommandLine(argv, {})).toThrow(message);
  });
});
