import { App, Validations, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { resolveConfig, TRACING_MODES, type RiqConfig, type TracingMode } from '../model/config/index.js';
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
  /** `-c sourceMaps=true|false`: `deployment.sourceMaps` for this synth, over the stage's. */
  sourceMaps: 'sourceMaps',
  /** `-c tracing=active|off`: `deployment.tracing` for this synth, over the stage's. */
  tracing: 'tracing',
  /** Set the stage's `observability.alarmEmail` / `alarmTopicArn` (over `riq:stages`). */
  alarmEmail: 'alarmEmail',
  alarmTopicArn: 'alarmTopicArn',
} as const;

/** The `deployment` fields a context switch may set for one synth or deploy. */
export type DeploymentSwitches = Partial<Pick<RiqConfig['deployment'], 'sourceMaps' | 'tracing'>>;

/** The stages whose alarms must reach a person: their synth fails without an alarm subscription. */
export const STAGES_REQUIRING_ALARM_SUBSCRIPTION: readonly RiqStageName[] = ['prod'];

/** Where a stage's alarms go besides its own topic, from the `alarmEmail` / `alarmTopicArn` context. */
export interface AlarmSubscription {
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
}

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
 * `riq:stages` context, then the deployment switches and the alarm subscription given on their
 * own, then its name and name prefix. Throws for an unknown stage, and for a stage of
 * STAGES_REQUIRING_ALARM_SUBSCRIPTION whose alarms would notify nobody.
 */
export function resolveStageConfig(
  stage: unknown,
  stageOverrides: unknown = {},
  switches: DeploymentSwitches = {},
  alarmSubscription: AlarmSubscription = {},
): RiqConfig {
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
  const deployment = { ...(isRecord(overrides['deployment']) ? overrides['deployment'] : {}), ...switches };
  const observability = overrides['observability'];
  const config = resolveConfig({
    ...overrides,
    deployment,
    // Merged here only when it is an object: anything else is left for the schema to reject.
    ...(isRecord(observability) || observability === undefined
      ? { observability: { ...observability, ...alarmSubscription } }
      : {}),
    stage,
    namePrefix: `riq-${stage}`,
  });
  const { alarmEmail, alarmTopicArn } = config.observability;
  if (STAGES_REQUIRING_ALARM_SUBSCRIPTION.includes(stage) && !alarmEmail && !alarmTopicArn) {
    throw new Error(
      `Stage ${stage} needs an alarm subscription, or its alarms notify nobody: set ` +
        `observability.alarmEmail and/or observability.alarmTopicArn in cdk.json ` +
        `(${CONTEXT_KEYS.stageOverrides}.${stage}), or pass -c ${CONTEXT_KEYS.alarmEmail}=<address> ` +
        `and/or -c ${CONTEXT_KEYS.alarmTopicArn}=<SNS topic ARN>`,
    );
  }
  return config;
}

/**
 * Adds the stage named by the `stage` context (`Riq-<stage>`) to the app and checks it with
 * cdk-nag's AwsSolutions and Serverless packs at synth: an unacknowledged error fails the synth.
 */
export function buildRiqApp(options: BuildRiqAppOptions = {}): RiqApp {
  const app =
    options.app ??
    new App({
      context: options.context ?? {},
      ...(options.outdir !== undefined && { outdir: options.outdir }),
    });
  const alarmEmail = contextString(app, CONTEXT_KEYS.alarmEmail);
  const alarmTopicArn = contextString(app, CONTEXT_KEYS.alarmTopicArn);
  const config = resolveStageConfig(
    app.node.tryGetContext(CONTEXT_KEYS.stage),
    app.node.tryGetContext(CONTEXT_KEYS.stageOverrides) ?? {},
    deploymentSwitches(app),
    { ...(alarmEmail && { alarmEmail }), ...(alarmTopicArn && { alarmTopicArn }) },
  );
  const account = contextString(app, CONTEXT_KEYS.account) ?? options.defaultEnv?.account;
  const region = contextString(app, CONTEXT_KEYS.region) ?? options.defaultEnv?.region;

  const stage = new RiqStage(app, `Riq-${config.stage}`, {
    config,
    env: { ...(account && { account }), ...(region && { region }) },
  });
  // On the stage, not the app: CDK hands a plugin the stacks of the assembly it is registered on,
  // and the app's own assembly holds none (they are in the stage's nested assembly).
  Validations.of(stage).addPlugins(new AwsSolutionsChecks(stage), new ServerlessChecks(stage));
  return { app, stage, config };
}

/**
 * Synthesizes the app as the CDK CLI runs it (bin/app.ts), marking every stack `validateOnSynth`
 * so that `cdk synth` fails on an unacknowledged cdk-nag finding in the stage. The CLI has the
 * app only write the validation report, and reports the findings of the stacks it selects itself;
 * `cdk synth` without stack names selects the app's top-level stacks, and the stacks of this app
 * are all in the stage, so without the mark it selects none and exits 0 whatever the report
 * holds. With it, the CLI's `--validation` (on by default) adds the marked stacks to the ones it
 * checks. `cdk deploy` checks the stacks it deploys either way.
 */
export function synthForCli(app: App): void {
  app.synth({ validateOnSynthesis: true });
}

/** `-c sourceMaps=…` and `-c tracing=…` (strings on the command line, booleans from cdk.json or tests). */
export function deploymentSwitches(app: App): DeploymentSwitches {
  const sourceMaps: unknown = app.node.tryGetContext(CONTEXT_KEYS.sourceMaps);
  const tracing: unknown = app.node.tryGetContext(CONTEXT_KEYS.tracing);
  const switches: { sourceMaps?: boolean; tracing?: TracingMode } = {};
  if (sourceMaps !== undefined) {
    if (sourceMaps !== true && sourceMaps !== false && sourceMaps !== 'true' && sourceMaps !== 'false') {
      throw new Error(`Context "${CONTEXT_KEYS.sourceMaps}" must be true or false`);
    }
    switches.sourceMaps = sourceMaps === true || sourceMaps === 'true';
  }
  if (tracing !== undefined) {
    if (!(TRACING_MODES as readonly unknown[]).includes(tracing)) {
      throw new Error(`Context "${CONTEXT_KEYS.tracing}" must be one of ${TRACING_MODES.join(', ')}`);
    }
    switches.tracing = tracing as TracingMode;
  }
  return switches;
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
