#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth|deploy -c stage=dev|staging|prod` (cdk.json defaults to dev).
 * Per-stage overrides come from the `riq:stages` context; `-c account=… -c region=…` pin the
 * environment, else the CLI's default account and region are used; `-c alarmEmail=…` and
 * `-c alarmTopicArn=…` set where the stage's alarms go (prod requires one of them). An unacknowledged
 * cdk-nag finding in the stage fails `cdk synth` and `cdk deploy` (see synthForCli).
 */
import { App } from 'aws-cdk-lib';
import { buildRiqApp, synthForCli } from '../lib/riq-app.js';

const app = new App();
buildRiqApp({
  app,
  defaultEnv: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
synthForCli(app);
