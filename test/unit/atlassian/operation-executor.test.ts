import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../model/errors.js';
import { basicAuthHeader } from '../../../lambdas/adapters/atlassian/credentials.js';
import { AtlassianExecutor } from '../../../lambdas/adapters/atlassian/operation-executor.js';

// Port 9 (discard) on loopback: nothing here may reach the network.
const options = {
  jiraBaseUrl: 'http://127.0.0.1:9',
  auth: { email: 'riq@example.com', apiToken: 'tok' },
  timeoutMs: 500,
};

describe('AtlassianExecutor', () => {
  describe('execute', () => {
    it('rejects an invalid payload with a ValidationError naming the field', async () => {
      const executor = new AtlassianExecutor(options);
      const err = await executor
        .execute('jira.get_task', { task_id: 'nope' }, { token: 't' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).details?.['field']).toBe('payload.task_id');
    });
  });

  describe('construction', () => {
    it('fails fast on a malformed base URL or timeout', () => {
      expect(() => new AtlassianExecutor({ ...options, jiraBaseUrl: 'not a url' })).toThrow();
      expect(() => new AtlassianExecutor({ ...options, jiraBaseUrl: 'ftp://x' })).toThrow(/http/);
      expect(() => new AtlassianExecutor({ ...options, timeoutMs: 0 })).toThrow(/timeoutMs/);
    });

    it('fails fast on empty credentials', () => {
      expect(() => new AtlassianExecutor({ ...options, auth: { email: '', apiToken: 'x' } })).toThrow(
        /credentials/,
      );
    });
  });
});

describe('basicAuthHeader', () => {
  it('is Basic base64(email:apiToken)', () => {
    expect(basicAuthHeader({ email: 'a@b.c', apiToken: 't0k' })).toBe(
      `Basic ${Buffer.from('a@b.c:t0k').toString('base64')}`,
    );
  });
});
