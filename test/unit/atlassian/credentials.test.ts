import { describe, expect, it } from 'vitest';
import {
  basicAuthHeader,
  basicAuthProvider,
  secretAuthProvider,
} from '../../../lambdas/adapters/atlassian/credentials.js';
import type { SecretReader } from '../../../lambdas/core/ports/credentials.js';

/** A reader with a cache like Powertools': `forceFetch` reads the "secret store" and refreshes the cache. */
function cachingReader(initial: { email: string; api_token: string }) {
  const backing = { value: initial };
  let cached = initial;
  const calls: Array<{ id: string; forceFetch: boolean }> = [];
  const read: SecretReader = async (id, options) => {
    calls.push({ id, forceFetch: options?.forceFetch === true });
    if (options?.forceFetch) cached = backing.value;
    return cached;
  };
  return { read, backing, calls };
}

describe('secretAuthProvider', () => {
  it('builds the Basic header from the secret’s email and api_token', async () => {
    const reads: string[] = [];
    const provider = secretAuthProvider('arn:secret', async (id) => {
      reads.push(id);
      return { email: 'bot@example.com', api_token: 's3cret' };
    });
    expect(await provider.header()).toBe(basicAuthHeader({ email: 'bot@example.com', apiToken: 's3cret' }));
    expect(reads).toEqual(['arn:secret']);
  });

  it('reads the secret on every call, so the reader’s cache decides when a rotation is seen', async () => {
    let token = 'old';
    const provider = secretAuthProvider('s', async () => ({ email: 'e@x', api_token: token }));
    const before = await provider.header();
    token = 'new';
    expect(await provider.header()).not.toBe(before);
  });

  it('rejects a malformed secret without echoing its value', async () => {
    const provider = secretAuthProvider('s', async () => ({ email: 'e@x', apiToken: 'leaky-value' }));
    const err = (await provider.header().then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/must be JSON/);
    expect(err.message).not.toContain('leaky-value');
  });

  describe('invalidate (after a 401)', () => {
    it('re-reads the secret bypassing the cache, so a rotated token is used at once', async () => {
      const { read, backing, calls } = cachingReader({ email: 'e@x', api_token: 'old-token' });
      const provider = secretAuthProvider('s', read);
      const rejected = await provider.header();
      backing.value = { email: 'e@x', api_token: 'new-token' };
      expect(await provider.header()).toBe(rejected); // still cached

      await provider.invalidate!(rejected);
      expect(calls.filter((c) => c.forceFetch)).toHaveLength(1);
      expect(await provider.header()).toBe(basicAuthHeader({ email: 'e@x', apiToken: 'new-token' }));
    });

    it('reads once however many requests report the same rejected header at once', async () => {
      const { read, backing, calls } = cachingReader({ email: 'e@x', api_token: 'old-token' });
      const provider = secretAuthProvider('s', read);
      const rejected = await provider.header();
      backing.value = { email: 'e@x', api_token: 'new-token' };
      await Promise.all(Array.from({ length: 20 }, () => provider.invalidate!(rejected)));
      expect(calls.filter((c) => c.forceFetch)).toHaveLength(1);
    });

    it('does nothing when the rejected header is no longer the current one', async () => {
      const { read, calls } = cachingReader({ email: 'e@x', api_token: 'token' });
      const provider = secretAuthProvider('s', read);
      await provider.invalidate!('Basic c29tZXRoaW5nLWVsc2U=');
      expect(calls.filter((c) => c.forceFetch)).toHaveLength(0);
    });
  });
});

describe('basicAuthProvider', () => {
  it('answers the fixed header and cannot be invalidated (env credentials do not renew)', async () => {
    const provider = basicAuthProvider({ email: 'a@b.c', apiToken: 't0k' });
    expect(await provider.header()).toBe(basicAuthHeader({ email: 'a@b.c', apiToken: 't0k' }));
    expect(provider.invalidate).toBeUndefined();
  });
});
