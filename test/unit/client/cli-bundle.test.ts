/**
 * The compiled `riq`: bin/riq-bundle.mjs bundles the CLI into ESM files that run with plain `node`
 * (no tsx), keeps what `--help` does not need out of the entry file, and tells a build older than
 * any of its inputs from a fresh one.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildBundle,
  freshBundle,
  freshEntry,
  metaFileOf,
  type BuiltBundle,
} from '../../../bin/riq-bundle.mjs';
import packageJson from '../../../package.json' with { type: 'json' };

const run = promisify(execFile);

describe('the riq bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'riq-bundle-'));
  let built: BuiltBundle;
  let bundle = '';

  beforeAll(async () => {
    expect(freshEntry(dir)).toBeUndefined();
    built = await buildBundle(dir);
    bundle = built.entry;
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs with plain node: --version, and a usage error with its exit code', async () => {
    const { stdout } = await run(process.execPath, [bundle, '--version']);
    expect(stdout).toBe(`riq ${packageJson.version}\n`);
    const refused = await run(process.execPath, [bundle, 'sumbit']).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/did you mean 'submit'\?/) });
  });

  it('lists its repository inputs: the CLI, the client, model/, package.json and the lockfile', () => {
    const { inputs } = JSON.parse(readFileSync(metaFileOf(dir), 'utf8')) as { inputs: string[] };
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

  it('keeps the signer, the credential chain and the schemas out of the entry file', () => {
    const text = readFileSync(bundle, 'utf8');
    expect(built.entryBytes).toBeLessThan(built.bytes / 5);
    // The signer's algorithm name, and a message of the payload schemas (model/operations.ts).
    expect(text).not.toContain('AWS4-HMAC-SHA256');
    expect(text).not.toContain('must be an issue key like MD-123');
  });

  it('is fresh after its build, stale once an input is newer or gone', () => {
    expect(freshEntry(dir)).toBe(bundle);
    const meta = metaFileOf(dir);
    const original = readFileSync(meta, 'utf8');
    try {
      // The meta file's time is the build's start: set it back, and every input is newer.
      utimesSync(meta, new Date(0), new Date(0));
      expect(freshEntry(dir)).toBeUndefined();
      utimesSync(meta, new Date(), new Date());
      expect(freshEntry(dir)).toBe(bundle);
      writeFileSync(meta, JSON.stringify({ entry: 'riq-x/riq.mjs', inputs: ['package.json'] }));
      expect(freshEntry(dir)).toBeUndefined();
      writeFileSync(meta, JSON.stringify({ ...JSON.parse(original), inputs: ['client/cli/gone.ts'] }));
      expect(freshEntry(dir)).toBeUndefined();
      writeFileSync(meta, 'not json');
      expect(freshEntry(dir)).toBeUndefined();
    } finally {
      writeFileSync(meta, original);
    }
  });

  it('rebuilds a stale build into a new folder, keeping the previous one and removing older old ones', async () => {
    const first = bundle;
    utimesSync(metaFileOf(dir), new Date(0), new Date(0));
    const second = await freshBundle(dir);
    expect(second).not.toBe(first);
    expect(freshEntry(dir)).toBe(second);
    // Younger than ten minutes, a build before the previous one stays: a riq may still run from it.
    utimesSync(metaFileOf(dir), new Date(0), new Date(0));
    const third = await freshBundle(dir);
    expect(existsSync(first)).toBe(true);
    utimesSync(dirname(first), new Date(0), new Date(0));
    utimesSync(metaFileOf(dir), new Date(0), new Date(0));
    const fourth = await freshBundle(dir);
    const builds = readdirSync(dir).filter((name) => name.startsWith('riq-'));
    expect(builds.sort()).toEqual([second, third, fourth].map((e) => basename(dirname(e))).sort());
    expect(existsSync(first)).toBe(false);
    bundle = fourth;
  }, 60_000);

  it('without esbuild (npm ci --omit=dev): prepare exits 0 saying so, riq exits 5 saying why', async () => {
    // A copy of bin/ where no node_modules can be found: what an install without dev dependencies sees.
    const bare = mkdtempSync(join(tmpdir(), 'riq-no-esbuild-'));
    try {
      mkdirSync(join(bare, 'bin'));
      for (const file of ['riq.mjs', 'riq-bundle.mjs'])
        copyFileSync(join('bin', file), join(bare, 'bin', file));
      const prepare = await run(process.execPath, [join(bare, 'bin', 'riq-bundle.mjs')]);
      expect(prepare.stdout).toBe(
        'riq: the CLI is not built: esbuild is not installed (a dev dependency): run npm ci\n',
      );
      const riq = await run(process.execPath, [join(bare, 'bin', 'riq.mjs'), '--help']).catch(
        (e: unknown) => e,
      );
      expect(riq).toMatchObject({
        code: 5,
        stderr:
          'riq: cannot build the CLI into dist/: esbuild is not installed (a dev dependency): run npm ci\n',
      });
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
