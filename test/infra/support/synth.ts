/**
 * Synthesizes a RIQ stage in-process (the same `buildRiqApp` bin/app.ts calls, with cdk.json's
 * context) and gives the two stack templates plus small lookups the infra tests share.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import {
  buildRiqApp,
  STAGES_REQUIRING_ALARM_SUBSCRIPTION,
  type RiqApp,
  type RiqStageName,
} from '../../../lib/riq-app.js';
import { API_FUNCTIONS, SERVICES, type ApiFunctionName, type Service } from '../../../model/config/index.js';

type Json = Record<string, unknown>;

/** The context cdk.json hands the CLI: the `riq:stages` overrides tests must see too. */
export function cdkJsonContext(): Json {
  const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as {
    context: Json;
  };
  return cdkJson.context;
}

/** The alarm subscription tests give the stages that require one (STAGES_REQUIRING_ALARM_SUBSCRIPTION). */
export const TEST_ALARM_EMAIL = 'oncall@example.com';

/**
 * The context a stage cannot synthesize without: prod's alarm subscription, as an operator passes it
 * (`-c alarmEmail=…`). Extra context given to `synthStage` replaces it.
 */
export function requiredContext(stage: RiqStageName): Json {
  return STAGES_REQUIRING_ALARM_SUBSCRIPTION.includes(stage) ? { alarmEmail: TEST_ALARM_EMAIL } : {};
}

export interface SynthesizedStage extends RiqApp {
  readonly stateful: Template;
  readonly stateless: Template;
  /** The directory of the stage's cloud assembly (the bundled assets are under it). */
  readonly assemblyDir: string;
  /** Removes the cloud assembly written to a temp dir. */
  cleanup(): void;
}

/**
 * Builds and synthesizes one stage, with the context it requires (`requiredContext`). Synthesis
 * runs the cdk-nag plugin, so an unacknowledged AwsSolutions error already fails here.
 */
export function synthStage(stage: RiqStageName, extraContext: Json = {}): SynthesizedStage {
  const outdir = mkdtempSync(join(tmpdir(), `riq-infra-${stage}-`));
  const cleanup = () => rmSync(outdir, { recursive: true, force: true });
  let riq: RiqApp;
  let assembly: CloudAssembly;
  try {
    riq = buildRiqApp({
      context: { ...cdkJsonContext(), ...requiredContext(stage), ...extraContext, stage },
      outdir,
    });
    assembly = riq.app.synth().getNestedAssembly(riq.stage.artifactId);
  } catch (error) {
    cleanup();
    throw error;
  }
  const template = (stack: Stack) => Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  return {
    ...riq,
    stateful: template(riq.stage.stateful),
    stateless: template(riq.stage.stateless),
    assemblyDir: assembly.directory,
    cleanup,
  };
}

/** Synthesizes a stage with extra context, hands it to `check` and removes it again. */
export function withStage<T>(
  stage: RiqStageName,
  extraContext: Json,
  check: (riq: SynthesizedStage) => T,
): T {
  const riq = synthStage(stage, extraContext);
  try {
    return check(riq);
  } finally {
    riq.cleanup();
  }
}

export const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** The Lambda functions of a stage by role: the API functions, the sweeper and one worker per service. */
export type FunctionName = ApiFunctionName | 'sweeper' | `${Service} worker`;

export const FUNCTION_NAMES: readonly FunctionName[] = [
  ...API_FUNCTIONS,
  'sweeper',
  ...SERVICES.map((service) => `${service} worker` as const),
];

/** The service of a worker's name; undefined for the other functions. */
export function serviceOf(name: FunctionName): Service | undefined {
  return SERVICES.find((service) => name === `${service} worker`);
}

/** The logical ID, in the stateless template, of a function of the stage. */
export function functionId(riq: RiqApp, name: FunctionName): string {
  const { api, sweeper, workers } = riq.stage.stateless;
  const service = serviceOf(name);
  if (service) return logicalIdOf(workers.functions[service]);
  if (name === 'sweeper') return logicalIdOf(sweeper.function);
  return logicalIdOf(api.functions[name as ApiFunctionName]);
}

export interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export function resourcesOfType(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

/** The logical ID of the CloudFormation resource behind an L2 construct. */
export function logicalIdOf(construct: IConstruct): string {
  const element = construct.node.defaultChild as CfnElement | undefined;
  if (!element) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(element).getLogicalId(element);
}

/**
 * The logical ID, in the stateful template, of the resource a stateless `Fn::ImportValue` points
 * to (`{ Ref }` or `{ Fn::GetAtt: [id, attr] }` behind the export).
 */
export function importedLogicalId(stateful: Template, value: unknown): string {
  const exportName = (value as { 'Fn::ImportValue'?: unknown })['Fn::ImportValue'];
  if (typeof exportName !== 'string') throw new Error(`not an import: ${JSON.stringify(value)}`);
  const outputs = stateful.toJSON()['Outputs'] as Record<string, { Value: Json; Export?: { Name: string } }>;
  const output = Object.values(outputs).find((o) => o.Export?.Name === exportName);
  if (!output) throw new Error(`no export ${exportName}`);
  const ref = output.Value['Ref'];
  if (typeof ref === 'string') return ref;
  const getAtt = output.Value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  throw new Error(`export ${exportName} is neither a Ref nor a GetAtt`);
}

/**
 * The keys of a JSON object environment variable built with `Stack.toJsonString` (a `Fn::Join`
 * whose token parts are the values), e.g. the QueueKeys of `RIQ_QUEUE_URLS`.
 */
export function jsonEnvKeys(value: unknown): string[] {
  if (typeof value === 'string') return Object.keys(JSON.parse(value) as Json);
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`not a JSON string or Fn::Join: ${JSON.stringify(value)}`);
  const text = join[1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(join[0]);
  return Object.keys(JSON.parse(text) as Json);
}

export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

export function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** The condition of a statement that denies every request not made over TLS. */
export const WITHOUT_TLS = { Bool: { 'aws:SecureTransport': 'false' } };

/** Every statement of the policy documents of the given policies (`PolicyDocument`). */
export function policyStatements(policies: Iterable<Resource>): PolicyStatementJson[] {
  return [...policies].flatMap(
    (p) => (p.Properties['PolicyDocument'] as { Statement: PolicyStatementJson[] }).Statement,
  );
}

/** Every statement of the inline policies attached to a role. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  return policyStatements(
    Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).filter((p) =>
      (p.Properties['Roles'] as Json[]).some((r) => r['Ref'] === roleLogicalId),
    ),
  );
}

/** Every statement of the inline policies attached to the role of a function. */
export function statementsOfFunction(template: Template, functionLogicalId: string): PolicyStatementJson[] {
  const fn = template.toJSON()['Resources'][functionLogicalId] as Resource;
  return statementsOfRole(template, ((fn.Properties['Role'] as Json)['Fn::GetAtt'] as string[])[0]!);
}

/** The statements that grant an action. */
export function granting(statements: PolicyStatementJson[], action: string): PolicyStatementJson[] {
  return statements.filter((s) => asArray(s.Action).includes(action));
}

/** The logical IDs, in the stateful template, of the imported resources the statements name. */
export function importedResources(stateful: Template, statements: PolicyStatementJson[]): string[] {
  return statements.flatMap((s) => asArray(s.Resource).map((r) => importedLogicalId(stateful, r)));
}

export function actionsOf(statements: PolicyStatementJson[]): string[] {
  return [...new Set(statements.flatMap((s) => asArray(s.Action)))].sort();
}
