/**
 * The one module that reads the Lambdas' environment. Handlers call these at module scope, so a
 * missing or malformed variable fails the cold start with its name, never a request later.
 */
import { riqConfigSchema, type RiqConfig } from '../../model/config/riq-config.js';
import { allQueueKeys, type QueueKey } from '../../model/config/resources.js';
import { RUNTIME_ENV } from '../../model/config/runtime-env.js';

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}

export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function readSettings(): RiqConfig {
  const raw = requiredEnv(RUNTIME_ENV.settings);
  const parsed = riqConfigSchema.safeParse(JSON.parse(raw));
  if (!parsed.success)
    throw new Error(`${RUNTIME_ENV.settings} is not a valid RIQ config: ${parsed.error.message}`);
  return parsed.data;
}

export function readTableName(): string {
  return requiredEnv(RUNTIME_ENV.tableName);
}

/** A JSON map QueueKey → URL; unknown keys are an error, missing ones are allowed (a worker sees its own). */
export function readQueueUrls(name: string = RUNTIME_ENV.queueUrls): Partial<Record<QueueKey, string>> {
  const parsed: unknown = JSON.parse(requiredEnv(name));
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${name} must be a JSON object`);
  const known = new Set<string>(allQueueKeys());
  for (const [key, url] of Object.entries(parsed)) {
    if (!known.has(key) || typeof url !== 'string') throw new Error(`${name}: unexpected entry ${key}`);
  }
  return parsed as Partial<Record<QueueKey, string>>;
}

/** The bodies bucket and how to address it. */
export interface BodyBucket {
  name: string;
  pathStyle: boolean;
}

export function readBodyBucket(): BodyBucket {
  const pathStyle = optionalEnv(RUNTIME_ENV.s3PathStyle);
  if (pathStyle !== undefined && pathStyle !== 'true' && pathStyle !== 'false') {
    throw new Error(`${RUNTIME_ENV.s3PathStyle} must be true or false`);
  }
  return { name: requiredEnv(RUNTIME_ENV.bodyBucket), pathStyle: pathStyle === 'true' };
}
