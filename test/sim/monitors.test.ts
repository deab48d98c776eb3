/**
 * The monitors, end to end through `handsoff simulate --json`: slow burns, anomaly
 * detection, minimum data points, team-wide rollback, lost events, and no false positives.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ms, ofType, plan, reviewed, simulateJson, SMALL_PIPELINE } from './cli-harness.ts';

const FIXTURES = join(SMALL_PIPELINE, '..');
const SEARCH_PIPELINE = join(FIXTURES, 'small-pipeline-search.json');
const THIN_PIPELINE = join(FIXTURES, 'thin-traffic-pipeline.json');

const isProd = (e: HandsoffEvent): boolean => typeof e.stage === 'string' && e.stage.startsWith('wave-');

type Plan = Awaited<ReturnType<typeof plan>>;
let thePlan: Plan;
let wave1Region: string;
let wave2Region: string;
beforeAll(async () => {
  thePlan = await plan();
  wave1Region = thePlan.waves[0]!.regions[0]!.region;
  wave2Region = thePlan.waves[1]!.regions[0]!.region;
});

describe('a slow burn: faults 5 h after deployment, only in the wave-2 region', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      changes: [{ id: 'slow', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.3, regions: [wave2Region], after: 'PT5H' } }],
    });
  });

  it('is caught in that region and the change fails there', () => {
    const failed = ofType(events, 'change.failed', 'slow');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ stage: 'wave-2', region: wave2Region });
    expect(ofType(events, 'alarm.triggered', 'slow').every((e) => e.region === wave2Region || e.region === undefined)).toBe(true);
  });

  it('rolls back every scope of that region that got the change', () => {
    const deployed = ofType(events, 'deployment.succeeded', 'slow').filter((e) => e.region === wave2Region);
    expect(deployed.length).toBeGreaterThan(1);
    const rolledBack = ofType(events, 'rollback.started', 'slow').filter((e) => e.region === wave2Region);
    const scope = (e: HandsoffEvent) => `${e.target}/${e.unit ?? ''}`;
    expect(rolledBack.map(scope).sort()).toEqual(deployed.map(scope).sort());
    for (const r of rolledBack) expect(r.revision).not.toBe('slow');
  });

  it('never reaches wave 3; the wave-1 region is rolled back once it failed in wave 2, and it runs on no box', () => {
    expect(ofType(events, 'deployment.started', 'slow').filter((e) => e.stage !== 'wave-1' && e.stage !== 'wave-2' && isProd(e))).toEqual([]);
    const wave1 = ofType(events, 'rollback.started', 'slow').filter((e) => e.region === wave1Region);
    const deployed = ofType(events, 'deployment.succeeded', 'slow').filter((e) => e.region === wave1Region);
    expect(wave1).toHaveLength(deployed.length);
    const firstWave2 = ofType(events, 'rollback.started', 'slow').find((e) => e.region === wave2Region)!;
    for (const r of wave1) {
      expect(ms(r)).toBeGreaterThanOrEqual(ms(firstWave2));
      expect(r.reason).toMatch(/^the change failed in wave-2: /);
    }
    expect((ofType(events, 'simulation.finished')[0]!.changes as Record<string, any>).slow).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});

describe('a change whose boxes stop serving', () => {
  it('is caught at the first one-box by anomaly detection, before any production fleet', async () => {
    const prodRegions = thePlan.waves.flatMap((w) => w.regions.map((r) => r.region));
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-05T00:00:00Z',
      changes: [{ id: 'mute', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'traffic-drop', regions: prodRegions } }],
    });
    const triggered = ofType(events, 'alarm.triggered', 'mute');
    expect(triggered[0]).toMatchObject({ alarm: 'anomaly:RequestCount', region: wave1Region, target: 'onebox' });
    expect(ofType(events, 'deployment.started', 'mute').filter((e) => isProd(e) && e.target === 'fleet')).toEqual([]);
    expect(ofType(events, 'change.failed', 'mute')[0]).toMatchObject({ stage: 'wave-1', region: wave1Region });
    // The one-box, then the pre-production stages it passed.
    expect(ofType(events, 'rollback.completed', 'mute').filter(isProd)).toHaveLength(1);
    expect((ofType(events, 'simulation.finished')[0]!.changes as Record<string, any>).mute).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});

describe('a minimum of requests that traffic cannot reach', () => {
  it('extends the bakes and never promotes past them', async () => {
    const events = await simulateJson(
      {
        start: '2026-11-30T08:00:00Z',
        until: '2026-12-03T00:00:00Z',
        changes: [{ id: 'thin', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } }],
      },
      [THIN_PIPELINE],
    );
    const extended = ofType(events, 'bake.extended', 'thin');
    expect(extended.length).toBeGreaterThan(0);
    for (const e of extended) expect(e).toMatchObject({ reason: 'min-datapoints', stage: 'alpha' });
    expect(ofType(events, 'bake.completed', 'thin')).toEqual([]);
    expect(ofType(events, 'stage.started', 'thin').map((e) => e.stage)).toEqual(['source', 'build', 'alpha']);
    const failed = ofType(events, 'change.failed', 'thin');
    expect(failed).toHaveLength(1);
    expect(String(failed[0]!.reason)).toMatch(/^insufficient-data/);
  });
});

describe("a team alarm in a region while two of the team's pipelines bake there", () => {
  const changes = [
    { id: 'api', pipeline: 'storefront-api', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } },
    { id: 'search', pipeline: 'storefront-search', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } },
  ];
  const pipelines = [SMALL_PIPELINE, SEARCH_PIPELINE];
  let events: HandsoffEvent[];
  let alarmAt: number;
  let clearAt: number;

  beforeAll(async () => {
    // A first run finds when both one-boxes of the wave-1 region bake.
    const dry = await simulateJson({ start: '2026-11-30T08:00:00Z', until: '2026-12-02T00:00:00Z', changes }, pipelines);
    const bakes = ofType(dry, 'bake.started').filter((e) => e.region === wave1Region && e.target === 'onebox');
    expect(bakes.map((e) => e.change).sort()).toEqual(['api', 'search']);
    alarmAt = Math.max(...bakes.map(ms)) + 10 * 60_000;
    clearAt = alarmAt + 3 * 3600_000;
    events = await simulateJson(
      {
        start: '2026-11-30T08:00:00Z',
        until: '2026-12-03T00:00:00Z',
        changes,
        events: [
          { at: new Date(alarmAt).toISOString(), kind: 'team-alarm', region: wave1Region, state: 'ALARM' },
          { at: new Date(clearAt).toISOString(), kind: 'team-alarm', region: wave1Region, state: 'OK' },
        ],
      },
      pipelines,
    );
  });

  it('rolls both back within 60 s', () => {
    for (const change of ['api', 'search']) {
      const rollback = ofType(events, 'rollback.started', change).find((e) => e.region === wave1Region);
      expect(rollback, change).toBeDefined();
      expect(ms(rollback!) - alarmAt).toBeGreaterThanOrEqual(0);
      expect(ms(rollback!) - alarmAt).toBeLessThanOrEqual(60_000);
      expect(ofType(events, 'change.failed', change)[0]).toMatchObject({ stage: 'wave-1', region: wave1Region });
    }
  });

  it('starts nothing in that region while the team alarm is in ALARM', () => {
    const started = ofType(events, 'deployment.started').filter((e) => e.region === wave1Region && ms(e) >= alarmAt && ms(e) < clearAt);
    expect(started).toEqual([]);
  });
});

describe('a lost alarm event', () => {
  it('is caught by the reconciler within its period', async () => {
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-03T00:00:00Z',
      changes: [{ id: 'quiet', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.3, regions: [wave1Region] } }],
      events: [{ at: '2026-11-30T08:00:00Z', kind: 'lose-events', source: 'alarm', until: '2026-12-03T00:00:00Z' }],
    });
    const alarm = ofType(events, 'world.alarm').find((e) => e.state === 'ALARM' && e.region === wave1Region)!;
    const triggered = ofType(events, 'alarm.triggered', 'quiet')[0]!;
    expect(triggered).toMatchObject({ detectedBy: 'reconciler', region: wave1Region });
    const rollback = ofType(events, 'rollback.started', 'quiet')[0]!;
    expect(ms(rollback) - ms(alarm)).toBeLessThanOrEqual(5 * 60_000 + 1_000);
    expect(ofType(events, 'change.failed', 'quiet')).toHaveLength(1);
  });
});

describe('healthy changes over three weeks with daily traffic swings', () => {
  it('cause no alarm and no rollback', async () => {
    // Two a week, as many as the lanes let through and finish within the three weeks.
    const days = ['2026-11-30', '2026-12-02', '2026-12-07', '2026-12-09', '2026-12-14'];
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-21T08:00:00Z',
      changes: days.map((d, i) => ({ id: `h${i + 1}`, at: `${d}T09:00:00Z`, ...reviewed, behavior: { kind: 'healthy' } })),
    });
    expect(ofType(events, 'world.alarm').filter((e) => e.state === 'ALARM')).toEqual([]);
    expect(ofType(events, 'alarm.triggered')).toEqual([]);
    expect(ofType(events, 'rollback.started')).toEqual([]);
    const finished = ofType(events, 'simulation.finished')[0]!.changes as Record<string, { status: string }>;
    expect(Object.values(finished).every((c) => c.status === 'succeeded')).toBe(true);
  });
});

describe('a company event', () => {
  it('holds every production step while it is in ALARM, says so once per gate, and lets the change go on after', async () => {
    const alarmAt = Date.parse('2026-11-30T08:30:00Z');
    const clearAt = Date.parse('2026-12-01T12:00:00Z');
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-08T00:00:00Z',
      changes: [{ id: 'held', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } }],
      events: [
        { at: new Date(alarmAt).toISOString(), kind: 'company-event', state: 'ALARM' },
        { at: new Date(clearAt).toISOString(), kind: 'company-event', state: 'OK' },
      ],
    });
    const prodStarts = ofType(events, 'deployment.started', 'held').filter(isProd);
    expect(prodStarts.length).toBeGreaterThan(0);
    expect(prodStarts.filter((e) => ms(e) >= alarmAt && ms(e) < clearAt)).toEqual([]);
    const blocked = ofType(events, 'blocked', 'held').filter((e) => e.reason === 'company-event');
    expect(blocked).toHaveLength(1);
    const unblocked = ofType(events, 'unblocked', 'held').find((e) => e.reason === 'company-event')!;
    expect(ms(unblocked) - clearAt).toBeLessThanOrEqual(60_000);
    expect(ofType(events, 'change.completed', 'held')).toHaveLength(1);
  });
});
