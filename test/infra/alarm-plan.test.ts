/**
 * The alarm plan as `handsoff alarms --json` prints it against what `cdk synth` writes for the
 * same pipeline: every alarm of its target stacks, field for field (the example app's stacks
 * against the plan: test/infra/stacks.test.ts), and its errors for a region it cannot print.
 */
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type AlarmEntry, targetRegions } from '../../core/alarms/index.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { TargetStack } from '../../infra/stacks/target-stack.ts';
import { runCli, SMALL_PIPELINE } from '../sim/cli-harness.ts';
import { cfnFields, fromTemplate } from './alarm-templates.ts';
import { testApp } from './fixtures.ts';

const HOME = 'us-east-1';

/** The pipelines' target stacks alone (no control plane). */
const synthTargets = (pipelines: ResolvedPipeline[]): Map<string, Template> => {
  const app = testApp();
  const stacks = targetRegions(pipelines).map((region) => new TargetStack(app, `Handsoff-Target-${region}`, { env: { region }, region, homeRegion: HOME, pipelines }));
  return new Map(stacks.map((s) => [s.region, Template.fromStack(s)]));
};

describe('handsoff alarms and the synthesized target stacks', () => {
  it('is what `handsoff alarms --json` prints, field for field, for every region of the pipeline', async () => {
    const run = await runCli(['alarms', '--pipeline', SMALL_PIPELINE, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout) as { pipeline: string; alarms: AlarmEntry[] };
    expect(printed.pipeline).toBe('storefront-api');
    const v = validatePipeline(JSON.parse(readFileSync(SMALL_PIPELINE, 'utf8')), SMALL_PIPELINE, { catalog: REGION_CATALOG });
    if (!v.ok) throw new Error('the small pipeline is invalid');
    const own = synthTargets([v.pipeline]);
    const synthesized = [...own].flatMap(([region, t]) => fromTemplate(region, t)).sort((a, b) => (a.region + a.name < b.region + b.name ? -1 : 1));
    const fromCli = printed.alarms.map(cfnFields).sort((a, b) => (a.region + a.name < b.region + b.name ? -1 : 1));
    expect(fromCli).toEqual(synthesized);
    // The owner fields the template does not carry.
    expect(printed.alarms.filter((a) => a.scope === 'unit').every((a) => a.unit !== undefined)).toBe(true);
    expect(printed.alarms.filter((a) => a.scope === 'team').every((a) => a.team === 'storefront' && a.kind === 'composite')).toBe(true);
    expect(printed.alarms.filter((a) => a.scope === 'company')).toHaveLength(own.size);
  });

  it('exits 2 with a clear message for an unknown region', async () => {
    const run = await runCli(['alarms', '--pipeline', SMALL_PIPELINE, '--region', 'mars-north-1', '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("unknown region 'mars-north-1'");
    const elsewhere = await runCli(['alarms', '--pipeline', SMALL_PIPELINE, '--region', 'eu-central-1']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain("does not deploy to region 'eu-central-1'");
    const one = await runCli(['alarms', '--pipeline', SMALL_PIPELINE, '--region', 'sa-east-1']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('storefront-api-sa-east-1-sae1-az1-anomaly-requests');
    expect(one.stdout).not.toContain('us-east-1');
  });
});
