/**
 * Per pipeline a pipeline state machine and a region child state machine, from the one ASL
 * source (statemachines/), their roles and logs. Created in the stack's own scope, so the
 * construct ids (`<Pipeline>PipelineStateMachine`, ...) stay as they were.
 */
import { ArnFormat, type Stack, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { HandlerName, REGION_EXECUTIONS_ARN_PREFIX_KEY, REGION_STATE_MACHINE_ARN_KEY, TaskHandlers, functionArnKey } from '../../../statemachines/resources.ts';
import { Reason, acknowledge, allowWithWildcardResources } from '../../nag.ts';
import { executionsArn, pipelineStateMachineName, regionStateMachineName, stateMachineArn } from '../../stacks/arns.ts';
import { pascal } from './names.ts';

export interface PipelineMachines {
  readonly pipeline: sfn.StateMachine;
  readonly region: sfn.StateMachine;
}

export const createStateMachines = (
  stack: Stack,
  p: ResolvedPipeline,
  definitions: { pipeline: Record<string, unknown>; region: Record<string, unknown> },
  functions: Record<HandlerName, lambda.IFunction>,
  definitionFiles: Record<string, string>,
): PipelineMachines => {
  const functionArns = Object.fromEntries(
    TaskHandlers.map((h) => [functionArnKey(h), functions[h].functionArn]),
  );
  const invokeHandlers = new iam.PolicyStatement({
    actions: ['lambda:InvokeFunction'],
    resources: TaskHandlers.map((h) => functions[h].functionArn),
  });

  const machine = (kind: 'Region' | 'Pipeline', name: string, definition: Record<string, unknown>, substitutions: Record<string, string>) => {
    const id = `${pascal(p.name)}${kind}`;
    const role = new iam.Role(stack, `${id}Role`, {
      // Only this state machine of this account may use the role (the confused deputy).
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnEquals: { 'aws:SourceArn': stateMachineArn(stack, name) },
        },
      }),
      description: `handsoff state machine ${name}`,
    });
    role.addToPrincipalPolicy(invokeHandlers);
    const sm = new sfn.StateMachine(stack, `${id}StateMachine`, {
      stateMachineName: name,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: definitionFile(stack, name, definition, definitionFiles),
      definitionSubstitutions: substitutions,
      role,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(stack, `${id}Logs`, {
          // The vendedlogs prefix keeps the account's log resource policy small.
          logGroupName: `/aws/vendedlogs/states/${name}`,
          retention: logs.RetentionDays.ONE_YEAR,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', Reason.SFN_LOGS_XRAY);
    return { sm, role };
  };

  const region = machine('Region', regionStateMachineName(p.name), definitions.region, functionArns);
  const pipeline = machine('Pipeline', pipelineStateMachineName(p.name), definitions.pipeline, {
    ...functionArns,
    [REGION_STATE_MACHINE_ARN_KEY]: region.sm.stateMachineArn,
    [REGION_EXECUTIONS_ARN_PREFIX_KEY]: stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: regionStateMachineName(p.name),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  });
  // Permissions of startExecution.sync:2 (Step Functions developer guide, "IAM policies for
  // Step Functions"): start the child, follow and stop its executions, and the managed rule
  // Step Functions uses to hear of their completion. This role is the only principal of the
  // stack that may start the region machine (test/infra/security.test.ts); the region
  // machine also checks its input against its definition (statemachines/region-input.ts).
  pipeline.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [region.sm.stateMachineArn] }),
  );
  allowWithWildcardResources(
    pipeline.role,
    new iam.PolicyStatement({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [executionsArn(stack, regionStateMachineName(p.name))],
    }),
    'Child executions are named at run time; the pattern covers only executions of this pipeline\'s region state machine.',
  );
  pipeline.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [
        stack.formatArn({
          service: 'events',
          resource: 'rule',
          resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
        }),
      ],
    }),
  );
  return { pipeline: pipeline.sm, region: region.sm };
};

/**
 * The definition as a file asset (`DefinitionS3Location`) instead of an inline string: a
 * pipeline's definitions are ~160 KB, and inline they would hit CloudFormation's 1 MB
 * template limit at about five pipelines. CloudFormation applies `DefinitionSubstitutions`
 * to the fetched S3 definition as it does to an inline one. The file is written into the
 * cloud assembly directory, next to the assets staged from it.


/**
 * The definition as a file asset (`DefinitionS3Location`) instead of an inline string: a
 * pipeline's definitions are ~160 KB, and inline they would hit CloudFormation's 1 MB
 * template limit at about five pipelines. CloudFormation applies `DefinitionSubstitutions`
 * to the fetched S3 definition as it does to an inline one. The file is written into the
 * cloud assembly directory, next to the assets staged from it.
 */
const definitionFile = (
  stack: Stack,
  machineName: string,
  definition: Record<string, unknown>,
  definitionFiles: Record<string, string>,
): sfn.DefinitionBody => {
  const dir = path.join(Stage.of(stack)!.outdir, 'handsoff-definitions', stack.stackName);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${machineName}.asl.json`);
  writeFileSync(file, JSON.stringify(definition));
  definitionFiles[machineName] = file;
  return sfn.DefinitionBody.fromFile(file);
};
