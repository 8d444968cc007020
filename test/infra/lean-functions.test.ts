/**
 * What a function's cold start and its tracing bill depend on: how it is bundled (minified, no
 * source maps unless switched on, the same options `npm run bench -- coldstart` measures, zod's
 * mini API) and whether it is traced, per stage and with the `-c sourceMaps=…` / `-c tracing=…`
 * switches.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import {
  ASSET_RESOURCE_METADATA_ENABLED_CONTEXT,
  ASSET_RESOURCE_METADATA_PATH_KEY,
} from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FILE, esbuildBuildOptions, lambdaBundleOptions } from '../../lib/lambda-bundling.js';
import { deploymentSwitches, RIQ_STAGES, resolveStageConfig } from '../../lib/riq-app.js';
import type { RiqFunction } from '../../lib/constructs/riq-function.js';
import { FUNCTION_ENTRIES } from '../../model/config/index.js';
import {
  asArray,
  cdkJsonContext,
  FUNCTION_NAMES,
  functionId,
  resourcesOfType,
  serviceOf,
  sorted,
  statementsOfFunction,
  synthStage,
  TEST_ALARM_EMAIL,
  type FunctionName,
  type SynthesizedStage,
} from './support/synth.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
/** Asks CDK to name each function's bundled asset directory in the template's metadata. */
const ASSET_METADATA = { [ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true };

function riqFunction(riq: SynthesizedStage, name: FunctionName): RiqFunction {
  const { api, sweeper, workers } = riq.stage.stateless;
  const service = serviceOf(name);
  if (service) return workers.functions[service];
  if (name === 'sweeper') return sweeper.function;
  return api.functions[name as keyof typeof api.functions];
}

function resourceOf(riq: SynthesizedStage, name: FunctionName) {
  const resource = resourcesOfType(riq.stateless, 'AWS::Lambda::Function')[functionId(riq, name)];
  if (!resource) throw new Error(`no function ${name}`);
  return resource as typeof resource & { Metadata?: Record<string, unknown> };
}

/** The files of a function's bundled asset, as CDK wrote them into the cloud assembly. */
function assetDir(riq: SynthesizedStage, name: FunctionName): string {
  const path = resourceOf(riq, name).Metadata?.[ASSET_RESOURCE_METADATA_PATH_KEY];
  if (typeof path !== 'string') throw new Error(`no asset path for ${name}`);
  return join(riq.assemblyDir, path);
}

function variables(riq: SynthesizedStage, name: FunctionName): Record<string, unknown> {
  return (resourceOf(riq, name).Properties['Environment'] as { Variables: Record<string, unknown> })
    .Variables;
}

function onAnyResource(riq: SynthesizedStage, name: FunctionName): string[][] {
  return statementsOfFunction(riq.stateless, functionId(riq, name))
    .filter((s) => asArray(s.Resource).includes('*'))
    .map((s) => sorted(asArray(s.Action)));
}

describe('lambdaBundleOptions', () => {
  it('minifies for Node.js 24 as ESM with the SDK inside, source maps only when asked', () => {
    expect(lambdaBundleOptions({ sourceMaps: false })).toMatchObject({
      target: 'node24',
      format: 'esm',
      minify: true,
      sourceMap: false,
      externalModules: [],
    });
    expect(lambdaBundleOptions({ sourceMaps: true }).sourceMap).toBe(true);
  });
});

describe('deployment switches', () => {
  const stages = cdkJsonContext()['riq:stages'];

  // Prod builds only with an alarm subscription.
  const alarms = { alarmEmail: TEST_ALARM_EMAIL };

  it.each(RIQ_STAGES)('%s: source maps and tracing are off unless switched on', (stage) => {
    expect(resolveStageConfig(stage, stages, {}, alarms).deployment).toMatchObject({
      sourceMaps: false,
      tracing: 'off',
    });
  });

  it('reads -c sourceMaps=true and -c tracing=active as the CLI passes them (strings)', () => {
    const app = new App({ context: { sourceMaps: 'true', tracing: 'active' } });
    expect(deploymentSwitches(app)).toEqual({ sourceMaps: true, tracing: 'active' });
    expect(resolveStageConfig('prod', stages, deploymentSwitches(app), alarms).deployment).toMatchObject({
      retainData: true,
      sourceMaps: true,
      tracing: 'active',
    });
  });

  it("lets a switch turn off what the stage's overrides turn on", () => {
    const overrides = { dev: { deployment: { sourceMaps: true, tracing: 'active' } } };
    expect(resolveStageConfig('dev', overrides).deployment).toMatchObject({
      sourceMaps: true,
      tracing: 'active',
    });
    const app = new App({ context: { sourceMaps: false, tracing: 'off' } });
    expect(resolveStageConfig('dev', overrides, deploymentSwitches(app)).deployment).toMatchObject({
      sourceMaps: false,
      tracing: 'off',
    });
  });

  it('rejects a switch value it does not know', () => {
    expect(() => deploymentSwitches(new App({ context: { sourceMaps: 'yes' } }))).toThrow(
      'Context "sourceMaps" must be true or false',
    );
    expect(() => deploymentSwitches(new App({ context: { tracing: 'sampled' } }))).toThrow(
      'Context "tracing" must be one of off, active',
    );
  });
});

describe('the dev stage as deployed by default', () => {
  let riq: SynthesizedStage;
  beforeAll(() => {
    riq = synthStage('dev', ASSET_METADATA);
  });
  afterAll(() => riq?.cleanup());

  it.each(FUNCTION_NAMES)('%s: minified bundle without source maps, no --enable-source-maps', (name) => {
    expect(riqFunction(riq, name).bundleOptions).toEqual(lambdaBundleOptions({ sourceMaps: false }));
    expect(readdirSync(assetDir(riq, name))).toEqual([BUNDLE_FILE]);
    expect(readFileSync(join(assetDir(riq, name), BUNDLE_FILE), 'utf8')).not.toContain('sourceMappingURL');
    expect(variables(riq, name)['NODE_OPTIONS']).toBeUndefined();
  });

  it.each(FUNCTION_NAMES)('%s: JSON logs at INFO, for Lambda and Powertools alike', (name) => {
    expect(resourceOf(riq, name).Properties['LoggingConfig']).toMatchObject({
      LogFormat: 'JSON',
      ApplicationLogLevel: 'INFO',
      SystemLogLevel: 'WARN',
    });
    expect(variables(riq, name)['POWERTOOLS_LOG_LEVEL']).toBe('INFO');
  });

  it.each(FUNCTION_NAMES)('%s: not traced, and no X-Ray permission', (name) => {
    expect(resourceOf(riq, name).Properties['TracingConfig']).toBeUndefined();
    expect(onAnyResource(riq, name)).toEqual([]);
  });

  it('bundles exactly what the coldstart benchmark bundles (the same options, as CDK passes them)', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'riq-bundle-'));
    try {
      const outfile = join(outDir, BUNDLE_FILE);
      await build(
        esbuildBuildOptions(lambdaBundleOptions({ sourceMaps: false }), {
          projectRoot: REPO_ROOT,
          entry: join(REPO_ROOT, FUNCTION_ENTRIES.submit),
          outfile,
        }),
      );
      const deployed = readFileSync(join(assetDir(riq, 'submit'), BUNDLE_FILE));
      expect(readFileSync(outfile).equals(deployed)).toBe(true);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe('zod in the bundles', () => {
  it.each(Object.keys(FUNCTION_ENTRIES) as (keyof typeof FUNCTION_ENTRIES)[])(
    '%s: zod/mini with its English messages, none of the classic API',
    async (name) => {
      const { metafile } = await build({
        ...esbuildBuildOptions(lambdaBundleOptions({ sourceMaps: false }), {
          projectRoot: REPO_ROOT,
          entry: join(REPO_ROOT, FUNCTION_ENTRIES[name]),
          outfile: join(tmpdir(), `riq-zod-${name}`, BUNDLE_FILE),
        }),
        write: false,
        metafile: true,
      });
      // What the bundle holds (metafile.inputs also lists the files tree-shaking dropped).
      const held = Object.values(metafile.outputs).flatMap((output) =>
        Object.entries(output.inputs)
          .filter(([, input]) => input.bytesInOutput > 0)
          .map(([path]) => path),
      );
      const zodFiles = held.filter((path) => path.includes('node_modules/zod/'));
      expect(zodFiles.filter((path) => path.includes('/v4/classic/'))).toEqual([]);
      expect(zodFiles.filter((path) => path.includes('/v4/locales/') && !path.endsWith('/en.js'))).toEqual(
        [],
      );
      if (name !== 'notFound') {
        expect(zodFiles).toContain('node_modules/zod/v4/mini/schemas.js');
        expect(zodFiles).toContain('node_modules/zod/v4/locales/en.js');
      }
    },
  );
});

describe('a stage whose deployment.logLevel is WARN', () => {
  let riq: SynthesizedStage;
  beforeAll(() => {
    const stages = cdkJsonContext()['riq:stages'] as Record<string, Record<string, unknown>>;
    riq = synthStage('dev', {
      'riq:stages': { ...stages, dev: { ...stages['dev'], deployment: { logLevel: 'WARN' } } },
    });
  });
  afterAll(() => riq?.cleanup());

  it.each(FUNCTION_NAMES)('%s: Lambda and Powertools both at WARN', (name) => {
    expect(resourceOf(riq, name).Properties['LoggingConfig']).toMatchObject({
      LogFormat: 'JSON',
      ApplicationLogLevel: 'WARN',
    });
    expect(variables(riq, name)['POWERTOOLS_LOG_LEVEL']).toBe('WARN');
  });
});

describe('staging with -c sourceMaps=true -c tracing=active', () => {
  let riq: SynthesizedStage;
  beforeAll(() => {
    riq = synthStage('staging', { ...ASSET_METADATA, sourceMaps: 'true', tracing: 'active' });
  });
  afterAll(() => riq?.cleanup());

  it.each(FUNCTION_NAMES)('%s: ships its source map and runs with --enable-source-maps', (name) => {
    expect(riqFunction(riq, name).bundleOptions).toEqual(lambdaBundleOptions({ sourceMaps: true }));
    const dir = assetDir(riq, name);
    expect(sorted(readdirSync(dir))).toEqual([BUNDLE_FILE, `${BUNDLE_FILE}.map`]);
    expect(readFileSync(join(dir, BUNDLE_FILE), 'utf8')).toContain(`sourceMappingURL=${BUNDLE_FILE}.map`);
    // The map names the sources without carrying their text.
    const map = JSON.parse(readFileSync(join(dir, `${BUNDLE_FILE}.map`), 'utf8')) as {
      sourcesContent?: unknown;
    };
    expect(map.sourcesContent).toBeUndefined();
    expect(variables(riq, name)['NODE_OPTIONS']).toBe('--enable-source-maps');
  });

  it.each(FUNCTION_NAMES)('%s: active tracing, with only the X-Ray actions on Resource "*"', (name) => {
    expect(resourceOf(riq, name).Properties['TracingConfig']).toEqual({ Mode: 'Active' });
    expect(onAnyResource(riq, name)).toEqual([XRAY_ACTIONS]);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(riq.app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });
});
