import { describe, expect, it } from 'vitest';
import { QueueClient } from '../../../client/queue-client.js';
import { RiqApiError, RiqNetworkError, RiqWaitTimeoutError } from '../../../client/errors.js';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

type Responder = (req: Seen, n: number) => Response | Promise<Response>;

function fakeFetch(respond: Responder): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const impl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req: Seen = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: init?.body as string | undefined,
    };
    seen.push(req);
    return respond(req, seen.length);
  };
  return { fetch: impl as typeof fetch, seen };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const queued = {
  token: 'req_1',
  status: 'queued',
  poll_url: '/api/queue/result/req_1',
  routing_path: 'QUEUED',
};
const riqError = (code: string, retryable: boolean) => ({
  error: { code, message: `${code} happened`, retryable, details: { field: 'payload.task_id' } },
});

describe('QueueClient against a local endpoint', () => {
  it('submits snake_case fields with a generated idempotency key, the caller header and no signature', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, queued));
    const client = new QueueClient({ endpoint: 'http://localhost:3000/', caller: 'alice', fetch });
    const answer = await client.submit(
      'jira.get_task',
      { task_id: 'MD-1' },
      {
        priority: 'high',
        fresh: true,
        routing: 'queued',
        dependsOn: ['req_0'],
        afterConsistencyToken: 'cst_0',
      },
    );
    expect(answer).toEqual(queued);
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req!.url).toBe('http://localhost:3000/api/queue/submit');
    expect(req!.method).toBe('POST');
    expect(req!.headers['x-riq-caller']).toBe('alice');
    expect(req!.headers['authorization']).toBeUndefined();
    const body = JSON.parse(req!.body!) as Record<string, unknown>;
    expect(body).toMatchObject({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-1' },
      priority: 'high',
      fresh: true,
      routing: 'queued',
      depends_on: ['req_0'],
      after_consistency_token: 'cst_0',
    });
    // A read carries no generated key: the server would skip its read cache.
    expect(body).not.toHaveProperty('idempotency_key');
    expect(client.signsRequests).toBe(false);
  });

  it('marks a 202 answer accepted and keeps a given idempotency key', async () => {
    const { fetch, seen } = fakeFetch(() => json(202, queued));
    const client = new QueueClient({ endpoint: 'http://localhost:3000', fetch });
    const answer = await client.submit(
      'jira.add_comment',
      { task_id: 'MD-1', comment: 'hi' },
      { fireAndForget: true, idempotencyKey: 'k-1' },
    );
    expect(answer).toMatchObject({ token: 'req_1', accepted: true });
    expect(JSON.parse(seen[0]!.body!)).toMatchObject({ idempotency_key: 'k-1', fire_and_forget: true });
  });

  it('retries 5xx and network failures with the same idempotency key, then succeeds', async () => {
    const { fetch, seen } = fakeFetch((_req, n) => {
      if (n === 1) throw new TypeError('fetch failed');
      if (n === 2) return json(503, riqError('SERVICE_UNAVAILABLE', true));
      return json(200, queued);
    });
    const client = new QueueClient({ endpoint: 'http://localhost:3000', fetch, retryBaseDelayMs: 1 });
    await client.submit('jira.create_task', { title: 'Once', project_id: 'MD' });
    expect(seen).toHaveLength(3);
    const keys = seen.map((s) => (JSON.parse(s.body!) as { idempotency_key: string }).idempotency_key);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('turns a 4xx into RiqApiError at once, without retrying', async () => {
    const { fetch, seen } = fakeFetch(() => json(400, riqError('VALIDATION_ERROR', false)));
    const client = new QueueClient({ endpoint: 'http://localhost:3000', fetch, retryBaseDelayMs: 1 });
    const err = await client.submit('jira.get_task', { task_id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RiqApiError);
    expect(err).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      message: 'VALIDATION_ERROR happened',
      retryable: false,
      details: { field: 'payload.task_id' },
    });
    expect(seen).toHaveLength(1);
  });

  it('gives up after `retries` retries: RiqApiError for a 5xx, RiqNetworkError (cause kept) for no answer', async () => {
    const five = fakeFetch(() => json(503, riqError('SERVICE_UNAVAILABLE', true)));
    const c1 = new QueueClient({
      endpoint: 'http://localhost:3000',
      fetch: five.fetch,
      retries: 2,
      retryBaseDelayMs: 1,
    });
    await expect(c1.health()).rejects.toMatchObject({ name: 'RiqApiError', status: 503 });
    expect(five.seen).toHaveLength(3);

    const cause = new TypeError('fetch failed');
    const down = fakeFetch(() => {
      throw cause;
    });
    const c2 = new QueueClient({
      endpoint: 'http://localhost:3000',
      fetch: down.fetch,
      retries: 1,
      retryBaseDelayMs: 1,
    });
    const err = await c2.getResult('req_1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RiqNetworkError);
    expect((err as RiqNetworkError).cause).toBe(cause);
    expect((err as RiqNetworkError).attempts).toBe(2);
    expect(down.seen).toHaveLength(2);
  });

  it('does not retry a refused connection or an unknown host; retries a reset connection', async () => {
    const failing = (code: string) => {
      const down = fakeFetch(() => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
      });
      const client = new QueueClient({
        endpoint: 'http://localhost:3000',
        fetch: down.fetch,
        retryBaseDelayMs: 1,
      });
      return { client, seen: down.seen };
    };
    const refused = failing('ECONNREFUSED');
    await expect(refused.client.health()).rejects.toMatchObject({
      name: 'RiqNetworkError',
      attempts: 1,
      unreachable: 'refused',
    });
    expect(refused.seen).toHaveLength(1);
    const unknownHost = failing('ENOTFOUND');
    await expect(unknownHost.client.health()).rejects.toMatchObject({
      attempts: 1,
      unreachable: 'not_found',
    });
    const reset = failing('ECONNRESET');
    await expect(reset.client.health()).rejects.toMatchObject({ attempts: 4, unreachable: undefined });
    expect(reset.seen).toHaveLength(4);
  });

  it('maps a non-RIQ error body (API Gateway) to HTTP_<status>', async () => {
    const { fetch } = fakeFetch(() => json(403, { message: 'Forbidden' }));
    const client = new QueueClient({ endpoint: 'http://localhost:3000', fetch });
    await expect(client.metrics()).rejects.toMatchObject({
      code: 'HTTP_403',
      message: 'Forbidden',
      status: 403,
    });
  });

  it('calls the dead-letter routes', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { dead_letters: [], count: 0, next_cursor: null }));
    const client = new QueueClient({ endpoint: 'http://localhost:3000/dev', fetch });
    await client.listDeadLetters({ service: 'jira', limit: 10, cursor: 'a b' });
    await client.retryDeadLetter('req_2');
    await client.purgeDeadLetter('req_3');
    await client.redriveDeadLetters('confluence');
    await client.redriveDeadLetters();
    await client.circuitBreakers();
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body ?? ''}`)).toEqual([
      'GET http://localhost:3000/dev/api/queue/dead-letters?service=jira&limit=10&cursor=a+b ',
      'POST http://localhost:3000/dev/api/queue/dead-letters/req_2/retry ',
      'DELETE http://localhost:3000/dev/api/queue/dead-letters/req_3 ',
      'POST http://localhost:3000/dev/api/queue/dead-letters/redrive {"service":"confluence"}',
      'POST http://localhost:3000/dev/api/queue/dead-letters/redrive {}',
      'GET http://localhost:3000/dev/api/queue/circuit-breakers ',
    ]);
  });
});

describe('waitForResult', () => {
  const view = (status: string) => ({ ...queued, status, operation: 'jira.get_task', attempts: 0 });

  it('long-polls with wait=min(25, remaining s) until a terminal state', async () => {
    const { fetch, seen } = fakeFetch((_req, n) => json(200, view(n < 3 ? 'queued' : 'completed')));
    const client = new QueueClient({ endpoint: 'http://localhost:3000', fetch });
    const done = await client.waitForResult('req_1', { timeoutMs: 120_000 });
    expect(done.status).toBe('completed');
    expect(seen).toHaveLength(3);
    expect(seen[0]!.url).toBe('http://localhost:3000/api/queue/result/req_1?wait=25');
  });

  it('throws RiqWaitTimeoutError with the last view once the timeout passes, without tight polling', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, view('waiting')));
    const client = new QueueClient({ endpoint: 'http://localhost:3000', fetch });
    const started = Date.now();
    const err = await client.waitForResult('req_1', { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RiqWaitTimeoutError);
    expect((err as RiqWaitTimeoutError).lastView).toMatchObject({ token: 'req_1', status: 'waiting' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(seen.length).toBeLessThanOrEqual(5);
    expect(seen[0]!.url).toMatch(/\?wait=1$/);
  });
});

describe('QueueClient against AWS', () => {
  const session = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    sessionToken: 'SESSION-TOKEN',
  };

  it('signs every request with SigV4 for execute-api when a region is given', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, queued));
    const client = new QueueClient({
      endpoint: 'https://riq.internal.example.com/dev',
      region: 'eu-west-1',
      caller: 'ignored-on-aws',
      fetch,
      credentials: async () => session,
    });
    await client.submit('jira.get_task', { task_id: 'MD-1' });
    await client.getResult('req_1');
    expect(client.signsRequests).toBe(true);
    for (const req of seen) {
      expect(req.headers['authorization']).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=\S*host;\S*x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
      );
      expect(req.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      expect(req.headers['x-amz-security-token']).toBe('SESSION-TOKEN');
      expect(req.headers['x-riq-caller']).toBeUndefined();
      expect(req.headers['host']).toBeUndefined();
    }
  });

  it('follows a result_url unsigned and answers the result in its place', async () => {
    const url =
      'https://riq-bodies.s3.eu-west-1.amazonaws.com/requests/req_1/result.json?X-Amz-Signature=abc';
    const page = { id: '1', body: 'x'.repeat(100) };
    const { fetch, seen } = fakeFetch((req) =>
      req.url === url
        ? json(200, page)
        : json(200, {
            ...queued,
            status: 'completed',
            result_url: url,
            result_size_bytes: 2_000_000,
            result_url_expires_at: '2026-11-23T10:15:00.000Z',
          }),
    );
    const client = new QueueClient({
      endpoint: 'https://riq.internal.example.com/dev',
      region: 'eu-west-1',
      fetch,
      credentials: async () => session,
    });
    expect(await client.getResult('req_1')).toEqual({ ...queued, status: 'completed', result: page });
    expect(await client.submit('confluence.get_page', { page_id: '1' })).toEqual({
      ...queued,
      status: 'completed',
      result: page,
    });
    const presigned = seen.filter((r) => r.url === url);
    expect(presigned).toHaveLength(2);
    for (const req of presigned) {
      expect(req.headers['authorization']).toBeUndefined();
      expect(req.headers['x-amz-security-token']).toBeUndefined();
    }
  });

  it('signs for the region of an execute-api host without being told', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { status: 'healthy' }));
    const client = new QueueClient({
      endpoint: 'https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod',
      fetch,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' },
    });
    await client.health();
    expect(seen[0]!.headers['authorization']).toContain('/ap-southeast-2/execute-api/aws4_request');
    expect(seen[0]!.headers['x-amz-security-token']).toBeUndefined();
  });
});
