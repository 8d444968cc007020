import { CfnOutput, Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectOwnership,
  type IBucket,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { RiqConfig } from '../../model/config/index.js';

export interface BodiesBucketProps {
  readonly config: RiqConfig;
}

/** The prefix every body is stored under (`requests/<token>/payload.json`, `…/result.json`). */
export const BODIES_PREFIX = 'requests/';

/**
 * The bodies bucket (stateful): payloads and results too large for a DynamoDB record, stored under
 * the request's token (claim check, lambdas/core/domain/claim-check.ts). Encrypted with S3-managed keys,
 * reachable over TLS only, never public; bodies expire with the records (`retentionDays`).
 * Retained on stack deletion like the table when `deployment.retainData` (prod); otherwise
 * destroyed with its objects, as the table is.
 */
export class BodiesBucket extends Construct {
  public readonly bucket: Bucket;
  /**
   * The bucket as other stacks use it: through exports named from the config
   * (`<namePrefix>-bodies-bucket-arn`, `…-name`), so the IAM statements that name it (and the
   * cdk-nag acknowledgement of their `requests/*` wildcard) read the same in every synth.
   */
  public readonly shared: IBucket;

  constructor(scope: Construct, id: string, props: BodiesBucketProps) {
    super(scope, id);
    const { config } = props;
    const retain = config.deployment.retainData;

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [
        {
          id: 'expire-bodies',
          expiration: Duration.days(config.retentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !retain,
    });

    const arnExport = bodiesBucketExportName(config, 'arn');
    const nameExport = bodiesBucketExportName(config, 'name');
    new CfnOutput(this, 'Arn', { value: this.bucket.bucketArn, exportName: arnExport });
    new CfnOutput(this, 'Name', { value: this.bucket.bucketName, exportName: nameExport });
    this.shared = Bucket.fromBucketAttributes(this, 'Shared', {
      bucketArn: Fn.importValue(arnExport),
      bucketName: Fn.importValue(nameExport),
    });

    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Bodies are written and read only by RIQ function roles scoped to requests/* and by presigned ' +
        'GETs those roles sign; each request already has its log lines, and access logs would need a ' +
        'second bucket that outlives the bodies.',
    });
  }
}

/** The name of the export of the bodies bucket's ARN or name. */
export function bodiesBucketExportName(config: RiqConfig, attribute: 'arn' | 'name'): string {
  return `${config.namePrefix}-bodies-bucket-${attribute}`;
}
