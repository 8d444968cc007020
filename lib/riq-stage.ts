import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { RiqConfig } from '../model/config/index.js';
import { StatefulStack } from './stateful-stack.js';
import { StatelessStack } from './stateless-stack.js';

export interface RiqStageProps extends StageProps {
  readonly config: RiqConfig;
}

/** One RIQ environment: `<namePrefix>-stateful` (data) and `<namePrefix>-stateless` (compute). */
export class RiqStage extends Stage {
  public readonly config: RiqConfig;
  public readonly stateful: StatefulStack;
  public readonly stateless: StatelessStack;

  constructor(scope: Construct, id: string, props: RiqStageProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    this.stateful = new StatefulStack(this, 'Stateful', {
      stackName: `${config.namePrefix}-stateful`,
      description: `RIQ ${config.stage}: requests table, work and dead-letter queues, Atlassian secret`,
      terminationProtection: config.deployment.retainData,
      config,
    });
    this.stateless = new StatelessStack(this, 'Stateless', {
      stackName: `${config.namePrefix}-stateless`,
      description: `RIQ ${config.stage}: REST API and Lambda functions`,
      config,
      resources: this.stateful,
    });
  }
}
