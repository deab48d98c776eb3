/**
 * The pipeline machine's failure path: before a change is marked failed, every earlier stage
 * that got it is rolled back (one Map over the stages, one rollback task per stage), so a
 * failed change runs on no box at the end; a failed rollback still ends in `change.failed`.
 */
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { buildPipeline } from '../../statemachines/pipeline.ts';
import { functionArnKey, HandlerName, placeholder } from '../../statemachines/resources.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';

const v = validatePipeline(
  { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1', 'us-west-2', 'eu-west-1', 'sa-east-1', 'ap-southeast-2'] },
  'test',
  { catalog: REGION_CATALOG },
);
if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
const pipeline = v.pipeline;
const states = (buildPipeline(pipeline) as { States: Record<string, any> }).States;
const preProd = pipeline.preProd;
const waves = pipeline.waves.map((w) => w.name);

/** The states run from `start` to `<id>.MarkFailed`, along Next (the happy path of the failure path). */
const pathToMarkFailed = (start: string, id: string): string[] => {
  const path: string[] = [];
  for (let at: string | undefined = start; at && at !== `${id}.MarkFailed`; at = states[at]?.Next) {
    path.push(at);
    if (path.length > 10) throw new Error(`no way from ${start} to ${id}.MarkFailed: ${path.join(' -> ')}`);
  }
  return path;
};

describe('the failure path of the pipeline machine', () => {
  it('rolls back nothing else when the change fails in the first stage or in build', () => {
    const first = `${preProd[0]![0]!.toUpperCase()}${preProd[0]!.slice(1)}`;
    expect(pathToMarkFailed(`${first}.Rollback`, first)).toEqual([`${first}.Rollback`]);
    expect(Object.keys(states).filter((s) => s.startsWith(`${first}.`) && s.includes('RollbackEarlier'))).toEqual([]);
    expect(Object.keys(states).filter((s) => s.startsWith('Build.') && s.includes('RollbackEarlier'))).toEqual([]);
  });

  it.each(waves.map((w, i) => [w, i] as const))('rolls back every stage before %s (and its other regions), in one Map, before it marks the change failed', (wave, index) => {
    const id = `Wave${index + 1}`;
    const earlier = [...preProd, ...waves.slice(0, index)];
    // A failed bake or deployment of the wave (after the wave's own rollback) and a failed region
    // also roll back the wave's other regions; a lane never granted: nothing of the wave ran.
    for (const [start, failure, stages] of [
      [`${id}.Rollback`, id, [...earlier, wave]],
      [`${id}.Region.RollbackEarlier.Plan`, `${id}.Region`, [...earlier, wave]],
      [`${id}.Lane.RollbackEarlier.Plan`, `${id}.Lane`, earlier],
    ] as const) {
      const path = pathToMarkFailed(start, failure);
      const plan = states[`${failure}.RollbackEarlier.Plan`];
      expect(path.slice(-2), start).toEqual([`${failure}.RollbackEarlier.Plan`, `${failure}.RollbackEarlier`]);
      expect(plan.Result).toEqual(stages);
      const map = states[`${failure}.RollbackEarlier`];
      expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.earlierRollbacks', ResultPath: '$.earlierRollbacks' });
      // A Map that fails as a whole still marks the change failed.
      expect(map.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: `${failure}.MarkFailed` })]);
      const inner = Object.values<any>(map.ItemProcessor.States);
      const tasks = inner.filter((s) => s.Type === 'Task');
      expect(tasks).toHaveLength(1);
      expect(tasks[0].Parameters.FunctionName).toBe(placeholder(functionArnKey(HandlerName.ROLLBACK)));
      expect(tasks[0].Parameters.Payload).toMatchObject({ 'stage.$': '$.stage', failedIn: wave });
      expect(tasks[0].Parameters.Payload).not.toHaveProperty('region');
      // A stage whose rollback fails does not stop the others, and is named in the reason.
      expect(tasks[0].Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
      expect(states[`${failure}.MarkFailed`].Parameters.Payload.fields).toMatchObject({ 'rollbacks.$': '$.earlierRollbacks' });
    }
  });

  it('hands the rollback of a failed region the wave outcomes, which name the region and its reason', () => {
    const map = states['Wave2.Region.RollbackEarlier'];
    expect(map.ItemSelector).toMatchObject({ 'outcomes.$': '$.outcomes' });
    const task = Object.values<any>(map.ItemProcessor.States).find((s) => s.Type === 'Task');
    expect(task.Parameters.Payload).toMatchObject({ 'outcomes.$': '$.outcomes', failedIn: waves[1] });
  });
});
