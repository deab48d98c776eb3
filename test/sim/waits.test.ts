/**
 * Idle waiting costs a fixed number of history events and handler invocations per wait,
 * however long it lasts (beside the reconciler's hourly heartbeat and a blocker wait's re-checks,
 * whose period doubles up to a day), through `handsoff simulate --json`. The same scenario with a company
 * event freezing production for 3 days and for 30 days: c1 waits at its first production gate
 * (a blocker wait), c2 waits for the wave-1 lane c1 holds (a lane wait), and after the freeze
 * c1's units wait over weekends (window holds; the 30-day run adds two holidays to one of them).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { RECONCILE_HEARTBEAT_SECONDS } from '../../core/sweeps.ts';
import { recheckTimes } from '../core/rechecks.ts';
import { ms, ofType, plan, reviewed, simulateJson } from './cli-harness.ts';

const DAY = 86_400_000;
const FREEZE_FROM = Date.parse('2026-11-30T08:30:00Z');

const scenario = (days: number, holidays: string[] = []) => ({
  start: '2026-11-30T08:00:00Z',
  until: new Date(FREEZE_FROM + (days + 25) * DAY).toISOString(),
  changes: [
    { id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'healthy' } },
    { id: 'c2', at: '2026-11-30T12:00:00Z', ...reviewed, behavior: { kind: 'healthy' } },
  ],
  events: [
    { at: new Date(FREEZE_FROM).toISOString(), kind: 'company-event', state: 'ALARM' },
    { at: new Date(FREEZE_FROM + days * DAY).toISOString(), kind: 'company-event', state: 'OK' },
    ...holidays.map((date) => ({ at: '2026-11-30T08:00:00Z', kind: 'holiday', date })),
  ],
});

interface Run {
  events: HandsoffEvent[];
  stats: { transitions: number; invocations: number; dynamodbRequests: number; largestHistory: number };
  changes: Record<string, { status: string }>;
  /** Virtual time the run ended (its last change done). */
  end: number;
}

const runOf = (events: HandsoffEvent[]): Run => {
  const finished = ofType(events, 'simulation.finished')[0]!;
  return { events, stats: finished.stats as Run['stats'], changes: finished.changes as Run['changes'], end: ms(finished) };
};

let wave1: string;
let short: Run;
let long: Run;
beforeAll(async () => {
  wave1 = (await plan()).waves[0]!.regions[0]!.region;
  // After the 30-day freeze c1's last wave holds from Thursday 31 December over the weekend;
  // two holidays make that hold last until Wednesday.
  const [a, b] = await Promise.all([simulateJson(scenario(3)), simulateJson(scenario(30, ['2027-01-04', '2027-01-05']))]);
  short = runOf(a);
  long = runOf(b);
});

describe.each([
  ['3 days', () => short, 3],
  ['30 days', () => long, 30],
])('a company event freezing production for %s', (_, run, days) => {
  it('holds c1 at its first production gate (blocked: company-event, once), then lets it deploy and complete', () => {
    const { events, changes } = run();
    const blocked = ofType(events, 'blocked', 'c1').filter((e) => e.reason === 'company-event');
    expect(blocked.map((e) => e.region)).toEqual([wave1]);
    const unblocked = ofType(events, 'unblocked', 'c1').filter((e) => e.reason === 'company-event');
    expect(unblocked).toHaveLength(1);
    // On the alarm's OK event (delivered within seconds), not at a sweep.
    expect(ms(unblocked[0]!)).toBeGreaterThanOrEqual(FREEZE_FROM + days * DAY);
    expect(ms(unblocked[0]!)).toBeLessThan(FREEZE_FROM + days * DAY + 60_000);
    const production = ofType(events, 'world.deployment').filter((e) => String(e.stage).startsWith('wave-') && e.revision === 'c1');
    expect(production.length).toBeGreaterThan(0);
    expect(Math.min(...production.map(ms))).toBeGreaterThanOrEqual(FREEZE_FROM + days * DAY);
    expect(changes).toMatchObject({ c1: { status: 'succeeded' }, c2: { status: 'succeeded' } });
  });

  it('makes c2 wait for the wave-1 lane c1 holds, once (blocked: lane), until c1 moves on', () => {
    const { events } = run();
    expect(ofType(events, 'blocked', 'c2').filter((e) => e.reason === 'lane').map((e) => e.stage)).toContain('wave-1');
    const entered = ofType(events, 'stage.started', 'c2').find((e) => e.stage === 'wave-1')!;
    expect(ms(entered)).toBeGreaterThan(FREEZE_FROM + days * DAY);
  });

  it('keeps the largest execution history at most 2,500 events', () => {
    expect(run().stats.largestHistory).toBeLessThanOrEqual(2_500);
  });
});

describe('ten times longer waits', () => {
  it('cost the executions (nearly) the same history and transitions', () => {
    expect(long.stats.largestHistory).toBeLessThanOrEqual(short.stats.largestHistory * 1.05);
    expect(long.stats.transitions).toBeLessThanOrEqual(short.stats.transitions * 1.05);
  });

  it('hold over a long weekend and two holidays in one wait', () => {
    const holds = ofType(long.events, 'blocked', 'c1').filter((e) => e.reason === 'time-window' && Date.parse(String(e.until)) - ms(e) > 4 * DAY);
    expect(holds.length).toBeGreaterThan(0);
  });

  it('add no handler invocations beyond the reconciler heartbeats and the blocker re-checks of the longer run', () => {
    // The heartbeat is the reconciler's standing schedule (hourly, whatever is open); no other
    // sweep runs while c1 is frozen, c2 waits for the lane and c1's units hold over a weekend.
    const heartbeats = (long.end - short.end) / (RECONCILE_HEARTBEAT_SECONDS * 1000);
    // The re-checks of a 30-day blocker wait, the first an hour after the gate closed (33: more than the 27 extra days add).
    const rechecks = recheckTimes(30 * 24, 'handsoff-company-event-sa-east-1').length;
    expect(rechecks).toBe(33);
    // A margin of a few dozen invocations: the two runs' rollouts after the freeze differ a little (weekends, holidays).
    expect(long.stats.invocations - short.stats.invocations).toBeLessThanOrEqual(heartbeats + rechecks + 50);
  });
});
