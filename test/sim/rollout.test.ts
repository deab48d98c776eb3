/**
 * End to end through `handsoff simulate --json`: the real ASL in the local interpreter, the
 * real handlers, local DynamoDB and the simulated world. Each test reads the event stream
 * the way a user's CI would.
 */
import { DateTime } from 'luxon';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { regionInfo } from '../../infra/catalog/regions.ts';
import { ms, ofType, plan, reviewed, simulateJson } from './cli-harness.ts';

type Plan = Awaited<ReturnType<typeof plan>>;

const isProd = (e: HandsoffEvent): boolean => typeof e.stage === 'string' && e.stage.startsWith('wave-');

/** Mon-Thu 09:00-15:00 in the region's own zone, as the fixture pipeline says. */
const insideWindow = (e: HandsoffEvent): boolean => {
  const local = DateTime.fromISO(e.time, { zone: 'utc' }).setZone(regionInfo(e.region as string)!.timeZone);
  const minutes = local.hour * 60 + local.minute;
  return local.weekday <= 4 && minutes >= 9 * 60 && minutes < 15 * 60;
};

/** Deployment intervals per CodeDeploy deployment group, from the world's own record. */
const groupIntervals = (events: HandsoffEvent[]): Map<string, Array<[number, number]>> => {
  const open = new Map<string, { group: string; start: number }>();
  const byGroup = new Map<string, Array<[number, number]>>();
  for (const e of ofType(events, 'world.deployment')) {
    const group = String(e.deploymentGroup ?? [e.pipeline, e.region, e.stage, e.target, e.unit].join('|'));
    if (e.status === 'InProgress' || e.status === 'Created') {
      if (!open.has(String(e.deploymentId))) open.set(String(e.deploymentId), { group, start: ms(e) });
    } else if (['Succeeded', 'Failed', 'Stopped'].includes(String(e.status))) {
      const o = open.get(String(e.deploymentId));
      if (o) {
        byGroup.set(o.group, [...(byGroup.get(o.group) ?? []), [o.start, ms(e)]]);
        open.delete(String(e.deploymentId));
      }
    }
  }
  return byGroup;
};

const overlaps = (intervals: Array<[number, number]>): boolean => {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  return sorted.some((iv, i) => i > 0 && iv[0] < sorted[i - 1]![1]);
};

let thePlan: Plan;
beforeAll(async () => {
  thePlan = await plan();
});

describe('a healthy change', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } }],
    });
  });

  it('reaches every unit of every region and completes', () => {
    for (const wave of thePlan.waves) {
      for (const { region, units } of wave.regions) {
        const done = ofType(events, 'deployment.succeeded', 'c1').filter((e) => e.region === region && e.stage === wave.name);
        expect(done.filter((e) => e.target === 'onebox')).toHaveLength(1);
        expect(done.filter((e) => e.target === 'fleet').map((e) => e.unit).sort()).toEqual([...units].sort());
      }
    }
    const finished = ofType(events, 'simulation.finished')[0]!;
    const c1 = (finished.changes as Record<string, any>).c1;
    expect(c1.status).toBe('succeeded');
    expect(c1.leadTime).toMatch(/^P/);
    expect(c1.failedRequests).toBe(0);
    expect(c1.regionsReached).toHaveLength(thePlan.waves.flatMap((w) => w.regions).length);
    expect(ofType(events, 'change.completed', 'c1')).toHaveLength(1);
  });

  it('speaks the vocabulary: every event has its virtual time, type and pipeline, in time order', () => {
    for (const e of events) {
      expect(e.time, JSON.stringify(e)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(typeof e.type).toBe('string');
      expect(e.pipeline, JSON.stringify(e)).toBe('storefront-api');
    }
    const times = events.map(ms);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(events.at(-1)!.type).toBe('simulation.finished');
  });

  it('goes through the waves in order, each after the previous wave baked', () => {
    thePlan.waves.forEach((wave, i) => {
      const started = ofType(events, 'stage.started', 'c1').find((e) => e.stage === wave.name)!;
      expect(started, wave.name).toBeDefined();
      if (i > 0) {
        const prevBake = ofType(events, 'bake.completed', 'c1').find((e) => e.stage === thePlan.waves[i - 1]!.name && !e.region)!;
        expect(prevBake, `wave bake of ${thePlan.waves[i - 1]!.name}`).toBeDefined();
        expect(ms(started)).toBeGreaterThanOrEqual(ms(prevBake));
      }
    });
    const waveBakes = ofType(events, 'bake.started', 'c1').filter((e) => isProd(e) && !e.region);
    expect(waveBakes.map((e) => e.stage)).toEqual(thePlan.waves.map((w) => w.name));
    expect(waveBakes[0]!.duration).toBe('PT12H');
  });

  it('deploys the one-box and bakes it before any unit of the region, then one unit at a time with a bake each', () => {
    for (const { region, units } of thePlan.waves.flatMap((w) => w.regions)) {
      const inRegion = events.filter((e) => e.change === 'c1' && e.region === region && isProd(e));
      const oneBoxBake = inRegion.find((e) => e.type === 'bake.completed' && e.target === 'onebox')!;
      expect(oneBoxBake, region).toBeDefined();
      const fleetStarts = inRegion.filter((e) => e.type === 'deployment.started' && e.target === 'fleet');
      expect(fleetStarts).toHaveLength(units.length);
      for (const s of fleetStarts) expect(ms(s)).toBeGreaterThanOrEqual(ms(oneBoxBake));
      // unit n+1 starts only after unit n's bake completed
      const unitBakes = inRegion.filter((e) => e.type === 'bake.completed' && e.target === 'fleet');
      expect(unitBakes.map((e) => e.unit)).toEqual(fleetStarts.map((e) => e.unit));
      fleetStarts.slice(1).forEach((s, i) => expect(ms(s)).toBeGreaterThanOrEqual(ms(unitBakes[i]!)));
    }
  });

  it('starts no production step outside the region window', () => {
    const prodStarts = ofType(events, 'deployment.started', 'c1').filter(isProd);
    expect(prodStarts.length).toBeGreaterThan(0);
    for (const s of prodStarts) expect(insideWindow(s), `${s.region} ${s.unit ?? 'one-box'} at ${s.time}`).toBe(true);
  });

  it('never runs two deployments at once in one deployment group', () => {
    const groups = groupIntervals(events);
    expect(groups.size).toBeGreaterThan(thePlan.waves.length);
    for (const [group, intervals] of groups) expect(overlaps(intervals), group).toBe(false);
  });
});

describe('a change that fails only in the first production region', () => {
  let events: HandsoffEvent[];
  let firstRegion: string;
  beforeAll(async () => {
    firstRegion = thePlan.waves[0]!.regions[0]!.region;
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      changes: [{ id: 'c2', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.3, regions: [firstRegion] } }],
    });
  });

  it('is caught at that region one-box, rolled back there and marked failed', () => {
    const failed = ofType(events, 'change.failed', 'c2');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ stage: 'wave-1', region: firstRegion });
    expect(String(failed[0]!.reason)).toMatch(/alarm/i);
    const triggered = ofType(events, 'alarm.triggered', 'c2');
    expect(triggered.length).toBeGreaterThan(0);
    expect(triggered[0]).toMatchObject({ region: firstRegion, target: 'onebox' });
    const rollbacks = ofType(events, 'rollback.started', 'c2');
    expect(rollbacks.filter(isProd).map((e) => [e.region, e.target])).toEqual([[firstRegion, 'onebox']]);
    expect(rollbacks[0]).toMatchObject({ region: firstRegion, target: 'onebox' });
    expect(rollbacks[0]!.revision).not.toBe('c2');
    // Then every pre-production stage it passed: a failed change runs on no box at the end.
    // (gamma: its one-box and its fleet)
    expect([...new Set(rollbacks.filter((e) => !isProd(e)).map((e) => e.stage))]).toEqual(thePreProd());
    expect(ofType(events, 'rollback.completed', 'c2')).toHaveLength(rollbacks.length);
    const finished = (ofType(events, 'simulation.finished')[0]!.changes as Record<string, any>).c2;
    expect(finished.status).toBe('failed');
    expect(finished.failedRequests).toBeGreaterThan(0);
    expect(finished.boxesAtEnd).toBe(0);
  });

  const thePreProd = (): string[] => [...new Set(ofType(events, 'deployment.started', 'c2').filter((e) => !isProd(e)).map((e) => String(e.stage)))];

  it('is never deployed to any other production region, nor to the fleet of the first', () => {
    const prod = ofType(events, 'deployment.started', 'c2').filter(isProd);
    expect(prod.map((e) => [e.region, e.target])).toEqual([[firstRegion, 'onebox']]);
  });

  it('starts the rollback within 60 s of the alarm going to ALARM', () => {
    const alarm = ofType(events, 'world.alarm').find((e) => e.state === 'ALARM' && e.region === firstRegion)!;
    const rollback = ofType(events, 'rollback.started', 'c2')[0]!;
    expect(alarm).toBeDefined();
    expect(ms(rollback) - ms(alarm)).toBeGreaterThanOrEqual(0);
    expect(ms(rollback) - ms(alarm)).toBeLessThanOrEqual(60_000);
  });
});

describe('a change that fails everywhere', () => {
  it('never leaves pre-production', async () => {
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      changes: [{ id: 'c3', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.5 } }],
    });
    expect(ofType(events, 'deployment.started', 'c3').filter(isProd)).toEqual([]);
    const failed = ofType(events, 'change.failed', 'c3');
    expect(failed).toHaveLength(1);
    expect(['alpha', 'beta', 'gamma']).toContain(failed[0]!.stage);
    expect(ofType(events, 'rollback.completed', 'c3').length).toBeGreaterThan(0);
  });
});

describe('a change merged on Thursday afternoon', () => {
  const thursday = { id: 'c4', at: '2026-12-03T21:00:00Z', ...reviewed, behavior: { kind: 'healthy' } };

  const firstProdStart = (events: HandsoffEvent[]): HandsoffEvent =>
    ofType(events, 'deployment.started', 'c4').filter(isProd)[0]!;

  it('starts no production step before Monday 09:00 in the region, and shows the wait as blocked: time-window', async () => {
    const events = await simulateJson({ start: '2026-12-03T20:00:00Z', until: '2026-12-12T00:00:00Z', changes: [thursday] });
    const first = firstProdStart(events);
    const zone = regionInfo(first.region as string)!.timeZone;
    expect(DateTime.fromISO(first.time).setZone(zone).toFormat('cccc HH:mm')).toBe('Monday 09:00');
    const blocked = ofType(events, 'blocked', 'c4').filter((e) => e.reason === 'time-window');
    expect(blocked.length).toBeGreaterThan(0);
    expect(Date.parse(String(blocked[0]!.until))).toBe(ms(first));
    expect(ofType(events, 'unblocked', 'c4').some((e) => e.reason === 'time-window')).toBe(true);
  });

  it("starts on Tuesday when Monday is a holiday", async () => {
    const events = await simulateJson({
      start: '2026-12-03T20:00:00Z',
      until: '2026-12-12T00:00:00Z',
      changes: [thursday],
      events: [{ at: '2026-12-03T20:00:00Z', kind: 'holiday', date: '2026-12-07' }],
    });
    const first = firstProdStart(events);
    const zone = regionInfo(first.region as string)!.timeZone;
    expect(DateTime.fromISO(first.time).setZone(zone).toFormat('cccc HH:mm')).toBe('Tuesday 09:00');
  });
});

describe('the same scenario', () => {
  it('gives the same events on every run', async () => {
    const scenario = {
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-03T00:00:00Z',
      changes: [
        { id: 'a', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } },
        { id: 'b', at: '2026-11-30T09:30:00Z', ...reviewed, behavior: { kind: 'latency', p99Ms: 3000, regions: ['gamma:us-west-2'] } },
      ],
    };
    // A run in a process of its own, and the run the harness shares: a warm CLI process of the
    // suite, which may have run other scenarios before this one, prints the same stream.
    const [one, warm] = await Promise.all([simulateJson(scenario, undefined, { fresh: true }), simulateJson(scenario)]);
    expect(one.length).toBeGreaterThan(50);
    expect(warm).toEqual(one);
  });
});

describe('two changes merged close together', () => {
  it('queue for each stage (blocked: lane) and never share a deployment group', async () => {
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-04T00:00:00Z',
      changes: [
        { id: 'a', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } },
        { id: 'b', at: '2026-11-30T09:10:00Z', ...reviewed, behavior: { kind: 'healthy' } },
      ],
    });
    const laneWait = ofType(events, 'blocked', 'b').find((e) => e.reason === 'lane')!;
    expect(laneWait).toMatchObject({ stage: 'alpha' });
    const resumed = ofType(events, 'unblocked', 'b').find((e) => e.reason === 'lane' && e.stage === 'alpha')!;
    const aLeftAlpha = ofType(events, 'stage.started', 'a').find((e) => e.stage === 'beta')!;
    expect(ms(resumed)).toBeGreaterThanOrEqual(ms(aLeftAlpha));
    for (const [group, intervals] of groupIntervals(events)) expect(overlaps(intervals), group).toBe(false);
    // b follows a through every stage it reached, never overtaking it
    for (const started of ofType(events, 'stage.started', 'b')) {
      const aStarted = ofType(events, 'stage.started', 'a').find((e) => e.stage === started.stage)!;
      expect(ms(started), String(started.stage)).toBeGreaterThanOrEqual(ms(aStarted));
    }
  });
});
