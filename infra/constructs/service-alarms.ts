/**
 * CloudWatch alarms built from the alarm plan (core/alarms), field for field: every metric,
 * expression, threshold and evaluation setting comes from the plan; this file only maps it
 * onto the CDK and chooses construct ids.
 *
 * Functions over a scope rather than child constructs: the alarms were first created
 * directly under the target stack, and their construct ids (hence logical ids) are a public
 * contract; a renamed logical id of a named alarm would replace it, and the delete of the old
 * resource would remove the alarm the new one just wrote.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { type AlarmDef, isMathExpr, type MathExpr, type MetricStat } from '../../core/alarms/index.ts';
import * as naming from '../../core/naming.ts';

/** Construct ids derived from names (core/naming.ts: one rule, which the pipeline set's check reads too). */
export const pascal = naming.constructIdOf;

const metricOf = (m: MetricStat): cloudwatch.Metric =>
  new cloudwatch.Metric({
    namespace: m.namespace,
    metricName: m.metric,
    dimensionsMap: { ...m.dimensions },
    statistic: m.statistic,
    period: Duration.seconds(m.periodSeconds),
  });

const mathOf = (e: MathExpr, periodSeconds: number): cloudwatch.MathExpression =>
  new cloudwatch.MathExpression({
    expression: e.expression,
    usingMetrics: Object.fromEntries(Object.entries(e.using).map(([id, q]) => [id, isMathExpr(q) ? mathOf(q, periodSeconds) : metricOf(q)])),
    ...(e.label !== undefined ? { label: e.label } : {}),
    period: Duration.seconds(periodSeconds),
  });

const standardKind = (name: string): naming.StandardAlarm => {
  const kind = Object.values(naming.StandardAlarm).find((k) => name.endsWith(`-${k}`));
  if (!kind) throw new Error(`alarm '${name}' is no standard alarm`);
  return kind;
};

/**
 * The construct id of a planned alarm (today's ids): `<Pipeline>Fleet<Kind>`,
 * `<Pipeline>Onebox<Kind>`, `<Pipeline><Stage><Kind>`, `<Pipeline>OneBoxAnomaly<Metric>`,
 * `<Pipeline>FleetAnomalyRequests`, `<Pipeline><Unit>AnomalyRequests`, `<Team>Aggregate`,
 * `<Pipeline>GammaOneBox<Kind>`, `<Pipeline>GammaOneBoxAnomaly<Metric>`,
 * `CompanyEvent`.
 */
export const constructIdOf = (a: AlarmDef): string => {
  if (a.scope === 'company') return 'CompanyEvent';
  if (a.scope === 'team') return `${pascal(a.team!)}Aggregate`;
  const p = pascal(a.pipeline!);
  if (a.scope === 'unit') return `${p}${pascal(a.unit!)}AnomalyRequests`;
  if (a.kind === 'anomaly') return `${p}FleetAnomalyRequests`;
  const anomaly = naming.anomalyOf(a.name);
  // Gamma's one-box: its stage first, so that no id meets gamma's fleet alarms or the
  // production one-box's of a region that is also the pre-production region.
  if (a.scope === 'onebox' && a.stage !== undefined) return `${p}${pascal(a.stage)}OneBox${anomaly ? `Anomaly${pascal(anomaly)}` : pascal(standardKind(a.name))}`;
  if (a.scope === 'onebox' && anomaly) return `${p}OneBoxAnomaly${pascal(anomaly)}`;
  const where = a.stage !== undefined ? pascal(a.stage) : a.scope === 'onebox' ? 'Onebox' : 'Fleet';
  return `${p}${where}${pascal(standardKind(a.name))}`;
};

/**
 * Creates one planned alarm. A composite's rule is the plan's with each alarm name replaced
 * by that alarm's ARN (`members` must hold them: alarms of the same stack).
 */
export const planAlarm = (
  scope: Construct,
  a: AlarmDef,
  members: ReadonlyMap<string, cloudwatch.IAlarm> = new Map(),
): cloudwatch.Alarm | cloudwatch.CompositeAlarm => {
  const id = constructIdOf(a);
  if (a.kind === 'composite') {
    const rule = a.rule.replace(/ALARM\("([^"]+)"\)/g, (_, name: string) => {
      const member = members.get(name);
      if (!member) throw new Error(`composite alarm '${a.name}' names '${name}', which this stack does not create`);
      return `ALARM("${member.alarmArn}")`;
    });
    return new cloudwatch.CompositeAlarm(scope, id, {
      compositeAlarmName: a.name,
      alarmDescription: a.description,
      alarmRule: cloudwatch.AlarmRule.fromString(rule),
    });
  }
  const common = {
    alarmName: a.name,
    alarmDescription: a.description,
    comparisonOperator: a.comparison as cloudwatch.ComparisonOperator,
    evaluationPeriods: a.evaluationPeriods,
    datapointsToAlarm: a.datapointsToAlarm,
    treatMissingData: a.treatMissingData as cloudwatch.TreatMissingData,
  };
  switch (a.kind) {
    case 'metric':
      return new cloudwatch.Alarm(scope, id, { ...common, metric: metricOf(a.metric), threshold: a.threshold });
    case 'math':
      return new cloudwatch.Alarm(scope, id, { ...common, metric: mathOf(a.math, a.periodSeconds), threshold: a.threshold });
    case 'anomaly':
      return new cloudwatch.AnomalyDetectionAlarm(scope, id, { ...common, metric: metricOf(a.metric), stdDevs: a.bandWidth });
  }
};
