/** The `$default` route's function: 404, or 405 with `Allow` for a known path, in RIQ's error shape, stage-aware. */
import { describe, expect, it } from 'vitest';
import { handler, pathInStage } from '../../../lambdas/api/not-found.js';
import type { ApiEvent } from '../../../lambdas/api/http.js';
import { lambdaContext } from '../../../local/lambda-context.js';

function event(method: string, rawPath: string, stage = 'dev'): ApiEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: { stage, http: { method, path: rawPath } },
  } as unknown as ApiEvent;
}

describe('notFound', () => {
  it.each([
    ['GET', '/dev/api/queue/admin', 404],
    ['GET', '/dev/etc/passwd', 404],
    ['GET', '/dev/api/queue/health/', 404],
    // A `{token}` route needs a non-empty segment: the gateway matches no route without one.
    ['GET', '/dev/api/queue/result/', 404],
  ])("answers %s %s %i NOT_FOUND in RIQ's error shape", async (method, path, status) => {
    const answer = await handler(event(method, path), lambdaContext('riq-notFound', 3));
    expect(answer.statusCode).toBe(status);
    expect(answer.headers?.['allow']).toBeUndefined();
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: `no route ${method} ${path.slice('/dev'.length)}`,
        retryable: false,
        details: { method, path: path.slice('/dev'.length) },
      },
    });
  });

  it.each([
    ['PUT', '/dev/api/queue/submit', 'POST'],
    ['DELETE', '/dev/api/queue/health', 'GET'],
    ['GET', '/dev/api/queue/dead-letters/req_1', 'DELETE'],
    ['PUT', '/dev/api/queue/dead-letters', 'GET'],
    ['GET', '/dev/api/queue/dead-letters/redrive', 'POST, DELETE'],
  ])('answers %s %s 405 METHOD_NOT_ALLOWED with Allow: %s', async (method, path, allow) => {
    const answer = await handler(event(method, path), lambdaContext('riq-notFound', 3));
    expect(answer.statusCode).toBe(405);
    expect(answer.headers?.['allow']).toBe(allow);
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: 'METHOD_NOT_ALLOWED',
        message: `${path.slice('/dev'.length)} answers ${allow}, not ${method}`,
        retryable: false,
        details: { method, allowed: allow.split(', ') },
      },
    });
  });

  it("takes the stage off a named stage's paths only", () => {
    expect(pathInStage(event('GET', '/dev/api/queue/health'))).toBe('/api/queue/health');
    expect(pathInStage(event('GET', '/dev'))).toBe('/');
    expect(pathInStage(event('GET', '/development/x'))).toBe('/development/x');
    expect(pathInStage(event('GET', '/api/queue/health', '$default'))).toBe('/api/queue/health');
  });
});
