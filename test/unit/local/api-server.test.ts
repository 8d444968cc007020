import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_FUNCTIONS, type ApiFunctionName } from '../../../model/config/routes.js';
import { startApiServer, type ApiHandler, type RunningApi } from '../../../local/api-server.js';

/** Each handler answers the path parameters it was given. */
const echo: ApiHandler = async (event) => ({ statusCode: 200, body: JSON.stringify(event.pathParameters) });
/** Answers 200 after `ms`. */
const sleeping =
  (ms: number): ApiHandler =>
  async () => {
    await new Promise((r) => setTimeout(r, ms));
    return { statusCode: 200, body: '{}' };
  };
const throwing: ApiHandler = async () => {
  throw new Error('function error');
};
const each = <T>(v: T) => Object.fromEntries(API_FUNCTIONS.map((f) => [f, v])) as Record<ApiFunctionName, T>;
let api: RunningApi;

beforeAll(async () => {
  api = await startApiServer({ port: 0, handlers: each(echo), timeouts: each(10) });
});
afterAll(() => api.stop());

describe('local API server', () => {
  it('passes a path parameter with a malformed escape on as it came (it was a 500)', async () => {
    const res = await fetch(`${api.url}/api/queue/result/%E0%A4%A`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ token: '%E0%A4%A' });
    expect(await (await fetch(`${api.url}/api/queue/result/req%5Fx`)).json()).toEqual({ token: 'req_x' });
  });

  it("answers a function that outlives its timeout as API Gateway does: 502 in RIQ's error shape", async () => {
    const failures: unknown[] = [];
    const slow = await startApiServer({
      port: 0,
      handlers: { ...each(echo), submit: sleeping(500), health: throwing },
      timeouts: { ...each(10), submit: 0.1 },
      onFunctionError: (err) => failures.push(err),
    });
    try {
      const started = Date.now();
      const res = await fetch(`${slow.url}/api/queue/submit`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(502);
      expect(Date.now() - started).toBeLessThan(450);
      expect(await res.json()).toEqual({
        error: {
          code: 'INTERNAL_ERROR',
          message: 'Internal server error',
          retryable: true,
          details: { checked_by: 'api_gateway' },
        },
      });
      expect(String(failures[0])).toContain('riq-submit: Task timed out after 0.1 seconds');
      // A function that throws is a function error too.
      const thrown = await fetch(`${slow.url}/api/queue/health`);
      expect(thrown.status).toBe(502);
      expect(await thrown.json()).toMatchObject({ error: { code: 'INTERNAL_ERROR' } });
    } finally {
      await slow.stop();
    }
  });

  it('answers 504 when the integration timeout, shorter than the function timeout, runs out first', async () => {
    const slow = await startApiServer({
      port: 0,
      handlers: { ...each(echo), deadLetters: sleeping(500) },
      timeouts: { ...each(10), deadLetters: 1 },
      integrationTimeoutSeconds: 0.1,
    });
    try {
      const res = await fetch(`${slow.url}/api/queue/dead-letters`);
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({
        error: { code: 'INTERNAL_ERROR', message: 'Endpoint request timed out', retryable: true },
      });
    } finally {
      await slow.stop();
    }
  });

  it("answers a body over API Gateway's 10 MiB with RIQ's PAYLOAD_TOO_LARGE error body", async () => {
    const res = await fetch(`${api.url}/api/queue/submit`, {
      method: 'POST',
      body: 'x'.repeat(11 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({
      error: { code: 'PAYLOAD_TOO_LARGE', retryable: false, details: { field: 'body' } },
    });
  });
});
