/**
 * The plan as `handsoff alarms --json` prints it (docs/simulation.md): one flat entry per alarm,
 * in CloudWatch's terms. Metric-math queries are listed by id, the returned expression first
 * in `expression`; a composite rule names its alarms (on AWS it holds their ARNs).
 */
import { type AlarmDef, bandExpression, isMathExpr, type MathExpr, type MetricStat } from './types.ts';

export interface MetricQueryEntry {
  id: string;
  namespace?: string;
  metric?: string;
  dimensions?: Record<string, string>;
  statistic?: string;
  periodSeconds?: number;
  expression?: string;
}

export interface AlarmEntry {
  name: string;
  region: string;
  scope: AlarmDef['scope'];
  unit?: string;
  stage?: string;
  team?: string;
  kind: AlarmDef['kind'];
  namespace?: string;
  metric?: string;
  dimensions?: Record<string, string>;
  statistic?: string;
  periodSeconds?: number;
  evaluationPeriods?: number;
  datapointsToAlarm?: number;
  threshold?: number;
  comparison?: string;
  treatMissingData?: string;
  expression?: string;
  /** Metric-math queries besides the returned expression (math and anomaly alarms), by id. */
  metrics?: MetricQueryEntry[];
  /** Anomaly alarms: the band's width in standard deviations. */
  bandWidth?: number;
  rule?: string;
}

const statEntry = (id: string, m: MetricStat): MetricQueryEntry => ({
  id,
  namespace: m.namespace,
  metric: m.metric,
  dimensions: { ...m.dimensions },
  statistic: m.statistic,
  periodSeconds: m.periodSeconds,
});

/** Every query an expression uses, nested ones included, sorted by id. */
export const flattenQueries = (math: MathExpr): MetricQueryEntry[] => {
  const out: MetricQueryEntry[] = [];
  const walk = (e: MathExpr): void => {
    for (const [id, q] of Object.entries(e.using)) {
      if (isMathExpr(q)) {
        out.push({ id, expression: q.expression });
        walk(q);
      } else out.push(statEntry(id, q));
    }
  };
  walk(math);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
};

/** The metric an alarm watches, as the plan's entries print it. */
const metricFields = (m: { namespace: string; metric: string; dimensions: Record<string, string>; statistic: string }) => ({
  namespace: m.namespace,
  metric: m.metric,
  dimensions: { ...m.dimensions },
  statistic: m.statistic,
});

export const toAlarmEntry = (a: AlarmDef): AlarmEntry => {
  const head: AlarmEntry = {
    name: a.name,
    region: a.region,
    scope: a.scope,
    ...(a.unit !== undefined ? { unit: a.unit } : {}),
    ...(a.stage !== undefined ? { stage: a.stage } : {}),
    ...(a.team !== undefined ? { team: a.team } : {}),
    kind: a.kind,
  };
  if (a.kind === 'composite') return { ...head, rule: a.rule };
  const evaluation = {
    periodSeconds: a.periodSeconds,
    evaluationPeriods: a.evaluationPeriods,
    datapointsToAlarm: a.datapointsToAlarm,
  };
  const tail = { comparison: a.comparison, treatMissingData: a.treatMissingData };
  switch (a.kind) {
    case 'metric':
      return {
        ...head,
        ...metricFields(a.metric),
        ...evaluation,
        threshold: a.threshold,
        ...tail,
      };
    case 'math':
      return { ...head, ...evaluation, threshold: a.threshold, ...tail, expression: a.math.expression, metrics: flattenQueries(a.math) };
    case 'anomaly':
      return {
        ...head,
        ...metricFields(a.metric),
        ...evaluation,
        ...tail,
        expression: bandExpression(a),
        metrics: [statEntry(a.metricId, a.metric)],
        bandWidth: a.bandWidth,
      };
  }
};
