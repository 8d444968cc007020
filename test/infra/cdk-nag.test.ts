/**
 * cdk-nag's AwsSolutions and Serverless packs, as the app runs them at synth (lib/riq-app.ts): no
 * stage has a finding that is not acknowledged with its reason next to the resource.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnRule } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRiqApp, RIQ_STAGES } from '../../lib/riq-app.js';
import { cdkJsonContext, synthStage, type SynthesizedStage } from './support/synth.js';

describe.each(RIQ_STAGES)('cdk-nag, %s', (stageName) => {
  let riq: SynthesizedStage;

  beforeAll(() => {
    riq = synthStage(stageName);
  });
  afterAll(() => riq?.cleanup());

  it.each([
    ['AwsSolutions', () => new AwsSolutionsChecks()],
    ['Serverless', () => new ServerlessChecks()],
  ])('has no unacknowledged %s finding', (_pack, pack) => {
    const report = pack().validateScope(riq.app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });
});

describe('cdk-nag at synth', () => {
  it('fails the synth on an unacknowledged Serverless finding', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'riq-nag-'));
    try {
      const riq = buildRiqApp({ context: { ...cdkJsonContext(), stage: 'dev' }, outdir });
      // A scheduled rule with a target and no dead-letter queue: Serverless-EventBusDLQ only.
      new CfnRule(riq.stage.stateless, 'UnacknowledgedRule', {
        scheduleExpression: 'rate(1 hour)',
        targets: [{ id: 'topic', arn: 'arn:aws:sns:us-east-1:123456789012:some-topic' }],
      });
      expect(() => riq.app.synth()).toThrow(/Serverless-EventBusDLQ/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
