/**
 * The deployed bundles replace the SDK's default credential chain with the environment alone
 * (lib/lambda-bundling.ts BUNDLE_ALIASES): a client bundled that way still signs with the
 * credentials Lambda puts in the environment, and the rest of the chain is not in the bundle.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { esbuildBuildOptions, lambdaBundleOptions } from '../../../lib/lambda-bundling.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'riq-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(): Promise<string> {
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\n" +
      "const client = new DynamoDBClient({ region: 'eu-west-1' });\n" +
      'const c = await client.config.credentials();\n' +
      'process.stdout.write(JSON.stringify({ id: c.accessKeyId, secret: c.secretAccessKey, session: c.sessionToken }));\n',
  );
  const outfile = join(dir, 'index.mjs');
  await build({
    ...esbuildBuildOptions(lambdaBundleOptions({ sourceMaps: false }), { projectRoot: ROOT, entry, outfile }),
    // The entry sits outside the project: resolve its imports from the project's node_modules.
    nodePaths: [join(ROOT, 'node_modules')],
  });
  return outfile;
}

describe('the bundles’ credential provider', () => {
  it('signs with the credentials Lambda puts in the environment, and leaves the rest of the chain out', async () => {
    const file = await bundle();
    const { stdout } = await promisify(execFile)(process.execPath, [file], {
      env: {
        PATH: process.env['PATH'] ?? '',
        AWS_ACCESS_KEY_ID: 'AKIDLAMBDA',
        AWS_SECRET_ACCESS_KEY: 'lambda-secret',
        AWS_SESSION_TOKEN: 'lambda-session',
      },
    });
    expect(JSON.parse(stdout)).toEqual({
      id: 'AKIDLAMBDA',
      secret: 'lambda-secret',
      session: 'lambda-session',
    });
    const code = readFileSync(file, 'utf8');
    // Names only the web-identity, SSO and container providers of the full chain carry.
    for (const name of [
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'sso_start_url',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ]) {
      expect(code.includes(name), name).toBe(false);
    }
  }, 60_000);
});
