#!/usr/bin/env node
// The `riq` command (package.json "bin"): runs the compiled CLI in dist/ (dist/riq.json names the
// build), built by `npm ci` and rebuilt here first when it is missing or older than its sources
// (bin/riq-bundle.mjs). `npm run riq -- …` runs the TypeScript through tsx instead.
import { pathToFileURL } from 'node:url';
import { EsbuildMissingError, freshBundle } from './riq-bundle.mjs';

let entry;
try {
  entry = await freshBundle();
} catch (error) {
  const why = error instanceof EsbuildMissingError ? error.message : `the build failed: ${error}`;
  process.stderr.write(`riq: cannot build the CLI into dist/: ${why}\n`);
  process.exit(5);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
