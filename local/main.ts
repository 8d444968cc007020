/**
 * `npm start`: runs the whole of RIQ on this machine. Environment:
 *   RIQ_PORT            API port (default 3000; 0 picks a free one)
 *   RIQ_LOG_FORMAT      text (default: one readable line per event) or json (the functions' JSON lines)
 *   RIQ_LOG_METRICS     1 also prints the functions' CloudWatch embedded-metric (EMF) lines
 *   RIQ_INFO_FILE       a file to write the running stack's endpoints to, as JSON (local/ready-line.ts)
 *   RIQ_CONFIG          JSON file of config overrides (see model/config/riq-config.ts)
 *   RIQ_DATA_DIR        DynamoDB Local data folder (default .riq-local/dynamodb; `memory` keeps nothing)
 *   ATLASSIAN_SITE_URL  a real site (https://your-site.atlassian.net), with either
 *                       ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN (JIRA_BASE_URL / CONFLUENCE_BASE_URL
 *                       override the parts) or OAuth 2.0: ATLASSIAN_OAUTH_CLIENT_ID,
 *                       ATLASSIAN_OAUTH_CLIENT_SECRET, ATLASSIAN_OAUTH_REFRESH_TOKEN, ATLASSIAN_CLOUD_ID
 *                       (+ ATLASSIAN_OAUTH_TOKEN_FILE to keep the rotated refresh token across restarts).
 *                       See lambdas/shared/env.ts and lambdas/adapters/atlassian/connection.ts.
 *                       Without credentials the simulated Atlassian is started (SIM_PORT, default free port).
 *   RIQ_SIM_AUTH        how the workers authenticate to the simulator: api_token (default) or oauth
 *                       (Bearer tokens on its api.atlassian.com-like gateway, refreshed at /oauth/token).
 */
import { readFileSync } from 'node:fs';
import { resolveConfig, type RiqConfig } from '../model/config/riq-config.js';
import { INFO_FILE_ENV, writeStackInfo, type StackInfo } from './ready-line.js';
import { logOptionsFromEnv, reformatStream, stackLine, type LocalLogOptions } from './log-lines.js';
import { readyMessage, startFailure } from './start-output.js';
import { connectionEnv } from '../lambdas/shared/env.js';
import { RUNTIME_ENV } from '../model/config/runtime-env.js';
import { startLocalStack, type AtlassianTarget, type LocalStack, type SimulatorAuth } from './stack.js';

function loadConfig(): RiqConfig {
  const path = process.env['RIQ_CONFIG'];
  if (!path) return resolveConfig({ stage: 'local', namePrefix: 'riq' });
  let overrides: unknown;
  try {
    overrides = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`RIQ_CONFIG=${path}: cannot read it as JSON (${String(err)})`, { cause: err });
  }
  return resolveConfig({ stage: 'local', namePrefix: 'riq', ...(overrides as object) });
}

/** Variables that name a real site; without any of them the simulator is started. */
const REAL_SITE_VARS = [
  RUNTIME_ENV.atlassianSiteUrl,
  RUNTIME_ENV.jiraBaseUrl,
  RUNTIME_ENV.atlassianCloudId,
  RUNTIME_ENV.atlassianOAuthClientId,
];

/** The connection variables of a real site; the stack validates them and names what is missing. */
function atlassianTarget(): AtlassianTarget | undefined {
  const env = connectionEnv(process.env);
  delete env[RUNTIME_ENV.atlassianSecretArn]; // AWS only
  return REAL_SITE_VARS.some((name) => env[name] !== undefined) ? env : undefined;
}

function simulatorAuth(): SimulatorAuth {
  const raw = process.env['RIQ_SIM_AUTH'];
  if (raw === undefined || raw === '' || raw === 'api_token') return 'api_token';
  if (raw === 'oauth') return 'oauth';
  throw new Error(`RIQ_SIM_AUTH must be api_token or oauth`);
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}=${raw} is not a port number`);
  return n;
}

let logOptions: LocalLogOptions = { format: 'text', metrics: false };
const say = (level: 'INFO' | 'WARN' | 'ERROR', message: string) => {
  const line = stackLine(logOptions, level, message);
  if (level === 'INFO') console.log(line);
  else console.error(line);
};

let stack: LocalStack | undefined;
let stopping = false;
/**
 * Stops every part (DynamoDB Local's java included) once, then exits with `code`. Before the stack
 * is up, exiting is enough: startLocalStack's DynamoDB Local is killed by the exit hook of
 * local/services.ts, and the other emulators live in this process.
 */
function stopAndExit(reason: string, code: number): void {
  if (stopping) return;
  stopping = true;
  say(code === 0 ? 'INFO' : 'ERROR', `${reason}: stopping`);
  const stopped = stack ? stack.stop() : Promise.resolve();
  stopped.then(
    () => process.exit(code),
    (err: unknown) => {
      say('ERROR', `stopping failed: ${String(err)}`);
      process.exit(1);
    },
  );
}

async function main(): Promise<void> {
  logOptions = logOptionsFromEnv(process.env);
  reformatStream(process.stdout, logOptions);
  reformatStream(process.stderr, logOptions);
  process.on('SIGINT', () => stopAndExit('SIGINT', 0));
  process.on('SIGTERM', () => stopAndExit('SIGTERM', 0));
  process.on('uncaughtException', (err) => stopAndExit(`uncaught error: ${err.stack ?? String(err)}`, 1));
  process.on('unhandledRejection', (err) =>
    stopAndExit(`unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1),
  );

  const config = loadConfig();
  const dataDir = process.env['RIQ_DATA_DIR'] ?? '.riq-local/dynamodb';
  const atlassian = atlassianTarget();
  const apiPort = port('RIQ_PORT', 3000);
  const infoFile = process.env[INFO_FILE_ENV] || undefined;
  try {
    stack = await startLocalStack({
      config,
      apiPort,
      ...(dataDir !== 'memory' ? { dataDir } : {}),
      ...(atlassian ? { atlassian } : { simulatorPort: port('SIM_PORT', 0), simulatorAuth: simulatorAuth() }),
      log: (m) => say('INFO', m),
    });
  } catch (err) {
    // startLocalStack stopped what it had started.
    say('ERROR', startFailure(err, apiPort));
    process.exit(1);
  }
  if (infoFile) {
    const info: StackInfo = {
      url: stack.url,
      dynamoEndpoint: stack.dynamoEndpoint,
      dynamoPid: stack.dynamoPid,
      sqsEndpoint: stack.sqsEndpoint,
      s3Endpoint: stack.s3Endpoint,
      bodiesBucket: stack.bodiesBucket,
      simulatorUrl: stack.simulatorUrl ?? null,
      tableName: stack.tableName,
      queueUrls: stack.queueUrls,
      deadLetterQueueUrls: stack.deadLetterQueueUrls,
    };
    writeStackInfo(infoFile, info);
  }
  say('INFO', readyMessage(stack.url));
}

main().catch((err: unknown) => {
  say('ERROR', `failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
