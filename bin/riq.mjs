#!/usr/bin/env node
// The `riq` command (package.json "bin"): runs the compiled CLI, dist/riq.mjs, built by `npm ci`
// and rebuilt here first when it is missing or older than its sources (bin/riq-bundle.mjs).
// `npm run riq -- …` runs the TypeScript through tsx instead.
import { EsbuildMissingError, freshBundle } from './riq-bundle.mjs';

let bundle;
try {
  bundle = await freshBundle();
} catch (error) {
  const why = error instanceof EsbuildMissingError ? error.message : `the build failed: ${error}`;
  process.stderr.write(`riq: cannot build dist/riq.mjs: ${why}\n`);
  process.exit(5);
}
const { main } = await import(bundle);
process.exitCode = await main(process.argv.slice(2));
