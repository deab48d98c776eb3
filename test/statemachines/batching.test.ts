/**
 * The pipeline machine's lanes under release batching: each lane task carries the change's
 * merge time and the stage it holds (freed while it waits), and an answer that says the change
 * is superseded leads to `change.superseded`, the release of every lane it may hold, and the
 * end of the execution. A strict pipeline (`batching: false`) has none of it.
 */
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { buildPipeline } from '../../statemachines/pipeline.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';

const machine = (extra: Record<string, unknown>) => {
  const v = validatePipeline(
    { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1', 'us-west-2', 'eu-west-1'], ...extra },
    'test',
    { catalog: REGION_CATALOG },
  );
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return { pipeline: v.pipeline, states: (buildPipeline(v.pipeline) as { States: Record<string, any> }).States };
};

describe('lanes of a batching pipeline (the default)', () => {
  const { pipeline, states } = machine({});
  const stages = [...pipeline.preProd, ...pipeline.waves.map((w) => w.name)];
  const laneStates = Object.keys(states).filter((id) => id.endsWith('.Lane'));

  it('asks for each lane with the merge time and the stage the change holds', () => {
    expect(laneStates.map((id) => states[id].Parameters.Payload.stage)).toEqual(stages);
    laneStates.forEach((id, i) => {
      const payload = states[id].Parameters.Payload;
      expect(payload).toMatchObject({ action: 'acquire', batching: true, 'mergedAt.$': '$.mergedAt' });
      expect(payload.previous).toBe(i === 0 ? undefined : stages[i - 1]);
      expect(states[id].ResultPath).toBe('$.lane');
    });
  });

  it('ends a superseded change: it announces change.superseded with by, frees every lane it may hold, and succeeds', () => {
    laneStates.forEach((id, i) => {
      const choice = states[states[id].Next];
      expect(choice.Type).toBe('Choice');
      const superseded = choice.Choices.find((c: any) => c.Variable === '$.lane.supersededBy' && c.IsPresent === true).Next;
      const announce = states[superseded];
      expect(announce.Parameters.Payload).toMatchObject({ type: 'change.superseded', stage: stages[i], fields: { 'by.$': '$.lane.supersededBy' } });
      expect(announce.Catch[0].Next).toBe(announce.Next); // a failed announcement still frees the lanes
      const release = states[announce.Next];
      expect(release.Parameters.Payload).toMatchObject({ action: 'release', stages: i === 0 ? [stages[0]] : [stages[i - 1], stages[i]] });
      expect(states[release.Next]).toEqual({ Type: 'Succeed' });
      expect(release.Catch[0].Next).toBe(release.Next);
    });
  });
});

describe('lanes of a strict pipeline (batching: false)', () => {
  const { states } = machine({ batching: false });

  it('asks for each lane as before: no merge time, no superseded branch', () => {
    const laneStates = Object.keys(states).filter((id) => id.endsWith('.Lane'));
    expect(laneStates.length).toBeGreaterThan(0);
    for (const id of laneStates) {
      expect(states[id].Parameters.Payload.batching).toBeUndefined();
      expect(states[id].ResultPath).toBeNull();
      expect(states[states[id].Next].Type).not.toBe('Choice');
    }
    expect(Object.keys(states).filter((id) => id.includes('Superseded'))).toEqual([]);
  });
});
