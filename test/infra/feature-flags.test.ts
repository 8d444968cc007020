/**
 * The CDK feature flags: `cdk.json` sets every flag the installed aws-cdk-lib recommends, to the
 * recommended value or to the one lib/feature-flags.ts gives with its reason, so upgrading
 * aws-cdk-lib fails here until its new flags are decided; and `cdk synth` reports no unconfigured
 * flag.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAGS_LEFT_OFF } from '../../lib/feature-flags.js';
import { cdkJsonContext, synthStage, type SynthesizedStage } from './support/synth.js';

const context = cdkJsonContext();
const recommended: Record<string, unknown> = CURRENTLY_RECOMMENDED_FLAGS;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A flag as the synthesized assembly's feature flag report (`cdk:feature-flag-report`) gives it. */
interface ReportedFlag {
  readonly recommendedValue?: unknown;
  readonly userValue?: unknown;
  readonly unconfiguredBehavesLike?: { readonly v2?: unknown };
}

/**
 * The flags the CLI counts in "N feature flags are not configured": no value set, and a default
 * (`unconfiguredBehavesLike.v2`, else false) other than the recommended value.
 */
function unconfigured(flags: Record<string, ReportedFlag>): string[] {
  return Object.entries(flags)
    .filter(
      ([, f]) =>
        f.userValue === undefined && !same(f.unconfiguredBehavesLike?.v2 ?? false, f.recommendedValue),
    )
    .map(([name]) => name)
    .sort();
}

describe('feature flags in cdk.json', () => {
  it('set every flag the installed aws-cdk-lib recommends', () => {
    expect(Object.keys(recommended).filter((flag) => !(flag in context))).toEqual([]);
  });

  it('depart from a recommendation only where lib/feature-flags.ts says why', () => {
    const departures = Object.keys(recommended).filter((flag) => !same(context[flag], recommended[flag]));
    expect(departures.sort()).toEqual(Object.keys(FLAGS_LEFT_OFF).sort());
    for (const [flag, { value, reason, beforeSwitching }] of Object.entries(FLAGS_LEFT_OFF)) {
      expect(context[flag], flag).toEqual(value);
      expect(reason.length, flag).toBeGreaterThan(40);
      expect(beforeSwitching.length, flag).toBeGreaterThan(40);
    }
  });

  it('are each named in the runbook when left off', () => {
    const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
    for (const flag of Object.keys(FLAGS_LEFT_OFF)) expect(runbook, flag).toContain(`\`${flag}\``);
  });
});

describe('the synthesized feature flag report', () => {
  let riq: SynthesizedStage;

  beforeAll(() => {
    riq = synthStage('dev');
  });
  afterAll(() => riq?.cleanup());

  it('lists no unconfigured flag, and says so of the flags cdk.json does not set', () => {
    const manifest = JSON.parse(readFileSync(join(riq.assemblyDir, '..', 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; properties?: { flags?: Record<string, ReportedFlag> } }>;
    };
    const report = Object.values(manifest.artifacts).find((a) => a.type === 'cdk:feature-flag-report');
    const flags = report?.properties?.flags ?? {};
    expect(Object.keys(flags).length).toBeGreaterThanOrEqual(Object.keys(recommended).length);
    expect(unconfigured(flags)).toEqual([]);
    // The same report read without cdk.json's flags: what the CLI counted before they were set.
    const withoutFlags = Object.fromEntries(
      Object.entries(flags).map(([name, { userValue: _userValue, ...flag }]) => [name, flag]),
    );
    expect(unconfigured(withoutFlags).length).toBeGreaterThan(0);
  });
});

describe('npx cdk synth', () => {
  it('prints no "feature flags are not configured" notice', { timeout: 300_000 }, () => {
    const outdir = mkdtempSync(join(tmpdir(), 'riq-flags-synth-'));
    try {
      // --exclusively on the stateful stack: the CLI bundles no function, and reports on the flags
      // of the whole app all the same.
      const run = spawnSync(
        'npx',
        ['cdk', 'synth', '--exclusively', 'Riq-dev/Stateful', '-c', 'stage=dev', '-q', '-o', outdir],
        {
          cwd: new URL('../..', import.meta.url),
          env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
          encoding: 'utf8',
          timeout: 280_000,
        },
      );
      const output = `${run.stdout}${run.stderr}`;
      expect(run.status, output).toBe(0);
      expect(existsSync(join(outdir, 'manifest.json')), output).toBe(true);
      expect(output).not.toMatch(/feature flags? (are|is) not configured/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
