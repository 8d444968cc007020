#!/usr/bin/env node
// The `riq` command (package.json "bin"): loads tsx, then runs the TypeScript CLI in this process.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
