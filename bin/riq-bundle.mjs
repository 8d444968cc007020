/**
 * The `riq` CLI as one compiled ESM file, `dist/riq.mjs`, bundled by esbuild from
 * client/cli/main.ts (with the client, model/ and their dependencies), next to `dist/riq.meta.json`,
 * the list of the repository files it was built from.
 *
 * Built twice over, on purpose: by `npm ci` (the `prepare` script runs this file), so a fresh clone
 * has it, and by bin/riq.mjs on demand when it is missing or older than any of its inputs, so an
 * edit to client/ or model/ (or a `git pull`) never runs stale code and needs no build step to
 * remember. The check is one `stat` per input (about 20 files, a millisecond); esbuild is loaded only
 * to build.
 *
 * `npm ci --omit=dev` installs no esbuild: `prepare` then says so and exits 0, so a production
 * install still succeeds (the CLI needs the dev dependencies anyway: tsx for `npm run riq`).
 *
 * Plain JavaScript, not TypeScript: bin/riq.mjs runs it before anything could compile TypeScript.
 * Types: bin/riq-bundle.d.mts.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ENTRY = join(REPO_ROOT, 'client', 'cli', 'main.ts');
export const BUNDLE_FILE = join(REPO_ROOT, 'dist', 'riq.mjs');

/** Besides the bundled sources: a change of version or of the locked dependencies rebuilds too. */
const ALWAYS_INPUTS = ['package.json', 'package-lock.json'];

/**
 * ESM output still has to run the CommonJS dependencies that call `require` (parts of the AWS SDK's
 * credential chain): give the bundle a real `require` (as lib/lambda-bundling.ts does).
 */
const REQUIRE_BANNER =
  "import { createRequire as __riqCreateRequire } from 'node:module'; const require = __riqCreateRequire(import.meta.url);";

/** The file listing what `bundleFile` was built from. */
export function metaFileOf(bundleFile) {
  return bundleFile.replace(/\.mjs$/, '.meta.json');
}

/**
 * True when `bundleFile` exists and none of the files it was built from changed since the build
 * started (a file edited while esbuild ran counts as changed: the bundle's time is the start).
 */
export function isFresh(bundleFile = BUNDLE_FILE) {
  let builtAt;
  let inputs;
  try {
    builtAt = statSync(bundleFile).mtimeMs;
    const meta = JSON.parse(readFileSync(metaFileOf(bundleFile), 'utf8'));
    inputs = meta.inputs;
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  for (const input of inputs) {
    try {
      if (statSync(join(REPO_ROOT, input)).mtimeMs > builtAt) return false;
    } catch {
      return false; // deleted or renamed: rebuild, and esbuild says what is missing
    }
  }
  return true;
}

/** Thrown by `buildBundle` when esbuild is not installed (`npm ci --omit=dev`). */
export class EsbuildMissingError extends Error {
  constructor(cause) {
    super('esbuild is not installed (a dev dependency): run npm ci', { cause });
    this.name = 'EsbuildMissingError';
  }
}

/**
 * Bundles client/cli/main.ts into `bundleFile` (and its meta file). Written to temporary names and
 * renamed, so a `riq` starting meanwhile (or a second build racing this one) never reads half a
 * file. Answers the bundle's size in bytes and the build's milliseconds.
 */
export async function buildBundle(bundleFile = BUNDLE_FILE) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new EsbuildMissingError(error);
  }
  const startedAt = new Date();
  const started = Date.now();
  const temp = `${bundleFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  mkdirSync(dirname(bundleFile), { recursive: true });
  try {
    const result = await esbuild.build({
      entryPoints: [ENTRY],
      outfile: temp,
      absWorkingDir: REPO_ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      mainFields: ['module', 'main'],
      banner: { js: REQUIRE_BANNER },
      // Smaller to parse at each start; an unexpected error prints its message, not its stack.
      minify: true,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = [
      ...ALWAYS_INPUTS,
      ...Object.keys(result.metafile.inputs)
        .map((input) => relative(REPO_ROOT, resolve(REPO_ROOT, input)))
        .filter((input) => !input.split(/[\\/]/).includes('node_modules')),
    ];
    const metaTemp = `${temp}.meta`;
    writeFileSync(metaTemp, `${JSON.stringify({ entry: relative(REPO_ROOT, ENTRY), inputs }, null, 2)}\n`);
    // The build's start, not its end: an input saved while esbuild ran is newer, so stale.
    utimesSync(temp, startedAt, startedAt);
    renameSync(temp, bundleFile);
    renameSync(metaTemp, metaFileOf(bundleFile));
    return { bytes: statSync(bundleFile).size, ms: Date.now() - started };
  } catch (error) {
    rmSync(temp, { force: true });
    rmSync(`${temp}.meta`, { force: true });
    throw error;
  }
}

/** The bundle's path, built first when missing or stale. */
export async function freshBundle(bundleFile = BUNDLE_FILE) {
  if (!isFresh(bundleFile)) await buildBundle(bundleFile);
  return bundleFile;
}

function isEntryPoint() {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
}

// `node bin/riq-bundle.mjs`: the `prepare` script.
if (isEntryPoint()) {
  try {
    const { bytes, ms } = await buildBundle();
    console.log(
      `riq: built ${relative(REPO_ROOT, BUNDLE_FILE)} (${Math.round(bytes / 1024)} KB) in ${Math.round(ms)} ms`,
    );
  } catch (error) {
    if (!(error instanceof EsbuildMissingError)) throw error;
    console.log(`riq: ${relative(REPO_ROOT, BUNDLE_FILE)} not built: ${error.message}`);
  }
}
