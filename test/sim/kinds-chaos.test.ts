/**
 * The same safety for every kind, under faults: the chaos mixes (sim/chaos.ts) run on an app
 * and a config pipeline of one service at once, each with the mix's changes, and the run keeps
 * the invariants in every deployment group of both: never promoted on doubt, never two
 * deployments at once, no revision twice, a failed change on no box at the end. (Healthy
 * changes may fail here: a bad change of one kind trips the team's aggregate alarm, which
 * rolls back the other kind's change in flight in that region, by design.)
 */
import { describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { CHAOS_PIPELINE } from '../../sim/chaos-shared.ts';
import { chaosPipeline, randomMix, violations } from '../../sim/chaos.ts';
import { simulate } from '../../sim/engine.ts';
import { validateScenario } from '../../sim/scenario.ts';
import { toSimScenario } from '../../sim/scenario-adapter.ts';

const app = chaosPipeline();
const configOf = (): ResolvedPipeline => {
  const v = validatePipeline({ ...CHAOS_PIPELINE, name: `${CHAOS_PIPELINE.name}-config`, kind: 'config' }, 'config', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('; '));
  return v.pipeline;
};
const config = configOf();

const run = async (seed: number) => {
  const mix = randomMix(seed, app);
  const changes = mix.scenario.changes ?? [];
  const scenario = {
    ...mix.scenario,
    changes: [
      ...changes.map((c) => ({ ...c, pipeline: app.name })),
      ...changes.map((c) => ({ ...c, id: `k${c.id.slice(1)}`, pipeline: config.name })),
    ],
  };
  const v = validateScenario(scenario, `kinds chaos seed ${seed}`, [app, config]);
  if (!v.ok) throw new Error(v.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const events: HandsoffEvent[] = [];
  await simulate({ pipelines: [app, config], scenario: toSimScenario(v.scenario, [app, config]), onEvent: (e) => events.push(e) });
  const bad = [...mix.bad, ...mix.bad.map((id) => `k${id.slice(1)}`)];
  return { mix, events, violations: violations({ ...mix, bad, moderate: false }, app, events) };
};

describe('an app and a config pipeline under the chaos mixes', () => {
  for (const seed of [1, 4, 5]) {
    it(`seed ${seed}: no invariant broken in either pipeline`, async () => {
      const { mix, events, violations: found } = await run(seed);
      expect(found, mix.description.join(', ')).toEqual([]);
      const deployments = events.filter((e) => e.type === 'world.deployment');
      // Both ran, each only through its own groups.
      for (const p of [app, config]) expect(deployments.some((e) => e.pipeline === p.name), p.name).toBe(true);
      for (const e of deployments) {
        const own = e.pipeline === config.name ? config.name : app.name;
        expect(String(e.deploymentGroup).startsWith(`${own}-`) && !(own === app.name && String(e.deploymentGroup).startsWith(`${config.name}-`)), `${e.deploymentGroup}`).toBe(true);
      }
    });
  }
});
