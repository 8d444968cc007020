import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { RiqConfig } from '../model/config/index.js';
import { RiqApi } from './constructs/api.js';
import { RiqObservability } from './constructs/observability.js';
import { OperatorAccess } from './constructs/operator-access.js';
import { Sweeper } from './constructs/sweeper.js';
import { Workers } from './constructs/workers.js';
import type { StatefulResources } from './stateful-stack.js';

export interface StatelessStackProps extends StackProps {
  readonly config: RiqConfig;
  readonly resources: StatefulResources;
}

/** Everything that can be replaced at will: the API, its functions and the workers. */
export class StatelessStack extends Stack {
  public readonly api: RiqApi;
  public readonly workers: Workers;
  public readonly operator: OperatorAccess;
  public readonly sweeper: Sweeper;
  public readonly observability: RiqObservability;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, resources } = props;
    this.api = new RiqApi(this, 'Api', { config, ...resources });
    this.operator = new OperatorAccess(this, 'Operator', {
      config,
      httpApi: this.api.httpApi,
      stage: this.api.stage,
    });
    this.sweeper = new Sweeper(this, 'Sweeper', {
      config,
      table: resources.table,
      queues: resources.queues,
    });
    this.workers = new Workers(this, 'Workers', { config, ...resources });
    if (config.atlassian.siteUrl === undefined) {
      Annotations.of(this).addWarningV2(
        'riq:atlassian-site-url-missing',
        'atlassian.siteUrl is not set for this stage: with an API token the functions cannot reach ' +
          'Atlassian, and with OAuth the Jira links in results point at the API gateway instead of the ' +
          'site. Set it in cdk.json: "riq:stages": {"<stage>": {"atlassian": {"siteUrl": "https://<site>.atlassian.net"}}}.',
      );
    }
    this.observability = new RiqObservability(this, 'Observability', {
      config,
      queues: resources.queues,
      deadLetterQueues: resources.deadLetterQueues,
      api: this.api.stage,
      apiFunctions: this.api.functions,
      workerFunctions: this.workers.functions,
      sweeperFunction: this.sweeper.function,
    });
  }
}
