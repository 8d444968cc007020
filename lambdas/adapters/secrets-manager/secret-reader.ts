/**
 * Reads a Secrets Manager secret's JSON through Powertools Parameters, cached in the execution
 * environment for SECRET_MAX_AGE_SECONDS: a rotated value is seen within that time without a
 * redeploy, and at once by a caller that asks for `forceFetch` (which also refreshes the cache).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretReader } from '../../core/ports/credentials.js';

export const SECRET_MAX_AGE_SECONDS = 300;

export const cachedSecretReader: SecretReader = async (secretId, options) =>
  parseSecretJson(
    await getSecret(secretId, {
      maxAge: SECRET_MAX_AGE_SECONDS,
      ...(options?.forceFetch ? { forceFetch: true } : {}),
    }),
    secretId,
  );

/**
 * A secret's string as a JSON object. Parsed here rather than with Powertools' `transform: 'json'`,
 * whose error quotes the start of the text (`"abc…" is not valid JSON`): a secret's value.
 */
export function parseSecretJson(text: unknown, secretId: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`secret ${secretId} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}
