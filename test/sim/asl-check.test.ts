/** The simulator validates each state machine definition once per shape, and never lets an invalid one run. */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import type { ResolvedPipeline } from '../../core/model.ts';

const resolved = (name: string, service: string, regions = ['us-east-1', 'eu-west-1']): ResolvedPipeline => {
  const v = validatePipeline({ name, service, team: 'shop', regions }, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('; '));
  return v.pipeline;
};

/** A fresh copy of the modules: nothing validated yet in this "process". */
const fresh = async () => {
  vi.resetModules();
  const check = await import('../../sim/asl-check.ts');
  const { LocalStepFunctions } = await import('../../sim/stepfunctions.ts');
  const { LocalLambda } = await import('../../sim/lambda.ts');
  return { ...check, machines: (pipelines: ResolvedPipeline[]) => new LocalStepFunctions(pipelines, new LocalLambda({})) };
};

afterEach(() => {
  delete process.env.HANDSOFF_CACHE_DIR;
});

describe('ASL validation', () => {
  it('validates two machines for ten pipelines that differ only in their names', async () => {
    const { aslValidations, machines } = await fresh();
    machines(Array.from({ length: 10 }, (_, i) => resolved(`svc-${i}`, `Svc${i}`)));
    expect(aslValidations.count).toBe(2);
  });

  it('validates a pipeline of another shape on its own, and a shape seen before not again', async () => {
    const { aslValidations, machines } = await fresh();
    machines([resolved('orders', 'Orders')]);
    machines([resolved('orders', 'Orders'), resolved('search', 'Search', ['us-east-1', 'eu-west-1', 'sa-east-1'])]);
    expect(aslValidations.count).toBe(4);
  });

  it('refuses an invalid definition every time, with the validator errors', async () => {
    const { checkDefinition } = await fresh();
    const broken = { StartAt: 'Missing', States: { A: { Type: 'Pass', Next: 'Nowhere' } } };
    expect(() => checkDefinition(broken, broken, 'broken')).toThrow(/definition broken is invalid[\s\S]*Nowhere/);
    expect(() => checkDefinition(broken, broken, 'broken')).toThrow(/is invalid/);
  });

  it('remembers a valid shape across processes in HANDSOFF_CACHE_DIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'handsoff-asl-'));
    process.env.HANDSOFF_CACHE_DIR = dir;
    const first = await fresh();
    first.machines([resolved('orders', 'Orders')]);
    expect(first.aslValidations.count).toBe(2);
    expect(readdirSync(dir)).toHaveLength(2);

    const second = await fresh();
    second.machines([resolved('billing', 'Billing')]);
    expect(second.aslValidations.count).toBe(0);
  });
});
