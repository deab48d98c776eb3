/**
 * The alarm plan against what `cdk synth` writes: every AWS::CloudWatch::Alarm and
 * AWS::CloudWatch::CompositeAlarm of every target stack equals, field for field, an entry of
 * the plan (and of `handsoff alarms --json`), and every planned alarm is in a template.
 * Target stacks only (no control plane), synthesized once.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AlarmEntry, type MetricQueryEntry, regionAlarmPlan, targetRegions, toAlarmEntry } from '../../core/alarms/index.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { TargetStack } from '../../infra/stacks/target-stack.ts';
import { runCli, SMALL_PIPELINE } from '../sim/cli-harness.ts';
import { cdkContext, loadPipelines } from './fixtures.ts';

type Resource = { Type: string; Properties: Record<string, any> };
const HOME = 'us-east-1';

const synthTargets = (pipelines: ResolvedPipeline[]): Map<string, Template> => {
  const app = new App({ context: cdkContext });
  const stacks = targetRegions(pipelines).map((region) => new TargetStack(app, `Handsoff-Target-${region}`, { env: { region }, region, homeRegion: HOME, pipelines }));
  return new Map(stacks.map((s) => [s.region, Template.fromStack(s)]));
};

const dims = (d: Array<{ Name: string; Value: string }>): Record<string, string> => Object.fromEntries(d.map((x) => [x.Name, x.Value]));

const query = (q: Record<string, any>): MetricQueryEntry =>
  q.MetricStat
    ? {
        id: q.Id,
        namespace: q.MetricStat.Metric.Namespace,
        metric: q.MetricStat.Metric.MetricName,
        dimensions: dims(q.MetricStat.Metric.Dimensions),
        statistic: q.MetricStat.Stat,
        periodSeconds: q.MetricStat.Period,
      }
    : { id: q.Id, expression: q.Expression };

/** A composite rule with each alarm's ARN (`Fn::GetAtt`) replaced by that alarm's name. */
const resolveRule = (rule: unknown, names: Record<string, string>): string => {
  if (typeof rule === 'string') return rule;
  const parts = (rule as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const [id, attr] = (p as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      expect(attr).toBe('Arn');
      return names[id]!;
    })
    .join('');
};

/** What a synthesized alarm says, in the plan's terms (the fields CloudFormation carries). */
const fromTemplate = (region: string, t: Template): AlarmEntry[] => {
  const alarms = t.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>;
  const composites = t.findResources('AWS::CloudWatch::CompositeAlarm') as Record<string, Resource>;
  const names = Object.fromEntries(Object.entries({ ...alarms, ...composites }).map(([id, r]) => [id, r.Properties.AlarmName as string]));
  const out: AlarmEntry[] = [];
  for (const r of Object.values(alarms)) {
    const p = r.Properties;
    const evaluation = { evaluationPeriods: p.EvaluationPeriods, datapointsToAlarm: p.DatapointsToAlarm };
    const tail = { comparison: p.ComparisonOperator, treatMissingData: p.TreatMissingData };
    const head = { name: p.AlarmName, region };
    if (p.MetricName) {
      out.push({
        ...head,
        kind: 'metric',
        namespace: p.Namespace,
        metric: p.MetricName,
        dimensions: dims(p.Dimensions ?? []),
        statistic: p.Statistic ?? p.ExtendedStatistic,
        periodSeconds: p.Period,
        ...evaluation,
        threshold: p.Threshold,
        ...tail,
      } as AlarmEntry);
    } else if (p.ThresholdMetricId) {
      const band = p.Metrics.find((q: any) => q.Id === p.ThresholdMetricId);
      const metric = p.Metrics.find((q: any) => q.MetricStat);
      const width = Number(/^ANOMALY_DETECTION_BAND\(\w+, ([\d.]+)\)$/.exec(band.Expression)![1]);
      out.push({
        ...head,
        kind: 'anomaly',
        namespace: metric.MetricStat.Metric.Namespace,
        metric: metric.MetricStat.Metric.MetricName,
        dimensions: dims(metric.MetricStat.Metric.Dimensions),
        statistic: metric.MetricStat.Stat,
        periodSeconds: metric.MetricStat.Period,
        ...evaluation,
        ...tail,
        expression: band.Expression,
        metrics: [query(metric)],
        bandWidth: width,
      } as AlarmEntry);
    } else {
      const top = p.Metrics.filter((q: any) => q.ReturnData !== false);
      expect(top, p.AlarmName).toHaveLength(1);
      const others = p.Metrics.filter((q: any) => q !== top[0]).map(query).sort((a: MetricQueryEntry, b: MetricQueryEntry) => (a.id < b.id ? -1 : 1));
      out.push({
        ...head,
        kind: 'math',
        periodSeconds: p.Metrics.find((q: any) => q.MetricStat).MetricStat.Period,
        ...evaluation,
        threshold: p.Threshold,
        ...tail,
        expression: top[0].Expression,
        metrics: others,
      } as AlarmEntry);
    }
  }
  for (const r of Object.values(composites)) {
    out.push({ name: r.Properties.AlarmName, region, kind: 'composite', rule: resolveRule(r.Properties.AlarmRule, names) } as AlarmEntry);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
};

/** The plan's entry without the fields CloudFormation does not carry (who owns the alarm). */
const cfnFields = ({ scope: _s, unit: _u, stage: _st, team: _t, ...rest }: AlarmEntry): Omit<AlarmEntry, 'scope'> => rest;
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);

let pipelines: ResolvedPipeline[];
let templates: Map<string, Template>;

beforeAll(async () => {
  ({ pipelines } = await loadPipelines());
  templates = synthTargets(pipelines);
});

describe('the alarm plan and the synthesized target stacks', () => {
  it('holds every alarm of every target stack, field for field, and no alarm that is in no template', () => {
    expect(templates.size).toBeGreaterThan(1);
    let count = 0;
    for (const [region, t] of templates) {
      const synthesized = fromTemplate(region, t);
      const planned = regionAlarmPlan(pipelines, region).map(toAlarmEntry).map(cfnFields).sort(byName);
      // Both ways, with the names first for a readable failure.
      expect(synthesized.map((a) => a.name).filter((n) => !planned.some((p) => p.name === n)), `${region}: in the template, not in the plan`).toEqual([]);
      expect(planned.map((a) => a.name).filter((n) => !synthesized.some((s) => s.name === n)), `${region}: in the plan, not in the template`).toEqual([]);
      expect(synthesized, region).toEqual(planned);
      count += planned.length;
    }
    // Every kind is covered: metric, math, anomaly band and composite.
    const kinds = new Set([...templates.keys()].flatMap((r) => regionAlarmPlan(pipelines, r).map((a) => a.kind)));
    expect([...kinds].sort()).toEqual(['anomaly', 'composite', 'math', 'metric']);
    expect(count).toBeGreaterThan(100);
  });

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
