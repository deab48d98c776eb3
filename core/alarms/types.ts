/**
 * The alarm plan as data: every CloudWatch alarm handsoff creates, in the terms of
 * PutMetricAlarm / PutCompositeAlarm, so that the CDK target stacks build them field for
 * field and the simulated world evaluates the very same definitions.
 */

/** Who an alarm watches. Pre-production stage alarms are `fleet` alarms with a `stage`. */
export type AlarmScope = 'onebox' | 'unit' | 'fleet' | 'team' | 'company';

export type Comparison =
  | 'GreaterThanThreshold'
  | 'GreaterThanOrEqualToThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold'
  | 'LessThanLowerThreshold'
  | 'GreaterThanUpperThreshold'
  | 'LessThanLowerOrGreaterThanUpperThreshold';

/** CloudWatch's TreatMissingData (default `missing`). */
export type TreatMissingData = 'missing' | 'notBreaching' | 'breaching' | 'ignore';

/** `Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount` or a percentile `pNN`. */
export type Statistic = string;

/** One metric at one statistic and period (a MetricStat). */
export interface MetricStat {
  readonly namespace: string;
  readonly metric: string;
  /** Dimension name -> value. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly statistic: Statistic;
  readonly periodSeconds: number;
}

/** A metric-math expression over named queries (a query is a metric or another expression). */
export interface MathExpr {
  readonly expression: string;
  readonly using: Readonly<Record<string, MetricStat | MathExpr>>;
  /** What the expression's value means, for graphs. */
  readonly label?: string;
}

export const isMathExpr = (q: MetricStat | MathExpr): q is MathExpr => 'expression' in q;

/** Who owns an alarm, for the stream's scope fields. */
export interface AlarmOwner {
  /** Absent on team and company alarms. */
  readonly pipeline?: string;
  /** Team aggregate alarms. */
  readonly team?: string;
  /** Pre-production stage (stage alarms). */
  readonly stage?: string;
  /** Unit alarms: the AZ or cell watched. */
  readonly unit?: string;
}

interface Common extends AlarmOwner {
  readonly name: string;
  readonly region: string;
  readonly scope: AlarmScope;
  /** For the alarm description: what breaching means. */
  readonly description: string;
}

interface Evaluated {
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly comparison: Comparison;
  readonly treatMissingData: TreatMissingData;
}

/** A static threshold on one metric. */
export interface MetricAlarmDef extends Common, Evaluated {
  readonly kind: 'metric';
  readonly metric: MetricStat;
  readonly threshold: number;
}

/** A static threshold on a metric-math expression. */
export interface MathAlarmDef extends Common, Evaluated {
  readonly kind: 'math';
  readonly math: MathExpr;
  readonly threshold: number;
}

/** A metric against its anomaly detection band: `ANOMALY_DETECTION_BAND(<metricId>, <bandWidth>)`. */
export interface AnomalyAlarmDef extends Common, Evaluated {
  readonly kind: 'anomaly';
  readonly metric: MetricStat;
  /** Query ids, as CloudWatch (and the CDK) render them. */
  readonly metricId: string;
  readonly bandId: string;
  /** Width of the band, in standard deviations. */
  readonly bandWidth: number;
}

/** A composite alarm: `ALARM("name") OR ...` over alarms of the same region. */
export interface CompositeAlarmDef extends Common {
  readonly kind: 'composite';
  readonly rule: string;
  /** The alarms the rule names, in rule order. */
  readonly members: readonly string[];
}

export type AlarmDef = MetricAlarmDef | MathAlarmDef | AnomalyAlarmDef | CompositeAlarmDef;

/** The band expression of an anomaly alarm. */
export const bandExpression = (a: Pick<AnomalyAlarmDef, 'metricId' | 'bandWidth'>): string =>
  `ANOMALY_DETECTION_BAND(${a.metricId}, ${a.bandWidth})`;
