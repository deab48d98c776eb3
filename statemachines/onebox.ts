/**
 * The one-box step: gate, deploy to the one-box group, bake it. A production region runs it
 * first (statemachines/region.ts, every field read from the region's input); gamma runs the
 * same states before its fleet (statemachines/pipeline.ts, the stage's fields as literals).
 */
import { DeploymentTarget, type ResolvedPipeline } from '../core/model.ts';
import { HandlerName } from './resources.ts';
import { DEPLOY_TIMEOUT_SECONDS, type Json, type States, bake, callback } from './asl.ts';
import { returnsToGate, windowGate } from './gate.ts';

export interface OneBoxStep {
  /** Prefix of the states' ids (`OneBox`, `Gamma.OneBox`). */
  readonly prefix: string;
  /** The step's pipeline, change, stage and region fields (literals or `.$` paths). */
  readonly scope: Record<string, Json>;
  /** application, deploymentGroup and the alarms the deployment watches. */
  readonly deploy: Record<string, Json>;
  /** What the bake watches and counts: alarms and metricScopes. */
  readonly watch: Record<string, Json>;
  /** A pre-production one-box (gamma): no window, the gate only waits for its alarms' data. */
  readonly preProd?: { stage: string; region: string; alarms: string[] };
  /** After the bake. */
  readonly next: string;
  /** Any failure: the rollback of the stage or region. */
  readonly rollback: string;
}

/** Adds the one-box step's states; returns the first one's id (its gate). */
export const oneBoxStates = (states: States, p: ResolvedPipeline, s: OneBoxStep): string => {
  const deployId = `${s.prefix}.Deploy`;
  const bakeId = `${s.prefix}.Bake`;
  // Nothing of the change runs there before its one-box: that gate only waits.
  const start = windowGate(states, s.prefix, p, { target: DeploymentTarget.ONE_BOX }, deployId, s.rollback, false, s.preProd);
  states[deployId] = returnsToGate(callback(
    HandlerName.START_DEPLOYMENT,
    {
      ...s.scope,
      'revision.$': '$.revision',
      'artifact.$': '$.artifact',
      target: DeploymentTarget.ONE_BOX,
      ...s.deploy,
    },
    DEPLOY_TIMEOUT_SECONDS,
    bakeId,
    s.rollback,
  ), s.prefix);
  states[bakeId] = bake(p, p.bake.oneBoxSeconds, { ...s.scope, target: DeploymentTarget.ONE_BOX, ...s.watch }, s.next, s.rollback);
  return start;
};
