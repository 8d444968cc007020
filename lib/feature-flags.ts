/**
 * The CDK feature flags RIQ keeps at a value other than the one the installed aws-cdk-lib
 * recommends for new projects, each with what the recommended value would change and what to do
 * before switching to it.
 *
 * `cdk.json` sets every flag aws-cdk-lib recommends (`CURRENTLY_RECOMMENDED_FLAGS`): to the
 * recommended value, or to the value here. test/infra/feature-flags.test.ts fails when the
 * installed aws-cdk-lib recommends a flag `cdk.json` does not set, or when `cdk.json` departs from a
 * recommendation this map does not explain, so upgrading aws-cdk-lib surfaces its new flags; the
 * runbook lists the same flags (docs/runbook.md, "CDK feature flags").
 */
export interface FlagLeftOff {
  /** The value `cdk.json` sets. */
  readonly value: unknown;
  /** What the recommended value would change in the deployed stacks. */
  readonly reason: string;
  /** What to do before switching to the recommended value. */
  readonly beforeSwitching: string;
}

export const FLAGS_LEFT_OFF: Readonly<Record<string, FlagLeftOff>> = {
  '@aws-cdk/core:defaultCrossStackReferences': {
    value: 'strong',
    reason:
      'The recommended "weak" reads the stateful stack from the stateless one with Fn::GetStackOutput ' +
      'instead of Fn::ImportValue: it replaces no table, queue, bucket, secret, key or log group, but it ' +
      'removes the 27 exports of riq-<stage>-stateful (the table, queue, dead-letter queue and secret ' +
      "names and ARNs) and rewrites the stateless stack's environment variables, IAM policies and " +
      'event source mappings. CloudFormation refuses to delete an export another stack still imports, ' +
      'so a deployed stage cannot switch in one deploy; and once weak, nothing stops the stateful ' +
      'stack from being deleted or changed under a deployed stateless stack. "strong" is the ' +
      'behaviour every stage was deployed with.',
    beforeSwitching:
      'Set "both" and deploy every stage (both stacks), then set "weak" and deploy every stage again. ' +
      'The infra tests read cross-stack references as Fn::ImportValue (test/infra/support/synth.ts, ' +
      'importedLogicalId) and must learn Fn::GetStackOutput first.',
  },
};
