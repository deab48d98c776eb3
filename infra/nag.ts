/**
 * cdk-nag wiring (cdk-nag 3: CDK's native Validations API). Findings fail synth, and every
 * acknowledgement carries its reason here or at the construct it applies to.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';

/** Runs the AWS Solutions pack over the whole app at synth. */
export const addNagChecks = (app: App): void => {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
};

/** Acknowledges one finding (full id, e.g. `AwsSolutions-IAM5[Resource::*]`) on a construct and its children. */
export const acknowledge = (scope: IConstruct, id: string, reason: string): void => {
  Validations.of(scope).acknowledge({ id, reason });
};

/**
 * The same flattening cdk-nag applies to an IAM resource before naming a finding
 * (`Resource::<flattened>`), so that a wildcard resource can be acknowledged exactly,
 * and no other wildcard with it.
 */
const flatten = (node: unknown): string => {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (o['Fn::Sub']) return flatten(o['Fn::Sub']);
  if (o['Fn::GetAtt']) {
    const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (o['Fn::ImportValue']) return flatten(o['Fn::ImportValue']);
  if (o['Ref']) return `<${flatten(o['Ref'])}>`;
  return JSON.stringify(node);
};

/**
 * Adds a statement whose resources contain a wildcard (an ARN pattern, or `*` where the
 * service has no resource-level permissions) and acknowledges exactly those wildcards
 * with the reason. Actions must be named: a wildcard action is never acknowledged.
 */
export const allowWithWildcardResources = (
  role: iam.IRole,
  statement: iam.PolicyStatement,
  reason: string,
): void => {
  if (statement.actions.some((a) => a.includes('*'))) {
    throw new Error(`statement ${statement.sid ?? ''} has a wildcard action (${statement.actions.join(', ')}); name the actions`);
  }
  role.addToPrincipalPolicy(statement);
  const stack = Stack.of(role);
  for (const resource of statement.resources) {
    const flat = flatten(stack.resolve(resource));
    if (flat.includes('*')) acknowledge(role, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
  }
};

/** Reasons shared by several acknowledgements. */
export const Reason = {
  NODE_22:
    'Node.js 22 is the newest Lambda runtime the handlers dependency set (middy 6, Powertools 2.35) is verified on; move to the next LTS once verified.',
  SFN_LOGS_XRAY:
    'Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray trace segment APIs have no resource-level permissions; CDK adds exactly these actions for the logging and tracing cdk-nag asks for (SF1, SF2).',
  METRIC_DATA: 'cloudwatch:GetMetricData has no resource-level permissions; bakes count requests of the service scopes with it.',
  CODEDEPLOY_EC2_DESCRIBE:
    'CodeDeploy finds the instances of a tag-selected deployment group with ec2:DescribeInstances, ec2:DescribeInstanceStatus and tag:GetResources, which have no resource-level permissions.',
} as const;
