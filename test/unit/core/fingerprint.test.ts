import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  requestFingerprint,
  type FingerprintedRequest,
} from '../../../lambdas/core/domain/fingerprint.js';

const A = 'req_0123456789abcdef0123456789abcdef';
const B = 'req_fedcba9876543210fedcba9876543210';

const base: FingerprintedRequest = {
  operation: 'jira.add_comment',
  payload: { task_id: 'MD-1', comment: 'hi' },
  priority: 'normal',
  dependsOn: [],
  fireAndForget: false,
};

describe('requestFingerprint', () => {
  it('is the same for the same request, whatever the key order of its payload', () => {
    expect(requestFingerprint(base)).toBe(
      requestFingerprint({ ...base, payload: { comment: 'hi', task_id: 'MD-1' } }),
    );
    expect(requestFingerprint(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the operation and the payload', () => {
    expect(requestFingerprint({ ...base, operation: 'jira.get_task' })).not.toBe(requestFingerprint(base));
    expect(requestFingerprint({ ...base, payload: { task_id: 'MD-2', comment: 'hi' } })).not.toBe(
      requestFingerprint(base),
    );
  });

  it.each([
    ['priority', { priority: 'high' }],
    ['priority', { priority: 'low' }],
    ['depends_on', { dependsOn: [A] }],
    ['depends_on', { dependsOn: [A, B] }],
    ['after_consistency_token', { afterConsistencyToken: `cst_${A.slice(4)}` }],
    ['fire_and_forget', { fireAndForget: true }],
  ] as const)('changes with %s (%j)', (_, change) => {
    expect(requestFingerprint({ ...base, ...change })).not.toBe(requestFingerprint(base));
  });

  it('tells apart two depends_on lists and two after_consistency_tokens', () => {
    expect(requestFingerprint({ ...base, dependsOn: [A] })).not.toBe(
      requestFingerprint({ ...base, dependsOn: [B] }),
    );
    expect(requestFingerprint({ ...base, afterConsistencyToken: `cst_${A.slice(4)}` })).not.toBe(
      requestFingerprint({ ...base, afterConsistencyToken: `cst_${B.slice(4)}` }),
    );
  });

  it('does not depend on the order of depends_on (the request waits for all of them alike)', () => {
    expect(requestFingerprint({ ...base, dependsOn: [A, B] })).toBe(
      requestFingerprint({ ...base, dependsOn: [B, A] }),
    );
  });
});

describe('fingerprint', () => {
  it('is the request fingerprint of a request with every option at its default', () => {
    expect(fingerprint(base.operation, base.payload)).toBe(requestFingerprint(base));
  });
});
