import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import '../../../model/zod-messages.js';
import { thrown } from '../../support/thrown.js';
import { UpstreamError } from '../../../model/errors.js';
import {
  MAX_RETRY_AFTER_SECONDS,
  awaitReconcileWindow,
  classifyResponse,
  createFailure,
  parseAnswer,
  reconcileWindowOf,
  unexpectedResponse,
  writeOutcomeUnknown,
  classifyThrown,
  parseRetryAfter,
  type CallContext,
} from '../../../lambdas/adapters/atlassian/classify-error.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const jira: CallContext = {
  service: 'jira',
  method: 'GET',
  path: '/rest/api/3/issue/MD-1',
  timeoutMs: 2_000,
};
const confluence: CallContext = { service: 'confluence', method: 'POST', path: '/api/v2/pages' };

function classify(status: number, headers: Record<string, string> = {}, body?: unknown, context = jira) {
  return classifyResponse(status, new Headers(headers), body, context, NOW);
}

describe('parseRetryAfter', () => {
  it('reads whole seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('rounds decimal seconds up', () => {
    expect(parseRetryAfter('1.2', NOW)).toBe(2);
  });

  it('reads an HTTP-date relative to now, rounding up', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', NOW)).toBe(30);
    expect(parseRetryAfter(new Date(NOW + 4_500).toUTCString(), NOW + 500)).toBe(4);
  });

  it('answers 0 for a date in the past', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:59:00 GMT', NOW)).toBe(0);
  });

  it('caps absurd values at an hour', () => {
    expect(parseRetryAfter('9223372036854775807', NOW)).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter('86400', NOW)).toBe(3600);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW)).toBe(3600);
  });

  it('ignores absent and unreadable values', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('-5', NOW)).toBeUndefined();
  });
});

describe('classifyResponse', () => {
  describe('429', () => {
    it('is RATE_LIMITED with Retry-After seconds and the rate-limit headers', () => {
      const err = classify(429, {
        'Retry-After': '17',
        'RateLimit-Reason': 'jira-burst-based',
        'X-RateLimit-Reset': '2026-11-23T10:01:00Z',
        'X-RateLimit-NearLimit': 'true',
      });
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.code).toBe('RATE_LIMITED');
      expect(err.retryable).toBe(true);
      expect(err.retryAfterSeconds).toBe(17);
      expect(err.details).toEqual({
        status: 429,
        retryAfterSeconds: 17,
        rateLimitReason: 'jira-burst-based',
        rateLimitReset: '2026-11-23T10:01:00Z',
        nearLimit: true,
      });
    });

    it('reads an HTTP-date Retry-After', () => {
      expect(classify(429, { 'Retry-After': 'Mon, 23 Nov 2026 10:01:00 GMT' }).retryAfterSeconds).toBe(60);
    });

    it('caps an absurd Retry-After', () => {
      expect(classify(429, { 'Retry-After': '9223372036854775807' }).retryAfterSeconds).toBe(3600);
    });

    it('never waits a Beta-Retry-After (a limit not enforced yet): it is kept in the details only', () => {
      const shadowOnly = classify(429, { 'Beta-Retry-After': '1800' });
      expect(shadowOnly.retryAfterSeconds).toBeUndefined();
      expect(shadowOnly.details).toEqual({ status: 429, betaRetryAfterSeconds: 1800 });
      expect(classify(429, { 'Retry-After': '3', 'Beta-Retry-After': '9' }).retryAfterSeconds).toBe(3);
    });

    it('has no retryAfterSeconds when no header gives one', () => {
      const err = classify(429, {}, { errorMessages: ['Rate limit exceeded.'], errors: {} });
      expect(err.code).toBe('RATE_LIMITED');
      expect(err.retryAfterSeconds).toBeUndefined();
      expect(err.details).not.toHaveProperty('retryAfterSeconds');
      expect(err.message).toContain('Rate limit exceeded.');
    });

    it('reads X-RateLimit-NearLimit false as false', () => {
      expect(classify(429, { 'X-RateLimit-NearLimit': 'false' }).details?.['nearLimit']).toBe(false);
    });

    it('carries the quota policy and its status, the unprefixed entry of a name over the Beta- one', () => {
      const err = classify(429, {
        'Retry-After': '1847',
        'RateLimit-Reason': 'jira-quota-global-based',
        'RateLimit-Policy': '"global-app-quota";q=65000;w=3600',
        'Beta-RateLimit-Policy': '"global-app-quota";q=1;w=1, "tenant-quota";q=100000;w=3600',
        'Beta-RateLimit': '"global-app-quota";r=0;t=1847',
      });
      expect(err.details).toEqual({
        status: 429,
        retryAfterSeconds: 1847,
        rateLimitReason: 'jira-quota-global-based',
        rateLimitPolicies: [
          { name: 'global-app-quota', quota: 65000, windowSeconds: 3600, beta: false },
          { name: 'tenant-quota', quota: 100000, windowSeconds: 3600, beta: true },
        ],
        rateLimitStatuses: [{ name: 'global-app-quota', remaining: 0, resetSeconds: 1847, beta: true }],
      });
    });

    it('carries a status without r', () => {
      const err = classify(429, { RateLimit: '"global-app-quota";t=60' });
      expect(err.details?.['rateLimitStatuses']).toEqual([
        { name: 'global-app-quota', resetSeconds: 60, beta: false },
      ]);
      expect(err.details).not.toHaveProperty('rateLimitPolicies');
    });

    it('keeps an unknown reason as sent and lists unreadable rate-limit headers', () => {
      const err = classify(429, {
        'Retry-After': '5',
        'RateLimit-Reason': 'jira-cost-based',
        'RateLimit-Policy': '"global-app-quota";w=3600',
        'X-RateLimit-Limit': '300000',
      });
      expect(err.details).toEqual({
        status: 429,
        retryAfterSeconds: 5,
        rateLimitReason: 'jira-cost-based',
        rateLimitMalformed: [
          { header: 'RateLimit-Policy', value: '"global-app-quota";w=3600', problem: 'no q' },
        ],
      });
    });
  });

  describe('a status other than 429', () => {
    it('carries Retry-After only: no reason, policies or Beta-Retry-After', () => {
      const err = classify(503, {
        'Retry-After': '2',
        'Beta-Retry-After': '9',
        'RateLimit-Reason': 'jira-burst-based',
        'RateLimit-Policy': '"global-app-quota";q=65000;w=3600',
        'X-RateLimit-NearLimit': 'true',
      });
      expect(err.details).toEqual({ status: 503, retryAfterSeconds: 2 });
      expect(classify(503, { 'Beta-Retry-After': '9' }).details).toEqual({ status: 503 });
    });
  });

  it('maps 401 to AUTH_FAILED (retryable: tokens expire and refresh)', () => {
    const err = classify(
      401,
      {},
      { errorMessages: ['Client must be authenticated to access this resource.'] },
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.details?.['status']).toBe(401);
  });

  it('maps 403 to PERMISSION_DENIED (not retryable)', () => {
    const err = classify(403);
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.retryable).toBe(false);
    expect(err).toBeInstanceOf(UpstreamError);
  });

  it('maps 404 to NOT_FOUND with Jira’s message', () => {
    const err = classify(
      404,
      {},
      {
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      },
    );
    expect(err.code).toBe('NOT_FOUND');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      'Jira GET /rest/api/3/issue/MD-1 answered 404: Issue does not exist or you do not have permission to see it.',
    );
  });

  describe('400', () => {
    it('is VALIDATION_ERROR with Jira’s errorMessages and field errors', () => {
      const err = classify(
        400,
        {},
        { errorMessages: ['Bad'], errors: { project: 'valid project is required' } },
      );
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.retryable).toBe(false);
      expect(err.details).toEqual({
        status: 400,
        errorMessages: ['Bad'],
        errors: { project: 'valid project is required' },
      });
      expect(err.message).toContain('project: valid project is required');
    });

    it('is VALIDATION_ERROR with Confluence v2’s errors[]', () => {
      const err = classify(
        400,
        {},
        { errors: [{ status: 400, code: 'INVALID_REQUEST_PARAMETER', title: 'Title exists', detail: null }] },
        confluence,
      );
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.details).toEqual({
        status: 400,
        errors: [{ status: 400, code: 'INVALID_REQUEST_PARAMETER', title: 'Title exists' }],
      });
      expect(err.message).toBe('Confluence POST /api/v2/pages answered 400: Title exists');
    });

    it('keeps only error messages from the body', () => {
      const err = classify(
        400,
        {},
        {
          errorMessages: ['Bad'],
          errors: {},
          self: 'https://x/rest/api/3/issue/1',
          fields: { secret: 'do not copy' },
        },
      );
      expect(JSON.stringify(err.details)).not.toContain('do not copy');
      expect(err.message).not.toContain('do not copy');
    });

    it('truncates very long messages', () => {
      const err = classify(400, {}, { errorMessages: ['x'.repeat(5_000)], errors: {} });
      expect(err.message.length).toBeLessThan(700);
    });
  });

  it('maps 409 to retryable SERVICE_UNAVAILABLE (conflict: re-read and retry)', () => {
    const err = classify(409, {}, undefined, confluence);
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.details).toEqual({ status: 409, conflict: true });
  });

  it.each([500, 502, 503, 504])('maps %i to SERVICE_UNAVAILABLE', (status) => {
    const err = classify(status);
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.details).toEqual({ status });
  });

  it('keeps a 5xx Retry-After', () => {
    expect(classify(503, { 'Retry-After': '30' }).retryAfterSeconds).toBe(30);
  });

  it('does not copy a non-JSON (HTML) body', () => {
    const err = classify(502, {}, undefined);
    expect(err.message).toBe('Jira GET /rest/api/3/issue/MD-1 answered 502');
  });

  it('maps 413 to PAYLOAD_TOO_LARGE and other 4xx to VALIDATION_ERROR', () => {
    expect(classify(413).code).toBe('PAYLOAD_TOO_LARGE');
    expect(classify(422).code).toBe('VALIDATION_ERROR');
    expect(classify(410).code).toBe('VALIDATION_ERROR');
  });
});

describe('parseAnswer', () => {
  const created = z.object({ id: z.string(), key: z.string() });
  const create: CallContext = { service: 'jira', method: 'POST', path: '/rest/api/3/issue' };

  it('gives the body as the schema reads it', () => {
    expect(
      parseAnswer(created, { status: 201, body: { id: '10001', key: 'MD-1', self: 'x' } }, create),
    ).toEqual({
      id: '10001',
      key: 'MD-1',
    });
  });

  it('answers a mismatched body as a retryable unexpected response naming the first mismatch', () => {
    const err = thrown(() => parseAnswer(created, { status: 201, body: { id: 10001, key: 'MD-1' } }, create));
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message:
        'Jira POST /rest/api/3/issue answered 201 with an unexpected body: id: Invalid input: expected string, received number',
      details: { status: 201, unexpectedResponse: true },
    });
    expect(writeOutcomeUnknown(err as UpstreamError)).toBe(true);
  });

  it('names the body itself when the mismatch is at the root, and the service of the call', () => {
    const err = thrown(() =>
      parseAnswer(
        created,
        { status: 200, body: undefined },
        { service: 'confluence', method: 'GET', path: '/api/v2/pages/1' },
      ),
    );
    expect((err as Error).message).toBe(
      'Confluence GET /api/v2/pages/1 answered 200 with an unexpected body: body: Invalid input: expected object, received undefined',
    );
  });
});

describe('classifyThrown', () => {
  it('maps the timeout abort to TIMEOUT', () => {
    const err = classifyThrown(
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      jira,
    );
    expect(err.code).toBe('TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe('Jira GET /rest/api/3/issue/MD-1 timed out after 2000 ms');
    expect(err.details).toEqual({ timeoutMs: 2_000 });
  });

  it('maps an AbortError to TIMEOUT', () => {
    expect(classifyThrown(new DOMException('aborted', 'AbortError'), jira).code).toBe('TIMEOUT');
  });

  it('maps fetch’s TypeError with ECONNRESET to SERVICE_UNAVAILABLE', () => {
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const err = classifyThrown(new TypeError('fetch failed', { cause }), jira);
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.details).toEqual({ networkError: 'ECONNRESET' });
    expect(err.cause).toBeInstanceOf(TypeError);
  });

  it('maps socket hang up and a bare fetch TypeError to SERVICE_UNAVAILABLE', () => {
    expect(classifyThrown(new Error('socket hang up'), jira).code).toBe('SERVICE_UNAVAILABLE');
    expect(classifyThrown(new TypeError('fetch failed'), jira).details).toEqual({
      networkError: 'network error',
    });
  });

  it('maps undici’s response timeouts to TIMEOUT', () => {
    const cause = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(classifyThrown(new TypeError('fetch failed', { cause }), jira).code).toBe('TIMEOUT');
  });

  it('passes an UpstreamError through', () => {
    const original = new UpstreamError('NOT_FOUND', 'gone', { status: 404 });
    expect(classifyThrown(original, jira)).toBe(original);
  });

  it('maps anything else to INTERNAL_ERROR without its message', () => {
    const err = classifyThrown(new RangeError('secret internals'), jira);
    expect(err.code).toBe('INTERNAL_ERROR');
    expect(err.message).not.toContain('secret');
  });
});

describe('writeOutcomeUnknown', () => {
  const create: CallContext = {
    service: 'jira',
    method: 'POST',
    path: '/rest/api/3/issue',
    timeoutMs: 3_000,
  };
  const thrown = (err: unknown) => classifyThrown(err, create);
  const answered = (status: number) => classifyResponse(status, new Headers(), {}, create, NOW);
  const networkError = (code: string) =>
    thrown(new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) }));

  it('is unknown after a timeout or an abort: the request went out and no answer came', () => {
    expect(writeOutcomeUnknown(thrown(new DOMException('timed out', 'TimeoutError')))).toBe(true);
    expect(writeOutcomeUnknown(thrown(new DOMException('aborted', 'AbortError')))).toBe(true);
    expect(writeOutcomeUnknown(networkError('UND_ERR_HEADERS_TIMEOUT'))).toBe(true);
  });

  it('is unknown after the connection broke once the request may have been sent', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ETIMEDOUT']) {
      expect(writeOutcomeUnknown(networkError(code)), code).toBe(true);
    }
    expect(writeOutcomeUnknown(thrown(new Error('socket hang up')))).toBe(true);
    expect(writeOutcomeUnknown(thrown(new TypeError('fetch failed')))).toBe(true);
  });

  it('is known when the connection failed before anything was sent', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']) {
      expect(writeOutcomeUnknown(networkError(code)), code).toBe(false);
    }
  });

  it('is known for a timeout refused before sending (an operation deadline already past)', () => {
    const timeout = thrown(new DOMException('deadline', 'TimeoutError'));
    const notSent = new UpstreamError(timeout.code, timeout.message, { ...timeout.details, notSent: true });
    expect(writeOutcomeUnknown(notSent)).toBe(false);
  });

  it('is unknown after any 5xx answer', () => {
    for (const status of [500, 502, 503, 504])
      expect(writeOutcomeUnknown(answered(status)), `${status}`).toBe(true);
  });

  it('is unknown after a 2xx whose body could not be read: the object exists, its id is unknown', () => {
    expect(writeOutcomeUnknown(unexpectedResponse(create, 201, 'not JSON'))).toBe(true);
  });

  it('is known after a 4xx: Atlassian refused the request before doing it', () => {
    for (const status of [400, 401, 403, 404, 409, 413, 429]) {
      expect(writeOutcomeUnknown(answered(status)), `${status}`).toBe(false);
    }
  });
});

describe('awaitReconcileWindow and createFailure', () => {
  const create: CallContext = {
    service: 'jira',
    method: 'POST',
    path: '/rest/api/3/issue',
    timeoutMs: 3_000,
  };

  it('makes an unknown outcome wait at least the window, keeping code, message and details', () => {
    const timeout = classifyThrown(new DOMException('timed out', 'TimeoutError'), create);
    const err = awaitReconcileWindow(timeout, 30);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe(timeout.message);
    expect(err.retryable).toBe(true);
    expect(err.details).toEqual({ timeoutMs: 3_000, outcomeUnknown: true, retryAfterSeconds: 30 });
    expect(err.retryAfterSeconds).toBe(30);
  });

  it('keeps a longer Retry-After of a 5xx', () => {
    const busy = classifyResponse(503, new Headers({ 'retry-after': '120' }), {}, create, NOW);
    expect(awaitReconcileWindow(busy, 30).retryAfterSeconds).toBe(120);
    const brief = classifyResponse(503, new Headers({ 'retry-after': '2' }), {}, create, NOW);
    expect(awaitReconcileWindow(brief, 30).retryAfterSeconds).toBe(30);
  });

  it('createFailure leaves a known outcome and anything not from Atlassian as it is', () => {
    const refused = classifyResponse(429, new Headers({ 'retry-after': '5' }), {}, create, NOW);
    expect(createFailure(refused, 30)).toBe(refused);
    const bug = new RangeError('x');
    expect(createFailure(bug, 30)).toBe(bug);
    const reset = classifyThrown(new Error('socket hang up'), create);
    expect(createFailure(reset, 30)).toMatchObject({
      details: { outcomeUnknown: true, retryAfterSeconds: 30 },
    });
  });

  it('reconcileWindowOf defaults to the config and refuses a window outside 1–900 s', () => {
    expect(reconcileWindowOf(undefined)).toBe(30);
    expect(reconcileWindowOf(5)).toBe(5);
    expect(() => reconcileWindowOf(0)).toThrow(/1 to 900/);
    expect(() => reconcileWindowOf(901)).toThrow(/1 to 900/);
    expect(() => reconcileWindowOf(1.5)).toThrow(/1 to 900/);
  });
});
