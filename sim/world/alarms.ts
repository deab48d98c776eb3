/**
 * CloudWatch alarms of the world, evaluated as CloudWatch does: one datapoint per 60 s
 * period, ALARM when 2 of the last 3 datapoints breach, missing data not breaching.
 */
import { METRICS_NAMESPACE, StandardAlarm, StandardMetric } from '../../core/naming.ts';
import type { MinuteSeries } from './metrics.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export const ALARM_PERIOD_SECONDS = 60;
export const EVALUATION_PERIODS = 3;
export const DATAPOINTS_TO_ALARM = 2;
/** Fault rate (Faults / RequestCount) above which a datapoint breaches. */
export const FAULT_RATE_THRESHOLD = 0.01;
export const LATENCY_P99_THRESHOLD_MS = 1000;
export const UNHEALTHY_HOSTS_THRESHOLD = 1;

export const ACCOUNT_ID = '123456789012';
export const alarmArn = (region: string, name: string): string =>
  `arn:aws:cloudwatch:${region}:${ACCOUNT_ID}:alarm:${name}`;

/** Who an alarm belongs to, for the stream's scope fields. */
export interface AlarmScope {
  pipeline?: string;
  team?: string;
  stage?: string;
  target?: 'onebox' | 'fleet';
}

abstract class WorldAlarm {
  state: AlarmState = 'OK';
  reason = 'Initial state: no breaching datapoints.';
  updatedAt: number;
  everAlarmed = false;

  constructor(
    readonly name: string,
    readonly region: string,
    readonly scope: AlarmScope,
    now: number,
  ) {
    this.updatedAt = now;
  }
}

export class MetricAlarm extends WorldAlarm {
  readonly type = 'MetricAlarm' as const;
  /** Breach flags of the last EVALUATION_PERIODS datapoints, newest in bit 0. */
  private history = 0;
  /** The last EVALUATION_PERIODS datapoint values (NaN = missing), a ring indexed by `cursor`. */
  private readonly recent = new Float64Array(EVALUATION_PERIODS).fill(Number.NaN);
  private cursor = 0;

  constructor(
    name: string,
    region: string,
    scope: AlarmScope,
    now: number,
    readonly kind: StandardAlarm,
    readonly series: MinuteSeries,
  ) {
    super(name, region, scope, now);
  }

  /** Evaluates the datapoint of `minute` (once per minute, in order); returns the state it leads to. */
  evaluate(minute: number): AlarmState {
    const value = this.datapoint(minute);
    const breaching = value !== undefined && this.breaches(value);
    this.history = ((this.history << 1) | (breaching ? 1 : 0)) & ((1 << EVALUATION_PERIODS) - 1);
    this.recent[this.cursor] = value ?? Number.NaN;
    this.cursor = (this.cursor + 1) % EVALUATION_PERIODS;
    return this.breachCount() >= DATAPOINTS_TO_ALARM ? 'ALARM' : 'OK';
  }

  private breachCount(): number {
    let count = 0;
    for (let h = this.history; h; h &= h - 1) count++;
    return count;
  }

  /** CloudWatch-like StateReason of the last evaluation (built only on a transition: strings are costly per minute). */
  reasonFor(state: AlarmState): string {
    const values: string[] = [];
    for (let i = 1; i <= EVALUATION_PERIODS; i++) {
      const v = this.recent[(this.cursor - i + EVALUATION_PERIODS) % EVALUATION_PERIODS]!;
      values.push(Number.isNaN(v) ? 'missing' : String(Number(v.toPrecision(4))));
    }
    const count = this.breachCount();
    return state === 'ALARM'
      ? `Threshold Crossed: ${count} out of the last ${EVALUATION_PERIODS} datapoints [${values.join(', ')}] were ${this.comparison()} the threshold (${this.threshold()}).`
      : `Threshold Crossed: ${count} out of the last ${EVALUATION_PERIODS} datapoints [${values.join(', ')}] breached the threshold (${this.threshold()}); ${DATAPOINTS_TO_ALARM} needed to alarm.`;
  }

  private datapoint(minute: number): number | undefined {
    const s = this.series;
    switch (this.kind) {
      case StandardAlarm.FAULTS: {
        const requests = s.value(minute, StandardMetric.REQUESTS);
        const faults = s.value(minute, StandardMetric.FAULTS);
        // Metric math faults / requests: no requests, no datapoint.
        return requests && faults !== undefined ? faults / requests : undefined;
      }
      case StandardAlarm.LATENCY_P99:
        return s.value(minute, StandardMetric.LATENCY);
      case StandardAlarm.HEALTH:
        return s.value(minute, StandardMetric.UNHEALTHY_HOSTS);
    }
  }

  private breaches(value: number): boolean {
    switch (this.kind) {
      case StandardAlarm.FAULTS:
        return value > FAULT_RATE_THRESHOLD;
      case StandardAlarm.LATENCY_P99:
        return value > LATENCY_P99_THRESHOLD_MS;
      case StandardAlarm.HEALTH:
        return value >= UNHEALTHY_HOSTS_THRESHOLD;
    }
  }

  threshold(): number {
    switch (this.kind) {
      case StandardAlarm.FAULTS:
        return FAULT_RATE_THRESHOLD;
      case StandardAlarm.LATENCY_P99:
        return LATENCY_P99_THRESHOLD_MS;
      case StandardAlarm.HEALTH:
        return UNHEALTHY_HOSTS_THRESHOLD;
    }
  }

  private comparison(): string {
    return this.kind === StandardAlarm.HEALTH ? 'greater than or equal to' : 'greater than';
  }

  /** DescribeAlarms MetricAlarm shape. */
  describe(): Record<string, unknown> {
    const dimensions = [
      { Name: 'Service', Value: this.series.service },
      { Name: 'Scope', Value: this.series.scope },
    ];
    const common = {
      AlarmName: this.name,
      AlarmArn: alarmArn(this.region, this.name),
      AlarmDescription: `handsoff ${this.kind} alarm of ${this.series.service} in ${this.series.scope}`,
      ActionsEnabled: true,
      StateValue: this.state,
      StateReason: this.reason,
      StateUpdatedTimestamp: new Date(this.updatedAt),
      EvaluationPeriods: EVALUATION_PERIODS,
      DatapointsToAlarm: DATAPOINTS_TO_ALARM,
      Threshold: this.threshold(),
      ComparisonOperator: this.kind === StandardAlarm.HEALTH ? 'GreaterThanOrEqualToThreshold' : 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    };
    const stat = (id: string, metricName: string, stat: string) => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: METRICS_NAMESPACE, MetricName: metricName, Dimensions: dimensions },
        Period: ALARM_PERIOD_SECONDS,
        Stat: stat,
      },
      ReturnData: false,
    });
    switch (this.kind) {
      case StandardAlarm.FAULTS:
        return {
          ...common,
          Metrics: [
            stat('faults', StandardMetric.FAULTS, 'Sum'),
            stat('requests', StandardMetric.REQUESTS, 'Sum'),
            { Id: 'faultRate', Expression: 'faults / requests', Label: 'Fault rate', ReturnData: true },
          ],
        };
      case StandardAlarm.LATENCY_P99:
        return {
          ...common,
          Namespace: METRICS_NAMESPACE,
          MetricName: StandardMetric.LATENCY,
          Dimensions: dimensions,
          ExtendedStatistic: 'p99',
          Period: ALARM_PERIOD_SECONDS,
          Unit: 'Milliseconds',
        };
      case StandardAlarm.HEALTH:
        return {
          ...common,
          Namespace: METRICS_NAMESPACE,
          MetricName: StandardMetric.UNHEALTHY_HOSTS,
          Dimensions: dimensions,
          Statistic: 'Maximum',
          Period: ALARM_PERIOD_SECONDS,
        };
    }
  }
}

/** The team's aggregate: ALARM when any member is, unless a scenario forces its state. */
export class TeamAggregateAlarm extends WorldAlarm {
  readonly type = 'CompositeAlarm' as const;
  readonly members: MetricAlarm[] = [];
  forced: AlarmState | undefined;

  computed(): AlarmState {
    if (this.forced) return this.forced;
    for (const m of this.members) if (m.state === 'ALARM') return 'ALARM';
    return 'OK';
  }

  reasonFor(state: AlarmState): string {
    if (this.forced) return `State forced to ${this.forced} by the scenario.`;
    const firing = this.members.filter((m) => m.state === 'ALARM').map((m) => m.name);
    return state === 'ALARM'
      ? `Alarm rule evaluated to ALARM: ${firing.join(', ')} in ALARM.`
      : 'Alarm rule evaluated to OK: no member alarm in ALARM.';
  }

  describe(): Record<string, unknown> {
    const rule = this.members.length > 0 ? `ANY(${this.members.map((m) => `ALARM("${m.name}")`).join(', ')})` : 'FALSE';
    return {
      AlarmName: this.name,
      AlarmArn: alarmArn(this.region, this.name),
      AlarmDescription: `handsoff high-severity aggregate of team ${this.scope.team ?? ''} in ${this.region}`,
      ActionsEnabled: true,
      AlarmRule: rule,
      StateValue: this.state,
      StateReason: this.reason,
      StateUpdatedTimestamp: new Date(this.updatedAt),
      StateTransitionedTimestamp: new Date(this.updatedAt),
    };
  }
}

/** Company-wide event alarm of a region: a metric alarm whose state the scenario sets. */
export class CompanyEventAlarm extends WorldAlarm {
  readonly type = 'MetricAlarm' as const;

  describe(): Record<string, unknown> {
    return {
      AlarmName: this.name,
      AlarmArn: alarmArn(this.region, this.name),
      AlarmDescription: 'Company-wide event in progress: a blocker for every team',
      ActionsEnabled: true,
      StateValue: this.state,
      StateReason: this.reason,
      StateUpdatedTimestamp: new Date(this.updatedAt),
      Namespace: 'Handsoff/Company',
      MetricName: 'EventInProgress',
      Dimensions: [],
      Statistic: 'Maximum',
      Period: ALARM_PERIOD_SECONDS,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    };
  }
}

export type AnyAlarm = MetricAlarm | TeamAggregateAlarm | CompanyEventAlarm;
