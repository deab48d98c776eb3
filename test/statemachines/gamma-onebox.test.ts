/**
 * Gamma's one-box in the pipeline machine: the production region's one-box states (gate,
 * deploy, bake) on gamma's one-box group, before gamma's own gate and fleet; a failure goes to
 * gamma's rollback. None with `oneBox: false`, none in a pipeline without gamma.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { preProdStageAlarms } from '../../core/alarms/watches.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildStateMachines } from '../../statemachines/index.ts';

const aslValidator = createRequire(import.meta.url)('asl-validator') as (def: unknown, opts?: { checkArn?: boolean }) => { isValid: boolean };

const resolve = (input: unknown) => {
  const v = validatePipeline(input, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return v.pipeline;
};
const json = { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1', 'us-west-2', 'eu-west-1'], preProd: ['alpha', 'beta', 'gamma'] };
const withOneBox = resolve(json);
const { pipeline, region } = buildStateMachines(withOneBox) as { pipeline: any; region: any };
const S = pipeline.States;

describe("gamma's one-box in the pipeline machine", () => {
  it("deploys gamma's one-box group at target onebox, as a production region's one-box does", () => {
    const deploy = S['Gamma.OneBox.Deploy'];
    const production = region.States['OneBox.Deploy'];
    expect(deploy.Resource).toBe(production.Resource);
    expect(deploy.Parameters.FunctionName).toBe(production.Parameters.FunctionName);
    expect(deploy.Parameters.Payload).toMatchObject({
      stage: 'gamma',
      region: withOneBox.preProdRegion,
      target: 'onebox',
      deploymentGroup: 'storefront-api-gamma-onebox',
      alarms: preProdStageAlarms(withOneBox, 'gamma'),
    });
    expect(deploy.Parameters.Payload.alarms).toEqual(expect.arrayContaining(['storefront-api-gamma-onebox-faults', 'storefront-api-gamma-onebox-anomaly-requests', 'storefront-api-gamma-faults']));
    expect(deploy.Next).toBe('Gamma.OneBox.Bake');
  });

  it("bakes it for the one-box bake, watching gamma's one-box and fleet alarms and counting the one-box's requests", () => {
    const bake = S['Gamma.OneBox.Bake'].Parameters.Payload;
    expect(bake).toMatchObject({ stage: 'gamma', target: 'onebox', durationSeconds: withOneBox.bake.oneBoxSeconds, metricScopes: [{ region: 'us-west-2', scope: 'gamma-onebox' }] });
    expect(bake.alarms.map((a: { name: string }) => a.name)).toEqual(preProdStageAlarms(withOneBox, 'gamma'));
    expect(S['Gamma.OneBox.Bake'].Next).toBe('Gamma.GateInit');
  });

  it("sends every failure of the one-box step to gamma's rollback", () => {
    for (const id of ['Gamma.OneBox.Gate', 'Gamma.OneBox.Deploy', 'Gamma.OneBox.Bake']) expect(S[id].Catch.at(-1).Next).toBe('Gamma.Rollback');
    expect(S['Gamma.Rollback'].Parameters.Payload).toMatchObject({ stage: 'gamma', region: 'us-west-2' });
    expect(aslValidator(structuredClone(pipeline), { checkArn: false }).isValid).toBe(true);
  });

  it('is absent with oneBox: false and in a pipeline without gamma', () => {
    for (const p of [resolve({ ...json, oneBox: false }), resolve({ ...json, preProd: ['alpha', 'beta'] })]) {
      const states = (buildStateMachines(p) as { pipeline: any }).pipeline.States;
      expect(Object.keys(states).filter((id) => id.includes('.OneBox'))).toEqual([]);
      expect(JSON.stringify(states)).not.toContain('gamma-onebox');
    }
  });
});
