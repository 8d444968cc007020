import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { REQUESTS_TABLE, requestsTableName, type RiqConfig } from '../../model/config/index.js';

export interface RequestsTableProps {
  readonly config: RiqConfig;
}

/**
 * The requests table (stateful): on-demand, encrypted with the AWS-managed key, records expire by
 * TTL, the by-status index lists the requests the sweeper and the operators look for by status
 * (model/config/resources.ts `REQUESTS_TABLE`). Point-in-time recovery and retention on
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
    // Sparse (only requests carrying `listed_status`), with the few attributes the sweeper reads:
    // a request is written to the index only while listed, and only when one of those changes.
    this.table.addGlobalSecondaryIndex({
      indexName: statusIndex.name,
      partitionKey: { name: statusIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: statusIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...statusIndex.projected],
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
