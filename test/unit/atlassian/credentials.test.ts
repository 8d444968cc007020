import { describe, expect, it } from 'vitest';
import { basicAuthHeader, secretAuthProvider } from '../../../lambdas/atlassian/credentials.js';

describe('secretAuthProvider', () => {
  it('builds the Basic header from the secret’s email and api_token', async () => {
    const reads: string[] = [];
    const provider = secretAuthProvider('arn:secret', async (id) => {
      reads.push(id);
      return { email: 'bot@example.com', api_token: 's3cret' };
    });
    expect(await provider()).toBe(basicAuthHeader({ email: 'bot@example.com', apiToken: 's3cret' }));
    expect(reads).toEqual(['arn:secret']);
  });

  it('reads the secret on every call, so the reader’s cache decides when a rotation is seen', async () => {
    let token = 'old';
    const provider = secretAuthProvider('s', async () => ({ email: 'e@x', api_token: token }));
    const before = await provider();
    token = 'new';
    expect(await provider()).not.toBe(before);
  });

  it('rejects a malformed secret without echoing its value', async () => {
    const provider = secretAuthProvider('s', async () => ({ email: 'e@x', apiToken: 'leaky-value' }));
    const err = (await provider().then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/must be JSON/);
    expect(err.message).not.toContain('leaky-value');
  });
});
