/**
 * The demo's stream (`simulate --json` with no pipeline or scenario, as `npm start` runs it),
 * run once per `vitest run` for every test file that asks (test/sim/cli-harness.ts, `demo`),
 * and the demo pipeline as the console draws it.
 */
import type { HandsoffEvent } from '../../core/events.ts';
import type { PipelineView } from '../../console/api.ts';
import { pipelineView } from '../../console/state.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { defaultPipeline } from '../../infra/pipelines/index.ts';
import { demo } from '../sim/cli-harness.ts';

const resolved = (): ResolvedPipeline => {
  const v = validatePipeline(defaultPipeline, 'infra/pipelines/storefront-api.ts', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error('the demo pipeline is invalid');
  return v.pipeline;
};

/** The demo pipeline's stages and waves, as `GET /api/state` gives them. */
export const demoPipeline = (): PipelineView => pipelineView(resolved());

/** The demo run's events (the default pipeline, the built-in scenario). */
export const demoEvents = async (): Promise<HandsoffEvent[]> => (await demo()).events;
