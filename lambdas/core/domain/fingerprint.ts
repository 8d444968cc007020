/** Stable hashes of requests: key order does not change them. */
import { createHash } from 'node:crypto';
import type { Priority } from '../../../model/config/riq-config.js';

/** An operation and its payload (the read cache's key). */
export function fingerprint(operation: string, payload: unknown): string {
  return hash([operation, payload]);
}

export interface FingerprintedRequest {
  operation: string;
  payload: unknown;
  priority: Priority;
  dependsOn: readonly string[];
  afterConsistencyToken?: string | undefined;
  fireAndForget: boolean;
}

/**
 * The fingerprint of a submitted request, kept with its idempotency key: a repeat of the key with
 * another fingerprint is an IDEMPOTENCY_CONFLICT. It covers everything that changes what the
 * request does or when it may run — operation, payload, priority, `depends_on`,
 * `after_consistency_token` and `fire_and_forget` — and not how a submit is answered (`fresh`,
 * `routing`). The order of `depends_on` does not change it.
 */
export function requestFingerprint(request: FingerprintedRequest): string {
  // Options at their defaults are left out: such a request hashes as {@link fingerprint} does.
  const options = {
    ...(request.priority !== 'normal' ? { priority: request.priority } : {}),
    ...(request.dependsOn.length > 0 ? { depends_on: [...request.dependsOn].sort() } : {}),
    ...(request.afterConsistencyToken !== undefined
      ? { after_consistency_token: request.afterConsistencyToken }
      : {}),
    ...(request.fireAndForget ? { fire_and_forget: true } : {}),
  };
  const parts: unknown[] = [request.operation, request.payload];
  if (Object.keys(options).length > 0) parts.push(options);
  return hash(parts);
}

function hash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
