/**
 * The world's monitors: every standard metric and alarm per scope, the anomaly alarms, lost
 * events, and the hard requirement of zero false positives on a healthy three-week run.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  anomalyAlarmName,
  AnomalyMetric,
  artifactKey,
  DeploymentConfig,
  METRICS_NAMESPACE,
  oneBoxAlarmName,
  oneBoxGroupName,
  preProdGroupName,
  serviceAlarmName,
  StandardAlarm,
  StandardMetric,
  teamAggregateAlarmName,
  unitAnomalyAlarmName,
  unitGroupName,
} from '../../core/naming.ts';
import type { RegionInfo, ResolvedPipeline } from '../../core/model.ts';
import { World, type WorldEmission, type Behavior } from '../../sim/world/index.ts';
import { ANOMALY } from '../../core/alarms/index.ts';
import { bigCatalog, catalog, pipeline, resolved, regionCopy } from './world-fixtures.ts';

const START = Date.parse('2026-11-30T08:00:00Z');
const P = 'storefront-api';
const SERVICE = 'StorefrontApi';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let clock: ReturnType<typeof FakeTimers.install>;
let emissions: WorldEmission[];
let world: World;

const makeWorld = (opts: { pipelines?: ResolvedPipeline[]; regions?: RegionInfo[]; seed?: number } = {}): World => {
  const w = new World({ pipelines: opts.pipelines ?? [pipeline()], regions: opts.regions ?? catalog, emit: (e) => emissions.push(e), seed: opts.seed ?? 7 });
  w.start();
  return w;
};

/** CreateDeployment; the simulated API acts synchronously, so this works from inside a timer. */
const deploy = (region: string, group: string, revision: string, config?: string, pipelineName = P): Promise<unknown> =>
  world.codeDeploy(region).send(
    new CreateDeploymentCommand({
      applicationName: pipelineName,
      deploymentGroupName: group,
      revision: { revisionType: 'S3', s3Location: regionCopy(world, region, artifactKey(pipelineName, revision)) },
      ...(config ? { deploymentConfigName: config } : {}),
    }),
  );

/** Installs a revision on the one box of a region and waits until it is in service. */
const onOneBox = async (region: string, behavior: Behavior): Promise<void> => {
  world.setBehavior(P, 'r1', behavior);
  await deploy(region, oneBoxGroupName(P), 'r1');
  clock.tick(1_000 + 2 * MIN);
};

const metric = async (region: string, scope: string, name: string, stat: string, from: number, to: number, service = SERVICE): Promise<number[]> => {
  const out = (await world.cloudWatch(region).send(
    new GetMetricDataCommand({
      StartTime: new Date(from),
      EndTime: new Date(to),
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: [{ Name: 'Service', Value: service }, { Name: 'Scope', Value: scope }] },
            Period: 60,
            Stat: stat,
          },
        },
      ],
    }),
  )) as { MetricDataResults: Array<{ Values: number[] }> };
  return out.MetricDataResults[0]!.Values;
};

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

const alarmed = (): string[] =>
  emissions.flatMap((e) => (e.kind === 'stream' && e.event.type === 'world.alarm' && e.event.state === 'ALARM' ? [e.event.alarm as string] : []));

/** The unit alarms of a region of the default pipeline. */
const unitAlarms = (region: string): string[] => catalog.find((r) => r.code === region)!.azIds.map((unit) => unitAnomalyAlarmName(P, region, unit));

/** Time of the first ALARM of an alarm in the stream. */
const firstAlarmAt = (name: string): number | undefined => {
  for (const e of emissions) {
    if (e.kind === 'stream' && e.event.type === 'world.alarm' && e.event.alarm === name && e.event.state === 'ALARM') return Date.parse(e.event.time);
  }
  return undefined;
};

beforeEach(() => {
  clock = FakeTimers.install({ now: START, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  emissions = [];
});

afterEach(() => {
  world?.stop();
  clock.uninstall();
});

describe('World standard metrics', () => {
  it('serves latency percentiles, utilizations and log errors per scope, at their baselines when healthy', async () => {
    world = makeWorld();
    clock.tick(60 * MIN);
    const to = Date.now();
    for (const scope of ['fleet', 'onebox', 'use1-az1']) {
      const p50 = mean(await metric('us-east-1', scope, StandardMetric.LATENCY, 'p50', START, to));
      const p90 = mean(await metric('us-east-1', scope, StandardMetric.LATENCY, 'p90', START, to));
      const p99 = mean(await metric('us-east-1', scope, StandardMetric.LATENCY, 'p99', START, to));
      expect(p50).toBeGreaterThan(36);
      expect(p50).toBeLessThan(44);
      expect(p90).toBeGreaterThan(72);
      expect(p90).toBeLessThan(88);
      expect(p99).toBeGreaterThan(108);
      expect(p99).toBeLessThan(132);
      const cpu = await metric('us-east-1', scope, StandardMetric.CPU, 'Average', START, to);
      expect(cpu).toHaveLength(60);
      expect(mean(cpu)).toBeGreaterThan(28);
      expect(mean(cpu)).toBeLessThan(42);
      expect(mean(await metric('us-east-1', scope, StandardMetric.MEMORY, 'Average', START, to))).toBeCloseTo(50, -1);
      expect(mean(await metric('us-east-1', scope, StandardMetric.DISK, 'Average', START, to))).toBeCloseTo(40, -1);
      const requests = sum(await metric('us-east-1', scope, StandardMetric.REQUESTS, 'Sum', START, to));
      const faults = sum(await metric('us-east-1', scope, StandardMetric.FAULTS, 'Sum', START, to));
      const logErrors = sum(await metric('us-east-1', scope, StandardMetric.LOG_ERRORS, 'Sum', START, to));
      // Faults are logged, plus a small baseline: 0.1% + 0.05% of the requests, fractional.
      expect(faults / requests).toBeCloseTo(0.001, 5);
      expect(logErrors / requests).toBeCloseTo(0.0015, 5);
      expect(sum(await metric('us-east-1', scope, StandardMetric.UNHEALTHY_HOSTS, 'Maximum', START, to))).toBe(0);
    }
    // Pre-production stages too.
    expect(mean(await metric('us-west-2', 'gamma', StandardMetric.CPU, 'Average', START, to))).toBeGreaterThan(25);
    // Busier hosts work a little harder: us-east-1 (weight 10) vs sa-east-1 (weight 1).
    const busy = mean(await metric('us-east-1', 'fleet', StandardMetric.CPU, 'Average', START, to));
    const quiet = mean(await metric('sa-east-1', 'fleet', StandardMetric.CPU, 'Average', START, to));
    expect(busy).toBeGreaterThan(quiet);
    // Host snapshots carry the host's own last minute.
    const host = world.groupHosts('us-east-1', oneBoxGroupName(P))[0]!;
    expect(host.lastMinute).toMatchObject({ time: new Date(to - MIN).toISOString() });
    expect(host.lastMinute!.latencyP99 / host.lastMinute!.latencyP50).toBeCloseTo(3, 5);
  });

  it('raises every latency percentile proportionally under a latency behavior', async () => {
    world = makeWorld();
    await onOneBox('us-east-1', { kind: 'latency', p99Ms: 2400 });
    clock.tick(5 * MIN);
    const from = Date.now() - 3 * MIN;
    expect(await metric('us-east-1', 'onebox', StandardMetric.LATENCY, 'p99', from, Date.now())).toEqual([2400, 2400, 2400]);
    expect(await metric('us-east-1', 'onebox', StandardMetric.LATENCY, 'p90', from, Date.now())).toEqual([1600, 1600, 1600]);
    expect(await metric('us-east-1', 'onebox', StandardMetric.LATENCY, 'p50', from, Date.now())).toEqual([800, 800, 800]);
    for (const kind of [StandardAlarm.LATENCY_P50, StandardAlarm.LATENCY_P90, StandardAlarm.LATENCY_P99]) {
      expect(world.alarmState('us-east-1', oneBoxAlarmName(P, 'us-east-1', kind))).toBe('ALARM');
    }
  });
});

describe('World anomaly alarms', () => {
  it('fires onebox-anomaly-requests within 5 minutes of a one box that stops serving', async () => {
    world = makeWorld();
    await onOneBox('sa-east-1', { kind: 'traffic-drop', regions: ['sa-east-1'] });
    const installed = Date.now();
    clock.tick(5 * MIN);
    const name = anomalyAlarmName(P, 'sa-east-1', 'onebox', AnomalyMetric.REQUESTS);
    expect(world.alarmState('sa-east-1', name)).toBe('ALARM');
    expect(firstAlarmAt(name)! - installed).toBeLessThanOrEqual(5 * MIN);
    // Only the one box's alarms: the region's fleet still serves.
    expect(world.alarmState('sa-east-1', anomalyAlarmName(P, 'sa-east-1', 'fleet', AnomalyMetric.REQUESTS))).toBe('OK');
    expect(world.alarmState('sa-east-1', teamAggregateAlarmName('storefront', 'sa-east-1'))).toBe('OK');
  });

  it('catches a 600 ms p99 on the one box that no latency threshold sees', async () => {
    world = makeWorld();
    await onOneBox('us-east-1', { kind: 'latency', p99Ms: 600, regions: ['us-east-1'] });
    clock.tick(6 * MIN);
    const fleetP99 = await metric('us-east-1', 'fleet', StandardMetric.LATENCY, 'p99', Date.now() - 5 * MIN, Date.now());
    expect(Math.max(...fleetP99)).toBeLessThan(1000);
    expect(world.alarmState('us-east-1', anomalyAlarmName(P, 'us-east-1', 'onebox', AnomalyMetric.LATENCY))).toBe('ALARM');
    expect(alarmed()).toEqual([anomalyAlarmName(P, 'us-east-1', 'onebox', AnomalyMetric.LATENCY)]);
  });

  it('catches a 5% fault rate on the one box', async () => {
    world = makeWorld();
    await onOneBox('us-east-1', { kind: 'faults', rate: 0.05 });
    clock.tick(6 * MIN);
    expect(alarmed()).toEqual(
      expect.arrayContaining([oneBoxAlarmName(P, 'us-east-1', StandardAlarm.FAULTS), anomalyAlarmName(P, 'us-east-1', 'onebox', AnomalyMetric.FAULTS)]),
    );
    expect(world.alarmState('us-east-1', serviceAlarmName(P, 'us-east-1', StandardAlarm.FAULTS))).toBe('OK');
  });

  it('fires fleet-anomaly-requests when a whole region stops serving (not part of the team aggregate, as on AWS)', async () => {
    world = makeWorld();
    world.setBehavior(P, 'r1', { kind: 'traffic-drop', regions: ['ap-northeast-1'] });
    await deploy('ap-northeast-1', oneBoxGroupName(P), 'r1');
    for (const unit of ['apne1-az1', 'apne1-az2', 'apne1-az4']) await deploy('ap-northeast-1', unitGroupName(P, unit), 'r1', 'CodeDeployDefault.AllAtOnce');
    clock.tick(1_000 + 2 * MIN);
    const dropped = Date.now();
    clock.tick(5 * MIN);
    const name = anomalyAlarmName(P, 'ap-northeast-1', 'fleet', AnomalyMetric.REQUESTS);
    expect(world.alarmState('ap-northeast-1', name)).toBe('ALARM');
    expect(firstAlarmAt(name)! - dropped).toBeLessThanOrEqual(4 * MIN);
    expect(world.alarmState('ap-northeast-1', teamAggregateAlarmName('storefront', 'ap-northeast-1'))).toBe('OK');
    const out = (await world.cloudWatch('ap-northeast-1').send(new DescribeAlarmsCommand({ AlarmNames: [name] }))) as {
      MetricAlarms: Array<Record<string, unknown>>;
    };
    expect(out.MetricAlarms[0]).toMatchObject({ AlarmName: name, StateValue: 'ALARM', ThresholdMetricId: 'expr_1', ComparisonOperator: 'LessThanLowerThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    expect(out.MetricAlarms[0]!.StateReason).toMatch(/3 out of the last 3 datapoints \[0, 0, 0\]/);
    // The unit alarms see no datapoint (the fleet served fewer than 30 requests): the band
    // is what catches a whole region, not the units.
    for (const unit of unitAlarms('ap-northeast-1')) expect(world.alarmState('ap-northeast-1', unit)).toBe('OK');
  });

  it('fires the unit anomaly alarm within 5 minutes when one unit of a region without one-box stops serving, and no other alarm', async () => {
    world = makeWorld({ pipelines: [pipeline({ oneBox: false })] });
    clock.tick(10 * MIN);
    world.setBehavior(P, 'r1', { kind: 'traffic-drop', regions: ['us-east-1'] });
    await deploy('us-east-1', unitGroupName(P, 'use1-az2'), 'r1', DeploymentConfig.ONE_AT_A_TIME);
    // Six hosts one at a time: the unit is installing (no datapoint) until the last one is in.
    clock.tick(1_000 + 6 * 2 * MIN);
    const dropped = Date.now();
    expect(world.groupHosts('us-east-1', unitGroupName(P, 'use1-az2')).every((h) => !h.installing && h.revision === artifactKey(P, 'r1'))).toBe(true);
    clock.tick(5 * MIN);
    const [az1, az2, az4] = unitAlarms('us-east-1');
    expect(world.alarmState('us-east-1', az2!)).toBe('ALARM');
    expect(firstAlarmAt(az2!)! - dropped).toBeLessThanOrEqual(5 * MIN);
    expect(firstAlarmAt(az2!)! - dropped).toBeGreaterThan(0);
    expect(world.alarmState('us-east-1', az1!)).toBe('OK');
    expect(world.alarmState('us-east-1', az4!)).toBe('OK');
    // What it closes: the region lost a third of its requests, above the band's 25%, so
    // nothing else fires (requests routed to the silent boxes are failed, not Faults).
    const fleet = await metric('us-east-1', 'fleet', StandardMetric.REQUESTS, 'Sum', dropped, Date.now());
    const before = await metric('us-east-1', 'fleet', StandardMetric.REQUESTS, 'Sum', START, START + 10 * MIN);
    expect(mean(fleet) / mean(before)).toBeGreaterThan(0.6);
    expect(alarmed()).toEqual([az2]);
    const event = emissions.find((e) => e.kind === 'stream' && e.event.type === 'world.alarm' && e.event.alarm === az2);
    expect(event).toMatchObject({ event: { pipeline: P, region: 'us-east-1', unit: 'use1-az2', target: 'fleet', stage: 'wave-2', state: 'ALARM' } });
    const out = (await world.cloudWatch('us-east-1').send(new DescribeAlarmsCommand({ AlarmNames: [az2!] }))) as { MetricAlarms: Array<Record<string, unknown>> };
    expect(out.MetricAlarms[0]).toMatchObject({
      AlarmName: az2,
      StateValue: 'ALARM',
      Threshold: ANOMALY.UNIT_MIN_REQUEST_SHARE_PERCENT,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
    expect(out.MetricAlarms[0]!.StateReason).toMatch(/3 out of the last 3 datapoints \[0, 0, 0\]/);
    const share = (out.MetricAlarms[0]!.Metrics as Array<{ Id: string; Expression?: string }>).find((m) => m.Expression)!;
    // The deployed rule, from the alarm plan: host counts as constants (6 per unit, 18 in the region).
    expect(share.Expression).toBe(`IF(fleet >= ${ANOMALY.UNIT_MIN_FLEET_REQUESTS}, 100 * (FILL(unit, 0) / 6) / (fleet / 18))`);
    // Rolled back: the unit serves again and the alarm returns to OK.
    await deploy('us-east-1', unitGroupName(P, 'use1-az2'), 'initial', 'CodeDeployDefault.AllAtOnce');
    clock.tick(6 * MIN);
    expect(world.alarmState('us-east-1', az2!)).toBe('OK');
  });

  it('fires the unit anomaly alarm when a unit stops serving long after its install, the one box healthy', async () => {
    world = makeWorld();
    // Past the one-box bake: only a unit runs the change, and it goes silent after 30 minutes.
    world.setBehavior(P, 'r1', { kind: 'traffic-drop', regions: ['sa-east-1'], afterSeconds: 1800 });
    await deploy('sa-east-1', unitGroupName(P, 'sae1-az3'), 'r1', DeploymentConfig.ROLLING);
    clock.tick(1_000 + 3 * 2 * MIN);
    const installed = Date.now();
    // The last batch went in at most a minute ago: every host is silent 30 minutes after its own install.
    clock.tick(30 * MIN);
    const [az1, az2, az3] = unitAlarms('sa-east-1');
    expect(world.alarmState('sa-east-1', az3!)).toBe('OK');
    clock.tick(5 * MIN);
    expect(world.alarmState('sa-east-1', az3!)).toBe('ALARM');
    expect(firstAlarmAt(az3!)! - (installed + 30 * MIN)).toBeLessThanOrEqual(5 * MIN);
    expect(alarmed()).toEqual([az3]);
    expect(world.alarmState('sa-east-1', az1!)).toBe('OK');
    expect(world.alarmState('sa-east-1', az2!)).toBe('OK');
  });

  it('fires every unit alarm and the band when all units stop serving but the one box still serves', async () => {
    world = makeWorld();
    world.setBehavior(P, 'r1', { kind: 'traffic-drop', regions: ['ap-northeast-1'] });
    for (const unit of ['apne1-az1', 'apne1-az2', 'apne1-az4']) await deploy('ap-northeast-1', unitGroupName(P, unit), 'r1', 'CodeDeployDefault.AllAtOnce');
    clock.tick(1_000 + 2 * MIN);
    const dropped = Date.now();
    clock.tick(5 * MIN);
    for (const name of [...unitAlarms('ap-northeast-1'), anomalyAlarmName(P, 'ap-northeast-1', 'fleet', AnomalyMetric.REQUESTS)]) {
      expect(world.alarmState('ap-northeast-1', name), name).toBe('ALARM');
      expect(firstAlarmAt(name)! - dropped).toBeLessThanOrEqual(5 * MIN);
    }
  });

  // The deployed rules (core/alarms) count a host out of the load balancer as serving nothing
  // (FILL(onebox, 0), fixed host counts, 3 of 3); the world once skipped install minutes, a
  // rule of its own that AWS does not have. One install (two minutes out) stays below 3 of 3.
  it('does not fire onebox-anomaly-requests for one install of the one box, even at night; does when it stays out three minutes', async () => {
    // 02:00 in Sao Paulo: a thin region near its trough.
    clock.setSystemTime(Date.parse('2026-12-01T05:00:00Z'));
    world = makeWorld();
    const name = anomalyAlarmName(P, 'sa-east-1', 'onebox', AnomalyMetric.REQUESTS);
    for (let i = 0; i < 3; i++) {
      await deploy('sa-east-1', oneBoxGroupName(P), `r${i}`);
      clock.tick(20 * MIN);
    }
    expect(await metric('sa-east-1', 'onebox', 'InstallingHosts', 'Maximum', Date.now() - 60 * MIN, Date.now())).toContain(1);
    expect(alarmed()).toEqual([]);
    // Back to back: out of the load balancer for four minutes, as on AWS.
    await deploy('sa-east-1', oneBoxGroupName(P), 'r3');
    clock.tick(2 * MIN + 5_000);
    await deploy('sa-east-1', oneBoxGroupName(P), 'r4');
    clock.tick(2 * MIN + 5_000);
    expect(alarmed()).toEqual([name]);
  });

  it('does not fire a unit anomaly alarm for one all-at-once install of the whole unit, even at night; does when it stays out three minutes', async () => {
    // 02:00 in Sao Paulo; all at once: the unit serves nothing for two minutes.
    clock.setSystemTime(Date.parse('2026-12-01T05:00:00Z'));
    world = makeWorld({ pipelines: [pipeline({ oneBox: false, hostsPerUnit: 2 })] });
    const name = unitAnomalyAlarmName(P, 'sa-east-1', 'sae1-az1');
    for (let i = 0; i < 3; i++) {
      await deploy('sa-east-1', unitGroupName(P, 'sae1-az1'), `r${i}`, 'CodeDeployDefault.AllAtOnce');
      clock.tick(20 * MIN);
    }
    expect(await metric('sa-east-1', 'sae1-az1', StandardMetric.REQUESTS, 'Sum', Date.now() - 60 * MIN, Date.now())).toContain(0);
    expect(alarmed()).toEqual([]);
    await deploy('sa-east-1', unitGroupName(P, 'sae1-az1'), 'r3', 'CodeDeployDefault.AllAtOnce');
    clock.tick(2 * MIN + 5_000);
    await deploy('sa-east-1', unitGroupName(P, 'sae1-az1'), 'r4', 'CodeDeployDefault.AllAtOnce');
    clock.tick(2 * MIN + 5_000);
    expect(alarmed()).toEqual([name]);
  });

  it('describes every alarm of a region with CloudWatch fields', async () => {
    world = makeWorld();
    clock.tick(5 * MIN);
    const out = (await world.cloudWatch('us-east-1').send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${P}-us-east-1-` }))) as {
      MetricAlarms: Array<Record<string, unknown>>;
    };
    const names = out.MetricAlarms.map((a) => a.AlarmName);
    for (const kind of Object.values(StandardAlarm)) {
      expect(names).toContain(serviceAlarmName(P, 'us-east-1', kind));
      expect(names).toContain(oneBoxAlarmName(P, 'us-east-1', kind));
    }
    for (const m of Object.values(AnomalyMetric)) expect(names).toContain(anomalyAlarmName(P, 'us-east-1', 'onebox', m));
    expect(names).toContain(anomalyAlarmName(P, 'us-east-1', 'fleet', AnomalyMetric.REQUESTS));
    for (const unit of unitAlarms('us-east-1')) expect(names).toContain(unit);
    expect(names).toHaveLength(2 * 9 + 4 + 3);
    for (const a of out.MetricAlarms) {
      expect(a).toMatchObject({ StateValue: 'OK', EvaluationPeriods: expect.any(Number), DatapointsToAlarm: expect.any(Number), ComparisonOperator: expect.any(String) });
      expect(a.Metrics ?? a.MetricName).toBeDefined();
    }
    const p50 = out.MetricAlarms.find((a) => a.AlarmName === serviceAlarmName(P, 'us-east-1', StandardAlarm.LATENCY_P50))!;
    expect(p50).toMatchObject({ Threshold: 400, ExtendedStatistic: 'p50', TreatMissingData: 'notBreaching', MetricName: 'Latency' });
    const health = out.MetricAlarms.find((a) => a.AlarmName === serviceAlarmName(P, 'us-east-1', StandardAlarm.HEALTH))!;
    // As deployed: missing health data is missing (INSUFFICIENT_DATA, on which handsoff fails closed), not breaching.
    expect(health).toMatchObject({ Threshold: 1, TreatMissingData: 'missing', ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const latency = out.MetricAlarms.find((a) => a.AlarmName === anomalyAlarmName(P, 'us-east-1', 'onebox', AnomalyMetric.LATENCY))!;
    expect(latency).toMatchObject({ EvaluationPeriods: 5, DatapointsToAlarm: 3 });
    // The team aggregate watches every fleet alarm of the region.
    const team = (await world.cloudWatch('us-east-1').send(
      new DescribeAlarmsCommand({ AlarmNames: [teamAggregateAlarmName('storefront', 'us-east-1')], AlarmTypes: ['CompositeAlarm'] }),
    )) as { CompositeAlarms: Array<{ AlarmRule: string }> };
    for (const kind of Object.values(StandardAlarm)) expect(team.CompositeAlarms[0]!.AlarmRule).toContain(`ALARM("${serviceAlarmName(P, 'us-east-1', kind)}")`);
    expect(team.CompositeAlarms[0]!.AlarmRule).not.toContain('onebox');
    // Nor the unit alarms: a unit is the region steps' business, not the team's.
    expect(team.CompositeAlarms[0]!.AlarmRule).not.toContain('-anomaly-');
    const unit = out.MetricAlarms.find((a) => a.AlarmName === unitAnomalyAlarmName(P, 'us-east-1', 'use1-az1'))!;
    expect(unit).toMatchObject({ Threshold: 20, EvaluationPeriods: 3, DatapointsToAlarm: 3, TreatMissingData: 'notBreaching', ComparisonOperator: 'LessThanThreshold' });
    expect((unit.Metrics as Array<{ Id: string }>).map((m) => m.Id)).toEqual(['expr_1', 'unit', 'fleet']);
  });

  it('builds no one-box group or one-box alarms for a pipeline without one-box', async () => {
    world = makeWorld({ pipelines: [pipeline({ oneBox: false })] });
    expect(() => world.groupHosts('us-east-1', oneBoxGroupName(P))).toThrow(/no deployment group/);
    expect(world.alarmState('us-east-1', oneBoxAlarmName(P, 'us-east-1', StandardAlarm.FAULTS))).toBeUndefined();
    expect(world.alarmState('us-east-1', anomalyAlarmName(P, 'us-east-1', 'fleet', AnomalyMetric.REQUESTS))).toBe('OK');
    clock.tick(10 * MIN);
    // The units take all the traffic.
    expect(sum(await metric('us-east-1', 'fleet', StandardMetric.REQUESTS, 'Sum', START, Date.now()))).toBe(
      sum(await metric('us-east-1', 'use1-az1', StandardMetric.REQUESTS, 'Sum', START, Date.now())) +
        sum(await metric('us-east-1', 'use1-az2', StandardMetric.REQUESTS, 'Sum', START, Date.now())) +
        sum(await metric('us-east-1', 'use1-az4', StandardMetric.REQUESTS, 'Sum', START, Date.now())),
    );
  });
});

describe('World.dropEvents', () => {
  it('loses alarm emissions until the given time; state and ground truth still change', async () => {
    world = makeWorld();
    world.dropEvents({ kind: 'alarm', untilMs: START + 30 * MIN });
    await onOneBox('us-east-1', { kind: 'faults', rate: 0.2, regions: ['us-east-1'] });
    clock.tick(5 * MIN);
    const alarm = oneBoxAlarmName(P, 'us-east-1', StandardAlarm.FAULTS);
    expect(world.alarmState('us-east-1', alarm)).toBe('ALARM');
    expect(emissions.filter((e) => e.kind === 'alarm')).toEqual([]);
    expect(world.droppedEvents()).toBeGreaterThan(0);
    const truth = emissions.flatMap((e) => (e.kind === 'stream' && e.event.type === 'world.alarm' ? [e.event] : []));
    expect(truth).toContainEqual(expect.objectContaining({ alarm, state: 'ALARM', dropped: true }));
    // CodeDeploy events were not dropped.
    expect(emissions.some((e) => e.kind === 'codedeploy' && e.detail.state === 'SUCCESS')).toBe(true);
    // After the time, emissions flow again: rolling back returns the alarm to OK, delivered.
    clock.tick(START + 30 * MIN - Date.now());
    await deploy('us-east-1', oneBoxGroupName(P), 'initial');
    clock.tick(30 * MIN);
    expect(emissions).toContainEqual(expect.objectContaining({ kind: 'alarm', detail: expect.objectContaining({ alarmName: alarm, state: expect.objectContaining({ value: 'OK' }) }) }));
  });

  it('loses CodeDeploy emissions of one region only, when asked', async () => {
    world = makeWorld();
    world.dropEvents({ kind: 'codedeploy', untilMs: START + 10 * MIN, region: 'us-east-1' });
    await deploy('us-east-1', oneBoxGroupName(P), 'r1');
    await deploy('sa-east-1', oneBoxGroupName(P), 'r1');
    clock.tick(5 * MIN);
    const delivered = emissions.flatMap((e) => (e.kind === 'codedeploy' ? [`${e.detail.region} ${e.detail.state}`] : []));
    expect(delivered).toEqual(['sa-east-1 START', 'sa-east-1 SUCCESS']);
    const truth = emissions.flatMap((e) => (e.kind === 'stream' && e.event.type === 'world.deployment' && e.event.region === 'us-east-1' ? [e.event] : []));
    expect(truth.map((e) => [e.status, e.dropped])).toEqual([['Created', undefined], ['InProgress', true], ['Succeeded', true]]);
    clock.tick(10 * MIN);
    await deploy('us-east-1', oneBoxGroupName(P), 'r2');
    clock.tick(5 * MIN);
    expect(emissions.filter((e) => e.kind === 'codedeploy' && e.detail.region === 'us-east-1')).toHaveLength(2);
    expect(() => world.dropEvents({ kind: 'nothing' as 'alarm', untilMs: 0 })).toThrow(/kind/);
  });
});

describe('World false positives', () => {
  it('raises no alarm in three weeks of healthy deployments of two pipelines (5 and 30 regions)', async () => {
    const regions = bigCatalog(30);
    const wide = pipeline({ waves: [{ name: 'wave-1', regions: regions.map(resolved), bakeSeconds: 3600 }], preProdRegion: 'xx-region-1' }, regions);
    // A thin pipeline: the quietest regions (traffic weight 1), two hosts per unit.
    const thinRegions = [regions[0]!, regions[7]!, regions[14]!, regions[21]!, regions[1]!];
    const thin = pipeline(
      { name: 'ledger-api', service: 'LedgerApi', hostsPerUnit: 2, waves: [{ name: 'wave-1', regions: thinRegions.map(resolved), bakeSeconds: 3600 }], preProdRegion: 'xx-region-1' },
      thinRegions,
    );
    world = makeWorld({ pipelines: [wide, thin], regions });
    const failures: unknown[] = [];
    const create = (p: ResolvedPipeline, region: string, group: string, revision: string, config?: string) =>
      void deploy(region, group, revision, config, p.name).catch((e: unknown) => failures.push(e));
    // Every day, every group of both pipelines gets a new healthy revision: pre-production,
    // then each region at its own hour (so installs meet every hour of the daily pattern):
    // the one box first, its units 20 minutes later, rolling; every fourth day a fast
    // rollback-style redeploy of the units too, and every fourth day (another one) a unit
    // redeployed all at once (the whole unit out of the load balancer: no unit datapoint).
    for (let day = 0; day < 21; day++) {
      for (const p of [wide, thin]) {
        const revision = `d${day}`;
        setTimeout(() => {
          for (const stage of p.preProd) create(p, p.preProdRegion, preProdGroupName(p.name, stage), revision, DeploymentConfig.ROLLING);
        }, day * DAY + 10 * MIN);
        p.waves[0]!.regions.forEach((r, i) => {
          const at = day * DAY + ((i * 53 + day * 97) % (24 * 60)) * MIN + HOUR;
          setTimeout(() => create(p, r.region, oneBoxGroupName(p.name), revision), at);
          setTimeout(() => {
            for (const unit of r.units) create(p, r.region, unitGroupName(p.name, unit), revision, DeploymentConfig.ROLLING);
          }, at + 20 * MIN);
          if (day % 4 === 3) {
            setTimeout(() => {
              for (const unit of r.units) create(p, r.region, unitGroupName(p.name, unit), `${revision}-again`, DeploymentConfig.FAST_ROLLBACK);
            }, at + 60 * MIN);
          }
          if (day % 4 === 1) {
            setTimeout(() => create(p, r.region, unitGroupName(p.name, r.units[(day + i) % r.units.length]!), `${revision}-all`, 'CodeDeployDefault.AllAtOnce'), at + 90 * MIN);
          }
        });
      }
    }
    const cpu = process.cpuUsage();
    const wall = performance.now();
    clock.tick(21 * DAY);
    const used = process.cpuUsage(cpu);
    const seconds = (performance.now() - wall) / 1000;
    process.stderr.write(
      `world false-positive run: 21 days, 35 regions, 2 pipelines: ${seconds.toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU\n`,
    );

    expect(failures).toEqual([]);
    const deployments = emissions.filter((e) => e.kind === 'codedeploy' && e.detail.state === 'SUCCESS').length;
    // 21 days x (wide: 30 x 4 + 3, thin: 5 x 4 + 3) groups, plus the extra unit redeploys.
    expect(deployments).toBeGreaterThan(21 * (123 + 23));
    expect(emissions.filter((e) => e.kind === 'codedeploy' && e.detail.state !== 'START' && e.detail.state !== 'SUCCESS')).toEqual([]);
    expect(alarmed()).toEqual([]);
    expect(emissions.filter((e) => e.kind === 'alarm')).toEqual([]);

    // The unit alarms were there all along, and their datapoints (the plan's expression: host
    // counts as constants) stayed far from the threshold outside installs: the lowest unit
    // share of the last three days (what the series keep) over every unit.
    let units = 0;
    let lowest = Number.POSITIVE_INFINITY;
    let evaluated = 0;
    for (const p of [wide, thin]) {
      for (const r of p.waves[0]!.regions) {
        const fleetRequests = await metric(r.region, 'fleet', StandardMetric.REQUESTS, 'Sum', Date.now() - 3 * DAY, Date.now(), p.service);
        const fleetHosts = r.units.length * p.hostsPerUnit;
        for (const unit of r.units) {
          expect(world.alarmState(r.region, unitAnomalyAlarmName(p.name, r.region, unit))).toBe('OK');
          units++;
          const [requests, installing] = await Promise.all(
            [[StandardMetric.REQUESTS, 'Sum'], ['InstallingHosts', 'Maximum']].map(([m, stat]) =>
              metric(r.region, unit, m!, stat!, Date.now() - 3 * DAY, Date.now(), p.service),
            ),
          );
          for (let i = 0; i < requests!.length; i++) {
            if (installing![i] !== 0 || fleetRequests[i]! < ANOMALY.UNIT_MIN_FLEET_REQUESTS) continue;
            evaluated++;
            lowest = Math.min(lowest, (100 * (requests![i]! / p.hostsPerUnit)) / (fleetRequests[i]! / fleetHosts));
          }
        }
      }
    }
    process.stderr.write(`unit anomaly alarms: ${units}, ${evaluated} datapoints of the last 3 days, lowest unit share ${lowest.toFixed(1)}% (threshold ${ANOMALY.UNIT_MIN_REQUEST_SHARE_PERCENT}%)\n`);
    expect(units).toBe(35 * 3);
    expect(evaluated).toBeGreaterThan(units * 3 * 24 * 60 * 0.9);
    expect(lowest).toBeGreaterThan(2 * ANOMALY.UNIT_MIN_REQUEST_SHARE_PERCENT);
  });
});
