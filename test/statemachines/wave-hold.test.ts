/**
 * The wave hold's routes: its judgement (an alarm in ALARM, or missing) rolls its region back;
 * anything else that breaks the hold (start-bake failing beyond its retries, perhaps before
 * its region reached the wave, so the others would wait for it) fails the region's iteration,
 * and the wave Map's own Catch rolls the wave back. Nothing reaches the region's outcome as
 * a success after a broken hold.
 */
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { StepError } from '../../core/contracts.ts';
import { buildPipeline } from '../../statemachines/pipeline.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';

const v = validatePipeline(
  { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1', 'us-west-2', 'eu-west-1', 'sa-east-1', 'ap-southeast-2'] },
  'test',
  { catalog: REGION_CATALOG },
);
if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
const top = (buildPipeline(v.pipeline) as { States: Record<string, any> }).States;
const maps = Object.entries(top).filter(([name, s]) => s.Type === 'Map' && name.endsWith('.Regions') && s.ItemProcessor.States[`${name.slice(0, -'.Regions'.length)}.Region.WaveHold`]);

describe('the wave hold in a wave of several regions', () => {
  it('exists in every wave Map, whose Catch rolls the wave back on any error', () => {
    expect(maps.length).toBeGreaterThan(0);
    for (const [, map] of maps) expect(map.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
  });

  it.each(maps.map(([name, map]) => [name.slice(0, -'.Regions'.length), map.ItemProcessor.States] as const))(
    '%s: an alarm judgement rolls the region back; any other error fails the iteration',
    (id, states) => {
      const watch = states[`${id}.Region.WaveHold.Watch`];
      const idle = states[`${id}.Region.WaveHold.Idle`];
      const broken = `${id}.Region.WaveHold.Broken`;
      expect(watch.Catch).toEqual([
        expect.objectContaining({ ErrorEquals: [StepError.ALARM_TRIGGERED, StepError.ALARM_MISSING], Next: `${id}.Region.WaveHold.Rollback` }),
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: broken }),
      ]);
      // A region already rolled back watches nothing: an error there is a broken hold, not an outcome.
      expect(idle.Catch.map((c: { Next: string }) => c.Next)).toEqual([broken]);
      expect(states[broken]).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
    },
  );
});
