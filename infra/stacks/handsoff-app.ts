/**
 * Assembles the handsoff app: the control plane in the home region and one target stack per
 * region any pipeline deploys to, checked by cdk-nag. Used by infra/app.ts and the tests.
 */
import type { App } from 'aws-cdk-lib';
import type { ResolvedPipeline } from '../../core/model.ts';
import type { SourceConfig } from '../../core/source.ts';
import { pipelineSetProblems } from '../../core/pipeline/set.ts';
import type { HandlerName } from '../../statemachines/resources.ts';
import { addNagChecks } from '../nag.ts';
import { bindServicePermissionsToAccount } from '../constructs/service-principals.ts';
import { targetRegions } from './arns.ts';
import { PipelineValidationError } from './pipelines.ts';
import { ControlPlaneStack, type BuildStateMachines } from './control-plane-stack.ts';
import { TargetStack } from './target-stack.ts';

export interface HandsoffAppProps {
  readonly pipelines: readonly ResolvedPipeline[];
  readonly buildStateMachines: BuildStateMachines;
  /** @default us-east-1 */
  readonly homeRegion?: string;
  /** @default - environment-agnostic account (resolved at deploy time) */
  readonly account?: string;
  /** @default - `lambdas/<name>/index.ts` */
  readonly handlerEntry?: (name: HandlerName) => string;
  /** @default - `console/lambda.ts` */
  readonly consoleEntry?: string;
  /** @default true */
  readonly nag?: boolean;
  /** Where changes come from (core/source.ts sourceFromContext). @default - CodeCommit */
  readonly source?: SourceConfig;
}

export const CONTROL_PLANE_STACK = 'Handsoff-ControlPlane';
export const targetStackName = (region: string): string => `Handsoff-Target-${region}`;

export const buildHandsoffApp = (app: App, props: HandsoffAppProps) => {
  // Pipelines that would share resources (a name, a construct id, a team spelled two ways, a
  // kind of a service): refused before any resource.
  const conflicts = pipelineSetProblems(props.pipelines);
  if (conflicts.length > 0) throw new PipelineValidationError(conflicts.map((c) => `${c.path}: ${c.message}`));
  const homeRegion = props.homeRegion ?? 'us-east-1';
  const controlPlane = new ControlPlaneStack(app, CONTROL_PLANE_STACK, {
    env: { account: props.account, region: homeRegion },
    description: 'handsoff control plane: state machines, handlers, tables, event bus.',
    pipelines: props.pipelines,
    buildStateMachines: props.buildStateMachines,
    handlerEntry: props.handlerEntry,
    consoleEntry: props.consoleEntry,
    source: props.source,
  });
  const targets = targetRegions(props.pipelines).map((region) => {
    const stack = new TargetStack(app, targetStackName(region), {
      env: { account: props.account, region },
      description: `handsoff target region ${region}: CodeDeploy groups, alarms, event forwarding.`,
      region,
      homeRegion,
      pipelines: props.pipelines,
    });
    // Only for deploy order: the forwarding rules target the control plane's bus.
    stack.addStackDependency(controlPlane);
    return stack;
  });
  bindServicePermissionsToAccount(app);
  if (props.nag ?? true) addNagChecks(app);
  return { controlPlane, targets };
};
