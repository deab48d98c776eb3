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

/** Deep-freezes what every DescribeAlarms answer shares: a handler that changed it would throw, not corrupt the next answer. */
const frozen = <T>(x: T): T => {
  if (x && typeof x === 'object' && !Object.isFrozen(x)) {
    for (const v of Object.values(x)) frozen(v);
    Object.freeze(x);
  }
  return x;
};

/** The fields of an entry that follow from the definition alone, in DescribeAlarms order (after the state). */
const definitionFields = (alarm: AnyAlarm): Record<string, unknown> => {
  const d = alarm.def;
  if (d.kind === 'composite') return { AlarmRule: d.rule };
  const evaluation = {
    EvaluationPeriods: d.evaluationPeriods,
    DatapointsToAlarm: d.datapointsToAlarm,
    ComparisonOperator: d.comparison,
    TreatMissingData: d.treatMissingData,
  };
  switch (d.kind) {
    case 'metric':
      return {
        Namespace: d.metric.namespace,
        MetricName: d.metric.metric,
        Dimensions: dimensions(d.metric),
        ...(isPercentile(d.metric.statistic) ? { ExtendedStatistic: d.metric.statistic } : { Statistic: d.metric.statistic }),
        Period: d.metric.periodSeconds,
        Threshold: d.threshold,
        ...evaluation,
      };
    case 'math':
      return { Metrics: mathQueries(d.math, d.periodSeconds), Threshold: d.threshold, ...evaluation };
    case 'anomaly':
      return {
        Metrics: [
          { Id: d.metricId, MetricStat: metricStat(d.metric), ReturnData: true },
          { Id: d.bandId, Expression: bandExpression(d), ReturnData: true },
        ],
        ThresholdMetricId: d.bandId,
        ...evaluation,
      };
  }
};

/** Rendered once per alarm and state: a definition does not change, and the entry only with a state change. */
const rendered = new WeakMap<AnyAlarm, { arn: string; fields: Record<string, unknown>; updatedAt: number; reason: string; state: string; entry?: Record<string, unknown> }>();

/** A DescribeAlarms entry (frozen, shared by the answers until the alarm's state changes). */
export const describeAlarm = (alarm: AnyAlarm): Record<string, unknown> => {
  let r = rendered.get(alarm);
  if (!r) rendered.set(alarm, (r = { arn: alarmArn(alarm.def.region, alarm.def.name), fields: frozen(definitionFields(alarm)), updatedAt: Number.NaN, reason: '', state: '' }));
  if (r.entry && r.updatedAt === alarm.updatedAt && r.reason === alarm.reason && r.state === alarm.state) return r.entry;
  const d = alarm.def;
  const head = {
    AlarmName: d.name,
    AlarmArn: r.arn,
    AlarmDescription: d.description,
    ActionsEnabled: true,
    StateValue: alarm.state,
    StateReason: alarm.reason,
    StateUpdatedTimestamp: new Date(alarm.updatedAt),
  };
  r.updatedAt = alarm.updatedAt;
  r.reason = alarm.reason;
  r.state = alarm.state;
  r.entry = Object.freeze(d.kind === 'composite' ? { ...head, ...r.fields, StateTransitionedTimestamp: new Date(alarm.updatedAt) } : { ...head, ...r.fields });
  return r.entry;
};
