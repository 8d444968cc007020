import { describe, expect, it } from 'vitest';
import { QueuedConfluenceAdapter, QueuedJiraAdapter } from '../../../client/adapters.js';
import { RiqRequestFailedError } from '../../../client/errors.js';
import type {
  OperationName,
  QueueClientApi,
  RequestView,
  SubmitAnswer,
  SubmitOptions,
} from '../../../client/types.js';

interface Call {
  operation: OperationName;
  payload: unknown;
  options: SubmitOptions | undefined;
}

/** A QueueClientApi answering scripted submits and results. */
function fakeClient(answers: SubmitAnswer[], views: Record<string, RequestView> = {}) {
  const submits: Call[] = [];
  const waited: Array<{ token: string; timeoutMs: number | undefined }> = [];
  const client: QueueClientApi = {
    submit: async (operation, payload, options) => {
      submits.push({ operation, payload, options });
      const next = answers.shift();
      if (!next) throw new Error('no scripted answer');
      return next;
    },
    getResult: async (token) => views[token]!,
    waitForResult: async (token, options) => {
      waited.push({ token, timeoutMs: options?.timeoutMs });
      return views[token]!;
    },
    health: async () => ({}),
    circuitBreakers: async () => ({}),
    metrics: async () => ({}),
    listDeadLetters: async () => ({ dead_letters: [], count: 0, next_cursor: null }),
    retryDeadLetter: async () => ({}),
    purgeDeadLetter: async () => ({}),
    redriveDeadLetters: async () => ({}),
    listRequests: async () => ({ requests: [] }),
    getRequest: async () => {
      throw new Error('not used');
    },
  };
  return { client, submits, waited };
}

const base = { poll_url: '', operation: 'jira.get_task' as const, priority: 'normal' as const };
const view = (
  token: string,
  status: RequestView['status'],
  extra: Partial<RequestView> = {},
): RequestView => ({
  token,
  status,
  operation: 'jira.get_task',
  priority: 'normal',
  routing_path: 'QUEUED',
  attempts: 1,
  timeline: [],
  created_at: '',
  updated_at: '',
  ...extra,
});

describe('QueuedJiraAdapter reads', () => {
  it('returns a cached answer at once', async () => {
    const { client, waited } = fakeClient([
      { status: 'cached', routing_path: 'CACHE', result: { key: 'MD-1' }, cached_at: 'now' },
    ]);
    expect(await new QueuedJiraAdapter(client).getTask('MD-1')).toEqual({ key: 'MD-1' });
    expect(waited).toHaveLength(0);
  });

  it('returns a DIRECT-completed answer at once', async () => {
    const { client, waited } = fakeClient([
      { ...base, token: 'req_1', status: 'completed', routing_path: 'DIRECT', result: { key: 'MD-1' } },
    ]);
    expect(await new QueuedJiraAdapter(client).getTask('MD-1')).toEqual({ key: 'MD-1' });
    expect(waited).toHaveLength(0);
  });

  it('waits for a queued read and passes fresh / the consistency token / priority', async () => {
    const { client, submits, waited } = fakeClient(
      [{ ...base, token: 'req_1', status: 'queued', routing_path: 'QUEUED' }],
      { req_1: view('req_1', 'completed', { result: { issues: [] } }) },
    );
    const jira = new QueuedJiraAdapter(client, { priority: 'high', readTimeoutMs: 5_000 });
    expect(await jira.searchTasks('project=MD', { maxResults: 5, afterConsistencyToken: 'cst_1' })).toEqual({
      issues: [],
    });
    expect(submits[0]).toEqual({
      operation: 'jira.search_tasks',
      payload: { jql: 'project=MD', max_results: 5 },
      options: { priority: 'high', afterConsistencyToken: 'cst_1' },
    });
    expect(waited).toEqual([{ token: 'req_1', timeoutMs: 5_000 }]);
  });

  it('throws RiqRequestFailedError carrying the request error when a read fails or dies', async () => {
    const error = { code: 'NOT_FOUND', message: 'no issue', retryable: false };
    const direct = fakeClient([{ ...base, token: 'req_1', status: 'failed', routing_path: 'DIRECT', error }]);
    const e1 = await new QueuedJiraAdapter(direct.client).getTask('MD-9').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RiqRequestFailedError);
    expect(e1).toMatchObject({ token: 'req_1', status: 'failed', code: 'NOT_FOUND', error });

    const dead = fakeClient([{ ...base, token: 'req_2', status: 'queued', routing_path: 'QUEUED' }], {
      req_2: view('req_2', 'dead', {
        error: { code: 'SERVICE_UNAVAILABLE', message: '503', retryable: true },
      }),
    });
    await expect(new QueuedJiraAdapter(dead.client).getTask('MD-9')).rejects.toMatchObject({
      name: 'RiqRequestFailedError',
      status: 'dead',
      code: 'SERVICE_UNAVAILABLE',
    });
  });
});

describe('QueuedJiraAdapter writes', () => {
  it('answer the token and consistency token at once without `wait`', async () => {
    const { client, waited } = fakeClient([
      { ...base, token: 'req_1', status: 'queued', routing_path: 'QUEUED', consistency_token: 'cst_1' },
    ]);
    const out = await new QueuedJiraAdapter(client).addComment('MD-1', 'hello');
    expect(out).toEqual({ token: 'req_1', status: 'queued', consistencyToken: 'cst_1' });
    expect(waited).toHaveLength(0);
  });

  it('wait for the result when configured', async () => {
    const { client, waited } = fakeClient(
      [{ ...base, token: 'req_1', status: 'queued', routing_path: 'QUEUED', consistency_token: 'cst_1' }],
      { req_1: view('req_1', 'completed', { result: { key: 'MD-1', transitioned: true } }) },
    );
    const out = await new QueuedJiraAdapter(client, { wait: { timeoutMs: 9_000 } }).transitionTask(
      'MD-1',
      'Done',
    );
    expect(out).toEqual({
      token: 'req_1',
      status: 'completed',
      consistencyToken: 'cst_1',
      result: { key: 'MD-1', transitioned: true },
    });
    expect(waited).toEqual([{ token: 'req_1', timeoutMs: 9_000 }]);
  });

  it('throw when the waited write fails', async () => {
    const { client } = fakeClient([{ ...base, token: 'req_1', status: 'queued', routing_path: 'QUEUED' }], {
      req_1: view('req_1', 'failed', {
        error: { code: 'PERMISSION_DENIED', message: 'no', retryable: false },
      }),
    });
    await expect(
      new QueuedJiraAdapter(client, { wait: true }).updateTask({ task_id: 'MD-1', title: 'x' }),
    ).rejects.toBeInstanceOf(RiqRequestFailedError);
  });
});

describe('createThenGet (read-after-write)', () => {
  it('reads with the write consistency token when the answer has one', async () => {
    const { client, submits } = fakeClient([
      {
        ...base,
        token: 'req_1',
        status: 'completed',
        routing_path: 'DIRECT',
        consistency_token: 'cst_1',
        result: { key: 'MD-7', id: '10007' },
      },
      { ...base, token: 'req_2', status: 'completed', routing_path: 'DIRECT', result: { key: 'MD-7' } },
    ]);
    const out = await new QueuedJiraAdapter(client).createThenGet({ title: 't', project_id: 'MD' });
    expect(out.readWith).toBe('consistency_token');
    expect(out.read).toEqual({ key: 'MD-7' });
    expect(submits[1]).toMatchObject({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-7' },
      options: { afterConsistencyToken: 'cst_1' },
    });
  });

  it('reads fresh when the answer has no consistency token, and always waits for the create', async () => {
    const { client, submits, waited } = fakeClient(
      [
        { ...base, token: 'req_1', status: 'queued', routing_path: 'QUEUED' },
        { ...base, token: 'req_2', status: 'completed', routing_path: 'DIRECT', result: { id: '42' } },
      ],
      { req_1: view('req_1', 'completed', { result: { id: '42', title: 'p' } }) },
    );
    const out = await new QueuedConfluenceAdapter(client).createThenGet({
      title: 'p',
      content: '<p>x</p>',
      space_id: 'MD',
    });
    expect(waited.map((w) => w.token)).toEqual(['req_1']);
    expect(out.readWith).toBe('fresh');
    expect(out.created.result).toEqual({ id: '42', title: 'p' });
    expect(submits[1]).toMatchObject({
      operation: 'confluence.get_page',
      payload: { page_id: '42' },
      options: { fresh: true },
    });
    expect(submits[1]!.options).not.toHaveProperty('afterConsistencyToken');
  });
});
