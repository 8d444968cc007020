/**
 * The one module under lambdas/ that reads `process.env` (`runtimeEnv`). Each variable is parsed the
 * first time it is read and kept. The composition root reads at module scope what its function
 * uses, so a missing or malformed variable fails the cold start with its name, never a request
 * later; a function is given only the variables it uses (lib/constructs), and a variable it was not
 * given is never read. The parsers take the environment as an argument: tests and the local stack
 * hand in plain records.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { riqConfigSchema, type RiqConfig } from '../../model/config/riq-config.js';
import { allQueueKeys, type QueueKey } from '../../model/config/resources.js';
import { RUNTIME_ENV } from '../../model/config/runtime-env.js';
import {
  apiTokenEndpoints,
  oauthEndpoints,
  type ConnectionUrls,
  type LocalConnectionSettings,
} from '../adapters/atlassian/connection.js';
import { ATLASSIAN_TOKEN_URL } from '../adapters/atlassian/token-manager.js';
import { lazily } from './lazy.js';

const E = RUNTIME_ENV;

/** An environment as `process.env` holds it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** QueueKey → queue URL (or ARN); a function is given the queues it uses. */
export type QueueUrls = Partial<Record<QueueKey, string>>;

/** The bodies bucket and where its objects are (lambdas/adapters/s3/s3-objects.ts). */
export interface BodyBucket {
  readonly name: string;
  /** The URL an object's key is appended to. */
  readonly url: string;
  /** The region requests to it are signed for (AWS_REGION). */
  readonly region: string;
}

/** How the dead-letter API moves messages back to their queues (RUNTIME_ENV.deadLetterRedrive). */
export type DeadLetterRedrive = 'move_task' | 'copy';

/**
 * The Atlassian connection as configured: on AWS a Secrets Manager secret, whose JSON shape picks
 * the mode; locally the credentials themselves.
 */
export type AtlassianSettings =
  | { readonly source: 'secret'; readonly secretId: string; readonly urls: ConnectionUrls }
  | { readonly source: 'environment'; readonly connection: LocalConnectionSettings };

/** The Lambdas' environment, parsed: each property read and checked on first use, then kept. */
export interface RuntimeEnv {
  /** RIQ_SETTINGS: the resolved config. */
  readonly settings: RiqConfig;
  readonly tableName: string;
  readonly queueUrls: QueueUrls;
  readonly deadLetterQueueUrls: QueueUrls;
  readonly deadLetterQueueArns: QueueUrls;
  readonly queueArns: QueueUrls;
  readonly deadLetterRedrive: DeadLetterRedrive;
  /** RIQ_OPERATOR_ARN: the principal of the operator routes. */
  readonly operatorArn: string;
  readonly bodyBucket: BodyBucket;
  /** ATLASSIAN_SECRET_ARN, or the connection variables. */
  readonly atlassian: AtlassianSettings;
}

export function runtimeEnvOf(env: Env): RuntimeEnv {
  return lazily<RuntimeEnv>({
    settings: () => parseSettings(requiredVariable(env, E.settings)),
    tableName: () => requiredVariable(env, E.tableName),
    queueUrls: () => parseQueueMap(env, E.queueUrls),
    deadLetterQueueUrls: () => parseQueueMap(env, E.deadLetterQueueUrls),
    deadLetterQueueArns: () => parseQueueMap(env, E.deadLetterQueueArns),
    queueArns: () => parseQueueMap(env, E.queueArns),
    deadLetterRedrive: () => parseRedrive(requiredVariable(env, E.deadLetterRedrive)),
    operatorArn: () => parseOperatorArn(requiredVariable(env, E.operatorArn)),
    bodyBucket: () => parseBodyBucket(env),
    atlassian: () => atlassianSettingsOf(env),
  });
}

/** The environment of this process. */
export const runtimeEnv: RuntimeEnv = runtimeEnvOf(process.env);

export function requiredVariable(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}

function parseJson(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not JSON`);
  }
}

function parseSettings(raw: string): RiqConfig {
  const parsed = riqConfigSchema.safeParse(parseJson(E.settings, raw));
  if (!parsed.success) throw new Error(`${E.settings} is not a valid RIQ config: ${parsed.error.message}`);
  return parsed.data;
}

/** A JSON map QueueKey → URL; unknown keys are an error, missing ones are allowed (a worker sees its own). */
function parseQueueMap(env: Env, name: string): QueueUrls {
  const parsed = parseJson(name, requiredVariable(env, name));
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${name} must be a JSON object`);
  const known = new Set<string>(allQueueKeys());
  for (const [key, url] of Object.entries(parsed)) {
    if (!known.has(key) || typeof url !== 'string') throw new Error(`${name}: unexpected entry ${key}`);
  }
  return parsed as QueueUrls;
}

function parseRedrive(mode: string): DeadLetterRedrive {
  if (mode === 'move_task' || mode === 'copy') return mode;
  throw new Error(`${E.deadLetterRedrive} must be move_task or copy (got ${mode})`);
}

function parseOperatorArn(arn: string): string {
  if (!/^arn:[\w-]+:(iam|sts)::\d{12}:\S+$/.test(arn)) {
    throw new Error(`${E.operatorArn} must be an IAM principal ARN (got ${arn})`);
  }
  return arn;
}

/**
 * Where the bodies bucket is. On AWS, its regional domain as CloudFormation gives it (right for
 * every partition): `https://<bucket>.s3.<region>.amazonaws.com`. With an S3 endpoint set the way
 * the AWS SDKs read it (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`), the bucket under that
 * endpoint: `<endpoint>/<bucket>` with RIQ_S3_PATH_STYLE=true or an IP address for a host,
 * `<bucket>.<endpoint host>` otherwise.
 */
function parseBodyBucket(env: Env): BodyBucket {
  const name = requiredVariable(env, E.bodyBucket);
  const region = requiredVariable(env, 'AWS_REGION');
  const pathStyle = env[E.s3PathStyle];
  if (pathStyle !== undefined && pathStyle !== '' && pathStyle !== 'true' && pathStyle !== 'false') {
    throw new Error(`${E.s3PathStyle} must be true or false`);
  }
  const endpoint = url(env, 'AWS_ENDPOINT_URL_S3') ?? url(env, 'AWS_ENDPOINT_URL');
  if (endpoint === undefined) {
    return { name, region, url: `https://${requiredVariable(env, E.bodyBucketDomain)}` };
  }
  const base = new URL(endpoint);
  const path = base.pathname.replace(/\/+$/, '');
  // As the SDKs' S3 endpoint rules: an IP address cannot carry the bucket in its host name.
  const hostIsIp = isIP(base.hostname.replace(/^\[|\]$/g, '')) !== 0;
  const objects =
    pathStyle === 'true' || hostIsIp
      ? `${base.origin}${path}/${name}`
      : `${base.protocol}//${name}.${base.host}${path}`;
  return { name, region, url: objects };
}

/** Every Atlassian connection variable (the local stack clears them before setting its own). */
export const CONNECTION_ENV_NAMES = [
  E.atlassianSiteUrl,
  E.jiraBaseUrl,
  E.confluenceBaseUrl,
  E.atlassianEmail,
  E.atlassianApiToken,
  E.atlassianOAuthClientId,
  E.atlassianOAuthClientSecret,
  E.atlassianOAuthRefreshToken,
  E.atlassianCloudId,
  E.atlassianOAuthTokenUrl,
  E.atlassianApiGatewayUrl,
  E.atlassianOAuthTokenFile,
  E.atlassianSecretArn,
] as const;

/** The connection variables of `env` that are set (for handing on; the values stay secret). */
export function connectionEnv(env: Env): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of CONNECTION_ENV_NAMES) {
    const v = value(env, name);
    if (v !== undefined) picked[name] = v;
  }
  return picked;
}

/** ATLASSIAN_SECRET_ARN (on AWS) wins over credentials in the environment. */
export function atlassianSettingsOf(env: Env): AtlassianSettings {
  const secretId = value(env, E.atlassianSecretArn);
  return secretId !== undefined
    ? { source: 'secret', secretId, urls: connectionUrlsOf(env) }
    : { source: 'environment', connection: readLocalSettings(env) };
}

/** The connection URLs that are set, each checked (http or https) and without trailing slashes. */
export function connectionUrlsOf(env: Env): ConnectionUrls {
  const urls = {
    siteUrl: url(env, E.atlassianSiteUrl),
    jiraBaseUrl: url(env, E.jiraBaseUrl),
    confluenceBaseUrl: url(env, E.confluenceBaseUrl),
    apiGatewayUrl: url(env, E.atlassianApiGatewayUrl),
    oauthTokenUrl: url(env, E.atlassianOAuthTokenUrl),
  };
  return Object.fromEntries(Object.entries(urls).filter(([, v]) => v !== undefined)) as ConnectionUrls;
}

/** The credentials given in the environment (local); throws naming the variables missing or bad. */
export function readLocalSettings(env: Env): LocalConnectionSettings {
  const oauthVars = [
    E.atlassianOAuthClientId,
    E.atlassianOAuthClientSecret,
    E.atlassianOAuthRefreshToken,
    E.atlassianCloudId,
  ];
  const basicVars = [E.atlassianEmail, E.atlassianApiToken];
  const oauth = oauthVars.some((name) => value(env, name) !== undefined);
  const basic = basicVars.some((name) => value(env, name) !== undefined);
  if (oauth && basic) {
    throw new Error(
      `Atlassian credentials: set either ${basicVars.join(' and ')} (API token) or the ` +
        `${oauthVars.join(', ')} variables (OAuth), not both`,
    );
  }
  if (!oauth && !basic) {
    throw new Error(
      `Atlassian credentials: set ${basicVars.join(' and ')} (API token), or ${oauthVars.join(', ')} ` +
        `(OAuth 2.0), or ${E.atlassianSecretArn} (on AWS)`,
    );
  }
  if (basic) {
    const [email, apiToken] = required(env, basicVars, 'API-token access');
    return {
      mode: 'api_token',
      endpoints: apiTokenEndpoints(connectionUrlsOf(env)),
      credentials: { email: email!, apiToken: apiToken! },
    };
  }

  const tokenFile = value(env, E.atlassianOAuthTokenFile);
  const refreshToken = value(env, E.atlassianOAuthRefreshToken);
  const needed: string[] = [E.atlassianOAuthClientId, E.atlassianOAuthClientSecret, E.atlassianCloudId];
  // Once the token file exists it holds the newest refresh token; the variable only seeds it.
  if (!(tokenFile !== undefined && existsSync(tokenFile))) needed.push(E.atlassianOAuthRefreshToken);
  required(env, needed, 'OAuth access');
  const urls = connectionUrlsOf(env);
  return {
    mode: 'oauth',
    endpoints: oauthEndpoints(urls, value(env, E.atlassianCloudId)!, E.atlassianCloudId),
    client: {
      clientId: value(env, E.atlassianOAuthClientId)!,
      clientSecret: value(env, E.atlassianOAuthClientSecret)!,
    },
    tokenUrl: urls.oauthTokenUrl ?? ATLASSIAN_TOKEN_URL,
    ...(refreshToken !== undefined ? { refreshToken } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
  };
}

/** A connection variable's value, trimmed; empty counts as unset. */
function value(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The values of `names`; throws naming every missing one. */
function required(env: Env, names: readonly string[], purpose: string): string[] {
  const missing = names.filter((name) => value(env, name) === undefined);
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required for ${purpose}`);
  }
  return names.map((name) => value(env, name)!);
}

/** An http(s) URL without trailing slashes, or undefined when unset. */
function url(env: Env, name: string): string | undefined {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new Error(`${name} must be an http(s) URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error(`${name} must be an http(s) URL`);
  return raw.replace(/\/+$/, '');
}
