import { CfnOutput, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import type { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { AccountRootPrincipal, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { API_ROUTES, operatorRoleName, type ApiRoute, type RiqConfig } from '../../model/config/index.js';
import { wildcardPath } from './api.js';

export interface OperatorAccessProps {
  readonly config: RiqConfig;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
}

/**
 * The operator role (`<namePrefix>-operator`): the only principal the dead-letter routes answer
 * (the function compares the caller's ARN with this role's, lib/constructs/api.ts). Principals of
 * this account that are allowed `sts:AssumeRole` on it may assume it; it may invoke the operator
 * routes plus health, circuit breakers and metrics, nothing else. Its ARN is a stack output.
 */
export class OperatorAccess extends Construct {
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { config, httpApi } = props;
    this.role = new Role(this, 'Role', {
      roleName: operatorRoleName(config),
      assumedBy: new AccountRootPrincipal(),
      description: `${config.namePrefix}: operators of the dead-letter API`,
    });
    const stage = props.stage.stageName;
    const routes = API_ROUTES.filter(
      (r) => r.operator || r.fn === 'health' || r.fn === 'circuitBreakers' || r.fn === 'metrics',
    );
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: routes.map((r) => httpApi.arnForExecuteApi(r.method, wildcardPath(r), stage)),
      }),
    );
    // cdk-nag names each statement resource holding a `*` by the logical IDs behind its tokens.
    const stack = Stack.of(this);
    const apiId = stack.getLogicalId(httpApi.node.defaultChild as CfnElement);
    // The partition is a literal when the region is known (`@aws-cdk/core:enablePartitionLiterals`).
    const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const nagResource = (r: ApiRoute) =>
      `AwsSolutions-IAM5[Resource::arn:${partition}:execute-api:${region}:${account}:<${apiId}>/${stage}/${r.method}${wildcardPath(r)}]`;
    Validations.of(this.role).acknowledge(
      ...routes
        .filter((r) => r.path.includes('{'))
        .map((r) => ({
          id: nagResource(r),
          reason:
            `The operator may ${r.method} ${r.path} for any request token: the \`*\` stands only ` +
            'for the {token} path parameter of this one route.',
        })),
    );
    new CfnOutput(this, 'OperatorRoleArn', {
      value: this.role.roleArn,
      description: 'Assume this role to call the dead-letter routes of the RIQ API',
    });
  }
}
