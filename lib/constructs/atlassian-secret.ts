import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { RiqConfig } from '../../model/config/index.js';

export interface AtlassianSecretProps {
  readonly config: RiqConfig;
}

/**
 * `<namePrefix>/atlassian`: the Atlassian credentials the workers call Jira and Confluence with.
 *
 * The template holds no credential: CloudFormation creates the secret with a random placeholder
 * and the operator replaces it with `{"email": "...", "api_token": "..."}` (API token) or
 * `{"client_id", "client_secret", "refresh_token", "cloud_id"}` (OAuth 2.0 3LO; the workers write
 * each rotated refresh token back). It lives in the stateful stack so redeploying the functions
 * never loses what the operator stored.
 */
export class AtlassianSecret extends Construct {
  public readonly secret: ISecret;

  constructor(scope: Construct, id: string, props: AtlassianSecretProps) {
    super(scope, id);
    const { config } = props;
    const secret = new Secret(this, 'Secret', {
      secretName: `${config.namePrefix}/atlassian`,
      description:
        'RIQ workers: Atlassian Cloud credentials. The operator sets the value to JSON ' +
        '{"email": "<account e-mail>", "api_token": "<Atlassian API token>"} or, for OAuth 2.0, ' +
        '{"client_id", "client_secret", "refresh_token", "cloud_id"}; the workers store rotated tokens.',
      removalPolicy: config.deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An Atlassian API token is issued by a person in the Atlassian account UI; no rotation Lambda ' +
        'can create one, so the operator rotates it by hand. An OAuth refresh token is rotated by the ' +
        'workers themselves on every refresh.',
    });
    this.secret = secret;
  }
}
