import FakeTimers from '@sinonjs/fake-timers';
import {
  CreateDeploymentCommand,
  DeploymentGroupDoesNotExistException,
  DeploymentLimitExceededException,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  anomalyAlarmName,
  artifactKey,
  companyEventAlarmName,
  DeploymentConfig,
  METRICS_NAMESPACE,
  oneBoxAlarmName,
  oneBoxGroupName,
  preProdGroupName,
  serviceAlarmName,
  StandardAlarm,
  StandardMetric,
  teamAggregateAlarmName,
  unitGroupName,
} from '../../core/naming.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { World, dailyFactor, type WorldEmission, type Behavior } from '../../sim/world/index.ts';
import { catalog, pipeline, regionCopy } from './world-fixtures.ts';

const START = Date.parse('2026-11-30T08:00:00Z');
const P = 'storefront-api';
const MIN = 60_000;

let clock: ReturnType<typeof FakeTimers.install>;
let emissions: WorldEmission[];
let world: World;

const makeWorld = (opts: { seed?: number; pipelines?: ResolvedPipeline[] } = {}): World => {
  const w = new World({
    pipelines: opts.pipelines ?? [pipeline()],
    regions: catalog,
    emit: (e) => emissions.push(e),
    seed: opts.seed ?? 7,
  });
  w.start();
  return w;
};

const deploy = async (
  region: string,
  group: string,
  revision: string,
  config?: string,
): Promise<string> => {
  const out = (await world.codeDeploy(region).send(
    new CreateDeploymentCommand({
      applicationName: P,
      deploymentGroupName: group,
      revision: { revisionType: 'S3', s3Location: regionCopy(world, region, artifactKey(P, revision)) },
      ...(config ? { deploymentConfigName: config } : {}),
    }),
  )) as { deploymentId: string };
  return out.deploymentId;
};

const status = async (region: string, deploymentId: string): Promise<string> => {
  const out = (await world.codeDeploy(region).send(new GetDeploymentCommand({ deploymentId }))) as { deploymentInfo: { status: string } };
  return out.deploymentInfo.status;
};

const sumRequests = async (region: string, scope: string, from: number, to: number, period = 60): Promise<{ values: number[]; sum: number }> => {
  const out = (await world.cloudWatch(region).send(
    new GetMetricDataCommand({
      StartTime: new Date(from),
      EndTime: new Date(to),
      MetricDataQueries: [
        {
          Id: 'requests',
          MetricStat: {
            Metric: {
              Namespace: METRICS_NAMESPACE,
              MetricName: StandardMetric.REQUESTS,
              Dimensions: [
                { Name: 'Service', Value: 'StorefrontApi' },
                { Name: 'Scope', Value: scope },
              ],
            },
            Period: period,
            Stat: 'Sum',
          },
        },
      ],
    }),
  )) as { MetricDataResults: Array<{ Values: number[]; Timestamps: Date[]; StatusCode: string }> };
  const values = out.MetricDataResults[0]!.Values;
  return { values, sum: values.reduce((a, b) => a + b, 0) };
};

const streamOf = (type: string) =>
  emissions.flatMap((e) => (e.kind === 'stream' && e.event.type === type ? [e.event] : []));

beforeEach(() => {
  clock = FakeTimers.install({ now: START, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  emissions = [];
});

afterEach(() => {
  world?.stop();
  clock.uninstall();
});

describe('World deployments', () => {
  it('starts every group on the baseline revision with a succeeded baseline deployment', async () => {
    world = makeWorld();
    const out = (await world.codeDeploy('us-east-1').send(
      new GetDeploymentGroupCommand({ applicationName: P, deploymentGroupName: unitGroupName(P, 'use1-az1') }),
    )) as { deploymentGroupInfo: { lastSuccessfulDeployment: { deploymentId: string; status: string } } };
    expect(out.deploymentGroupInfo.lastSuccessfulDeployment.status).toBe('Succeeded');
    expect(await status('us-east-1', out.deploymentGroupInfo.lastSuccessfulDeployment.deploymentId)).toBe('Succeeded');
    expect(world.groupHosts('us-east-1', unitGroupName(P, 'use1-az1')).map((h) => h.revision)).toEqual(Array(6).fill(artifactKey(P, 'initial')));
    expect(world.groupHosts('us-west-2', preProdGroupName(P, 'gamma'))).toHaveLength(6);
    expect(world.groupHosts('us-east-1', oneBoxGroupName(P))).toHaveLength(1);
  });

  it('updates a unit in batches, never more than a third of its hosts out', async () => {
    // Prepare
    world = makeWorld();
    const group = unitGroupName(P, 'use1-az1');
    // Act
    const id = await deploy('us-east-1', group, 'r1', DeploymentConfig.ROLLING);
    expect(id).toMatch(/^d-[0-9A-Z]{9}$/);
    let maxOut = 0;
    for (let s = 0; s < 10 * 60; s += 10) {
      clock.tick(10_000);
      maxOut = Math.max(maxOut, world.groupHosts('us-east-1', group).filter((h) => h.installing).length);
    }
    // Assess
    expect(maxOut).toBe(2);
    expect(await status('us-east-1', id)).toBe('Succeeded');
    expect(world.groupHosts('us-east-1', group).every((h) => h.revision === artifactKey(P, 'r1'))).toBe(true);
    expect(world.activeDeployments()).toBe(0);
    const info = (await world.codeDeploy('us-east-1').send(new GetDeploymentCommand({ deploymentId: id }))) as {
      deploymentInfo: { revision: { s3Location: { key: string } }; previousRevision: { s3Location: { key: string } } };
    };
    expect(info.deploymentInfo.revision.s3Location.key).toBe(artifactKey(P, 'r1'));
    expect(info.deploymentInfo.previousRevision.s3Location.key).toBe(artifactKey(P, 'initial'));
    const cd = emissions.flatMap((e) => (e.kind === 'codedeploy' ? [e.detail] : []));
    expect(cd).toEqual([
      { region: 'us-east-1', application: P, deploymentGroup: group, deploymentId: id, state: 'START' },
      { region: 'us-east-1', application: P, deploymentGroup: group, deploymentId: id, state: 'SUCCESS' },
    ]);
    expect(streamOf('world.deployment').map((e) => e.status)).toEqual(['Created', 'InProgress', 'Succeeded']);
    expect(streamOf('world.deployment')[0]).toMatchObject({ pipeline: P, region: 'us-east-1', unit: 'use1-az1', target: 'fleet', stage: 'wave-2', deploymentId: id, revision: 'r1' });
    // Three batches of two hosts, two minutes each.
    const succeeded = streamOf('world.deployment')[2]!;
    expect(Date.parse(succeeded.time) - START).toBe(1_000 + 3 * 2 * MIN);
    const group2 = (await world.codeDeploy('us-east-1').send(
      new GetDeploymentGroupCommand({ applicationName: P, deploymentGroupName: group }),
    )) as { deploymentGroupInfo: { lastSuccessfulDeployment: { deploymentId: string } } };
    expect(group2.deploymentGroupInfo.lastSuccessfulDeployment.deploymentId).toBe(id);
  });

  it('holds one deployment per group: a second one throws DeploymentLimitExceededException', async () => {
    world = makeWorld();
    const group = unitGroupName(P, 'use1-az2');
    const first = await deploy('us-east-1', group, 'r1');
    await expect(deploy('us-east-1', group, 'r2')).rejects.toBeInstanceOf(DeploymentLimitExceededException);
    expect(world.activeDeployments()).toBe(1);
    // Another group is free.
    await deploy('us-east-1', oneBoxGroupName(P), 'r2');
    clock.tick(15 * MIN);
    expect(await status('us-east-1', first)).toBe('Succeeded');
    await expect(deploy('us-east-1', group, 'r2')).resolves.toMatch(/^d-/);
    await expect(deploy('us-east-1', 'no-such-group', 'r2')).rejects.toBeInstanceOf(DeploymentGroupDoesNotExistException);
    const listed = (await world.codeDeploy('us-east-1').send(
      new ListDeploymentsCommand({ applicationName: P, deploymentGroupName: group, includeOnlyStatuses: ['Succeeded'] }),
    )) as { deployments: string[] };
    expect(listed.deployments).toContain(first);
    expect(listed.deployments).toHaveLength(2); // baseline + first
  });

  it('fails the deployment on the first host that crashes, leaving the others untouched', async () => {
    world = makeWorld();
    world.setBehavior(P, 'bad', { kind: 'crash' });
    const group = unitGroupName(P, 'use1-az1');
    const id = await deploy('us-east-1', group, 'bad', DeploymentConfig.ONE_AT_A_TIME);
    clock.tick(1_000 + 2 * MIN);
    expect(await status('us-east-1', id)).toBe('Failed');
    const hosts = world.groupHosts('us-east-1', group);
    expect(hosts.filter((h) => h.revision === artifactKey(P, 'bad'))).toHaveLength(1);
    expect(hosts.filter((h) => !h.healthy)).toHaveLength(1);
    expect(emissions.some((e) => e.kind === 'codedeploy' && e.detail.state === 'FAILURE' && e.detail.deploymentId === id)).toBe(true);
    const info = (await world.codeDeploy('us-east-1').send(new GetDeploymentCommand({ deploymentId: id }))) as {
      deploymentInfo: { errorInformation: { code: string }; deploymentOverview: { Failed: number; Skipped: number } };
    };
    expect(info.deploymentInfo.errorInformation.code).toBe('HEALTH_CONSTRAINTS');
    expect(info.deploymentInfo.deploymentOverview).toMatchObject({ Failed: 1, Skipped: 5 });
    // The crashed host is counted unhealthy: the health alarm follows. Until the load
    // balancer's health checks take it out, what it got failed.
    clock.tick(4 * MIN);
    expect(world.failedRequests(P, 'bad')).toBeGreaterThan(0);
    expect(world.alarmState('us-east-1', serviceAlarmName(P, 'us-east-1', StandardAlarm.HEALTH))).toBe('ALARM');
    // Rolling back restores it.
    await deploy('us-east-1', group, 'initial', DeploymentConfig.FAST_ROLLBACK);
    clock.tick(10 * MIN);
    expect(world.groupHosts('us-east-1', group).every((h) => h.healthy && h.revision === artifactKey(P, 'initial'))).toBe(true);
    expect(world.alarmState('us-east-1', serviceAlarmName(P, 'us-east-1', StandardAlarm.HEALTH))).toBe('OK');
  });

  it('stops between batches: updated hosts keep the new revision', async () => {
    world = makeWorld();
    const group = unitGroupName(P, 'use1-az1');
    const id = await deploy('us-east-1', group, 'r1', DeploymentConfig.ROLLING);
    clock.tick(30_000);
    const out = (await world.codeDeploy('us-east-1').send(new StopDeploymentCommand({ deploymentId: id }))) as { status: string };
    expect(out.status).toBe('Pending');
    expect(await status('us-east-1', id)).toBe('InProgress');
    clock.tick(2 * MIN);
    expect(await status('us-east-1', id)).toBe('Stopped');
    expect(world.groupHosts('us-east-1', group).filter((h) => h.revision === artifactKey(P, 'r1'))).toHaveLength(2);
    expect(emissions.some((e) => e.kind === 'codedeploy' && e.detail.state === 'STOP')).toBe(true);
    expect(world.activeDeployments()).toBe(0);
  });
});

describe('World alarms', () => {
  it('fires the one-box alarm within 3 minutes of a faulty one box while the fleet alarm stays OK', async () => {
    world = makeWorld();
    // The one box serves 1/19 of us-east-1 (18 unit hosts + 1): 10% faults there is ~0.6% region-wide.
    world.setBehavior(P, 'r1', { kind: 'faults', rate: 0.1 });
    await deploy('us-east-1', oneBoxGroupName(P), 'r1');
    clock.tick(1_000 + 2 * MIN); // installed
    clock.tick(3 * MIN);
    const oneBox = oneBoxAlarmName(P, 'us-east-1', StandardAlarm.FAULTS);
    const fleet = serviceAlarmName(P, 'us-east-1', StandardAlarm.FAULTS);
    expect(world.alarmState('us-east-1', oneBox)).toBe('ALARM');
    expect(world.hasAlarmed(oneBox)).toBe(true);
    clock.tick(30 * MIN);
    expect(world.alarmState('us-east-1', fleet)).toBe('OK');
    expect(world.hasAlarmed(fleet)).toBe(false);
    expect(world.alarmState('us-east-1', teamAggregateAlarmName('storefront', 'us-east-1'))).toBe('OK');
    // Every alarm that fired is a one-box alarm: faults, log errors (faults are logged) and the one-box-vs-fleet fault anomaly.
    const alarmEvents = streamOf('world.alarm');
    expect(alarmEvents.map((e) => e.alarm).sort()).toEqual(
      [oneBox, oneBoxAlarmName(P, 'us-east-1', StandardAlarm.LOG_ERRORS), anomalyAlarmName(P, 'us-east-1', 'onebox', 'faults')].sort(),
    );
    expect(alarmEvents[0]).toEqual(expect.objectContaining({ alarm: oneBox, region: 'us-east-1', state: 'ALARM', pipeline: P, target: 'onebox' }));
    expect(emissions).toContainEqual({
      kind: 'alarm',
      region: 'us-east-1',
      detail: expect.objectContaining({ alarmName: oneBox, state: expect.objectContaining({ value: 'ALARM' }), previousState: { value: 'OK' } }),
    });
  });

  it('fires the team composite on a region-wide fault, and DescribeAlarms returns composites only when asked', async () => {
    world = makeWorld();
    world.setBehavior(P, 'r1', { kind: 'faults', rate: 0.2, regions: ['us-east-1'] });
    for (const unit of ['use1-az1', 'use1-az2', 'use1-az4']) {
      await deploy('us-east-1', unitGroupName(P, unit), 'r1', 'CodeDeployDefault.AllAtOnce');
    }
    clock.tick(1_000 + 2 * MIN + 3 * MIN);
    const team = teamAggregateAlarmName('storefront', 'us-east-1');
    expect(world.alarmState('us-east-1', serviceAlarmName(P, 'us-east-1', StandardAlarm.FAULTS))).toBe('ALARM');
    expect(world.alarmState('us-east-1', team)).toBe('ALARM');
    expect(world.alarmState('us-west-2', teamAggregateAlarmName('storefront', 'us-west-2'))).toBe('OK');

    const names = [team, serviceAlarmName(P, 'us-east-1', StandardAlarm.FAULTS), 'not-an-alarm'];
    const plain = (await world.cloudWatch('us-east-1').send(new DescribeAlarmsCommand({ AlarmNames: names }))) as {
      MetricAlarms: Array<{ AlarmName: string; StateValue: string }>;
      CompositeAlarms: unknown[];
    };
    expect(plain.MetricAlarms.map((a) => [a.AlarmName, a.StateValue])).toEqual([[names[1], 'ALARM']]);
    expect(plain.CompositeAlarms).toEqual([]);
    const both = (await world.cloudWatch('us-east-1').send(
      new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    )) as { CompositeAlarms: Array<{ AlarmName: string; StateValue: string; AlarmRule: string }> };
    expect(both.CompositeAlarms).toEqual([expect.objectContaining({ AlarmName: team, StateValue: 'ALARM' })]);
    expect(both.CompositeAlarms[0]!.AlarmRule).toContain(serviceAlarmName(P, 'us-east-1', StandardAlarm.FAULTS));
    expect(streamOf('world.alarm')).toContainEqual(expect.objectContaining({ alarm: team, state: 'ALARM', team: 'storefront' }));
  });

  it('lets the scenario force the team alarm and set the company event', async () => {
    world = makeWorld();
    const team = teamAggregateAlarmName('storefront', 'sa-east-1');
    world.forceTeamAlarm('storefront', 'sa-east-1', 'ALARM');
    expect(world.alarmState('sa-east-1', team)).toBe('ALARM');
    clock.tick(5 * MIN);
    expect(world.alarmState('sa-east-1', team)).toBe('ALARM');
    world.forceTeamAlarm('storefront', 'sa-east-1', undefined);
    expect(world.alarmState('sa-east-1', team)).toBe('OK');
    world.setCompanyEvent('ALARM');
    for (const r of catalog) expect(world.alarmState(r.code, companyEventAlarmName(r.code))).toBe('ALARM');
    expect(() => world.forceTeamAlarm('nobody', 'sa-east-1', 'ALARM')).toThrow(/team 'nobody'/);
  });

  it('applies stage:region behaviors to that pre-production stage only', async () => {
    world = makeWorld();
    world.setBehavior(P, 'r1', { kind: 'latency', p99Ms: 2500, regions: ['gamma:us-west-2'] });
    await deploy('us-west-2', preProdGroupName(P, 'beta'), 'r1', 'CodeDeployDefault.AllAtOnce');
    await deploy('us-west-2', preProdGroupName(P, 'gamma'), 'r1', 'CodeDeployDefault.AllAtOnce');
    clock.tick(1_000 + 2 * MIN + 3 * MIN);
    expect(world.alarmState('us-west-2', serviceAlarmName(P, 'gamma', StandardAlarm.LATENCY_P99))).toBe('ALARM');
    expect(world.alarmState('us-west-2', serviceAlarmName(P, 'beta', StandardAlarm.LATENCY_P99))).toBe('OK');
    expect(world.failedRequests(P, 'r1')).toBe(0); // slow is not failed
  });
});

describe('World traffic and metrics', () => {
  it('GetMetricData sums requests over an interval, the fleet being the one box plus the units', async () => {
    world = makeWorld();
    clock.tick(60 * MIN);
    const from = START;
    const to = START + 60 * MIN;
    const perMinute = await sumRequests('us-east-1', 'fleet', from, to);
    expect(perMinute.values).toHaveLength(60);
    const hourly = await sumRequests('us-east-1', 'fleet', from, to, 3600);
    expect(hourly.values).toHaveLength(1);
    expect(hourly.sum).toBe(perMinute.sum);
    let parts = (await sumRequests('us-east-1', 'onebox', from, to, 3600)).sum;
    for (const unit of ['use1-az1', 'use1-az2', 'use1-az4']) parts += (await sumRequests('us-east-1', unit, from, to, 3600)).sum;
    expect(parts).toBe(hourly.sum);
    // 03:00-04:00 in New York: near the trough of 2000 x 10 per minute.
    expect(hourly.sum / 60).toBeGreaterThan(0.25 * 20_000);
    expect(hourly.sum / 60).toBeLessThan(0.4 * 20_000);
    // The one box gets its 1/19 share, under the 10% cap.
    const oneBox = (await sumRequests('us-east-1', 'onebox', from, to, 3600)).sum;
    expect(oneBox / hourly.sum).toBeCloseTo(1 / 19, 2);
    // Pre-production canaries: about 200 a minute; in gamma, a tenth of them on its one-box.
    const gamma = (await sumRequests('us-west-2', 'gamma', from, to, 3600)).sum;
    const gammaOneBox = (await sumRequests('us-west-2', 'gamma-onebox', from, to, 3600)).sum;
    expect((gamma + gammaOneBox) / 60).toBeCloseTo(200, -1);
    expect(gammaOneBox / (gamma + gammaOneBox)).toBeCloseTo(0.1, 2);
    // Nothing before the world started, nothing for an unknown scope.
    expect((await sumRequests('us-east-1', 'fleet', from - 60 * MIN, from)).values).toEqual([]);
    expect((await sumRequests('us-east-1', 'nowhere', from, to)).values).toEqual([]);
  });

  it('follows the daily pattern: less traffic at 04:00 local than at 15:00', async () => {
    expect(dailyFactor(4)).toBeCloseTo(0.3, 5);
    expect(dailyFactor(15)).toBeCloseTo(1, 5);
    world = makeWorld();
    clock.tick(13 * 60 * MIN); // to 21:00Z
    // New York is UTC-5 in November: 04:00 local = 09:00Z, 15:00 local = 20:00Z.
    const night = await sumRequests('us-east-1', 'fleet', Date.parse('2026-11-30T09:00:00Z'), Date.parse('2026-11-30T09:10:00Z'));
    const afternoon = await sumRequests('us-east-1', 'fleet', Date.parse('2026-11-30T20:00:00Z'), Date.parse('2026-11-30T20:10:00Z'));
    expect(night.sum / afternoon.sum).toBeGreaterThan(0.25);
    expect(night.sum / afternoon.sum).toBeLessThan(0.35);
  });

  it('gives the same emissions for the same seed', async () => {
    const run = async (seed: number) => {
      emissions = [];
      world = makeWorld({ seed });
      world.setBehavior(P, 'r1', { kind: 'faults', rate: 0.015 });
      await deploy('us-east-1', oneBoxGroupName(P), 'r1');
      await deploy('sa-east-1', unitGroupName(P, 'sae1-az1'), 'r1');
      clock.tick(3 * 60 * MIN);
      const metrics = await sumRequests('sa-east-1', 'fleet', START, Date.now());
      world.stop();
      return { emissions: JSON.stringify(emissions), metrics: metrics.values, failed: world.failedRequests(P, 'r1') };
    };
    const a = await run(42);
    clock.setSystemTime(START);
    const b = await run(42);
    clock.setSystemTime(START);
    const c = await run(43);
    expect(b).toEqual(a);
    expect(c.metrics).not.toEqual(a.metrics);
  });

  it('counts failed requests of a faulty revision, not of the baseline', async () => {
    world = makeWorld();
    world.setBehavior(P, 'r1', { kind: 'faults', rate: 0.2 });
    await deploy('us-east-1', oneBoxGroupName(P), 'r1');
    clock.tick(31 * MIN);
    const served = (await sumRequests('us-east-1', 'onebox', START, Date.now(), 60)).values;
    // Only minutes after the install counted faults: compare with 20% of what the box served since.
    const sinceInstall = served.slice(0, 28).reduce((a, b) => a + b, 0); // descending order: newest first
    expect(world.failedRequests(P, 'r1')).toBeGreaterThan(0.17 * sinceInstall);
    expect(world.failedRequests(P, 'r1')).toBeLessThan(0.23 * sinceInstall);
    expect(world.failedRequests(P, 'initial')).toBe(0);
  });

  it('counts the traffic a dropping box black-holes, and its request count falls to zero', async () => {
    world = makeWorld();
    world.setBehavior(P, 'r2', { kind: 'traffic-drop', regions: ['us-east-1'] });
    await deploy('us-east-1', oneBoxGroupName(P), 'r2');
    clock.tick(10 * MIN);
    const served = await sumRequests('us-east-1', 'onebox', START + 5 * MIN, Date.now());
    expect(served.sum).toBe(0);
    expect(world.failedRequests(P, 'r2')).toBeGreaterThan(1000);
  });

  it('starts a fault with afterSeconds only after the delay', async () => {
    world = makeWorld();
    const slowBurn: Behavior = { kind: 'faults', rate: 0.2, afterSeconds: 3600 };
    world.setBehavior(P, 'r1', slowBurn);
    await deploy('us-east-1', oneBoxGroupName(P), 'r1');
    const alarm = oneBoxAlarmName(P, 'us-east-1', StandardAlarm.FAULTS);
    clock.tick(55 * MIN);
    expect(world.alarmState('us-east-1', alarm)).toBe('OK');
    expect(world.failedRequests(P, 'r1')).toBe(0);
    clock.tick(15 * MIN);
    expect(world.alarmState('us-east-1', alarm)).toBe('ALARM');
    expect(world.failedRequests(P, 'r1')).toBeGreaterThan(0);
  });
});
