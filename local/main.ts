/**
 * `npm start`: runs the whole of RIQ on this machine. Environment:
 *   RIQ_PORT            API port (default 3000; 0 picks a free one)
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
import { READY_PREFIX, type StackInfo } from './ready-line.js';
import { connectionEnv } from '../lambdas/shared/env.js';
import { RUNTIME_ENV } from '../model/config/runtime-env.js';
import { startLocalStack, type AtlassianTarget, type SimulatorAuth } from './stack.js';

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

async function main(): Promise<void> {
  const config = loadConfig();
  const dataDir = process.env['RIQ_DATA_DIR'] ?? '.riq-local/dynamodb';
  const atlassian = atlassianTarget();
  const stack = await startLocalStack({
    config,
    apiPort: port('RIQ_PORT', 3000),
    ...(dataDir !== 'memory' ? { dataDir } : {}),
    ...(atlassian ? { atlassian } : { simulatorPort: port('SIM_PORT', 0), simulatorAuth: simulatorAuth() }),
    log: (m) => console.log(`[riq-local] ${m}`),
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[riq-local] ${signal}: stopping`);
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  console.log(`[riq-local] RIQ is running at ${stack.url}  (Ctrl-C stops everything)`);
  console.log(`[riq-local] try:
  curl -s -X POST ${stack.url}/api/queue/submit -H 'content-type: application/json' \\
    -d '{"operation":"jira.create_task","payload":{"title":"Hello from RIQ","project_id":"MD"}}'
  curl -s '${stack.url}/api/queue/result/<token>?wait=10'`);
  const info: StackInfo = {
    url: stack.url,
    dynamoEndpoint: stack.dynamoEndpoint,
    sqsEndpoint: stack.sqsEndpoint,
    s3Endpoint: stack.s3Endpoint,
    bodiesBucket: stack.bodiesBucket,
    simulatorUrl: stack.simulatorUrl ?? null,
    tableName: stack.tableName,
    queueUrls: stack.queueUrls,
    deadLetterQueueUrls: stack.deadLetterQueueUrls,
  };
  console.log(READY_PREFIX + JSON.stringify(info));
}

main().catch((err: unknown) => {
  console.error(`[riq-local] failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
