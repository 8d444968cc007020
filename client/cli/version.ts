/**
 * The version `riq --version` prints: package.json's, read when the CLI is bundled (esbuild inlines
 * the JSON into dist/riq.mjs) or, through tsx, when it starts.
 */
import packageJson from '../../package.json' with { type: 'json' };

export const VERSION: string = packageJson.version;
