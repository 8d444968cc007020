import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  RiqApiError,
  RiqNetworkError,
  RiqRequestFailedError,
  RiqWaitTimeoutError,
} from '../../../client/errors.js';
import { fakeClient, riq, TOKEN, view } from './cli-harness.js';

const CREATE = '{"title":"T","project_id":"MD"}';

describe('riq commands call the client', () => {
  it('submit: operation, parsed payload and the options', async () => {
    const client = fakeClient();
    const out = await riq(
      [
        'submit',
        'jira.create_task',
        CREATE,
        '--priority',
        'low',
        '--idempotency-key',
        'k',
        '--fresh',
        '--routing',
        'queued',
        '--fire-and-forget',
        '--depends-on',
        'req_a,req_b',
        '--after',
        'cst_1',
      ],
      client,
    );
    expect(out.code).toBe(0);
    expect(client.submit).toHaveBeenCalledWith(
      'jira.create_task',
      { title: 'T', project_id: 'MD' },
      {
        priority: 'low',
        idempotencyKey: 'k',
        fresh: true,
        routing: 'queued',
        fireAndForget: true,
        dependsOn: ['req_a', 'req_b'],
        afterConsistencyToken: 'cst_1',
      },
    );
    expect(client.waitForResult).not.toHaveBeenCalled();
  });

  it('submit: passes no options it was not given', async () => {
    const client = fakeClient();
    await riq(['submit', 'jira.get_task', '{"task_id":"MD-1"}'], client);
    expect(client.submit).toHaveBeenCalledWith('jira.get_task', { task_id: 'MD-1' }, {});
  });

  it('submit: reads the payload from a file or stdin', async () => {
    const client = fakeClient();
    await riq(['submit', 'jira.get_task', '@p.json'], client, {
      readTextFile: async (path) => (path === 'p.json' ? '{"task_id":"MD-2"}' : ''),
    });
    expect(client.submit).toHaveBeenLastCalledWith('jira.get_task', { task_id: 'MD-2' }, {});
    const stdin = new PassThrough();
    stdin.end('{"task_id":\n"MD-3"}');
    await riq(['submit', 'jira.get_task', '-'], client, { stdin });
    expect(client.submit).toHaveBeenLastCalledWith('jira.get_task', { task_id: 'MD-3' }, {});
  });

  it('submit --wait: waits on the token with the timeout, prints the final view', async () => {
    const client = fakeClient();
    const out = await riq(
      ['submit', 'jira.create_task', CREATE, '--wait', '--timeout', '7', '--json'],
      client,
    );
    expect(client.waitForResult).toHaveBeenCalledWith(TOKEN, { timeoutMs: 7000 });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(view());
  });

  it('submit --wait: no wait when the answer is already terminal (DIRECT)', async () => {
    const client = fakeClient();
    const direct = {
      token: TOKEN,
      status: 'completed' as const,
      poll_url: `/api/queue/result/${TOKEN}`,
      routing_path: 'DIRECT' as const,
      result: { key: 'MD-9' },
    };
    client.submit.mockResolvedValueOnce(direct);
    const out = await riq(['submit', 'jira.create_task', CREATE, '--wait', '--json'], client);
    expect(client.waitForResult).not.toHaveBeenCalled();
    expect(JSON.parse(out.stdout)).toEqual(direct);
    expect(out.code).toBe(0);
  });

  it('submit --json: the API body, without the client-side `accepted` flag', async () => {
    const client = fakeClient();
    client.submit.mockResolvedValueOnce({
      token: TOKEN,
      status: 'queued',
      poll_url: `/api/queue/result/${TOKEN}`,
      routing_path: 'QUEUED',
      accepted: true,
    });
    const out = await riq(['submit', 'jira.create_task', CREATE, '--fire-and-forget', '--json'], client);
    expect(JSON.parse(out.stdout)).toEqual({
      token: TOKEN,
      status: 'queued',
      poll_url: `/api/queue/result/${TOKEN}`,
      routing_path: 'QUEUED',
    });
  });

  it('result: getResult, or waitForResult with --wait (default timeout: the client’s)', async () => {
    const client = fakeClient();
    await riq(['result', TOKEN], client);
    expect(client.getResult).toHaveBeenCalledWith(TOKEN);
    await riq(['result', TOKEN, '--wait'], client);
    expect(client.waitForResult).toHaveBeenCalledWith(TOKEN, {});
  });

  it('health, breakers, metrics', async () => {
    const client = fakeClient();
    expect((await riq(['health'], client)).code).toBe(0);
    expect((await riq(['breakers'], client)).code).toBe(0);
    expect((await riq(['metrics'], client)).code).toBe(0);
    expect(client.health).toHaveBeenCalledOnce();
    expect(client.circuitBreakers).toHaveBeenCalledOnce();
    expect(client.metrics).toHaveBeenCalledOnce();
  });

  it('dlq list / retry / purge / redrive', async () => {
    const client = fakeClient();
    await riq(['dlq', 'list'], client);
    expect(client.listDeadLetters).toHaveBeenLastCalledWith({});
    await riq(['dlq', 'list', '--service', 'confluence', '--limit', '5', '--cursor', 'abc'], client);
    expect(client.listDeadLetters).toHaveBeenLastCalledWith({
      service: 'confluence',
      limit: 5,
      cursor: 'abc',
    });
    await riq(['dlq', 'retry', TOKEN], client);
    expect(client.retryDeadLetter).toHaveBeenCalledWith(TOKEN);
    await riq(['dlq', 'purge', TOKEN], client);
    expect(client.purgeDeadLetter).toHaveBeenCalledWith(TOKEN);
    await riq(['dlq', 'redrive'], client);
    expect(client.redriveDeadLetters).toHaveBeenLastCalledWith(undefined);
    const out = await riq(['dlq', 'redrive', '--service', 'jira', '--json'], client);
    expect(client.redriveDeadLetters).toHaveBeenLastCalledWith('jira');
    expect(JSON.parse(out.stdout)).toEqual({ started: 2 });
  });

  it('builds the client from the global options', async () => {
    const local = await riq([
      'health',
      '--endpoint',
      'http://127.0.0.1:4000/',
      '--caller',
      'arn:aws:iam::1:user/a',
    ]);
    expect(local.options).toEqual([{ endpoint: 'http://127.0.0.1:4000', caller: 'arn:aws:iam::1:user/a' }]);
    const aws = await riq(['health'], fakeClient(), {
      env: { RIQ_ENDPOINT: 'https://x.execute-api.eu-west-1.amazonaws.com/dev', AWS_REGION: 'eu-west-1' },
    });
    expect(aws.options).toEqual([
      { endpoint: 'https://x.execute-api.eu-west-1.amazonaws.com/dev', region: 'eu-west-1' },
    ]);
    const defaults = await riq(['health'], fakeClient(), { env: { AWS_REGION: 'eu-west-1' } });
    expect(defaults.options).toEqual([{ endpoint: 'http://localhost:3000' }]);
  });
});

describe('riq exit codes', () => {
  it('0 when completed, 1 when failed or dead', async () => {
    const client = fakeClient();
    expect((await riq(['result', TOKEN], client)).code).toBe(0);
    client.getResult.mockResolvedValueOnce(
      view({ status: 'failed', error: { code: 'NOT_FOUND', message: 'no issue', retryable: false } }),
    );
    expect((await riq(['result', TOKEN], client)).code).toBe(1);
    client.waitForResult.mockResolvedValueOnce(view({ status: 'dead' }));
    expect((await riq(['submit', 'jira.create_task', CREATE, '--wait'], client)).code).toBe(1);
    client.submit.mockResolvedValueOnce({
      token: TOKEN,
      status: 'failed',
      poll_url: '',
      routing_path: 'DIRECT',
      error: { code: 'UPSTREAM_ERROR', message: 'x', retryable: false },
    });
    expect((await riq(['submit', 'jira.create_task', CREATE], client)).code).toBe(1);
  });

  it('0 for a queued request without --wait (the command was done)', async () => {
    const client = fakeClient();
    client.getResult.mockResolvedValueOnce(
      view({ status: 'queued', completed_at: undefined, result: undefined }),
    );
    expect((await riq(['result', TOKEN], client)).code).toBe(0);
  });

  it('3 when the API refuses (4xx), with the RIQ code and message on stderr', async () => {
    const client = fakeClient();
    client.submit.mockRejectedValueOnce(
      new RiqApiError(
        400,
        {
          code: 'VALIDATION_ERROR',
          message: 'payload.title: must not be empty',
          retryable: false,
          details: { field: 'payload.title' },
        },
        {},
      ),
    );
    const out = await riq(['submit', 'jira.create_task', '{"title":""}', '--json'], client);
    expect(out.code).toBe(3);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('riq: VALIDATION_ERROR (HTTP 400): payload.title: must not be empty');
    expect(out.stderr).toContain('details: {"field":"payload.title"}');
  });

  it('4 when --wait times out, naming the token', async () => {
    const client = fakeClient();
    client.waitForResult.mockRejectedValueOnce(
      new RiqWaitTimeoutError(TOKEN, 1000, view({ status: 'queued', result: undefined })),
    );
    const out = await riq(['result', TOKEN, '--wait', '--timeout', '1'], client);
    expect(out.code).toBe(4);
    expect(out.stderr).toContain(`timed out after 1 s waiting for ${TOKEN} (last status: queued)`);
  });

  it('5 on a network failure or a 5xx after retries', async () => {
    const client = fakeClient();
    client.health.mockRejectedValueOnce(new RiqNetworkError('GET /api/queue/health failed: ECONNREFUSED', 4));
    const net = await riq(['health'], client);
    expect(net.code).toBe(5);
    expect(net.stderr).toMatch(/network error: .*ECONNREFUSED/);
    client.health.mockRejectedValueOnce(
      new RiqApiError(503, { code: 'SERVICE_UNAVAILABLE', message: 'down', retryable: true }, {}),
    );
    const down = await riq(['health'], client);
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('SERVICE_UNAVAILABLE (HTTP 503): down');
  });

  it('1 when the client reports the request failed', async () => {
    const client = fakeClient();
    const failed = view({ status: 'failed' });
    client.waitForResult.mockRejectedValueOnce(new RiqRequestFailedError(TOKEN, 'failed', undefined, failed));
    expect((await riq(['result', TOKEN, '--wait'], client)).code).toBe(1);
  });

  it('5 on anything unexpected, the message on stderr', async () => {
    const client = fakeClient();
    client.metrics.mockRejectedValueOnce(new Error('boom'));
    const out = await riq(['metrics'], client);
    expect(out.code).toBe(5);
    expect(out.stderr).toContain('unexpected error: boom');
  });
});

describe('riq spinner', () => {
  it('draws on stderr while waiting when stderr is a TTY, and clears its line', async () => {
    const out = await riq(['result', TOKEN, '--wait'], fakeClient(), { isTTY: true });
    expect(out.stderr).toContain(`waiting for ${TOKEN}`);
    expect(out.stderr.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('stays quiet with --json or without a TTY', async () => {
    expect((await riq(['result', TOKEN, '--wait', '--json'], fakeClient(), { isTTY: true })).stderr).toBe('');
    expect((await riq(['result', TOKEN, '--wait'], fakeClient(), { isTTY: false })).stderr).toBe('');
  });
});
