/**
 * Overrides end to end, through `handsoff simulate --json` and `validate`: a developer's
 * override lets a change start where a blocker holds it (at once, with `override.applied` and
 * an `unblocked` naming who and why), only in its scope and until it expires; a team-alarm
 * override keeps the already-alarming aggregate from rolling the change back; a time-window
 * override wakes a unit waiting for the window; bad overrides exit 2 naming each field.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ms, ofType, plan, reviewed, runCli, simulateJson, SMALL_PIPELINE, writeJson } from './cli-harness.ts';

const change = { id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } };
const APPLIED = '2026-11-30T13:00:00Z';

let wave1: string;
let wave2: string;
beforeAll(async () => {
  const waves = (await plan()).waves;
  wave1 = waves[0]!.regions[0]!.region;
  wave2 = waves[1]!.regions[0]!.region;
});

const starts = (events: HandsoffEvent[], region: string): HandsoffEvent[] =>
  ofType(events, 'deployment.started', 'c1').filter((e) => e.region === region);

describe('a company event held off by an override', () => {
  const expires = '2026-12-01T03:00:00Z';
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-03T00:00:00Z',
      changes: [change],
      events: [
        { at: '2026-11-30T08:30:00Z', kind: 'company-event', state: 'ALARM' },
        { at: APPLIED, kind: 'override', blocker: 'company-event', change: 'c1', by: 'dave', reason: 'checkout fix during the sale', expires },
      ],
    });
  });

  it('holds the first region until a developer overrides, then records who and why', () => {
    const blocked = ofType(events, 'blocked', 'c1').filter((e) => e.region === wave1);
    expect(blocked.map((e) => e.reason)).toEqual(['company-event']);
    expect(ms(blocked[0]!)).toBeLessThan(Date.parse(APPLIED));
    expect(ofType(events, 'override.applied')).toEqual([
      expect.objectContaining({ time: new Date(APPLIED).toISOString(), blocker: 'company-event', by: 'dave', reason: 'checkout fix during the sale', change: 'c1', expires: new Date(expires).toISOString() }),
    ]);
  });

  it('starts the region at once during the company event, its unblocked naming the override', () => {
    const first = starts(events, wave1)[0]!;
    expect(first.time).toBe(new Date(APPLIED).toISOString());
    // The company event is still in ALARM in the world when the deployment starts.
    const companyAlarm = ofType(events, 'world.alarm').filter((e) => e.region === wave1 && String(e.alarm).includes('company-event'));
    expect(companyAlarm.map((e) => e.state)).toEqual(['ALARM']);
    const unblocked = ofType(events, 'unblocked', 'c1').filter((e) => e.region === wave1);
    expect(unblocked.length).toBeGreaterThan(0);
    for (const e of unblocked) expect(e).toMatchObject({ reason: 'company-event', override: { by: 'dave', reason: 'checkout fix during the sale', blocker: 'company-event' } });
    // Every step of the region started thanks to it: one-box and each unit.
    expect(starts(events, wave1).length).toBe(unblocked.length);
  });

  it('holds again after the expiry: the next wave is blocked by the company event and never starts', () => {
    expect(ofType(events, 'override.expired')).toEqual([expect.objectContaining({ time: new Date(expires).toISOString(), by: 'dave', blocker: 'company-event' })]);
    const later = ofType(events, 'blocked', 'c1').filter((e) => e.region === wave2);
    expect(later.map((e) => e.reason)).toEqual(['company-event']);
    expect(ms(later[0]!)).toBeGreaterThan(Date.parse(expires));
    expect(starts(events, wave2)).toEqual([]);
  });
});

describe('a team-alarm override', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-02T00:00:00Z',
      changes: [change],
      events: [
        { at: '2026-11-30T08:30:00Z', kind: 'team-alarm', region: wave1, state: 'ALARM' },
        { at: APPLIED, kind: 'override', blocker: 'team-alarm', region: wave1, change: 'c1', by: 'dave', reason: 'this change fixes what the aggregate shows', expires: '2026-12-01T12:00:00Z' },
      ],
    });
  });

  it('lets the change through the region while the aggregate stays in ALARM, without rolling it back', () => {
    const aggregate = ofType(events, 'world.alarm').filter((e) => e.region === wave1 && String(e.alarm).endsWith('-aggregate'));
    expect(aggregate.map((e) => e.state)).toEqual(['ALARM']);
    expect(starts(events, wave1)[0]!.time).toBe(new Date(APPLIED).toISOString());
    expect(ofType(events, 'alarm.triggered', 'c1')).toEqual([]);
    expect(ofType(events, 'rollback.started', 'c1')).toEqual([]);
    expect(ofType(events, 'stage.completed', 'c1').map((e) => e.stage)).toContain('wave-1');
  });
});

/** A pipeline of two production waves whose first region is us-east-1, its window open 17:00-23:00 UTC (PST 09:00-15:00). */
const SHOP = {
  name: 'shop', service: 'Shop', team: 'shop', regions: ['us-east-1', 'eu-west-1'], waves: [['us-east-1'], ['eu-west-1']], unit: 'az', hostsPerUnit: 3,
  preProd: ['alpha'], preProdRegion: 'us-west-2',
  bake: { oneBox: 'PT1H', firstWave: 'PT2H', laterWaves: 'PT1H', unit: 'PT30M', preProd: 'PT30M', minRequests: 100, emergencyFloor: 'PT5M' },
  window: { timeZone: 'America/Los_Angeles', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' },
};
const shopChange = { id: 'c1', at: '2026-11-30T16:00:00Z', ...reviewed, behavior: { kind: 'healthy' } };

describe('a team-alarm override applied while the aggregate is OK', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      {
        start: '2026-11-30T08:00:00Z',
        until: '2026-12-02T00:00:00Z',
        changes: [shopChange],
        events: [
          { at: '2026-11-30T16:05:00Z', kind: 'override', blocker: 'team-alarm', region: 'us-east-1', by: 'dave', reason: 'just in case', expires: '2026-12-01T16:00:00Z' },
          // During c1's one-box bake in us-east-1: an incident the change may cause.
          { at: '2026-11-30T17:30:00Z', kind: 'team-alarm', region: 'us-east-1', state: 'ALARM' },
          { at: '2026-11-30T23:30:00Z', kind: 'team-alarm', region: 'us-east-1', state: 'OK' },
        ],
      },
      [writeJson('shop.json', SHOP)],
    );
  });

  it('spares no later ALARM: the aggregate going to ALARM during the bake rolls the change back', () => {
    expect(ofType(events, 'override.applied')).toHaveLength(1);
    const triggered = ofType(events, 'alarm.triggered', 'c1');
    expect(triggered.map((e) => [e.time, e.alarmName])).toEqual([['2026-11-30T17:30:00.000Z', 'handsoff-shop-us-east-1-aggregate']]);
    expect(ofType(events, 'rollback.started', 'c1').length).toBeGreaterThan(0);
    expect(ofType(events, 'change.failed', 'c1')).toHaveLength(1);
    // No unit of the region started under the override while the aggregate was in ALARM.
    expect(ofType(events, 'deployment.started', 'c1').filter((e) => e.target === 'fleet' && e.region === 'us-east-1')).toEqual([]);
    expect(ofType(events, 'unblocked', 'c1').filter((e) => e.override !== undefined)).toEqual([]);
  });
});

describe('an override whose announcement the operator handler never finished', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      {
        start: '2026-11-30T08:00:00Z',
        until: '2026-12-03T00:00:00Z',
        seed: 2,
        changes: [shopChange],
        events: [
          { at: '2026-11-30T08:30:00Z', kind: 'company-event', state: 'ALARM', region: 'us-east-1' },
          { at: '2026-11-30T18:00:00Z', kind: 'override', blocker: 'company-event', region: 'us-east-1', change: 'c1', by: 'Dave', reason: 'fix for the event', expires: '2026-11-30T19:00:00Z' },
          { at: '2026-12-01T20:00:00Z', kind: 'company-event', state: 'OK', region: 'us-east-1' },
          // The operator handler dies at random after its calls (this seed: after writing the override, before publishing it).
          { at: '2026-11-30T08:00:00Z', kind: 'fault', fault: 'crash', handler: 'operator', rate: 0.5, until: '2026-12-02T00:00:00Z' },
        ],
      },
      [writeJson('shop.json', SHOP)],
    );
  });

  it('takes no effect before its override.applied: no gate opens on it, nothing deploys under it', () => {
    const applied = ofType(events, 'override.applied');
    const appliedAt = applied.length > 0 ? ms(applied[0]!) : Number.POSITIVE_INFINITY;
    const early = ofType(events, 'unblocked', 'c1').filter((e) => e.override !== undefined && ms(e) < appliedAt);
    expect(early).toEqual([]);
    for (const e of ofType(events, 'unblocked', 'c1').filter((x) => x.override !== undefined)) {
      expect(applied.map((a) => a.override)).toContain((e.override as { id: string }).id);
    }
    // Without an announced override, us-east-1 starts only once the company event ends.
    const firstProd = ofType(events, 'deployment.started', 'c1').find((e) => e.region === 'us-east-1')!;
    expect(ms(firstProd)).toBeGreaterThanOrEqual(Math.min(appliedAt, Date.parse('2026-12-01T20:00:00Z')));
  });
});

describe('a time-window override', () => {
  let plain: HandsoffEvent[];
  let events: HandsoffEvent[];
  const base = { start: '2026-11-30T08:00:00Z', until: '2026-12-04T00:00:00Z', changes: [change] };
  beforeAll(async () => {
    [plain, events] = await Promise.all([
      simulateJson({ ...base, events: [] }),
      simulateJson({
        ...base,
        events: [{ at: '2026-12-02T01:00:00Z', kind: 'override', blocker: 'time-window', change: 'c1', by: 'erin', reason: 'the night shift watches it', expires: '2026-12-02T13:00:00Z' }],
      }),
    ]);
  });

  it.each([
    ['a unit', (e: HandsoffEvent) => e.target === 'fleet'],
    ["a region's one-box", (e: HandsoffEvent) => e.target === 'onebox'],
  ])('wakes %s waiting for the window at once', (_, which) => {
    // Without the override: held over the night until the window opens, later than 01:00.
    const held = ofType(plain, 'blocked', 'c1').find((e) => which(e) && e.reason === 'time-window' && ms(e) < Date.parse('2026-12-02T01:00:00Z') && Date.parse(String(e.until)) > Date.parse('2026-12-02T01:00:00Z'))!;
    expect(held).toBeDefined();
    const same = (e: HandsoffEvent) => e.region === held.region && e.unit === held.unit && e.target === held.target;
    const unblocked = ofType(events, 'unblocked', 'c1').find(same)!;
    expect(unblocked).toMatchObject({ time: '2026-12-02T01:00:00.000Z', reason: 'time-window', override: { by: 'erin', blocker: 'time-window' } });
    expect(ofType(events, 'deployment.started', 'c1').find(same)!.time).toBe('2026-12-02T01:00:00.000Z');
  });
});

describe('bad overrides', () => {
  const scenario = {
    start: '2026-11-30T08:00:00Z',
    until: '2026-12-03T00:00:00Z',
    changes: [change],
    events: [{ at: '2026-11-30T10:00:00Z', kind: 'override', blocker: 'lane', region: 'mars-1', change: 'c9', by: '', expires: '2026-12-02T10:00:00Z' }],
  };

  it.each(['validate', 'simulate'])('%s exits 2 naming every bad field at once, and runs nothing', async (command) => {
    const file = writeJson('bad-override.json', scenario);
    const run = await runCli([command, '--pipeline', SMALL_PIPELINE, '--scenario', file, ...(command === 'simulate' ? ['--json'] : [])]);
    expect(run.code).toBe(2);
    for (const field of ['blocker', 'region', 'change', 'by', 'reason', 'expires']) expect(run.stderr).toContain(`events[0].${field}:`);
    expect(run.stderr).toContain('at most 24 h');
    expect(run.stdout).toBe('');
  });
});
