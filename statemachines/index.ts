/**
 * ASL builders: a validated pipeline in, two Amazon States Language definitions out.
 *
 * - the pipeline machine: one execution per change; source, build, pre-production stages,
 *   then each production wave as a Map over its regions, each region a child execution
 *   (`startExecution.sync:2`) so that no execution's history nears the 25,000-event limit;
 * - the region machine: one execution per (change, region): window gate, one-box deploy and
 *   bake, then each unit in turn (gate, rolling deploy, bake); any failure rolls the region
 *   back and the execution reports `failed` with the reason.
 *
 * JSONPath with intrinsic functions only (no JSONata, no variables): the local interpreter
 * runs this exact JSON. Waits on deployments, bakes, holds, blockers and lanes are
 * `.waitForTaskToken` tasks completed by events; a closed window before anything runs in a
 * region is a `Wait` until the computed next opening.
 */
import type { ResolvedPipeline } from '../core/model.ts';
import { buildPipeline } from './pipeline.ts';
import { buildRegion } from './region.ts';
import type { MachineOptions } from './commit-source.ts';

export { regionAlarms, regionItem } from './alarms.ts';

export interface StateMachineDefinitions {
  pipeline: Record<string, unknown>;
  region: Record<string, unknown>;
}

export type { MachineOptions } from './commit-source.ts';

/** `options`: the control plane's source (the simulator's is CodeCommit-like). */
export const buildStateMachines = (p: ResolvedPipeline, options: MachineOptions = {}): StateMachineDefinitions => ({
  pipeline: buildPipeline(p, options),
  region: buildRegion(p),
});

/** Every placeholder the definitions use, for DefinitionSubstitutions. */
export const definitionPlaceholders = (defs: StateMachineDefinitions): string[] => {
  const found = new Set<string>();
  for (const def of [defs.pipeline, defs.region]) {
    for (const m of JSON.stringify(def).matchAll(/\$\{([A-Za-z0-9]+)\}/g)) found.add(m[1]!);
  }
  return [...found].sort();
};
