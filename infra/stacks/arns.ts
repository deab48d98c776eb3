/**
 * ARNs of the resources a pipeline owns in its target regions, built from the shared names
 * (core/naming.ts) rather than cross-stack references: the target stacks live in other
 * regions, and CloudFormation cannot export values across regions.
 */
import { ArnFormat, type Stack } from 'aws-cdk-lib';
import type { ResolvedPipeline } from '../../core/model.ts';
import * as naming from '../../core/naming.ts';

/** Name of the per-region event bus handsoff events and forwarded AWS events arrive on. */
export const HANDSOFF_BUS_NAME = 'handsoff';
export const BAKE_SCHEDULE_GROUP = 'handsoff-bakes';

/** The pipeline state machine: one execution per change. */
export const pipelineStateMachineName = (pipeline: string): string => `handsoff-${pipeline}`;
/** The region child state machine: one execution per (change, region), started with `.sync:2`. */
export const regionStateMachineName = (pipeline: string): string => `handsoff-${pipeline}-region`;

/** Production, pipeline and target regions: one definition, in the alarm plan (a target stack per target region). */
export { productionRegions, pipelineRegions, targetRegions } from '../../core/alarms/plan.ts';

export const eventBusArn = (stack: Stack, homeRegion: string): string =>
  stack.formatArn({ service: 'events', region: homeRegion, resource: 'event-bus', resourceName: HANDSOFF_BUS_NAME });

/** A CodeCommit repository of the home region. */
export const repositoryArn = (stack: Stack, name: string): string =>
  stack.formatArn({ service: 'codecommit', resource: name, resourceName: undefined });

export const stateMachineArn = (stack: Stack, name: string): string =>
  stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

/** Every execution of one state machine (execution names are chosen at run time). */
export const executionsArn = (stack: Stack, machineName: string): string =>
  stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${machineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });

/**
 * Target-region resources are scoped by name pattern in every region (`*`): with automatic
 * wave plans a pipeline deploys to every catalog region, and one ARN per region and resource
 * would overflow the role policies (and the template) long before the names stop being
 * specific. Names stay exact or prefixed by the pipeline name.
 */
const ANY_REGION = '*';

const codeDeployArn = (stack: Stack, resource: string, resourceName: string): string =>
  stack.formatArn({ service: 'codedeploy', region: ANY_REGION, resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

export const applicationArns = (stack: Stack, p: ResolvedPipeline): string[] => [
  codeDeployArn(stack, 'application', naming.applicationName(p.name)),
];

/** Every deployment group of the pipeline's application (one-box, units, pre-production). */
export const deploymentGroupArns = (stack: Stack, p: ResolvedPipeline): string[] => [
  codeDeployArn(stack, 'deploymentgroup', `${naming.applicationName(p.name)}/*`),
];

export const deploymentConfigArns = (stack: Stack): string[] =>
  Object.values(naming.DeploymentConfig).map((name) => codeDeployArn(stack, 'deploymentconfig', name));

const alarmArn = (stack: Stack, name: string): string =>
  stack.formatArn({ service: 'cloudwatch', region: ANY_REGION, resource: 'alarm', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

/**
 * The alarms handsoff reads for a pipeline: its own (every name starts with the pipeline
 * name), its team's aggregate alarms and the company event alarms.
 */
export const alarmArns = (stack: Stack, p: ResolvedPipeline): string[] => [
  alarmArn(stack, `${p.name}-*`),
  alarmArn(stack, naming.teamAggregateAlarmName(p.team, ANY_REGION)),
  alarmArn(stack, naming.companyEventAlarmName(ANY_REGION)),
];
