import { App, Validations, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolveConfig, type RiqConfig } from '../model/config/index.js';
import { RiqStage } from './riq-stage.js';

/** The stages `cdk deploy -c stage=…` accepts. */
export const RIQ_STAGES = ['dev', 'staging', 'prod'] as const;
export type RiqStageName = (typeof RIQ_STAGES)[number];

/** Context keys the app reads (from `cdk.json` or `-c key=value`). */
export const CONTEXT_KEYS = {
  stage: 'stage',
  stageOverrides: 'riq:stages',
  account: 'account',
  region: 'region',
} as const;

export interface BuildRiqAppOptions {
  /** The app to add the stage to; bin/app.ts passes the CLI's. @default - a new App with `context` */
  readonly app?: App;
  /** Context for a new app (tests). Ignored when `app` is given. @default {} */
  readonly context?: Record<string, unknown>;
  /** Cloud assembly directory of a new app (tests). Ignored when `app` is given. @default - a temp dir */
  readonly outdir?: string;
  /**
   * Environment used when the context names no `account`/`region` (bin/app.ts passes the CLI's
   * CDK_DEFAULT_ACCOUNT/REGION). @default - environment-agnostic
   */
  readonly defaultEnv?: Environment;
}

export interface RiqApp {
  readonly app: App;
  readonly stage: RiqStage;
  readonly config: RiqConfig;
}

export function isRiqStageName(value: unknown): value is RiqStageName {
  return typeof value === 'string' && (RIQ_STAGES as readonly string[]).includes(value);
}

/**
 * The configuration of one stage: the defaults, then the stage's overrides from the
 * `riq:stages` context, then its name and name prefix. Throws for an unknown stage.
 */
export function resolveStageConfig(stage: unknown, stageOverrides: unknown = {}): RiqConfig {
  if (!isRiqStageName(stage)) {
    throw new Error(`Unknown RIQ stage ${JSON.stringify(stage)}: pass -c stage=<${RIQ_STAGES.join('|')}>`);
  }
  if (!isRecord(stageOverrides)) {
    throw new Error(`Context "${CONTEXT_KEYS.stageOverrides}" must be an object keyed by stage name`);
  }
  const overrides = stageOverrides[stage] ?? {};
  if (!isRecord(overrides)) {
    throw new Error(`Context "${CONTEXT_KEYS.stageOverrides}.${stage}" must be an object`);
  }
  return resolveConfig({ ...overrides, stage, namePrefix: `riq-${stage}` });
}

/**
 * Adds the stage named by the `stage` context (`Riq-<stage>`) to the app and checks it with
 * cdk-nag's AwsSolutions pack at synth: an unacknowledged error fails the synth.
 */
export function buildRiqApp(options: BuildRiqAppOptions = {}): RiqApp {
  const app =
    options.app ??
    new App({
      context: options.context ?? {},
      ...(options.outdir !== undefined && { outdir: options.outdir }),
    });
  const config = resolveStageConfig(
    app.node.tryGetContext(CONTEXT_KEYS.stage),
    app.node.tryGetContext(CONTEXT_KEYS.stageOverrides) ?? {},
  );
  const account = contextString(app, CONTEXT_KEYS.account) ?? options.defaultEnv?.account;
  const region = contextString(app, CONTEXT_KEYS.region) ?? options.defaultEnv?.region;

  const stage = new RiqStage(app, `Riq-${config.stage}`, {
    config,
    env: { ...(account && { account }), ...(region && { region }) },
  });
  // On the stage, not the app: CDK hands a plugin the stacks of the assembly it is registered on,
  // and the app's own assembly holds none (they are in the stage's nested assembly).
  Validations.of(stage).addPlugins(new AwsSolutionsChecks(stage));
  return { app, stage, config };
}

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new Error(`Context "${key}" must be a non-empty string`);
  }
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
