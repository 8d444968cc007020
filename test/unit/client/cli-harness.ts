/** A fake `QueueClientApi` and captured streams for the `riq` CLI's unit tests. */
import { vi } from 'vitest';
import type { ClientOptions, QueueClientApi, RequestView } from '../../../client/types.js';
import { run, type RunIo } from '../../../client/cli/run.js';

export const TOKEN = 'req_0123456789abcdef0123456789abcdef';

export function view(overrides: Partial<RequestView> = {}): RequestView {
  return {
    token: TOKEN,
    status: 'completed',
    operation: 'jira.create_task',
    priority: 'normal',
    routing_path: 'QUEUED',
    attempts: 1,
    timeline: [],
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:01.000Z',
    completed_at: '2026-01-01T00:00:01.000Z',
    result: { key: 'MD-1', id: '10000' },
    ...overrides,
  };
}

export function fakeClient() {
  return {
    submit: vi.fn<QueueClientApi['submit']>(async () => ({
      token: TOKEN,
      status: 'queued',
      poll_url: `/api/queue/result/${TOKEN}`,
      routing_path: 'QUEUED',
    })),
    getResult: vi.fn<QueueClientApi['getResult']>(async () => view()),
    waitForResult: vi.fn<QueueClientApi['waitForResult']>(async () => view()),
    health: vi.fn<QueueClientApi['health']>(async () => ({ status: 'healthy' })),
    circuitBreakers: vi.fn<QueueClientApi['circuitBreakers']>(async () => ({ circuit_breakers: {} })),
    metrics: vi.fn<QueueClientApi['metrics']>(async () => ({ timestamp: 't' })),
    listDeadLetters: vi.fn<QueueClientApi['listDeadLetters']>(async () => ({
      dead_letters: [],
      count: 0,
      next_cursor: null,
    })),
    retryDeadLetter: vi.fn<QueueClientApi['retryDeadLetter']>(async () => ({
      token: TOKEN,
      status: 'queued',
    })),
    purgeDeadLetter: vi.fn<QueueClientApi['purgeDeadLetter']>(async () => ({ token: TOKEN, purged: true })),
    redriveDeadLetters: vi.fn<QueueClientApi['redriveDeadLetters']>(async () => ({ started: 2 })),
    listRequests: vi.fn<QueueClientApi['listRequests']>(async () => ({ requests: [] })),
    getRequest: vi.fn<QueueClientApi['getRequest']>(async () => ({
      token: TOKEN,
      status: 'queued',
      service: 'jira',
      operation: 'jira.create_task',
      priority: 'normal',
      owner: 'arn:aws:iam::123456789012:user/caller',
      routing_path: 'QUEUED',
      attempts: 0,
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      timeline: [{ at: '2026-01-01T00:00:00.000Z', event: 'submitted' }],
    })),
  } satisfies QueueClientApi;
}

export type FakeClient = ReturnType<typeof fakeClient>;

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  options: ClientOptions[];
}

/** Runs the CLI against `client`; answers exit code, captured output and the client options used. */
export async function riq(
  argv: string[],
  client: FakeClient = fakeClient(),
  io: Partial<RunIo> = {},
): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const options: ClientOptions[] = [];
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    clientFactory: (o) => {
      options.push(o);
      return client;
    },
    ...io,
  });
  return { code, stdout, stderr, options };
}
