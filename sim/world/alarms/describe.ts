/** DescribeAlarms entries of the world's alarms, rendered from their plan definitions as CloudWatch returns them. */
import { bandExpression, isMathExpr, type MathExpr, type MetricStat } from '../../../core/alarms/types.ts';
import type { AnyAlarm } from './evaluate.ts';

export const ACCOUNT_ID = '123456789012';
export const alarmArn = (region: string, name: string): string => `arn:aws:cloudwatch:${region}:${ACCOUNT_ID}:alarm:${name}`;

const dimensions = (m: MetricStat) => Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value }));
const isPercentile = (stat: string): boolean => /^p\d/.test(stat);

const metricStat = (m: MetricStat) => ({
  Metric: { Namespace: m.namespace, MetricName: m.metric, Dimensions: dimensions(m) },
  Period: m.periodSeconds,
  Stat: m.statistic,
});

/** The queries of a metric-math alarm as DescribeAlarms lists them: the returned expression first. */
const mathQueries = (e: MathExpr, periodSeconds: number): unknown[] => {
  const out: unknown[] = [{ Id: 'expr_1', Expression: e.expression, ...(e.label ? { Label: e.label } : {}), Period: periodSeconds, ReturnData: true }];
  const walk = (x: MathExpr): void => {
    for (const [id, q] of Object.entries(x.using)) {
      if (isMathExpr(q)) {
        out.push({ Id: id, Expression: q.expression, Period: periodSeconds, ReturnData: false });
        walk(q);
      } else out.push({ Id: id, MetricStat: metricStat(q), ReturnData: false });
    }
  };
  walk(e);
  return out;
};

export const describeAlarm = (alarm: AnyAlarm): Record<string, unknown> => {
  const d = alarm.def;
  const head = {
    AlarmName: d.name,
    AlarmArn: alarmArn(d.region, d.name),
    AlarmDescription: d.description,
    ActionsEnabled: true,
    StateValue: alarm.state,
    StateReason: alarm.reason,
    StateUpdatedTimestamp: new Date(alarm.updatedAt),
  };
  if (d.kind === 'composite') return { ...head, AlarmRule: d.rule, StateTransitionedTimestamp: new Date(alarm.updatedAt) };
  const evaluation = {
    EvaluationPeriods: d.evaluationPeriods,
    DatapointsToAlarm: d.datapointsToAlarm,
    ComparisonOperator: d.comparison,
    TreatMissingData: d.treatMissingData,
  };
  switch (d.kind) {
    case 'metric':
      return {
        ...head,
        Namespace: d.metric.namespace,
        MetricName: d.metric.metric,
        Dimensions: dimensions(d.metric),
        ...(isPercentile(d.metric.statistic) ? { ExtendedStatistic: d.metric.statistic } : { Statistic: d.metric.statistic }),
        Period: d.metric.periodSeconds,
        Threshold: d.threshold,
        ...evaluation,
      };
    case 'math':
      return { ...head, Metrics: mathQueries(d.math, d.periodSeconds), Threshold: d.threshold, ...evaluation };
    case 'anomaly':
      return {
        ...head,
        Metrics: [
          { Id: d.metricId, MetricStat: metricStat(d.metric), ReturnData: true },
          { Id: d.bandId, Expression: bandExpression(d), ReturnData: true },
        ],
        ThresholdMetricId: d.bandId,
        ...evaluation,
      };
  }
};
