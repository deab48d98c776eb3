/**
 * The world holds and evaluates exactly the alarm plan (core/alarms), with CloudWatch's
 * documented semantics for missing data, metric math and composite rules, and its alarm
 * records name their owner.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AlarmDef, pipelineAlarms, regionAlarmPlan, targetRegions, teamAggregateAlarm, toAlarmEntry } from '../../core/alarms/index.ts';
import { companyEventAlarmName, serviceAlarmName, StandardAlarm, teamAggregateAlarmName } from '../../core/naming.ts';
import { CompositeAlarm, decideState, MetricAlarm } from '../../sim/world/alarms/evaluate.ts';
import { compileMath } from '../../sim/world/alarms/math.ts';
import { World, type WorldEmission } from '../../sim/world/index.ts';
import { catalog, pipeline } from './world-fixtures.ts';

const START = Date.parse('2026-11-30T08:00:00Z');
const MIN = 60_000;
let clock: ReturnType<typeof FakeTimers.install>;
let emissions: WorldEmission[];

beforeEach(() => {
  clock = FakeTimers.install({ now: START, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  emissions = [];
});
afterEach(() => clock.uninstall());

/** Two services of one team, a third of another team deploying to part of the regions only. */
const pipelines = () => [
  pipeline(),
  pipeline({ name: 'cart-api', service: 'CartApi', oneBox: false, hostsPerUnit: 2, preProd: [] }),
  pipeline({ name: 'ledger-api', service: 'LedgerApi', team: 'ledger', preProd: ['beta'], waves: [{ name: 'wave-1', regions: pipeline().waves[1]!.regions.slice(0, 1), bakeSeconds: 3600 }] }),
];

const sortEntries = (defs: AlarmDef[]) => defs.map(toAlarmEntry).sort((a, b) => (a.region + a.name < b.region + b.name ? -1 : 1));

describe('the world and the alarm plan', () => {
  it('evaluates exactly the alarms of the plan, every region, nothing of its own', async () => {
    const ps = pipelines();
    const world = new World({ pipelines: ps, regions: catalog, emit: (e) => emissions.push(e) });
    const planned = targetRegions(ps).flatMap((r) => regionAlarmPlan(ps, r));
    expect(sortEntries(world.alarmDefinitions())).toEqual(sortEntries(planned));
    // What the API holds too: DescribeAlarms of every region, metric and composite alarms.
    const described: string[] = [];
    for (const r of catalog) {
      const out = (await world.cloudWatch(r.code).send(new DescribeAlarmsCommand({ AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }))) as {
        MetricAlarms: Array<{ AlarmName: string }>;
        CompositeAlarms: Array<{ AlarmName: string; AlarmRule: string }>;
      };
      described.push(...[...out.MetricAlarms, ...out.CompositeAlarms].map((a) => `${r.code} ${a.AlarmName}`));
      for (const c of out.CompositeAlarms) {
        const def = planned.find((a) => a.name === c.AlarmName && a.region === r.code);
        expect(def?.kind === 'composite' ? def.rule : undefined).toBe(c.AlarmRule);
      }
    }
    expect(described.sort()).toEqual(planned.map((a) => `${a.region} ${a.name}`).sort());
    // The ledger team has an aggregate only where it runs in production; the storefront one
    // watches both of its services' fleet alarms there.
    const region = pipeline().waves[1]!.regions[0]!.region;
    expect(teamAggregateAlarm('ledger', 'sa-east-1', ps)).toBeUndefined();
    expect(world.alarmState('sa-east-1', teamAggregateAlarmName('ledger', 'sa-east-1'))).toBeUndefined();
    expect(world.alarmState(region, teamAggregateAlarmName('ledger', region))).toBe('OK');
    expect(teamAggregateAlarm('storefront', region, ps)!.members).toContain(serviceAlarmName('cart-api', region, StandardAlarm.HEALTH));
  });

  it('marks team and company alarm records with their owner, not a pipeline', () => {
    const world = new World({ pipelines: pipelines(), regions: catalog, emit: (e) => emissions.push(e) });
    world.start();
    world.forceTeamAlarm('storefront', 'us-east-1', 'ALARM');
    world.setCompanyEvent('ALARM', 'sa-east-1');
    clock.tick(3 * MIN);
    const records = emissions.flatMap((e) => (e.kind === 'stream' && e.event.type === 'world.alarm' ? [e.event] : []));
    const team = records.find((e) => e.alarm === teamAggregateAlarmName('storefront', 'us-east-1'))!;
    expect(team).toMatchObject({ team: 'storefront', scope: 'team', region: 'us-east-1', state: 'ALARM' });
    expect(team.pipeline).toBeUndefined();
    const company = records.find((e) => e.alarm === companyEventAlarmName('sa-east-1'))!;
    expect(company).toMatchObject({ scope: 'company', region: 'sa-east-1', state: 'ALARM' });
    expect(company.pipeline).toBeUndefined();
    expect(company.team).toBeUndefined();
    // The company event metric keeps the alarm in ALARM at its evaluations, and no other region's.
    expect(world.alarmState('sa-east-1', companyEventAlarmName('sa-east-1'))).toBe('ALARM');
    expect(world.alarmState('us-east-1', companyEventAlarmName('us-east-1'))).toBe('OK');
    world.setCompanyEvent('OK');
    clock.tick(3 * MIN);
    expect(world.alarmState('sa-east-1', companyEventAlarmName('sa-east-1'))).toBe('OK');
    // An alarm that cannot read its metric stays INSUFFICIENT_DATA until the scenario says otherwise.
    world.setCompanyEvent('INSUFFICIENT_DATA', 'us-east-1');
    clock.tick(3 * MIN);
    expect(world.alarmState('us-east-1', companyEventAlarmName('us-east-1'))).toBe('INSUFFICIENT_DATA');
    world.setCompanyEvent('OK', 'us-east-1');
    clock.tick(MIN);
    expect(world.alarmState('us-east-1', companyEventAlarmName('us-east-1'))).toBe('OK');
    world.stop();
  });
});

describe('a deleted alarm', () => {
  it('is neither evaluated nor described, and a composite naming only deleted alarms has no data', async () => {
    const p = pipeline({ preProd: [] });
    const world = new World({ pipelines: [p], regions: catalog, emit: (e) => emissions.push(e) });
    world.start();
    const fleet = pipelineAlarms(p, 'us-east-1').filter((a) => a.scope === 'fleet' && a.kind !== 'anomaly');
    expect(world.deleteAlarm('us-east-1', fleet[0]!.name)).toBe(true);
    expect(world.deleteAlarm('us-east-1', fleet[0]!.name)).toBe(false);
    expect(world.alarmState('us-east-1', fleet[0]!.name)).toBeUndefined();
    const out = (await world.cloudWatch('us-east-1').send(new DescribeAlarmsCommand({ AlarmNames: [fleet[0]!.name] }))) as { MetricAlarms: unknown[] };
    expect(out.MetricAlarms).toEqual([]);
    for (const a of fleet.slice(1)) world.deleteAlarm('us-east-1', a.name);
    clock.tick(2 * MIN);
    expect(world.alarmState('us-east-1', teamAggregateAlarmName('storefront', 'us-east-1'))).toBe('INSUFFICIENT_DATA');
    world.stop();
  });
});

describe('missing data, as CloudWatch treats it', () => {
  const p = pipeline();
  const own = pipelineAlarms(p, 'us-east-1');
  const health = own.find((a) => a.name === serviceAlarmName(p.name, 'us-east-1', StandardAlarm.HEALTH)) as ConstructorParameters<typeof MetricAlarm>[0];
  const faults = own.find((a) => a.name === serviceAlarmName(p.name, 'us-east-1', StandardAlarm.FAULTS)) as ConstructorParameters<typeof MetricAlarm>[0];

  it('leaves the health alarm INSUFFICIENT_DATA without datapoints (treatMissingData missing), as on AWS', () => {
    expect(health.treatMissingData).toBe('missing');
    const alarm = new MetricAlarm(health, () => Number.NaN, START);
    for (let m = 0; m < 3; m++) expect(alarm.evaluate(1000 + m)).toBe('INSUFFICIENT_DATA');
    expect(alarm.reasonFor('INSUFFICIENT_DATA')).toMatch(/no datapoint/);
    // One datapoint at 0 and the rest missing: evaluated on what exists.
    const partial = new MetricAlarm(health, (m) => (m === 1002 ? 0 : Number.NaN), START);
    expect([1000, 1001, 1002].map((m) => partial.evaluate(m))).toEqual(['INSUFFICIENT_DATA', 'INSUFFICIENT_DATA', 'OK']);
  });

  it('keeps a notBreaching alarm OK without datapoints, and alarms on 2 of 3', () => {
    const quiet = new MetricAlarm(faults, () => Number.NaN, START);
    expect(quiet.evaluate(1000)).toBe('OK');
    const values = [0.5, 5, Number.NaN, 5];
    const alarm = new MetricAlarm(faults, (m) => values[m - 1000]!, START);
    expect(values.map((_, i) => alarm.evaluate(1000 + i))).toEqual(['OK', 'OK', 'OK', 'ALARM']);
  });

  it('follows the documented table of treatMissingData (3 periods, 2 to alarm)', () => {
    const at = (treatMissingData: 'missing' | 'ignore' | 'breaching' | 'notBreaching', present: number, breaching: number, current = 'OK' as const) =>
      decideState({ evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData, present, breaching, current });
    expect(['missing', 'ignore', 'breaching', 'notBreaching'].map((t) => at(t as 'missing', 0, 0))).toEqual(['INSUFFICIENT_DATA', 'OK', 'ALARM', 'OK']);
    expect(decideState({ evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: 'ignore', present: 0, breaching: 0, current: 'ALARM' })).toBe('ALARM');
    // Enough datapoints: the existing ones decide, whatever the option.
    for (const t of ['missing', 'ignore', 'breaching', 'notBreaching'] as const) {
      expect(at(t, 2, 2)).toBe('ALARM');
      expect(at(t, 3, 1)).toBe('OK');
    }
    // Fewer than datapointsToAlarm: missing ones are filled as the option says.
    expect(at('breaching', 1, 1)).toBe('ALARM');
    expect(at('breaching', 2, 0)).toBe('OK');
    expect(at('notBreaching', 1, 1)).toBe('OK');
    expect(at('missing', 1, 1)).toBe('ALARM');
    expect(at('missing', 1, 0)).toBe('OK');
  });

  it('makes a composite INSUFFICIENT_DATA when every alarm it names is, ALARM when its rule holds', () => {
    const composite = new CompositeAlarm(teamAggregateAlarm('storefront', 'us-east-1', [p])!, START);
    const states = new Map<string, 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'>();
    composite.bind((name) => () => states.get(name));
    expect(composite.computed()).toBe('INSUFFICIENT_DATA');
    for (const n of composite.members) states.set(n, 'OK');
    expect(composite.computed()).toBe('OK');
    states.set(composite.members[3]!, 'ALARM');
    expect(composite.computed()).toBe('ALARM');
  });

  it('evaluates metric math as CloudWatch does: IF without else drops the datapoint, FILL fills, division by zero gives none', () => {
    const series: Record<string, (m: number) => number> = { a: (m) => (m === 0 ? Number.NaN : m), b: () => 0 };
    const math = (e: string) => compileMath(e, (id) => series[id]!);
    expect(math('IF(a >= 2, 10 * a)')(1)).toBeNaN();
    expect(math('IF(a >= 2, 10 * a)')(3)).toBe(30);
    expect(math('IF(a > 1 AND a < 5, 1, 0)')(6)).toBe(0);
    expect(math('100 * FILL(a, 0) / 4')(0)).toBe(0);
    expect(math('a + 1')(0)).toBeNaN();
    expect(math('a / b')(3)).toBeNaN();
    expect(math('MAX([a, 2 * a])')(3)).toBe(6);
    expect(() => math('SEARCH(a)')).toThrow(/not supported/);
  });
});
