/**
 * The `riq` CLI compiled: esbuild bundles client/cli/main.ts (with the client, model/ and their
 * dependencies) into ESM files in `dist/riq-<build id>/`, and `dist/riq.json` names that build and
 * the repository files it came from.
 *
 * Code splitting: what a command does not use (the AWS signer and credential chain, zod and the
 * payload schemas) sits in chunks imported on first use, so `riq --help` parses about 30 KB instead
 * of about 420 KB (`npm run bench -- cli` measures the start).
 *
 * Built twice over, on purpose: by `npm ci` (the `prepare` script runs this file), so a fresh clone
 * has it, and by bin/riq.mjs on demand when it is missing or older than any of its inputs, so an
 * edit to client/ or model/ (or a `git pull`) never runs stale code and needs no build step to
 * remember. The check is one `stat` per input (about 25 files, a millisecond); esbuild is loaded only
 * to build.
 *
 * `npm ci --omit=dev` installs no esbuild: `prepare` then says so and exits 0, so a production
 * install still succeeds (the CLI needs the dev dependencies anyway: tsx for `npm run riq`).
 *
 * Plain JavaScript, not TypeScript: bin/riq.mjs runs it before anything could compile TypeScript.
 * Types: bin/riq-bundle.d.mts.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ENTRY = join(REPO_ROOT, 'client', 'cli', 'main.ts');
export const DIST_DIR = join(REPO_ROOT, 'dist');
/** Names the current build (`entry`, relative to the dist folder) and its `inputs`. */
const META_NAME = 'riq.json';
const BUILD_PREFIX = 'riq-';
/** A build neither current nor previous is removed once it is this old (a `riq` may still run from it). */
const OLD_BUILD_MS = 10 * 60_000;

/** Besides the bundled sources: a change of version or of the locked dependencies rebuilds too. */
const ALWAYS_INPUTS = ['package.json', 'package-lock.json'];

/**
 * ESM output still has to run the CommonJS dependencies that call `require` (parts of the AWS SDK's
 * credential chain): give each file a real `require` (as lib/lambda-bundling.ts does).
 */
const REQUIRE_BANNER =
  "import { createRequire as __riqCreateRequire } from 'node:module'; const require = __riqCreateRequire(import.meta.url);";

/**
 * `riq console` stays out of the bundle: it bundles its page with esbuild from client/console/ui at
 * run time, found next to its own source file, so bin/riq.mjs runs it from the sources through tsx.
 * The bundle keeps main.ts's dynamic import of it as it is, never reached from bin/riq.mjs.
 */
const CONSOLE_OUTSIDE = {
  name: 'riq-console-outside',
  setup(build) {
    build.onResolve({ filter: /\/console\/command\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

export function metaFileOf(distDir = DIST_DIR) {
  return join(distDir, META_NAME);
}

function readMeta(distDir) {
  try {
    const meta = JSON.parse(readFileSync(metaFileOf(distDir), 'utf8'));
    return typeof meta.entry === 'string' && Array.isArray(meta.inputs) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The current build's entry file, when there is one and none of the files it was built from changed
 * since the build started (a file edited while esbuild ran counts as changed: the meta file's time is
 * the build's start); otherwise undefined.
 */
export function freshEntry(distDir = DIST_DIR) {
  const meta = readMeta(distDir);
  if (meta === undefined || meta.inputs.length === 0) return undefined;
  const entry = join(distDir, meta.entry);
  let builtAt;
  try {
    builtAt = statSync(metaFileOf(distDir)).mtimeMs;
    statSync(entry);
  } catch {
    return undefined;
  }
  for (const input of meta.inputs) {
    try {
      if (statSync(join(REPO_ROOT, input)).mtimeMs > builtAt) return undefined;
    } catch {
      return undefined; // deleted or renamed: rebuild, and esbuild says what is missing
    }
  }
  return entry;
}

/** Thrown by `buildBundle` when esbuild is not installed (`npm ci --omit=dev`). */
export class EsbuildMissingError extends Error {
  constructor(cause) {
    super('esbuild is not installed (a dev dependency): run npm ci', { cause });
    this.name = 'EsbuildMissingError';
  }
}

/**
 * Builds the CLI into a new `riq-<id>` folder of `distDir`, then points `riq.json` at it (written
 * under a temporary name and renamed: a `riq` starting meanwhile, or a second build racing this
 * one, reads the old build or the new one, never half of one). Removes the builds before the
 * previous one that are over ten minutes old: a `riq` still running from one may yet import one of
 * its chunks. Answers the entry file, its size and all files' size in bytes, and the build's
 * milliseconds.
 */
export async function buildBundle(distDir = DIST_DIR) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new EsbuildMissingError(error);
  }
  const startedAt = new Date();
  const started = Date.now();
  const previous = readMeta(distDir)?.entry.split('/')[0];
  const build = `${BUILD_PREFIX}${started.toString(36)}${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const outdir = join(distDir, build);
  const metaTemp = join(distDir, `${META_NAME}.${build}.tmp`);
  mkdirSync(distDir, { recursive: true });
  try {
    const result = await esbuild.build({
      entryPoints: { riq: ENTRY },
      outdir,
      outExtension: { '.js': '.mjs' },
      absWorkingDir: REPO_ROOT,
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      mainFields: ['module', 'main'],
      banner: { js: REQUIRE_BANNER },
      // Smaller to parse at each start; an unexpected error prints its message, not its stack.
      minify: true,
      metafile: true,
      logLevel: 'silent',
      plugins: [CONSOLE_OUTSIDE],
    });
    const inputs = [
      ...ALWAYS_INPUTS,
      ...Object.keys(result.metafile.inputs)
        .map((input) => relative(REPO_ROOT, resolve(REPO_ROOT, input)))
        .filter((input) => !input.split(/[\\/]/).includes('node_modules')),
    ];
    const entry = `${build}/riq.mjs`;
    writeFileSync(
      metaTemp,
      `${JSON.stringify({ entry, source: relative(REPO_ROOT, ENTRY), inputs }, null, 2)}\n`,
    );
    // The build's start, not its end: an input saved while esbuild ran is newer, so stale.
    utimesSync(metaTemp, startedAt, startedAt);
    renameSync(metaTemp, metaFileOf(distDir));
    // An old build's age is read against the new build folder's time: both come from the file
    // system's clock, which is the clock the folders' times were written with.
    const now = statSync(outdir).mtimeMs;
    for (const name of readdirSync(distDir)) {
      if (!name.startsWith(BUILD_PREFIX) || name === build || name === previous) continue;
      const path = join(distDir, name);
      if (statSync(path).mtimeMs < now - OLD_BUILD_MS) rmSync(path, { recursive: true, force: true });
    }
    const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
    return {
      entry: join(distDir, entry),
      entryBytes: statSync(join(distDir, entry)).size,
      bytes,
      ms: Date.now() - started,
    };
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(metaTemp, { force: true });
    throw error;
  }
}

/** The entry file of a fresh build, built first when missing or stale. */
export async function freshBundle(distDir = DIST_DIR) {
  return freshEntry(distDir) ?? (await buildBundle(distDir)).entry;
}

function isEntryPoint() {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
}

// `node bin/riq-bundle.mjs`: the `prepare` script.
if (isEntryPoint()) {
  try {
    const { entry, entryBytes, bytes, ms } = await buildBundle();
    console.log(
      `riq: built ${relative(REPO_ROOT, entry)} (${Math.round(entryBytes / 1024)} KB; ` +
        `${Math.round(bytes / 1024)} KB with the chunks loaded on use) in ${Math.round(ms)} ms`,
    );
  } catch (error) {
    if (!(error instanceof EsbuildMissingError)) throw error;
    console.log(`riq: the CLI is not built: ${error.message}`);
  }
}
