/**
 * CloudWatch alarms of the world, evaluated as CloudWatch does: one datapoint per 60 s
 * period, ALARM when M of the last N datapoints breach.
 *
 * - Standard alarms (every StandardAlarm kind, per one-box, region fleet and pre-production
 *   stage): 2 of 3, missing data not breaching (health: missing is breaching, fail closed).
 * - Anomaly alarms (AnomalyMetric, per pipeline and production region): metric math of the
 *   one box against its fleet, and an anomaly-detection band of the fleet's requests whose
 *   centre is the world's own traffic model (what CloudWatch's model learns of the season).
 * - Unit anomaly alarms (per pipeline, production region and unit): metric math of the
 *   unit's requests per in-service host against the region fleet's.
 */
import {
  type AnomalyMetric,
  METRICS_NAMESPACE,
  StandardAlarm,
  StandardMetric,
} from '../../core/naming.ts';
import { Field, type MinuteSeries, WorldMetric } from './metrics.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export const ALARM_PERIOD_SECONDS = 60;
/** Standard alarms: 2 of 3 one-minute datapoints. */
export const EVALUATION_PERIODS = 3;
export const DATAPOINTS_TO_ALARM = 2;

// ---- standard alarm thresholds (a datapoint breaches when strictly above, health: at or above)
/** Fault rate (Faults / RequestCount). */
export const FAULT_RATE_THRESHOLD = 0.01;
export const LATENCY_P50_THRESHOLD_MS = 400;
export const LATENCY_P90_THRESHOLD_MS = 700;
export const LATENCY_P99_THRESHOLD_MS = 1000;
/** Utilizations, percent (average over the scope's hosts). */
export const CPU_THRESHOLD_PERCENT = 90;
export const MEMORY_THRESHOLD_PERCENT = 90;
export const DISK_THRESHOLD_PERCENT = 90;
/** Log error rate (LogErrors / RequestCount). */
export const LOG_ERROR_RATE_THRESHOLD = 0.02;
export const UNHEALTHY_HOSTS_THRESHOLD = 1;

// ---- anomaly alarms
/** One box's requests below this fraction of the fleet's per-in-service-host average... */
export const ONEBOX_REQUESTS_RATIO = 0.2;
/** ...counted only in minutes where the fleet served at least this many requests. */
export const ONEBOX_REQUESTS_MIN_FLEET = 30;
/** One box's p99 above this multiple of the fleet's p99... */
export const ONEBOX_LATENCY_RATIO = 2;
/** ...and above the fleet's p99 plus this margin. */
export const ONEBOX_LATENCY_MARGIN_MS = 150;
/** One box's fault rate above this multiple of the fleet's... */
export const ONEBOX_FAULTS_RATIO = 5;
/** ...and above this rate. */
export const ONEBOX_FAULTS_MIN_RATE = 0.005;
/** Fleet requests below this fraction of the expected value (the anomaly band's lower edge). */
export const FLEET_REQUESTS_BAND = 0.25;
/** A unit's requests per in-service host below this fraction of the region fleet's (one box and the unit itself included)... */
export const UNIT_REQUESTS_RATIO = 0.2;
/** ...counted only in minutes where the fleet served at least this many requests. */
export const UNIT_REQUESTS_MIN_FLEET = 30;

export const ACCOUNT_ID = '123456789012';
export const alarmArn = (region: string, name: string): string =>
  `arn:aws:cloudwatch:${region}:${ACCOUNT_ID}:alarm:${name}`;

/** Who an alarm belongs to, for the stream's scope fields. */
export interface AlarmScope {
  pipeline?: string;
  team?: string;
  stage?: string;
  /** Unit alarms: the unit (AZ or cell) watched. */
  unit?: string;
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

type Comparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanLowerThreshold';

/** How an alarm computes its datapoint of a minute (a switch in MetricAlarm.datapoint: no closure per alarm in the minute tick). */
export const Op = {
  /** A field of `series`. */
  FIELD: 0,
  /** `field` / RequestCount of `series` (metric math): no requests, no datapoint. */
  RATE: 1,
  /** One box (`series`) requests / fleet (`other`) requests per in-service host. */
  ONEBOX_REQUESTS: 2,
  /** One-box p99 minus max(2 x fleet p99, fleet p99 + 150 ms). */
  ONEBOX_LATENCY: 3,
  /** One-box fault rate minus max(5 x fleet fault rate, 0.5%). */
  ONEBOX_FAULTS: 4,
  /** Fleet requests; the band of the minute is set from `expected`. */
  FLEET_BAND: 5,
  /** Unit (`series`) requests per in-service host / fleet (`other`) requests per in-service host. */
  UNIT_REQUESTS: 6,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** What a metric alarm watches and how: the world's side (op, series) and the API's (describe). */
export interface AlarmRule {
  /** A StandardAlarm kind, or `anomaly-<metric>`. */
  readonly kind: StandardAlarm | `anomaly-${AnomalyMetric}`;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: 'notBreaching' | 'breaching';
  readonly comparison: Comparison;
  /** Static threshold; for a band alarm, the band's lower edge as a fraction of the expected value. */
  readonly threshold: number;
  readonly op: Op;
  readonly series: MinuteSeries;
  /** The fleet, for the one-box and unit anomaly ops. */
  readonly other?: MinuteSeries;
  readonly field?: Field;
  /** FLEET_BAND: the traffic model's expected requests of a minute. */
  readonly expected?: (minute: number) => number;
  /** How the reason prints a datapoint. */
  format?(value: number): string;
  /** MetricAlarm fields beyond the common ones: the metric or the metric-math queries. */
  describe(): Record<string, unknown>;
  readonly description: string;
}

const MAX_PERIODS = 8;
const CMP: Record<Comparison, number> = { GreaterThanThreshold: 0, GreaterThanOrEqualToThreshold: 1, LessThanThreshold: 2, LessThanLowerThreshold: 3 };
const fmt = (v: number): string => String(Number(v.toPrecision(4)));
const comparisonText: Record<Comparison, string> = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
  LessThanLowerThreshold: 'less than the lower edge of',
};

export class MetricAlarm extends WorldAlarm {
  readonly type = 'MetricAlarm' as const;
  /** Breach flags of the last `evaluationPeriods` datapoints, newest in bit 0. */
  private history = 0;
  /** The minute evaluated last: the reason re-reads the datapoints from the series. */
  private lastEvaluated = -1;
  // The hot fields of the rule, copied: every alarm object has the same shape, so the minute
  // tick's property loads stay monomorphic (rule objects differ in shape).
  private readonly mask: number;
  private readonly needed: number;
  private readonly missingBreaches: boolean;
  private readonly op: Op;
  private readonly series: MinuteSeries;
  private readonly other: MinuteSeries;
  private readonly field: Field;
  private readonly cmp: number;
  private readonly limit: number;
  private readonly expected: ((minute: number) => number) | undefined;
  /** FLEET_BAND: the band's lower edge of the minute being evaluated. */
  private band = 0;
  readonly rule: AlarmRule;

  constructor(name: string, region: string, scope: AlarmScope, now: number, rule: AlarmRule) {
    super(name, region, scope, now);
    if (rule.evaluationPeriods > MAX_PERIODS) throw new Error(`alarm '${name}': at most ${MAX_PERIODS} evaluation periods`);
    this.rule = rule;
    this.mask = (1 << rule.evaluationPeriods) - 1;
    this.needed = rule.datapointsToAlarm;
    this.missingBreaches = rule.treatMissingData === 'breaching';
    this.op = rule.op;
    this.series = rule.series;
    this.other = rule.other ?? rule.series;
    this.field = rule.field ?? Field.REQUESTS;
    this.cmp = CMP[rule.comparison];
    this.limit = rule.threshold;
    this.expected = rule.expected;
  }

  /** The datapoint of `minute`; undefined = missing. */
  private datapoint(minute: number): number | undefined {
    const v = this.compute(minute);
    return v !== v ? undefined : v;
  }

  /** The datapoint of `minute`, NaN = missing (a number either way: no boxing in the minute tick). */
  private compute(minute: number): number {
    const s = this.series;
    const o = s.offsetOf(minute);
    if (o < 0) return Number.NaN;
    switch (this.op) {
      case Op.FIELD:
        return s.at(o, this.field);
      case Op.RATE: {
        const requests = s.at(o, Field.REQUESTS);
        return requests > 0 ? s.at(o, this.field) / requests : Number.NaN;
      }
      case Op.FLEET_BAND:
        this.band = this.limit * this.expected!(minute);
        return s.at(o, Field.REQUESTS);
    }
    const f = this.other;
    const fo = f.offsetOf(minute);
    if (fo < 0) return Number.NaN;
    switch (this.op) {
      case Op.ONEBOX_REQUESTS: {
        // No datapoint while CodeDeploy installs the box (out of the load balancer by
        // design), nor when the fleet is too quiet to tell.
        if (s.at(o, Field.INSTALLING) !== 0) return Number.NaN;
        const fleetRequests = f.at(fo, Field.REQUESTS);
        const hosts = f.at(fo, Field.IN_SERVICE);
        if (fleetRequests < ONEBOX_REQUESTS_MIN_FLEET || hosts === 0) return Number.NaN;
        return s.at(o, Field.REQUESTS) / (fleetRequests / hosts);
      }
      case Op.UNIT_REQUESTS: {
        // No datapoint while CodeDeploy installs any host of the unit (out of the load
        // balancer by design), nor when the fleet is too quiet to tell.
        if (s.at(o, Field.INSTALLING) !== 0) return Number.NaN;
        const fleetRequests = f.at(fo, Field.REQUESTS);
        const fleetHosts = f.at(fo, Field.IN_SERVICE);
        if (fleetRequests < UNIT_REQUESTS_MIN_FLEET || fleetHosts === 0) return Number.NaN;
        // A unit with no host in the load balancer (and none installing) serves nothing.
        const unitHosts = s.at(o, Field.IN_SERVICE);
        return unitHosts > 0 ? s.at(o, Field.REQUESTS) / unitHosts / (fleetRequests / fleetHosts) : 0;
      }
      case Op.ONEBOX_LATENCY: {
        const own = s.at(o, Field.P99);
        const rest = f.at(fo, Field.P99);
        if (own !== own || rest !== rest) return Number.NaN;
        return own - Math.max(ONEBOX_LATENCY_RATIO * rest, rest + ONEBOX_LATENCY_MARGIN_MS);
      }
      case Op.ONEBOX_FAULTS: {
        const ownRequests = s.at(o, Field.REQUESTS);
        const fleetRequests = f.at(fo, Field.REQUESTS);
        if (!(ownRequests > 0) || !(fleetRequests > 0)) return Number.NaN;
        const own = s.at(o, Field.FAULTS) / ownRequests;
        const rest = f.at(fo, Field.FAULTS) / fleetRequests;
        return own - Math.max(ONEBOX_FAULTS_RATIO * rest, ONEBOX_FAULTS_MIN_RATE);
      }
    }
    return Number.NaN;
  }

  private breaches(value: number): boolean {
    switch (this.cmp) {
      case 0:
        return value > this.limit;
      case 1:
        return value >= this.limit;
      case 2:
        return value < this.limit;
      default:
        return value < this.band;
    }
  }

  get kind(): AlarmRule['kind'] {
    return this.rule.kind;
  }

  /** Evaluates the datapoint of `minute` (once per minute, in order); returns the state it leads to. */
  evaluate(minute: number): AlarmState {
    const value = this.compute(minute);
    const breaching = value !== value ? this.missingBreaches : this.breaches(value);
    this.history = ((this.history << 1) | (breaching ? 1 : 0)) & this.mask;
    this.lastEvaluated = minute;
    return this.history !== 0 && this.breachCount() >= this.needed ? 'ALARM' : 'OK';
  }

  private breachCount(): number {
    let count = 0;
    for (let h = this.history; h; h &= h - 1) count++;
    return count;
  }

  /** CloudWatch-like StateReason of the last evaluation (built only on a transition: strings are costly per minute). */
  reasonFor(state: AlarmState): string {
    const rule = this.rule;
    const n = rule.evaluationPeriods;
    const values: string[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.lastEvaluated - i >= 0 ? this.datapoint(this.lastEvaluated - i) : undefined;
      values.push(v === undefined ? 'missing' : (rule.format ?? fmt)(v));
    }
    const count = this.breachCount();
    const threshold = rule.comparison === 'LessThanLowerThreshold' ? `anomaly band (${fmt(rule.threshold)} x expected)` : `threshold (${fmt(rule.threshold)})`;
    return state === 'ALARM'
      ? `Threshold Crossed: ${count} out of the last ${n} datapoints [${values.join(', ')}] were ${comparisonText[rule.comparison]} the ${threshold}.`
      : `Threshold Crossed: ${count} out of the last ${n} datapoints [${values.join(', ')}] breached the ${threshold}; ${rule.datapointsToAlarm} needed to alarm.`;
  }

  threshold(): number {
    return this.rule.threshold;
  }

  /** DescribeAlarms MetricAlarm shape. */
  describe(): Record<string, unknown> {
    const rule = this.rule;
    return {
      AlarmName: this.name,
      AlarmArn: alarmArn(this.region, this.name),
      AlarmDescription: rule.description,
      ActionsEnabled: true,
      StateValue: this.state,
      StateReason: this.reason,
      StateUpdatedTimestamp: new Date(this.updatedAt),
      EvaluationPeriods: rule.evaluationPeriods,
      DatapointsToAlarm: rule.datapointsToAlarm,
      ComparisonOperator: rule.comparison,
      TreatMissingData: rule.treatMissingData,
      ...(rule.comparison === 'LessThanLowerThreshold' ? {} : { Threshold: rule.threshold }),
      ...rule.describe(),
    };
  }
}

// ------------------------------------------------------------------ rules

const dimensionsOf = (series: MinuteSeries) => [
  { Name: 'Service', Value: series.service },
  { Name: 'Scope', Value: series.scope },
];

const statQuery = (id: string, series: MinuteSeries, metricName: string, stat: string) => ({
  Id: id,
  MetricStat: {
    Metric: { Namespace: METRICS_NAMESPACE, MetricName: metricName, Dimensions: dimensionsOf(series) },
    Period: ALARM_PERIOD_SECONDS,
    Stat: stat,
  },
  ReturnData: false,
});

const singleMetric = (series: MinuteSeries, metricName: string, stat: { Statistic?: string; ExtendedStatistic?: string }, unit?: string) => ({
  Namespace: METRICS_NAMESPACE,
  MetricName: metricName,
  Dimensions: dimensionsOf(series),
  ...stat,
  Period: ALARM_PERIOD_SECONDS,
  ...(unit ? { Unit: unit } : {}),
});

const pct = (v: number): string => `${fmt(v * 100)}%`;

/** The standard alarm of one kind on one scope's series. */
export const standardRule = (kind: StandardAlarm, series: MinuteSeries): AlarmRule => {
  const base = {
    kind,
    evaluationPeriods: EVALUATION_PERIODS,
    datapointsToAlarm: DATAPOINTS_TO_ALARM,
    treatMissingData: 'notBreaching' as const,
    comparison: 'GreaterThanThreshold' as const,
    description: `handsoff ${kind} alarm of ${series.service} in ${series.scope}`,
    series,
  };
  switch (kind) {
    case StandardAlarm.FAULTS:
    case StandardAlarm.LOG_ERRORS: {
      const faults = kind === StandardAlarm.FAULTS;
      const metric = faults ? StandardMetric.FAULTS : StandardMetric.LOG_ERRORS;
      const id = faults ? 'faults' : 'logErrors';
      return {
        ...base,
        threshold: faults ? FAULT_RATE_THRESHOLD : LOG_ERROR_RATE_THRESHOLD,
        op: Op.RATE,
        field: faults ? Field.FAULTS : Field.LOG_ERRORS,
        format: pct,
        describe: () => ({
          Metrics: [
            statQuery(id, series, metric, 'Sum'),
            statQuery('requests', series, StandardMetric.REQUESTS, 'Sum'),
            { Id: `${id}Rate`, Expression: `${id} / requests`, Label: faults ? 'Fault rate' : 'Log error rate', ReturnData: true },
          ],
        }),
      };
    }
    case StandardAlarm.LATENCY_P50:
    case StandardAlarm.LATENCY_P90:
    case StandardAlarm.LATENCY_P99: {
      const [field, threshold, stat] =
        kind === StandardAlarm.LATENCY_P50
          ? [Field.P50, LATENCY_P50_THRESHOLD_MS, 'p50']
          : kind === StandardAlarm.LATENCY_P90
            ? [Field.P90, LATENCY_P90_THRESHOLD_MS, 'p90']
            : [Field.P99, LATENCY_P99_THRESHOLD_MS, 'p99'];
      return {
        ...base,
        threshold,
        op: Op.FIELD,
        field,
        describe: () => singleMetric(series, StandardMetric.LATENCY, { ExtendedStatistic: stat }, 'Milliseconds'),
      };
    }
    case StandardAlarm.CPU:
    case StandardAlarm.MEMORY:
    case StandardAlarm.DISK: {
      const [field, threshold, metric] =
        kind === StandardAlarm.CPU
          ? [Field.CPU, CPU_THRESHOLD_PERCENT, StandardMetric.CPU]
          : kind === StandardAlarm.MEMORY
            ? [Field.MEMORY, MEMORY_THRESHOLD_PERCENT, StandardMetric.MEMORY]
            : [Field.DISK, DISK_THRESHOLD_PERCENT, StandardMetric.DISK];
      return {
        ...base,
        threshold,
        op: Op.FIELD,
        field,
        describe: () => singleMetric(series, metric, { Statistic: 'Average' }, 'Percent'),
      };
    }
    case StandardAlarm.HEALTH:
      return {
        ...base,
        // Fail closed: a scope that stops reporting its health is not healthy.
        treatMissingData: 'breaching',
        comparison: 'GreaterThanOrEqualToThreshold',
        threshold: UNHEALTHY_HOSTS_THRESHOLD,
        op: Op.FIELD,
        field: Field.UNHEALTHY,
        describe: () => singleMetric(series, StandardMetric.UNHEALTHY_HOSTS, { Statistic: 'Maximum' }),
      };
  }
};

/**
 * Anomaly alarms of a region. `oneBox` and `fleet` are the region's series;
 * `expectedRequests(minute)` is the traffic model's expected fleet requests in that minute.
 */
export const anomalyRule = (
  metric: AnomalyMetric,
  scope: 'onebox' | 'fleet',
  series: { oneBox?: MinuteSeries; fleet: MinuteSeries },
  expectedRequests?: (minute: number) => number,
): AlarmRule => {
  const fleet = series.fleet;
  if (scope === 'fleet') {
    if (metric !== 'requests' || !expectedRequests) throw new Error(`no fleet anomaly alarm on ${metric}`);
    return {
      kind: 'anomaly-requests',
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: 'notBreaching',
      comparison: 'LessThanLowerThreshold',
      threshold: FLEET_REQUESTS_BAND,
      description: `handsoff anomaly: ${fleet.service} requests in ${fleet.region} far below the expected daily pattern (lower band ${FLEET_REQUESTS_BAND} x expected)`,
      op: Op.FLEET_BAND,
      series: fleet,
      expected: expectedRequests,
      describe: () => ({
        ThresholdMetricId: 'band',
        Metrics: [
          { ...statQuery('requests', fleet, StandardMetric.REQUESTS, 'Sum'), ReturnData: true },
          { Id: 'band', Expression: 'ANOMALY_DETECTION_BAND(requests, 2)', Label: 'RequestCount (expected)', ReturnData: true },
        ],
      }),
    };
  }
  const oneBox = series.oneBox;
  if (!oneBox) throw new Error('a one-box anomaly alarm needs the one-box series');
  const common = {
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    treatMissingData: 'notBreaching' as const,
    comparison: 'GreaterThanThreshold' as const,
    series: oneBox,
    other: fleet,
  };
  switch (metric) {
    case 'requests':
      return {
        ...common,
        kind: 'anomaly-requests',
        evaluationPeriods: 3,
        comparison: 'LessThanThreshold',
        threshold: ONEBOX_REQUESTS_RATIO,
        description: `handsoff anomaly: the one box of ${oneBox.service} in ${oneBox.region} serves less than ${ONEBOX_REQUESTS_RATIO} x the fleet's requests per in-service host`,
        op: Op.ONEBOX_REQUESTS,
        describe: () => ({
          Metrics: [
            statQuery('onebox', oneBox, StandardMetric.REQUESTS, 'Sum'),
            statQuery('installing', oneBox, WorldMetric.INSTALLING_HOSTS, 'Maximum'),
            statQuery('fleet', fleet, StandardMetric.REQUESTS, 'Sum'),
            statQuery('hosts', fleet, WorldMetric.IN_SERVICE_HOSTS, 'Maximum'),
            {
              Id: 'share',
              Expression: `IF(installing == 0 AND fleet >= ${ONEBOX_REQUESTS_MIN_FLEET}, onebox / (fleet / hosts))`,
              Label: 'One-box requests / fleet requests per host',
              ReturnData: true,
            },
          ],
        }),
      };
    case 'latency':
      return {
        ...common,
        kind: 'anomaly-latency',
        threshold: 0,
        description: `handsoff anomaly: one-box p99 of ${oneBox.service} in ${oneBox.region} above ${ONEBOX_LATENCY_RATIO} x the fleet's and the fleet's + ${ONEBOX_LATENCY_MARGIN_MS} ms`,
        op: Op.ONEBOX_LATENCY,
        format: (v) => `${v > 0 ? '+' : ''}${fmt(v)} ms`,
        describe: () => ({
          Metrics: [
            statQuery('onebox', oneBox, StandardMetric.LATENCY, 'p99'),
            statQuery('fleet', fleet, StandardMetric.LATENCY, 'p99'),
            {
              Id: 'excess',
              Expression: `onebox - MAX([${ONEBOX_LATENCY_RATIO} * fleet, fleet + ${ONEBOX_LATENCY_MARGIN_MS}])`,
              Label: 'One-box p99 above its limit (ms)',
              ReturnData: true,
            },
          ],
        }),
      };
    case 'faults':
      return {
        ...common,
        kind: 'anomaly-faults',
        threshold: 0,
        description: `handsoff anomaly: one-box fault rate of ${oneBox.service} in ${oneBox.region} above ${ONEBOX_FAULTS_RATIO} x the fleet's and ${ONEBOX_FAULTS_MIN_RATE * 100}%`,
        op: Op.ONEBOX_FAULTS,
        format: (v) => `${v > 0 ? '+' : ''}${pct(v)}`,
        describe: () => ({
          Metrics: [
            statQuery('oneboxFaults', oneBox, StandardMetric.FAULTS, 'Sum'),
            statQuery('oneboxRequests', oneBox, StandardMetric.REQUESTS, 'Sum'),
            statQuery('fleetFaults', fleet, StandardMetric.FAULTS, 'Sum'),
            statQuery('fleetRequests', fleet, StandardMetric.REQUESTS, 'Sum'),
            {
              Id: 'excess',
              Expression: `oneboxFaults / oneboxRequests - MAX([${ONEBOX_FAULTS_RATIO} * fleetFaults / fleetRequests, ${ONEBOX_FAULTS_MIN_RATE}])`,
              Label: 'One-box fault rate above its limit',
              ReturnData: true,
            },
          ],
        }),
      };
  }
};

/**
 * A unit's (AZ's or cell's) requests per in-service host against its region fleet's (the
 * fleet includes the one box and the unit itself): the unit's boxes stopped serving while
 * the region's requests fall by only a third, above the fleet band. 3 of 3; no datapoint
 * while any host of the unit is installing, nor when the fleet served < 30 requests.
 */
export const unitAnomalyRule = (unit: MinuteSeries, fleet: MinuteSeries): AlarmRule => ({
  kind: 'anomaly-requests',
  evaluationPeriods: 3,
  datapointsToAlarm: 3,
  treatMissingData: 'notBreaching',
  comparison: 'LessThanThreshold',
  threshold: UNIT_REQUESTS_RATIO,
  description: `handsoff anomaly: unit ${unit.scope} of ${unit.service} in ${unit.region} serves less than ${UNIT_REQUESTS_RATIO} x the fleet's requests per in-service host`,
  op: Op.UNIT_REQUESTS,
  series: unit,
  other: fleet,
  describe: () => ({
    Metrics: [
      statQuery('unit', unit, StandardMetric.REQUESTS, 'Sum'),
      statQuery('installing', unit, WorldMetric.INSTALLING_HOSTS, 'Maximum'),
      statQuery('unitHosts', unit, WorldMetric.IN_SERVICE_HOSTS, 'Maximum'),
      statQuery('fleet', fleet, StandardMetric.REQUESTS, 'Sum'),
      statQuery('hosts', fleet, WorldMetric.IN_SERVICE_HOSTS, 'Maximum'),
      {
        Id: 'share',
        Expression: `IF(installing == 0 AND fleet >= ${UNIT_REQUESTS_MIN_FLEET}, IF(unitHosts > 0, (unit / unitHosts) / (fleet / hosts), 0))`,
        Label: 'Unit requests per host / fleet requests per host',
        ReturnData: true,
      },
    ],
  }),
});

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
