#!/usr/bin/env node
// The `riq` command (package.json "bin"): runs the compiled CLI in dist/ (dist/riq.json names the
// build), built by `npm ci` and rebuilt here first when it is missing or older than its sources
// (bin/riq-bundle.mjs). `npm run riq -- …` runs the TypeScript through tsx instead.
import { pathToFileURL } from 'node:url';
import { EsbuildMissingError, freshBundle } from './riq-bundle.mjs';

if (process.argv[2] === 'console') {
  // The console bundles its page from client/console/ui at run time: it runs from the sources
  // (bin/riq-bundle.mjs leaves it out of the compiled CLI). Its start is a server's, not a command's.
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../client/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
} else {
  await runCompiled();
}

async function runCompiled() {
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
}
