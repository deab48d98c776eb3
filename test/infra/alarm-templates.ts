/**
 * A synthesized alarm in the alarm plan's terms (core/alarms): what test/infra/stacks.test.ts
 * compares with the plan for every target stack of the example app, and
 * test/infra/alarm-plan.test.ts with `handsoff alarms --json`.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import type { AlarmEntry, MetricQueryEntry } from '../../core/alarms/index.ts';

type Resource = { Type: string; Properties: Record<string, any> };

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

/** Alarm entries in name order, as the plan and the templates are compared. */
export const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);

/** What a synthesized alarm says, in the plan's terms (the fields CloudFormation carries). */
export const fromTemplate = (region: string, t: Template): AlarmEntry[] => {
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
  return out.sort(byName);
};

/** The plan's entry without the fields CloudFormation does not carry (who owns the alarm). */
export const cfnFields = ({ scope: _s, unit: _u, stage: _st, team: _t, ...rest }: AlarmEntry): Omit<AlarmEntry, 'scope'> => rest;
