/**
 * cdk-nag through the CDK CLI: `npx cdk synth` exits non-zero and names the rule when a stage has an
 * unacknowledged finding (test/infra/fixtures/nag-probe-app.ts adds one to the dev stage), and
 * exits 0 for the app as it is. Both run offline, without stack names, as an operator runs them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs `npx cdk synth -c stage=dev -q` (with `--app` when given) into a temp dir. */
function cdkSynth(app?: string): { status: number | null; output: string; synthesized: boolean } {
  const outdir = mkdtempSync(join(tmpdir(), 'riq-nag-cli-'));
  try {
    const run = spawnSync(
      'npx',
      ['cdk', 'synth', ...(app ? ['--app', app] : []), '-c', 'stage=dev', '-q', '-o', outdir],
      {
        cwd: new URL('../..', import.meta.url),
        env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
        encoding: 'utf8',
        timeout: 280_000,
      },
    );
    return {
      status: run.status,
      output: `${run.stdout}${run.stderr}`,
      synthesized: existsSync(join(outdir, 'manifest.json')),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('npx cdk synth and cdk-nag', () => {
  it('fails on an unacknowledged finding in the stage, naming the rule', { timeout: 300_000 }, () => {
    const run = cdkSynth('npx tsx test/infra/fixtures/nag-probe-app.ts');
    expect(run.status, run.output).not.toBe(0);
    expect(run.status, run.output).not.toBeNull();
    expect(run.output).toContain('Serverless-EventBusDLQ');
    expect(run.output).toContain('Riq-dev/Stateful/UnacknowledgedRule');
    expect(run.output).toContain('Synthesis finished with errors');
  });

  it('succeeds for the app as it is', { timeout: 300_000 }, () => {
    const run = cdkSynth();
    expect(run.status, run.output).toBe(0);
    expect(run.synthesized, run.output).toBe(true);
    expect(run.output).not.toMatch(/Synthesis finished with errors|AwsSolutions-|Serverless-/);
  });
});
