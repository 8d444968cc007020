/**
 * How every RIQ Lambda is bundled, in one place: lib/constructs/riq-function.ts hands these options
 * to CDK's `NodejsFunction`, and `npm run bench -- coldstart` hands the same options to esbuild
 * (through `esbuildBuildOptions`, which passes them the way CDK does), so the figures the bench
 * prints are those of the deployed bundles. test/infra/bundling.test.ts checks that both give the
 * same bytes.
 */
import type { BuildOptions } from 'esbuild';

/** The Lambda runtime's Node.js major version (`Runtime.NODEJS_24_X`); esbuild targets it. */
export const LAMBDA_NODE_TARGET = 'node24';

/**
 * ESM output still has to run the CommonJS dependencies that call `require` (parts of the SDK):
 * give the bundle a real `require`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __riqCreateRequire } from 'node:module'; const require = __riqCreateRequire(import.meta.url);";

/**
 * Modules left out of the bundle. None: the AWS SDK is bundled, at the versions the tests ran.
 * Bundled, it is most of each bundle but loads as one minified file; left out, Lambda's own copy
 * loads from hundreds of files and module init takes about twice as long. `npm run bench --
 * coldstart` against `BENCH_COLDSTART_SDK=external npm run bench -- coldstart`, Node.js 24 on 2
 * shared CPUs, 2026-12-07: bundled 30–738 KB and 32–234 ms, external 30–327 KB and 321–396 ms
 * (docs/operations.md#bundles-source-maps-and-cold-starts has the latest figures).
 */
export const EXTERNAL_MODULES: readonly string[] = [];

/** The SDK packages `BENCH_COLDSTART_SDK=external` leaves out (Lambda's Node.js runtimes ship them). */
export const AWS_SDK_MODULES: readonly string[] = ['@aws-sdk/*', '@smithy/*'];

/**
 * Packages replaced in the bundle (esbuild `alias`), paths relative to the project root: the SDK's
 * default credential chain by the environment-only provider a Lambda function needs
 * (lambdas/shared/lambda-credentials.ts).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/shared/lambda-credentials.ts',
};

export interface LambdaBundleOptions {
  readonly target: string;
  readonly alias: Readonly<Record<string, string>>;
  readonly format: 'esm';
  readonly mainFields: readonly string[];
  readonly banner: string;
  readonly minify: boolean;
  /** A `.map` file beside the bundle, without the sources' text. */
  readonly sourceMap: boolean;
  readonly externalModules: readonly string[];
}

export interface LambdaBundleChoices {
  /** `deployment.sourceMaps`: off by default (they add 1.1–1.35 MB per function and 30–65 ms of init). */
  readonly sourceMaps: boolean;
  /** @default EXTERNAL_MODULES */
  readonly externalModules?: readonly string[];
}

/** The bundling options of every RIQ function. */
export function lambdaBundleOptions(choices: LambdaBundleChoices): LambdaBundleOptions {
  return {
    target: LAMBDA_NODE_TARGET,
    alias: BUNDLE_ALIASES,
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    minify: true,
    sourceMap: choices.sourceMaps,
    externalModules: choices.externalModules ?? EXTERNAL_MODULES,
  };
}

/** The bundle's file name: CDK writes `index.mjs` for ESM output. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * The esbuild build options equal to the command line CDK's `NodejsFunction` runs for `options`
 * (aws-cdk-lib/aws-lambda-nodejs `Bundling.buildEsbuildArgs`: `--bundle <entry> --target
 * --platform=node --format --outfile --minify [--sourcemap --sources-content=false] --external:…
 * --banner:js --main-fields`, and `esbuildArgs`: `--alias:…`), run from `projectRoot` as CDK runs it.
 */
export function esbuildBuildOptions(
  options: LambdaBundleOptions,
  paths: { readonly projectRoot: string; readonly entry: string; readonly outfile: string },
): BuildOptions {
  return {
    absWorkingDir: paths.projectRoot,
    entryPoints: [paths.entry],
    bundle: true,
    target: options.target,
    platform: 'node',
    format: options.format,
    outfile: paths.outfile,
    minify: options.minify,
    sourcemap: options.sourceMap,
    sourcesContent: false,
    external: [...options.externalModules],
    banner: { js: options.banner },
    mainFields: [...options.mainFields],
    alias: { ...options.alias },
    logLevel: 'warning',
  };
}
