/**
 * The alarms that watch a service in a target region: the standard alarms of one scope
 * (one-box, region fleet or pre-production stage) and the anomaly checks of a region (the
 * one-box against the rest of the fleet; each unit against its fleet; the fleet against its
 * own seasonal baseline).
 *
 * Functions over a scope rather than child constructs: the alarms were first created
 * directly under the target stack, and their construct ids (hence logical ids) are a public
 * contract; a renamed logical id of a named alarm would replace it, and the delete of the old
 * resource would remove the alarm the new one just wrote.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import * as naming from '../../core/naming.ts';

/** One-minute datapoints: a bad change shows within minutes, not within an hour. */
export const ALARM_PERIOD = Duration.seconds(60);
/** 2 of 3: one noisy minute does not alarm, two bad minutes out of three do. */
export const EVALUATION_PERIODS = 3;
export const DATAPOINTS_TO_ALARM = 2;

/** What one standard alarm checks. */
export interface StandardAlarmSpec {
  readonly threshold: number;
  readonly comparison: cloudwatch.ComparisonOperator;
  readonly missing: cloudwatch.TreatMissingData;
  /** What breaching means, for the alarm description. */
  readonly meaning: string;
}

const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
// No requests means no fault rate, no latency and no log error rate: safe, because a bake
// never passes on silence (it requires its minimum requests), so silence cannot promote a
// change. Resource metrics follow the same rule: a host that stops reporting is the health
// alarm's business.
const NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING;

/** Thresholds of the standard alarms (the simulator's world mirrors them). */
export const STANDARD_ALARMS: Record<naming.StandardAlarm, StandardAlarmSpec> = {
  [naming.StandardAlarm.FAULTS]: { threshold: 1, comparison: GT, missing: NOT_BREACHING, meaning: 'more than 1% of requests fault' },
  [naming.StandardAlarm.LATENCY_P50]: { threshold: 400, comparison: GT, missing: NOT_BREACHING, meaning: 'p50 latency above 400 ms' },
  [naming.StandardAlarm.LATENCY_P90]: { threshold: 700, comparison: GT, missing: NOT_BREACHING, meaning: 'p90 latency above 700 ms' },
  [naming.StandardAlarm.LATENCY_P99]: { threshold: 1000, comparison: GT, missing: NOT_BREACHING, meaning: 'p99 latency above 1000 ms' },
  [naming.StandardAlarm.CPU]: { threshold: 90, comparison: GT, missing: NOT_BREACHING, meaning: 'average CPU utilization above 90%' },
  [naming.StandardAlarm.MEMORY]: { threshold: 90, comparison: GT, missing: NOT_BREACHING, meaning: 'average memory utilization above 90%' },
  [naming.StandardAlarm.DISK]: { threshold: 90, comparison: GT, missing: NOT_BREACHING, meaning: 'average disk utilization above 90%' },
  [naming.StandardAlarm.LOG_ERRORS]: {
    threshold: 2,
    comparison: GT,
    missing: NOT_BREACHING,
    meaning: 'more than 2 error log lines per 100 requests',
  },
  [naming.StandardAlarm.HEALTH]: {
    threshold: 1,
    comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    // Not safe to ignore: hosts that stop reporting may be down. Missing data leaves the
    // alarm INSUFFICIENT_DATA, on which handsoff fails closed.
    missing: cloudwatch.TreatMissingData.MISSING,
    meaning: 'at least one host fails its health check',
  },
};

export const pascal = (s: string): string =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

/** A standard metric of one scope of a service. */
export const serviceMetric = (service: string, scope: string, metricName: string, statistic: string): cloudwatch.Metric =>
  new cloudwatch.Metric({
    namespace: naming.METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { Service: service, Scope: scope },
    statistic,
    period: ALARM_PERIOD,
  });

/** `100 * numerator / RequestCount` of a scope (Sum over the period). */
const ratePercent = (service: string, scope: string, numerator: string, id: string, label: string): cloudwatch.MathExpression =>
  new cloudwatch.MathExpression({
    expression: `100 * ${id} / requests`,
    usingMetrics: {
      [id]: serviceMetric(service, scope, numerator, cloudwatch.Stats.SUM),
      requests: serviceMetric(service, scope, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
    },
    label,
    period: ALARM_PERIOD,
  });

/** The metric (or metric math) a standard alarm evaluates. */
export const standardAlarmMetric = (service: string, scope: string, kind: naming.StandardAlarm): cloudwatch.IMetric => {
  const m = (metricName: string, statistic: string) => serviceMetric(service, scope, metricName, statistic);
  switch (kind) {
    case naming.StandardAlarm.FAULTS:
      return ratePercent(service, scope, naming.StandardMetric.FAULTS, 'faults', 'Fault rate (%)');
    case naming.StandardAlarm.LATENCY_P50:
      return m(naming.StandardMetric.LATENCY, cloudwatch.Stats.p(50));
    case naming.StandardAlarm.LATENCY_P90:
      return m(naming.StandardMetric.LATENCY, cloudwatch.Stats.p(90));
    case naming.StandardAlarm.LATENCY_P99:
      return m(naming.StandardMetric.LATENCY, cloudwatch.Stats.p(99));
    case naming.StandardAlarm.CPU:
      return m(naming.StandardMetric.CPU, cloudwatch.Stats.AVERAGE);
    case naming.StandardAlarm.MEMORY:
      return m(naming.StandardMetric.MEMORY, cloudwatch.Stats.AVERAGE);
    case naming.StandardAlarm.DISK:
      return m(naming.StandardMetric.DISK, cloudwatch.Stats.AVERAGE);
    case naming.StandardAlarm.LOG_ERRORS:
      return ratePercent(service, scope, naming.StandardMetric.LOG_ERRORS, 'logErrors', 'Error log lines per 100 requests');
    case naming.StandardAlarm.HEALTH:
      return m(naming.StandardMetric.UNHEALTHY_HOSTS, cloudwatch.Stats.MAXIMUM);
  }
};

export interface StandardAlarmsProps {
  readonly service: string;
  /** `Scope` dimension: `onebox`, `fleet` or a pre-production stage. */
  readonly scope: string;
  /** Construct id prefix of the alarms (`<Pipeline><Scope>`). */
  readonly idPrefix: string;
  readonly alarmName: (kind: naming.StandardAlarm) => string;
  /** Who the alarm watches, for its description. */
  readonly where: string;
}

/** Every standard alarm of one scope of a service, by kind (construct ids `<prefix><Kind>`). */
export const standardAlarms = (scope: Construct, props: StandardAlarmsProps): Record<naming.StandardAlarm, cloudwatch.Alarm> =>
  Object.fromEntries(
    Object.values(naming.StandardAlarm).map((kind) => {
      const spec = STANDARD_ALARMS[kind];
      const alarm = new cloudwatch.Alarm(scope, `${props.idPrefix}${pascal(kind)}`, {
        alarmName: props.alarmName(kind),
        alarmDescription: `${props.service} ${props.where}: ${spec.meaning}.`,
        metric: standardAlarmMetric(props.service, props.scope, kind),
        threshold: spec.threshold,
        comparisonOperator: spec.comparison,
        evaluationPeriods: EVALUATION_PERIODS,
        datapointsToAlarm: DATAPOINTS_TO_ALARM,
        treatMissingData: spec.missing,
      });
      return [kind, alarm];
    }),
  ) as Record<naming.StandardAlarm, cloudwatch.Alarm>;

/** Thresholds of the anomaly checks (the simulator's world mirrors them). */
export const ANOMALY = {
  /** The one-box serves less than this share (%) of a fleet host's requests ... */
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

export interface AnomalyAlarmsProps {
  readonly pipeline: string;
  readonly service: string;
  readonly region: string;
  /** Construct id prefix (`<Pipeline>`). */
  readonly idPrefix: string;
  /** Hosts of the region's fleet (units x hosts per unit): what one host's share of the requests is. */
  readonly fleetHosts: number;
}

const ONE_BOX = 'onebox';
const FLEET = 'fleet';

/**
 * The one-box against the rest of its region's fleet: a box that stopped serving, or whose
 * latency or faults are far above the fleet's. A fault on one box of ten is a tenth of the
 * region's rate: the fleet alarms may stay quiet while the new code is plainly broken.
 */
export const oneBoxAnomalyAlarms = (scope: Construct, props: AnomalyAlarmsProps): Record<naming.AnomalyMetric, cloudwatch.Alarm> => {
  const { service, pipeline, region } = props;
  const metric = (where: string, metricName: string, statistic: string) => serviceMetric(service, where, metricName, statistic);
  const name = (m: naming.AnomalyMetric) => naming.anomalyAlarmName(pipeline, region, 'onebox', m);
  const id = (m: naming.AnomalyMetric) => `${props.idPrefix}OneBoxAnomaly${pascal(m)}`;
  const A = ANOMALY;

  const requests = new cloudwatch.Alarm(scope, id(naming.AnomalyMetric.REQUESTS), {
    alarmName: name(naming.AnomalyMetric.REQUESTS),
    alarmDescription: `${service} one-box in ${region}: serves less than ${A.ONE_BOX_MIN_REQUEST_SHARE_PERCENT}% of a fleet host's requests (fleet of ${props.fleetHosts} hosts).`,
    metric: new cloudwatch.MathExpression({
      // A silent one-box is the case to catch: its missing datapoints count as zero requests.
      // A fleet too quiet to tell, no datapoint (and no alarm).
      expression: `IF(fleet >= ${A.ONE_BOX_MIN_FLEET_REQUESTS}, 100 * FILL(onebox, 0) * ${props.fleetHosts} / fleet)`,
      usingMetrics: {
        onebox: metric(ONE_BOX, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
        fleet: metric(FLEET, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
      },
      label: "One-box requests (% of a fleet host's)",
      period: ALARM_PERIOD,
    }),
    threshold: A.ONE_BOX_MIN_REQUEST_SHARE_PERCENT,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    treatMissingData: NOT_BREACHING,
  });

  const latency = new cloudwatch.Alarm(scope, id(naming.AnomalyMetric.LATENCY), {
    alarmName: name(naming.AnomalyMetric.LATENCY),
    alarmDescription: `${service} one-box in ${region}: p99 latency above ${A.ONE_BOX_LATENCY_FACTOR}x the fleet's and more than ${A.ONE_BOX_LATENCY_MARGIN_MS} ms above it.`,
    metric: new cloudwatch.MathExpression({
      expression: `IF(onebox > ${A.ONE_BOX_LATENCY_FACTOR} * fleet AND onebox > fleet + ${A.ONE_BOX_LATENCY_MARGIN_MS}, 1, 0)`,
      usingMetrics: {
        onebox: metric(ONE_BOX, naming.StandardMetric.LATENCY, cloudwatch.Stats.p(99)),
        fleet: metric(FLEET, naming.StandardMetric.LATENCY, cloudwatch.Stats.p(99)),
      },
      label: 'One-box p99 far above the fleet p99 (1 = yes)',
      period: ALARM_PERIOD,
    }),
    threshold: 0,
    comparisonOperator: GT,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    treatMissingData: NOT_BREACHING,
  });

  const faults = new cloudwatch.Alarm(scope, id(naming.AnomalyMetric.FAULTS), {
    alarmName: name(naming.AnomalyMetric.FAULTS),
    alarmDescription: `${service} one-box in ${region}: fault rate above ${A.ONE_BOX_FAULTS_FACTOR}x the fleet's and above ${A.ONE_BOX_FAULTS_MIN_PERCENT}%.`,
    metric: new cloudwatch.MathExpression({
      expression: `IF(oneboxRate > ${A.ONE_BOX_FAULTS_FACTOR} * fleetRate AND oneboxRate > ${A.ONE_BOX_FAULTS_MIN_PERCENT}, 1, 0)`,
      usingMetrics: {
        oneboxRate: new cloudwatch.MathExpression({
          expression: '100 * oneboxFaults / oneboxRequests',
          usingMetrics: {
            oneboxFaults: metric(ONE_BOX, naming.StandardMetric.FAULTS, cloudwatch.Stats.SUM),
            oneboxRequests: metric(ONE_BOX, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
          },
          period: ALARM_PERIOD,
        }),
        fleetRate: new cloudwatch.MathExpression({
          expression: '100 * fleetFaults / fleetRequests',
          usingMetrics: {
            fleetFaults: metric(FLEET, naming.StandardMetric.FAULTS, cloudwatch.Stats.SUM),
            fleetRequests: metric(FLEET, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
          },
          period: ALARM_PERIOD,
        }),
      },
      label: 'One-box fault rate far above the fleet rate (1 = yes)',
      period: ALARM_PERIOD,
    }),
    threshold: 0,
    comparisonOperator: GT,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    treatMissingData: NOT_BREACHING,
  });

  return { [naming.AnomalyMetric.REQUESTS]: requests, [naming.AnomalyMetric.LATENCY]: latency, [naming.AnomalyMetric.FAULTS]: faults };
};

/**
 * The fleet's requests against their own seasonal baseline (a CloudWatch anomaly detection
 * band): requests dropping towards zero, which no static threshold catches across a day's
 * traffic curve. Below the band only: a traffic surge is not a bad change.
 */
export const fleetRequestsAnomalyAlarm = (scope: Construct, props: Omit<AnomalyAlarmsProps, 'fleetHosts'>): cloudwatch.Alarm =>
  new cloudwatch.AnomalyDetectionAlarm(scope, `${props.idPrefix}FleetAnomalyRequests`, {
    alarmName: naming.anomalyAlarmName(props.pipeline, props.region, 'fleet', naming.AnomalyMetric.REQUESTS),
    alarmDescription: `${props.service} fleet in ${props.region}: requests below their expected band (${ANOMALY.FLEET_REQUESTS_BAND_STD_DEVS} standard deviations).`,
    metric: serviceMetric(props.service, FLEET, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
    stdDevs: ANOMALY.FLEET_REQUESTS_BAND_STD_DEVS,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_LOWER_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    // A fleet that stops reporting altogether is the health alarm's business (it treats
    // missing data as missing, and handsoff fails closed on INSUFFICIENT_DATA).
    treatMissingData: NOT_BREACHING,
  });

export interface UnitAnomalyAlarmProps extends Omit<AnomalyAlarmsProps, 'idPrefix'> {
  /** Construct id prefix (`<Pipeline><Unit>`). */
  readonly idPrefix: string;
  /** The unit (AZ or cell): its `Scope` dimension. */
  readonly unit: string;
  /** Hosts of the unit (the pipeline's hostsPerUnit). */
  readonly unitHosts: number;
}

/**
 * A unit's requests per host against the region fleet's (one box and the unit itself
 * included): a unit whose boxes stopped serving costs its region only a third of its
 * requests, which the fleet band does not see. Per host from constants (the unit's and the
 * region's host counts): CloudWatch knows no in-service host count. Not in the deployment
 * groups (CodeDeploy takes 10 alarms) nor in the team aggregate; the region steps watch it.
 */
export const unitRequestsAnomalyAlarm = (scope: Construct, props: UnitAnomalyAlarmProps): cloudwatch.Alarm => {
  const { service, pipeline, region, unit } = props;
  const A = ANOMALY;
  return new cloudwatch.Alarm(scope, `${props.idPrefix}AnomalyRequests`, {
    alarmName: naming.unitAnomalyAlarmName(pipeline, region, unit),
    alarmDescription: `${service} unit ${unit} in ${region}: serves less than ${A.UNIT_MIN_REQUEST_SHARE_PERCENT}% of the fleet's requests per host (unit of ${props.unitHosts} hosts, fleet of ${props.fleetHosts}).`,
    metric: new cloudwatch.MathExpression({
      // Silent boxes may report nothing at all: a unit's missing datapoint counts as zero
      // requests (rolling deployments keep two thirds of a unit in service). A quiet or
      // silent fleet gives no datapoint (the fleet band's business).
      expression: `IF(fleet >= ${A.UNIT_MIN_FLEET_REQUESTS}, 100 * (FILL(unit, 0) / ${props.unitHosts}) / (fleet / ${props.fleetHosts}))`,
      usingMetrics: {
        unit: serviceMetric(service, unit, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
        fleet: serviceMetric(service, FLEET, naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
      },
      label: "Unit requests per host (% of a fleet host's)",
      period: ALARM_PERIOD,
    }),
    threshold: A.UNIT_MIN_REQUEST_SHARE_PERCENT,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    treatMissingData: NOT_BREACHING,
  });
};

/**
 * The name an alarm was given (`alarm.alarmName` is a `Ref` token): for name-based lists
 * such as event patterns and CodeDeploy's alarm configuration checks.
 */
export const nameOf = (alarm: cloudwatch.Alarm | cloudwatch.CompositeAlarm): string => {
  const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm | cloudwatch.CfnCompositeAlarm;
  if (typeof cfn.alarmName !== 'string') throw new Error(`alarm ${alarm.node.path} has no literal name; handsoff alarms are named (core/naming.ts)`);
  return cfn.alarmName;
};
