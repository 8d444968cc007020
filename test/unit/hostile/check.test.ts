/** The hostile-input property's classifier: RIQ's error bodies, and the HTTP API's own 4xx answers. */
import { describe, expect, it } from 'vitest';
import { classify } from '../../hostile/check.js';

const answer = (status: number, body: unknown) => ({
  status,
  text: JSON.stringify(body),
  contentType: 'application/json',
});

describe('classify', () => {
  it("takes the HTTP API's own 413 as a PAYLOAD_TOO_LARGE rejection", () => {
    expect(classify(answer(413, { message: 'Request Entity Too Large' }))).toEqual({
      kind: 'rejected',
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('takes any other {"message"} body, or a gateway message under another status, as a violation', () => {
    expect(classify(answer(413, { message: 'Too Long' })).kind).toBe('violation');
    expect(classify(answer(400, { message: 'Request Entity Too Large' })).kind).toBe('violation');
    expect(classify(answer(413, { message: 'Request Entity Too Large', extra: 1 })).kind).toBe('violation');
    expect(classify(answer(500, { message: 'Internal Server Error' })).kind).toBe('violation');
  });

  it("takes RIQ's error body as a rejection with its code", () => {
    const body = { error: { code: 'NOT_FOUND', message: 'no route', retryable: false } };
    expect(classify(answer(404, body))).toEqual({ kind: 'rejected', status: 404, code: 'NOT_FOUND' });
  });
});
