import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { REQUESTS_TABLE, requestsTableName, type RiqConfig } from '../../model/config/index.js';

export interface RequestsTableProps {
  readonly config: RiqConfig;
}

/**
 * The requests table (stateful): on-demand, encrypted with the AWS-managed key, records expire by
 * TTL, the `by-status` index lists requests by status. Point-in-time recovery and retention on
 * stack deletion follow `config.deployment`.
 */
export class RequestsTable extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: RequestsTableProps) {
    super(scope, id);
    const { config } = props;
    const { statusIndex } = REQUESTS_TABLE;

    this.table = new Table(this, 'Table', {
      tableName: requestsTableName(config),
      partitionKey: { name: REQUESTS_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: REQUESTS_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: config.deployment.pointInTimeRecovery,
      },
      removalPolicy: config.deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: config.deployment.retainData,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: statusIndex.name,
      partitionKey: { name: statusIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: statusIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    if (!config.deployment.pointInTimeRecovery) {
      Validations.of(this.table).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          `Stage ${config.stage} disables point-in-time recovery (deployment.pointInTimeRecovery) to save ` +
          'cost: its records are short-lived test data; staging and prod enable it.',
      });
    }
  }
}
