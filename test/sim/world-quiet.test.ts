/**
 * The quiet world (sim/world/quiet.ts, alarms/book.ts): fleets that serve their baseline are
 * not ticked and alarms that cannot move are not evaluated, yet everything the outside sees
 * is what a world that serves every fleet and evaluates every alarm every minute (`eager`)
 * gives: the same emissions at the same times, the same DescribeAlarms, the same
 * GetMetricData, the same host snapshots; and idle days cost (almost) no work.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, describe, expect, it } from 'vitest';
import { artifactKey, METRICS_NAMESPACE, oneBoxGroupName, preProdGroupName, StandardMetric, unitGroupName } from '../../core/naming.ts';
import { World, WorldMetric, type WorldEmission, type WorldWork } from '../../sim/world/index.ts';
import { catalog, pipeline, regionCopy } from './world-fixtures.ts';

const START = Date.parse('2026-11-30T08:00:00Z');
const P = 'storefront-api';
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const REGIONS = catalog.map((r) => r.code);

let clock: ReturnType<typeof FakeTimers.install> | undefined;

afterEach(() => {
  clock?.uninstall();
  clock = undefined;
});

const deploy = async (world: World, region: string, group: string, revision: string): Promise<void> => {
  await world.codeDeploy(region).send(
    new CreateDeploymentCommand({
      applicationName: P,
      deploymentGroupName: group,
      revision: { revisionType: 'S3', s3Location: regionCopy(world, region, artifactKey(P, revision)) },
    }),
  );
};

const describeAll = async (world: World): Promise<unknown[]> =>
  Promise.all(REGIONS.map((r) => world.cloudWatch(r).send(new DescribeAlarmsCommand({ AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }))));

/** Every metric of every scope of a region over the last `days`: per hour, and per minute over the last `minuteHours`. */
const metricsOf = async (world: World, region: string, scopes: string[], days: number, minuteHours = 4): Promise<unknown> => {
  const now = Date.now();
  const stats: Array<[string, string]> = [
    [StandardMetric.REQUESTS, 'Sum'],
    [StandardMetric.FAULTS, 'Sum'],
    [StandardMetric.LOG_ERRORS, 'Sum'],
    [StandardMetric.LATENCY, 'p99'],
    [StandardMetric.LATENCY, 'p50'],
    [StandardMetric.LATENCY, 'p95'],
    [StandardMetric.LATENCY, 'Average'],
    [StandardMetric.CPU, 'Average'],
    [StandardMetric.MEMORY, 'Maximum'],
    [StandardMetric.DISK, 'Minimum'],
    [StandardMetric.UNHEALTHY_HOSTS, 'Maximum'],
    [WorldMetric.IN_SERVICE_HOSTS, 'Maximum'],
    [WorldMetric.INSTALLING_HOSTS, 'Sum'],
  ];
  const out: unknown[] = [];
  for (const period of [60, 3600]) {
    const res = await world.cloudWatch(region).send(
      new GetMetricDataCommand({
        StartTime: new Date(now - (period === 60 ? minuteHours * 60 * MIN : days * DAY) - 7 * MIN),
        EndTime: new Date(now),
        MetricDataQueries: scopes.flatMap((scope, i) =>
          stats.map(([metric, stat], j) => ({
            Id: `q${i}_${j}`,
            MetricStat: {
              Metric: { Namespace: METRICS_NAMESPACE, MetricName: metric, Dimensions: [{ Name: 'Service', Value: 'StorefrontApi' }, { Name: 'Scope', Value: scope }] },
              Period: period,
              Stat: stat,
            },
          })),
        ),
      }),
    );
    out.push(res);
  }
  return out;
};

const hostsOf = (world: World): unknown[] => {
  const groups: Array<[string, string]> = [['us-west-2', preProdGroupName(P, 'alpha')], ['us-west-2', preProdGroupName(P, 'gamma')]];
  for (const r of catalog) groups.push([r.code, oneBoxGroupName(P)], ...r.azIds.map((az): [string, string] => [r.code, unitGroupName(P, az)]));
  return groups.map(([region, group]) => world.groupHosts(region, group));
};

interface Run {
  emissions: WorldEmission[];
  seen: unknown[];
  work: WorldWork;
}

/**
 * Idle days, then a faulty one box and its rollback, a unit that turns slow five minutes
 * after its install, a crash in pre-production (both rolled back), a company event (declared,
 * unreadable, over), a forced team aggregate and a deleted alarm, with queries in between;
 * then an idle day.
 */
const play = async (eager: boolean, idleDays: number, observe = true): Promise<Run> => {
  clock = FakeTimers.install({ now: START, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const emissions: WorldEmission[] = [];
  // A day of metrics kept: the queries reach past it.
  const world = new World({ pipelines: [pipeline()], regions: catalog, emit: (e) => emissions.push(e), seed: 11, eager, retentionMinutes: 1440 });
  const seen: unknown[] = [];
  world.start();
  clock.tick(idleDays * DAY + 17_000);
  if (observe) seen.push(await describeAll(world), await metricsOf(world, 'us-east-1', ['fleet', 'onebox', 'use1-az1'], 1), hostsOf(world));

  world.setBehavior(P, 'bad', { kind: 'faults', rate: 0.3 });
  await deploy(world, 'us-east-1', oneBoxGroupName(P), 'bad');
  clock.tick(20 * MIN);
  seen.push(await describeAll(world), hostsOf(world));
  await deploy(world, 'us-east-1', oneBoxGroupName(P), 'initial');
  clock.tick(31 * MIN + 5_000);

  world.setBehavior(P, 'slow', { kind: 'latency', p99Ms: 2500, afterSeconds: 300, regions: ['ap-northeast-1'] });
  await deploy(world, 'ap-northeast-1', unitGroupName(P, 'apne1-az1'), 'slow');
  clock.tick(40 * MIN);
  world.setBehavior(P, 'crash', { kind: 'crash' });
  await deploy(world, 'us-west-2', preProdGroupName(P, 'gamma'), 'crash');
  clock.tick(15 * MIN + 30_000);
  seen.push(await describeAll(world), hostsOf(world));
  // Rolled back: the world is quiet again.
  await deploy(world, 'ap-northeast-1', unitGroupName(P, 'apne1-az1'), 'initial');
  await deploy(world, 'us-west-2', preProdGroupName(P, 'gamma'), 'initial');
  clock.tick(30 * MIN);

  world.setCompanyEvent('ALARM', 'sa-east-1');
  clock.tick(7 * MIN + 13_000);
  world.setCompanyEvent('INSUFFICIENT_DATA', 'sa-east-1');
  clock.tick(5 * MIN);
  world.setCompanyEvent('OK');
  world.forceTeamAlarm('storefront', 'us-east-1', 'ALARM');
  clock.tick(3 * MIN);
  world.forceTeamAlarm('storefront', 'us-east-1', undefined);
  world.deleteAlarm('ap-northeast-1', world.alarmDefinitions().find((d) => d.region === 'ap-northeast-1' && d.scope === 'fleet')!.name);
  clock.tick(DAY + 29_000);

  const work = world.work();
  if (!observe) {
    world.stop();
    clock.uninstall();
    clock = undefined;
    return { emissions, seen, work };
  }
  seen.push(await describeAll(world), hostsOf(world));
  for (const r of catalog) seen.push(await metricsOf(world, r.code, ['fleet', 'onebox', ...r.azIds], 1));
  seen.push(await metricsOf(world, 'us-west-2', ['alpha', 'beta', 'gamma'], 1));
  // Past the day kept.
  seen.push(await metricsOf(world, 'ap-northeast-1', ['apne1-az1'], 2, 48));
  seen.push(['bad', 'slow', 'crash'].map((rev) => world.failedRequests(P, rev)));
  world.stop();
  clock.uninstall();
  clock = undefined;
  return { emissions, seen: JSON.parse(JSON.stringify(seen)) as unknown[], work };
};

const alarmChanges = (run: Run) => run.emissions.flatMap((e) => (e.kind === 'stream' && e.event.type === 'world.alarm' ? [e.event] : []));

describe('A quiet world', () => {
  it('shows the outside what serving every fleet and evaluating every alarm every minute shows', async () => {
    const eager = await play(true, 1);
    const quiet = await play(false, 1);
    // The scenario does move alarms (the comparison is not between two silent runs).
    expect(alarmChanges(eager).length).toBeGreaterThan(10);
    expect(quiet.emissions).toEqual(eager.emissions);
    expect(quiet.seen).toEqual(eager.seen);
    expect(quiet.work.minuteTicks).toBe(eager.work.minuteTicks);
    // Before the final queries (which compute the quiet minutes they read).
    expect(quiet.work.fleetMinutesServed).toBeLessThan(eager.work.fleetMinutesServed / 10);
    expect(quiet.work.alarmEvaluations).toBeLessThan(eager.work.alarmEvaluations / 10);
  });

  it('costs the same work for 30 idle days as for one: fleets served and alarms evaluated do not follow idle time', async () => {
    const one = await play(false, 1, false);
    const thirty = await play(false, 30, false);
    const fleets = 4 + 3;
    const alarms = new World({ pipelines: [pipeline()], regions: catalog, emit: () => undefined }).alarmDefinitions().filter((d) => d.kind !== 'composite').length;
    // Minute by minute, 29 more idle days would be 29 x 1440 minutes of every fleet and every alarm.
    expect(thirty.work.minuteTicks - one.work.minuteTicks).toBe(29 * 1440);
    // Quiet, they add less than one idle hour of that work.
    expect(thirty.work.fleetMinutesServed - one.work.fleetMinutesServed).toBeLessThan(fleets * 60);
    expect(thirty.work.alarmEvaluations - one.work.alarmEvaluations).toBeLessThan(alarms * 60);
    expect(thirty.emissions.length).toBe(one.emissions.length);
  });
});
