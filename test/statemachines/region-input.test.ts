/**
 * The region machine runs only what its pipeline's definition holds: an input for another
 * pipeline, stage or region, or one missing its change, fails before any step with
 * RegionInputRejected; the units, groups and alarms it deploys with come from its
 * definition, whatever the input says. Runs the exact ASL in the local interpreter.
 */
import { StateMachine } from '../../sim/asl-runtime.ts';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { teamAggregateAlarmName } from '../../core/naming.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildStateMachines } from '../../statemachines/index.ts';

const resolve = (input: unknown): ResolvedPipeline => {
  const v = validatePipeline(input, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return v.pipeline;
};
const pipeline = resolve({
  name: 'storefront-api',
  service: 'StorefrontApi',
  team: 'storefront',
  waves: [['sa-east-1'], ['us-east-1']],
});
const region = buildStateMachines(pipeline).region as any;

const taskStates = (def: any, out: string[] = []): string[] => {
  for (const [name, s] of Object.entries<any>(def.States)) {
    if (s.Type === 'Task') out.push(name);
    if (s.Type === 'Map') taskStates(s.ItemProcessor, out);
  }
  return out;
};

/**
 * Runs the region machine with the window open, until it ends or reaches its first
 * deployment (recorded, then the run is aborted).
 */
const run = async (input: Record<string, unknown>) => {
  const calls: Array<{ state: string; payload: any }> = [];
  let reachedDeploy!: () => void;
  const deployed = new Promise<'deployed'>((resolve) => (reachedDeploy = () => resolve('deployed')));
  const overrides: Record<string, (i: any) => Promise<any>> = {};
  for (const state of taskStates(region)) {
    overrides[state] = async (i: any) => {
      calls.push({ state, payload: i.Payload });
      if (state.endsWith('.Gate')) return { Payload: { open: true, blocked: false } };
      reachedDeploy();
      return new Promise(() => undefined);
    };
  }
  const machine = new StateMachine(structuredClone(region), { validationOptions: { checkArn: false, checkPaths: false } });
  const execution = machine.run(input as any, { overrides: { taskResourceLocalHandlers: overrides }, context: { Task: { Token: 'token' } } as any });
  try {
    const outcome = await Promise.race([execution.result, deployed]);
    if (outcome === 'deployed') execution.abort();
    return { output: outcome, calls };
  } catch (err) {
    return { error: err as Error & { cause?: unknown }, calls };
  }
};

const valid = {
  pipeline: 'storefront-api',
  change: 'c1',
  revision: 'r1',
  artifact: { versionId: 'v1', eTag: '"e1"', sha256: 'a'.repeat(64) },
  stage: 'wave-2',
  region: 'us-east-1',
};

describe('region machine input check', () => {
  it.each([
    ['another pipeline', { ...valid, pipeline: 'checkout-service' }],
    ['a region of the pipeline in the wrong wave', { ...valid, stage: 'wave-1' }],
    ['a region the pipeline does not deploy to', { ...valid, region: 'eu-west-1' }],
  ])('rejects %s, naming what it was asked and what it runs, before any step', async (_what, input) => {
    const result = await run(input);
    expect(result.calls).toEqual([]);
    expect(result.error).toBeDefined();
    const text = `${result.error!.name} ${result.error!.message} ${String((result.error as any).cause ?? '')}`;
    expect(text).toMatch(/RegionInputRejected/);
    expect(text).toContain(`pipeline ${input.pipeline}, stage ${input.stage}, region ${input.region}`);
    expect(text).toContain('wave-1/sa-east-1, wave-2/us-east-1');
  });

  it.each([
    ['its revision', (({ revision: _r, ...rest }) => rest)(valid)],
    ['its pinned artifact', (({ artifact: _a, ...rest }) => rest)(valid)],
    ['the checksum of its artifact', { ...valid, artifact: { versionId: 'v1', eTag: '"e1"' } }],
  ])('rejects an input without %s', async (_what, input) => {
    const result = await run(input);
    expect(result.calls).toEqual([]);
    expect(`${result.error?.name} ${result.error?.message}`).toMatch(/RegionInputRejected|needs the strings/);
  });

  it('hands every deployment the artifact of its input', async () => {
    const result = await run(valid);
    const deploy = result.calls.find((c) => c.state === 'OneBox.Deploy');
    expect(deploy!.payload.artifact).toEqual(valid.artifact);
  });

  it('deploys with the groups and alarms of its definition, not those of the input', async () => {
    const result = await run({ ...valid, oneBoxGroup: 'someone-elses-group', alarmNames: [], alarms: [], units: [] });
    const deploy = result.calls.find((c) => c.state === 'OneBox.Deploy');
    expect(deploy, JSON.stringify(result.calls.map((c) => c.state))).toBeDefined();
    expect(deploy!.payload.deploymentGroup).not.toBe('someone-elses-group');
    expect(deploy!.payload.deploymentGroup).toMatch(/storefront-api/);
    expect(deploy!.payload.alarms.length).toBeGreaterThan(5);
    expect(deploy!.payload.alarms).toContain(teamAggregateAlarmName('storefront', 'us-east-1'));
  });
});
