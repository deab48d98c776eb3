/**
 * Every Lambda resource policy statement for an AWS service is bound to this account as well
 * as to its source (the rule, the API): CDK sets the source ARN of the permissions it adds for
 * EventBridge rules and API Gateway, not the source account. This aspect adds the account to
 * each such permission of the app, so that no resource of another account can invoke a
 * handler, whatever construct added the permission.
 */
import { Aspects, Stack, type App } from 'aws-cdk-lib';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

const isServicePrincipal = (principal: string): boolean => /^[a-z0-9.-]+\.amazonaws\.com$/.test(principal);

export const bindServicePermissionsToAccount = (app: App): void => {
  Aspects.of(app).add({
    visit(node: IConstruct): void {
      if (node instanceof CfnPermission && isServicePrincipal(node.principal) && node.sourceAccount === undefined) {
        node.sourceAccount = Stack.of(node).account;
      }
    },
  });
};
