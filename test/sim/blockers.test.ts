/**
 * Blockers fail closed, end to end: a blocker alarm that does not exist, or an aggregate
 * without data, holds its region (`blocked`, reasons `alarm-missing` and `insufficient-data`)
 * and nothing deploys there, judged by the world's own deployment records.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { companyEventAlarmName, teamAggregateAlarmName } from '../../core/naming.ts';
import { ms, ofType, plan, reviewed, simulateJson } from './cli-harness.ts';


let wave1Region: string;
beforeAll(async () => {
  wave1Region = (await plan()).waves[0]!.regions[0]!.region;
});

const worldDeploymentsIn = (events: HandsoffEvent[], region: string): HandsoffEvent[] =>
  ofType(events, 'world.deployment').filter((e) => e.region === region);

describe.each([
  ['company event alarm', (region: string) => companyEventAlarmName(region)],
  ['team aggregate alarm', (region: string) => teamAggregateAlarmName('storefront', region)],
])('a region whose %s does not exist', (_, alarmOf) => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-04T00:00:00Z',
      changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } }],
      // Deleted before the change reaches production, never created again.
      events: [{ at: '2026-11-30T08:30:00Z', kind: 'fault', fault: 'delete-alarm', region: wave1Region, alarm: alarmOf(wave1Region) }],
    });
  });

  it('holds the region with blocked: alarm-missing, once, and never lifts it', () => {
    const blocked = ofType(events, 'blocked', 'c1').filter((e) => e.region === wave1Region);
    expect(blocked.map((e) => [e.reason, e.alarm])).toEqual([['alarm-missing', alarmOf(wave1Region)]]);
    expect(ofType(events, 'unblocked', 'c1').filter((e) => e.region === wave1Region)).toEqual([]);
  });

  it('deploys nothing there, and the change goes no further than pre-production', () => {
    expect(worldDeploymentsIn(events, wave1Region)).toEqual([]);
    const production = ofType(events, 'world.deployment').filter((e) => String(e.stage).startsWith('wave-'));
    expect(production).toEqual([]);
    // Pre-production ran: the hold is the region's gate, not a change that never started.
    expect(ofType(events, 'world.deployment').length).toBeGreaterThan(0);
    expect(ofType(events, 'change.completed', 'c1')).toEqual([]);
    expect(ofType(events, 'change.failed', 'c1')).toEqual([]);
    const finished = ofType(events, 'simulation.finished')[0]!.changes as Record<string, { status: string }>;
    expect(finished.c1!.status).toBe('in-flight');
  });
});

describe('a team aggregate without data', () => {
  const from = Date.parse('2026-11-30T08:30:00Z');
  const until = Date.parse('2026-12-01T16:00:00Z');
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-10T00:00:00Z',
      changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } }],
      events: [
        { at: new Date(from).toISOString(), kind: 'team-alarm', region: wave1Region, state: 'INSUFFICIENT_DATA' },
        { at: new Date(until).toISOString(), kind: 'team-alarm', region: wave1Region, state: 'OK' },
      ],
    });
  });

  it('reaches the world as INSUFFICIENT_DATA, not OK', () => {
    const states = ofType(events, 'world.alarm').filter((e) => e.region === wave1Region && String(e.alarm).endsWith('-aggregate'));
    expect(states.map((e) => [e.time, e.state])).toEqual([
      [new Date(from).toISOString(), 'INSUFFICIENT_DATA'],
      [new Date(until).toISOString(), 'OK'],
    ]);
  });

  it('holds its region with blocked: insufficient-data while it has no data, deploying nothing there', () => {
    const blocked = ofType(events, 'blocked', 'c1').filter((e) => e.region === wave1Region && e.reason === 'insufficient-data');
    expect(blocked).toHaveLength(1);
    expect(ms(blocked[0]!)).toBeGreaterThanOrEqual(from);
    expect(worldDeploymentsIn(events, wave1Region).filter((e) => ms(e) < until)).toEqual([]);
  });

  it('lets the change go on once it has data: unblocked, deployed there, completed', () => {
    const unblocked = ofType(events, 'unblocked', 'c1').find((e) => e.region === wave1Region && e.reason === 'insufficient-data')!;
    expect(unblocked).toBeDefined();
    expect(ms(unblocked)).toBeGreaterThanOrEqual(until);
    expect(worldDeploymentsIn(events, wave1Region).length).toBeGreaterThan(0);
    expect(ofType(events, 'change.completed', 'c1')).toHaveLength(1);
  });
});
