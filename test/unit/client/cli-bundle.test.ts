/**
 * The compiled `riq`: bin/riq-bundle.mjs bundles the CLI into one ESM file that runs with plain
 * `node` (no tsx), and tells a bundle older than any of its inputs from a fresh one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, isFresh, metaFileOf } from '../../../bin/riq-bundle.mjs';
import packageJson from '../../../package.json' with { type: 'json' };

const run = promisify(execFile);

describe('the riq bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'riq-bundle-'));
  const bundle = join(dir, 'riq.mjs');

  beforeAll(async () => {
    expect(isFresh(bundle)).toBe(false);
    await buildBundle(bundle);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs with plain node: --version, and a usage error with its exit code', async () => {
    const { stdout } = await run(process.execPath, [bundle, '--version']);
    expect(stdout).toBe(`riq ${packageJson.version}\n`);
    const refused = await run(process.execPath, [bundle, 'sumbit']).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/did you mean 'submit'\?/) });
  });

  it('lists its repository inputs: the CLI, the client, model/, package.json and the lockfile', () => {
    const { inputs } = JSON.parse(readFileSync(metaFileOf(bundle), 'utf8')) as { inputs: string[] };
    expect(inputs).toEqual(
      expect.arrayContaining([
        'package.json',
        'package-lock.json',
        'client/cli/main.ts',
        'client/queue-client.ts',
        'model/operations.ts',
      ]),
    );
    expect(inputs.filter((i) => i.includes('node_modules'))).toEqual([]);
  });

  it('is fresh after its build, stale once an input is newer or gone', () => {
    expect(isFresh(bundle)).toBe(true);
    const meta = metaFileOf(bundle);
    const original = readFileSync(meta, 'utf8');
    try {
      // The bundle's time is its build's start: set it back, and every input is newer.
      utimesSync(bundle, new Date(0), new Date(0));
      expect(isFresh(bundle)).toBe(false);
      utimesSync(bundle, new Date(), new Date());
      expect(isFresh(bundle)).toBe(true);
      writeFileSync(meta, JSON.stringify({ inputs: ['client/cli/gone.ts'] }));
      expect(isFresh(bundle)).toBe(false);
      writeFileSync(meta, 'not json');
      expect(isFresh(bundle)).toBe(false);
    } finally {
      writeFileSync(meta, original);
    }
  });
});
