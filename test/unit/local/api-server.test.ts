import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_FUNCTIONS, type ApiFunctionName } from '../../../lib/config/routes.js';
import { startApiServer, type ApiHandler, type RunningApi } from '../../../local/api-server.js';

/** Each handler answers the path parameters it was given. */
const echo: ApiHandler = async (event) => ({ statusCode: 200, body: JSON.stringify(event.pathParameters) });
let api: RunningApi;

beforeAll(async () => {
  const each = <T>(v: T) =>
    Object.fromEntries(API_FUNCTIONS.map((f) => [f, v])) as Record<ApiFunctionName, T>;
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
