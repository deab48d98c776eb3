/**
 * The alarms of one service in one region: the standard alarms of a scope (one-box, region
 * fleet or pre-production stage) and the anomaly checks (the one-box against the rest of
 * the fleet; each unit against its fleet; the fleet against its own seasonal baseline).
 * Every threshold of handsoff's alarms lives here.
 */
import * as naming from '../naming.ts';
import type { AlarmOwner, AlarmScope, AnomalyAlarmDef, Comparison, MathAlarmDef, MathExpr, MetricAlarmDef, MetricStat, TreatMissingData } from './types.ts';

/** One-minute datapoints: a bad change shows within minutes, not within an hour. */
export const ALARM_PERIOD_SECONDS = 60;
/** 2 of 3: one noisy minute does not alarm, two bad minutes out of three do. */
export const EVALUATION_PERIODS = 3;
export const DATAPOINTS_TO_ALARM = 2;

/** What one standard alarm checks. */
export interface StandardAlarmSpec {
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly treatMissingData: TreatMissingData;
  /** What breaching means, for the alarm description. */
  readonly meaning: string;
}

// No requests means no fault rate, no latency and no log error rate: safe, because a bake
// never passes on silence (it requires its minimum requests), so silence cannot promote a
// change. Resource metrics follow the same rule: a host that stops reporting is the health
// alarm's business.
const GT = 'GreaterThanThreshold' as const;
const NB = 'notBreaching' as const;

export const STANDARD_ALARMS: Readonly<Record<naming.StandardAlarm, StandardAlarmSpec>> = {
  [naming.StandardAlarm.FAULTS]: { threshold: 1, comparison: GT, treatMissingData: NB, meaning: 'more than 1% of requests fault' },
  [naming.StandardAlarm.LATENCY_P50]: { threshold: 400, comparison: GT, treatMissingData: NB, meaning: 'p50 latency above 400 ms' },
  [naming.StandardAlarm.LATENCY_P90]: { threshold: 700, comparison: GT, treatMissingData: NB, meaning: 'p90 latency above 700 ms' },
  [naming.StandardAlarm.LATENCY_P99]: { threshold: 1000, comparison: GT, treatMissingData: NB, meaning: 'p99 latency above 1000 ms' },
  [naming.StandardAlarm.CPU]: { threshold: 90, comparison: GT, treatMissingData: NB, meaning: 'average CPU utilization above 90%' },
  [naming.StandardAlarm.MEMORY]: { threshold: 90, comparison: GT, treatMissingData: NB, meaning: 'average memory utilization above 90%' },
  [naming.StandardAlarm.DISK]: { threshold: 90, comparison: GT, treatMissingData: NB, meaning: 'average disk utilization above 90%' },
  [naming.StandardAlarm.LOG_ERRORS]: { threshold: 2, comparison: GT, treatMissingData: NB, meaning: 'more than 2 error log lines per 100 requests' },
  [naming.StandardAlarm.HEALTH]: {
    threshold: 1,
    comparison: 'GreaterThanOrEqualToThreshold',
    // Not safe to ignore: hosts that stop reporting may be down. Missing data leaves the
    // alarm INSUFFICIENT_DATA, on which handsoff fails closed.
    treatMissingData: 'missing',
    meaning: 'at least one host fails its health check',
  },
};

/**
 * The one-box takes its share of the region's traffic like any host, but never more than
 * this (docs/design.md: one box, at most 10% of the region's traffic); the load balancer's
 * weights on AWS, the world's routing in the simulator. Its requests check compares it with
 * that expected share.
 */
export const ONE_BOX_MAX_TRAFFIC_SHARE = 0.1;

/** What share of the region's requests a healthy one-box serves, besides `fleetHosts` hosts. */
export const oneBoxExpectedShare = (fleetHosts: number): number => Math.min(1 / (fleetHosts + 1), ONE_BOX_MAX_TRAFFIC_SHARE);

/** Thresholds of the anomaly checks. */
export const ANOMALY = {
  /** The one-box serves less than this share (%) of its expected share of the region's requests ... */
  ONE_BOX_MIN_REQUEST_SHARE_PERCENT: 20,
  /** ... counted only in minutes where the fleet served at least this many requests. */
  ONE_BOX_MIN_FLEET_REQUESTS: 30,
  /** The one-box p99 above this multiple of the fleet's p99 ... */
  ONE_BOX_LATENCY_FACTOR: 2,
  /** ... and above the fleet's p99 plus this many milliseconds (no alarm on 20 ms vs 45 ms). */
  ONE_BOX_LATENCY_MARGIN_MS: 150,
  /** The one-box fault rate above this multiple of the fleet's ... */
  ONE_BOX_FAULTS_FACTOR: 5,
  /** ... and above this rate (%) (no alarm on 0.02% vs 0.1%). */
  ONE_BOX_FAULTS_MIN_PERCENT: 0.5,
  /** Width of the fleet request-count band, in standard deviations. */
  FLEET_REQUESTS_BAND_STD_DEVS: 3,
  /** A unit's requests per host below this share (%) of the region fleet's requests per host ... */
  UNIT_MIN_REQUEST_SHARE_PERCENT: 20,
  /** ... counted only in minutes where the fleet served at least this many requests. */
  UNIT_MIN_FLEET_REQUESTS: 30,
} as const;

/** A standard metric of one scope (`Scope` dimension) of a service. */
export const serviceMetric = (service: string, scope: string, metric: string, statistic: string): MetricStat => ({
  namespace: naming.METRICS_NAMESPACE,
  metric,
  dimensions: { Service: service, Scope: scope },
  statistic,
  periodSeconds: ALARM_PERIOD_SECONDS,
});

const ratePercent = (service: string, scope: string, numerator: string, id: string, label: string): MathExpr => ({
  expression: `100 * ${id} / requests`,
  label,
  using: {
    [id]: serviceMetric(service, scope, numerator, 'Sum'),
    requests: serviceMetric(service, scope, naming.StandardMetric.REQUESTS, 'Sum'),
  },
});

/** What a standard alarm evaluates: one metric, or metric math (the rates). */
export const standardAlarmMetric = (service: string, scope: string, kind: naming.StandardAlarm): MetricStat | MathExpr => {
  const m = (metric: string, statistic: string) => serviceMetric(service, scope, metric, statistic);
  switch (kind) {
    case naming.StandardAlarm.FAULTS:
      return ratePercent(service, scope, naming.StandardMetric.FAULTS, 'faults', 'Fault rate (%)');
    case naming.StandardAlarm.LATENCY_P50:
      return m(naming.StandardMetric.LATENCY, 'p50');
    case naming.StandardAlarm.LATENCY_P90:
      return m(naming.StandardMetric.LATENCY, 'p90');
    case naming.StandardAlarm.LATENCY_P99:
      return m(naming.StandardMetric.LATENCY, 'p99');
    case naming.StandardAlarm.CPU:
      return m(naming.StandardMetric.CPU, 'Average');
    case naming.StandardAlarm.MEMORY:
      return m(naming.StandardMetric.MEMORY, 'Average');
    case naming.StandardAlarm.DISK:
      return m(naming.StandardMetric.DISK, 'Average');
    case naming.StandardAlarm.LOG_ERRORS:
      return ratePercent(service, scope, naming.StandardMetric.LOG_ERRORS, 'logErrors', 'Error log lines per 100 requests');
    case naming.StandardAlarm.HEALTH:
      return m(naming.StandardMetric.UNHEALTHY_HOSTS, 'Maximum');
  }
};

export interface StandardScope extends AlarmOwner {
  readonly service: string;
  readonly region: string;
  /** The plan's scope (`onebox`, or `fleet` for a region fleet and a pre-production stage). */
  readonly scope: AlarmScope;
  /** `Scope` dimension: `onebox`, `fleet` or the stage. */
  readonly dimension: string;
  readonly alarmName: (kind: naming.StandardAlarm) => string;
  /** Who the alarm watches, for its description. */
  readonly where: string;
}

/** Every standard alarm of one scope of a service, in StandardAlarm order. */
export const standardAlarms = (s: StandardScope): Array<MetricAlarmDef | MathAlarmDef> =>
  Object.values(naming.StandardAlarm).map((kind) => {
    const spec = STANDARD_ALARMS[kind];
    const q = standardAlarmMetric(s.service, s.dimension, kind);
    const common = {
      name: s.alarmName(kind),
      region: s.region,
      scope: s.scope,
      ...owner(s),
      description: `${s.service} ${s.where}: ${spec.meaning}.`,
      periodSeconds: ALARM_PERIOD_SECONDS,
      evaluationPeriods: EVALUATION_PERIODS,
      datapointsToAlarm: DATAPOINTS_TO_ALARM,
      threshold: spec.threshold,
      comparison: spec.comparison,
      treatMissingData: spec.treatMissingData,
    };
    return 'expression' in q ? { ...common, kind: 'math' as const, math: q } : { ...common, kind: 'metric' as const, metric: q };
  });

const owner = (o: AlarmOwner): AlarmOwner => ({
  ...(o.pipeline !== undefined ? { pipeline: o.pipeline } : {}),
  ...(o.team !== undefined ? { team: o.team } : {}),
  ...(o.stage !== undefined ? { stage: o.stage } : {}),
  ...(o.unit !== undefined ? { unit: o.unit } : {}),
});

export interface AnomalyContext {
  readonly pipeline: string;
  readonly service: string;
  readonly region: string;
  /** Hosts of the region's fleet (units x hosts per unit): what one host's share of the requests is. */
  readonly fleetHosts: number;
}

const FLEET = 'fleet';

/** Where a one-box's anomaly checks look: its scope, the scope it is compared with, its alarms' names. */
export interface OneBoxAt {
  /** `Scope` dimension of the one-box host. */
  readonly dimension: string;
  /** `Scope` dimension of the fleet it is compared with. */
  readonly fleetDimension: string;
  /** Whether that fleet's series counts the one-box too (a production region's does; a stage's does not). */
  readonly fleetIncludesOneBox: boolean;
  /** The pre-production stage of a stage's one-box (gamma). */
  readonly stage?: string;
  readonly name: (m: naming.AnomalyMetric) => string;
  /** Who the alarm watches, for its description. */
  readonly where: string;
}

/** A production region's one-box against the region's fleet. */
export const productionOneBox = (c: Pick<AnomalyContext, 'pipeline' | 'region'>): OneBoxAt => ({
  dimension: 'onebox',
  fleetDimension: FLEET,
  fleetIncludesOneBox: true,
  name: (m) => naming.anomalyAlarmName(c.pipeline, c.region, 'onebox', m),
  where: `one-box in ${c.region}`,
});

/**
 * The one-box against the rest of its region's fleet: a box that stopped serving, or whose
 * latency or faults are far above the fleet's. A fault on one box of ten is a tenth of the
 * region's rate: the fleet alarms may stay quiet while the new code is plainly broken.
 */
export const oneBoxAnomalyAlarms = (c: AnomalyContext, at: OneBoxAt = productionOneBox(c)): MathAlarmDef[] => {
  const { service, pipeline, region } = c;
  const metric = (where: string, name: string, statistic: string) => serviceMetric(service, where, name, statistic);
  const { name, where } = at;
  const ONE_BOX = at.dimension;
  const FLEET = at.fleetDimension;
  const A = ANOMALY;
  const share = oneBoxExpectedShare(c.fleetHosts);
  // The one-box's expected requests are 1 in `perFleet` of what the compared scope serves:
  // the whole region (one-box included) in production, the rest of the stage in gamma.
  const perFleet = Math.round(at.fleetIncludesOneBox ? 1 / share : (1 - share) / share);
  const common = { region, scope: 'onebox' as const, pipeline, ...(at.stage !== undefined ? { stage: at.stage } : {}), kind: 'math' as const, periodSeconds: ALARM_PERIOD_SECONDS, treatMissingData: NB };
  return [
    {
      ...common,
      name: name(naming.AnomalyMetric.REQUESTS),
      description: `${service} ${where}: serves less than ${A.ONE_BOX_MIN_REQUEST_SHARE_PERCENT}% of its expected share of the ${at.fleetIncludesOneBox ? "region's" : "stage's"} requests (1 in ${perFleet}: a fleet of ${c.fleetHosts} hosts, at most ${100 * ONE_BOX_MAX_TRAFFIC_SHARE}% on the one-box).`,
      math: {
        // A silent one-box is the case to catch: its missing datapoints count as zero requests.
        // A fleet too quiet to tell, no datapoint (and no alarm).
        expression: `IF(fleet >= ${A.ONE_BOX_MIN_FLEET_REQUESTS}, 100 * FILL(onebox, 0) * ${perFleet} / fleet)`,
        label: 'One-box requests (% of its expected share)',
        using: {
          onebox: metric(ONE_BOX, naming.StandardMetric.REQUESTS, 'Sum'),
          fleet: metric(FLEET, naming.StandardMetric.REQUESTS, 'Sum'),
        },
      },
      threshold: A.ONE_BOX_MIN_REQUEST_SHARE_PERCENT,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    },
    {
      ...common,
      name: name(naming.AnomalyMetric.LATENCY),
      description: `${service} ${where}: p99 latency above ${A.ONE_BOX_LATENCY_FACTOR}x the fleet's and more than ${A.ONE_BOX_LATENCY_MARGIN_MS} ms above it.`,
      math: {
        expression: `IF(onebox > ${A.ONE_BOX_LATENCY_FACTOR} * fleet AND onebox > fleet + ${A.ONE_BOX_LATENCY_MARGIN_MS}, 1, 0)`,
        label: 'One-box p99 far above the fleet p99 (1 = yes)',
        using: {
          onebox: metric(ONE_BOX, naming.StandardMetric.LATENCY, 'p99'),
          fleet: metric(FLEET, naming.StandardMetric.LATENCY, 'p99'),
        },
      },
      threshold: 0,
      comparison: GT,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    },
    {
      ...common,
      name: name(naming.AnomalyMetric.FAULTS),
      description: `${service} ${where}: fault rate above ${A.ONE_BOX_FAULTS_FACTOR}x the fleet's and above ${A.ONE_BOX_FAULTS_MIN_PERCENT}%.`,
      math: {
        expression: `IF(oneboxRate > ${A.ONE_BOX_FAULTS_FACTOR} * fleetRate AND oneboxRate > ${A.ONE_BOX_FAULTS_MIN_PERCENT}, 1, 0)`,
        label: 'One-box fault rate far above the fleet rate (1 = yes)',
        using: {
          oneboxRate: {
            expression: '100 * oneboxFaults / oneboxRequests',
            using: {
              oneboxFaults: metric(ONE_BOX, naming.StandardMetric.FAULTS, 'Sum'),
              oneboxRequests: metric(ONE_BOX, naming.StandardMetric.REQUESTS, 'Sum'),
            },
          },
          fleetRate: {
            expression: '100 * fleetFaults / fleetRequests',
            using: {
              fleetFaults: metric(FLEET, naming.StandardMetric.FAULTS, 'Sum'),
              fleetRequests: metric(FLEET, naming.StandardMetric.REQUESTS, 'Sum'),
            },
          },
        },
      },
      threshold: 0,
      comparison: GT,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    },
  ];
};

/**
 * The fleet's requests against their own seasonal baseline (a CloudWatch anomaly detection
 * band): requests dropping towards zero, which no static threshold catches across a day's
 * traffic curve. Below the band only: a traffic surge is not a bad change.
 */
export const fleetRequestsAnomalyAlarm = (c: Omit<AnomalyContext, 'fleetHosts'>): AnomalyAlarmDef => ({
  kind: 'anomaly',
  name: naming.anomalyAlarmName(c.pipeline, c.region, 'fleet', naming.AnomalyMetric.REQUESTS),
  region: c.region,
  scope: 'fleet',
  pipeline: c.pipeline,
  description: `${c.service} fleet in ${c.region}: requests below their expected band (${ANOMALY.FLEET_REQUESTS_BAND_STD_DEVS} standard deviations).`,
  metric: serviceMetric(c.service, FLEET, naming.StandardMetric.REQUESTS, 'Sum'),
  // The ids the CDK's AnomalyDetectionAlarm renders.
  metricId: 'm0',
  bandId: 'expr_1',
  bandWidth: ANOMALY.FLEET_REQUESTS_BAND_STD_DEVS,
  comparison: 'LessThanLowerThreshold',
  periodSeconds: ALARM_PERIOD_SECONDS,
  evaluationPeriods: 3,
  datapointsToAlarm: 3,
  // A fleet that stops reporting altogether is the health alarm's business (it treats
  // missing data as missing, and handsoff fails closed on INSUFFICIENT_DATA).
  treatMissingData: NB,
});

/**
 * A unit's requests per host against the region fleet's (one box and the unit itself
 * included): a unit whose boxes stopped serving costs its region only a third of its
 * requests, which the fleet band does not see. Per host from constants (the unit's and the
 * region's host counts): CloudWatch knows no in-service host count. Not in the deployment
 * groups (CodeDeploy takes 10 alarms) nor in the team aggregate; the region steps watch it.
 */
export const unitRequestsAnomalyAlarm = (c: AnomalyContext & { unit: string; unitHosts: number }): MathAlarmDef => {
  const A = ANOMALY;
  return {
    kind: 'math',
    name: naming.unitAnomalyAlarmName(c.pipeline, c.region, c.unit),
    region: c.region,
    scope: 'unit',
    pipeline: c.pipeline,
    unit: c.unit,
    description: `${c.service} unit ${c.unit} in ${c.region}: serves less than ${A.UNIT_MIN_REQUEST_SHARE_PERCENT}% of the fleet's requests per host (unit of ${c.unitHosts} hosts, fleet of ${c.fleetHosts}).`,
    math: {
      // Silent boxes may report nothing at all: a unit's missing datapoint counts as zero
      // requests (rolling deployments keep two thirds of a unit in service). A quiet or
      // silent fleet gives no datapoint (the fleet band's business).
      expression: `IF(fleet >= ${A.UNIT_MIN_FLEET_REQUESTS}, 100 * (FILL(unit, 0) / ${c.unitHosts}) / (fleet / ${c.fleetHosts}))`,
      label: "Unit requests per host (% of a fleet host's)",
      using: {
        unit: serviceMetric(c.service, c.unit, naming.StandardMetric.REQUESTS, 'Sum'),
        fleet: serviceMetric(c.service, FLEET, naming.StandardMetric.REQUESTS, 'Sum'),
      },
    },
    threshold: A.UNIT_MIN_REQUEST_SHARE_PERCENT,
    comparison: 'LessThanThreshold',
    periodSeconds: ALARM_PERIOD_SECONDS,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    treatMissingData: NB,
  };
};
