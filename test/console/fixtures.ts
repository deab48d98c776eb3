/** What the console's tests share: the small pipeline, a scenario over it, its resolved form. */
import { loadPipelineFiles } from '../../cli/load.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { loadScenarioFile } from '../../cli/load.ts';
import { toSimScenario } from '../../sim/scenario-adapter.ts';
import type { SimScenario } from '../../sim/types.ts';
import { SMALL_PIPELINE, writeJson } from '../sim/cli-harness.ts';

export { SMALL_PIPELINE };

/**
 * c1 (alice) healthy from 09:00 on Monday; c2 (carol) merged on Tuesday fails its first
 * wave; a company event holds every region on Tuesday afternoon.
 */
export const SCENARIO = {
  start: '2026-11-30T08:00:00Z',
  until: '2026-12-04T00:00:00Z',
  approvers: ['pat'],
  changes: [
    { id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } },
    { id: 'c2', at: '2026-12-01T10:00:00Z', author: 'carol', approvedBy: ['bob'], behavior: { kind: 'faults', rate: 0.2, regions: ['sa-east-1'], after: 'PT20M' } },
  ],
  events: [
    { at: '2026-12-01T13:00:00Z', kind: 'company-event', state: 'ALARM' },
    { at: '2026-12-01T17:00:00Z', kind: 'company-event', state: 'OK' },
  ],
};

export const smallPipelines = async (): Promise<ResolvedPipeline[]> => {
  const loaded = await loadPipelineFiles([SMALL_PIPELINE]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.pipelines;
};

/** A scenario (the file format) as the engine runs it, over the small pipeline. */
export const simScenario = async (scenario: unknown, pipelines: ResolvedPipeline[]): Promise<SimScenario & { approvers: string[] }> => {
  const v = await loadScenarioFile(writeJson('scenario.json', scenario), pipelines);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return { ...toSimScenario(v.scenario, pipelines), approvers: [...v.scenario.approvers] };
};
