/**
 * The emergency fast-track end to end, through `handsoff simulate --json` on the demo
 * pipeline (examples/emergency-scenario.json: c1 merged Monday 09:00Z, its author asks at
 * 09:05, Pat approves at 09:20 for approvers [pat]; c2 merged at 13:00Z).
 *
 * Measured on this scenario: c1's lead time is P7DT3H50M8S without the emergency (windows,
 * a night and a weekend, hour-long bakes) and PT8H2M56S fast-tracked (every bake at the
 * PT10M floor, no window holding it): about a twentieth. The same 140 production deployments.
 * The approvals that must change nothing, and one that lands during a window wait, run on the
 * five-region pipeline of the other end-to-end tests, against the same changes without one.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { demo, ms, ofType, simulateJson, SMALL_PIPELINE } from './cli-harness.ts';

const SCENARIO = JSON.parse(readFileSync(new URL('../../examples/emergency-scenario.json', import.meta.url), 'utf8')) as {
  changes: Array<{ id: string; [field: string]: unknown }>;
  events: Array<Record<string, unknown>>;
  [field: string]: unknown;
};
/** The demo pipeline (no --pipeline): the documented example, as `--scenario examples/emergency-scenario.json` runs it. */
const DEMO: string[] = [];
/**
 * The five-region pipeline of the other end-to-end tests, for the approvals that must change
 * nothing and the one that lands during a window wait: what they assert holds on any pipeline
 * with a window, and a fifth of the regions simulates in a fraction of the time.
 */
const SMALL = [SMALL_PIPELINE];
const FLOOR = 'PT10M';

const seconds = (iso: string): number => {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(iso)!;
  return (Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
};
const leadTime = (events: HandsoffEvent[], change: string): string => ofType(events, 'change.completed', change)[0]!.leadTime as string;
const productionDeployments = (events: HandsoffEvent[], change: string): HandsoffEvent[] =>
  ofType(events, 'deployment.started', change).filter((e) => String(e.stage).startsWith('wave-'));
const bakeDurations = (events: HandsoffEvent[], change: string): Array<[unknown, unknown, unknown, unknown, unknown]> =>
  ofType(events, 'bake.started', change).map((e) => [e.stage, e.region, e.unit, e.target, e.duration]);

/**
 * c1 without the emergency, on the demo pipeline: the demo's own c1 (`npm start`, its run
 * shared with the other files that read the demo), the same healthy change merged at the same
 * minute by the same author. The demo's c2 (merged four hours later, as here, but bad in the
 * first production region) queues behind c1 at every lane, so it changes nothing of c1's path:
 * the same c1 lead time, P7DT3H50M8S, and 140 production deployments as a run of c1 alone,
 * when checked.
 */
let normal: HandsoffEvent[];
let fast: HandsoffEvent[];
/** The same changes without an emergency, on SMALL. */
let normalSmall: HandsoffEvent[];
beforeAll(async () => {
  [{ events: normal }, fast, normalSmall] = await Promise.all([demo(), simulateJson(SCENARIO, DEMO), simulateJson({ ...SCENARIO, events: [] }, SMALL)]);
});

describe('an approved emergency on the demo pipeline', () => {
  it("is compared with the demo's c1: the same change, merged at the same time", () => {
    const c1 = SCENARIO.changes.find((c) => c.id === 'c1')!;
    expect(ofType(normal, 'change.received', 'c1').map((e) => [e.time, e.author])).toEqual([[new Date(c1.at as string).toISOString(), c1.author]]);
    expect(ofType(normal, 'approval.requested', 'c1')).toEqual([]);
  });

  it('is requested and granted with who and why (Pat approves for approvers [pat])', () => {
    expect(ofType(fast, 'approval.requested', 'c1').map((e) => [e.by, e.reason])).toEqual([['alice', 'checkout fails for every EU card since 08:40']]);
    expect(ofType(fast, 'approval.granted', 'c1').map((e) => [e.by, e.reason])).toEqual([['Pat', 'incident INC-2041; the fix is one line']]);
  });

  it('bakes every bake that starts after the approval at the floor, unless extended for its data points', () => {
    const granted = ms(ofType(fast, 'approval.granted', 'c1')[0]!);
    const after = ofType(fast, 'bake.started', 'c1').filter((e) => ms(e) >= granted);
    expect(after.length).toBeGreaterThan(100);
    const extended = new Set(ofType(fast, 'bake.extended', 'c1').map((e) => [e.stage, e.region, e.unit, e.target].join('|')));
    for (const e of after) {
      if (!extended.has([e.stage, e.region, e.unit, e.target].join('|'))) expect(e.duration, JSON.stringify(e)).toBe(FLOOR);
    }
    // The normal run's bakes are longer: the floor is what changed them.
    expect(ofType(normal, 'bake.started', 'c1').every((e) => seconds(String(e.duration)) > seconds(FLOOR))).toBe(true);
  });

  it(`completes in a fraction of the normal lead time (normal P7DT3H50M8S, fast-tracked PT8H2M56S when measured)`, () => {
    const [slow, quick] = [seconds(leadTime(normal, 'c1')), seconds(leadTime(fast, 'c1'))];
    expect(quick).toBeLessThan(slow / 5);
  });

  it('takes the same production steps: as many production deployments, in the same groups', () => {
    const groups = (events: HandsoffEvent[]) => productionDeployments(events, 'c1').map((e) => e.deploymentGroup).sort();
    expect(groups(fast)).toEqual(groups(normal));
    expect(groups(fast).length).toBeGreaterThan(0);
  });

  it('holds a change merged after it (blocked: emergency-hold) out of production until it completes', () => {
    const completed = ms(ofType(fast, 'change.completed', 'c1')[0]!);
    const held = ofType(fast, 'blocked', 'c2').filter((e) => e.reason === 'emergency-hold');
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((e) => e.stage === 'wave-1' && e.emergency === 'c1' && ms(e) < completed)).toBe(true);
    const wave1 = productionDeployments(fast, 'c2');
    expect(wave1.length).toBeGreaterThan(0);
    expect(Math.min(...wave1.map(ms))).toBeGreaterThanOrEqual(completed);
    const released = ofType(fast, 'unblocked', 'c2').filter((e) => e.reason === 'emergency-hold');
    expect(released.map(ms)).toEqual(held.map(() => completed));
    expect(ofType(fast, 'change.completed', 'c2')).toHaveLength(1);
  });
});

describe('refused approvals change nothing', () => {
  let refused: HandsoffEvent[];
  beforeAll(async () => {
    refused = await simulateJson(
      {
        ...SCENARIO,
        events: [
          { at: '2026-11-30T09:05:00Z', kind: 'emergency-request', change: 'c1', by: 'dave', reason: 'checkout is down' },
          // The author, the requester (in other letters) and someone outside the approvers.
          { at: '2026-11-30T09:10:00Z', kind: 'emergency-decision', change: 'c1', by: 'alice', decision: 'approve' },
          { at: '2026-11-30T09:11:00Z', kind: 'emergency-decision', change: 'c1', by: 'Dave', decision: 'approve' },
          { at: '2026-11-30T09:12:00Z', kind: 'emergency-decision', change: 'c1', by: 'bob', decision: 'approve' },
        ],
        approvers: ['pat', 'alice', 'dave'],
      },
      SMALL,
    );
  });

  it('denies each with its reason: approval.denied self-approval, self-approval, not-an-approver', () => {
    expect(ofType(refused, 'approval.denied', 'c1').map((e) => [e.by, e.reason])).toEqual([
      ['alice', 'self-approval'],
      ['Dave', 'self-approval'],
      ['bob', 'not-an-approver'],
    ]);
    expect(ofType(refused, 'approval.granted')).toEqual([]);
  });

  it('keeps the change’s bakes, lead time and the other change as they were', () => {
    expect(bakeDurations(refused, 'c1')).toEqual(bakeDurations(normalSmall, 'c1'));
    expect(bakeDurations(refused, 'c1').length).toBeGreaterThan(10);
    expect(leadTime(refused, 'c1')).toBe(leadTime(normalSmall, 'c1'));
    expect(ofType(refused, 'blocked', 'c2').filter((e) => e.reason === 'emergency-hold')).toEqual([]);
  });
});

describe('an approval that lands while the change waits for its window', () => {
  let late: HandsoffEvent[];
  /** c1's first wait for a window without the emergency, on SMALL. */
  let waiting: HandsoffEvent;
  const MINUTE = 60_000;
  beforeAll(async () => {
    waiting = ofType(normalSmall, 'blocked', 'c1').find((e) => e.reason === 'time-window')!;
    const opened = ofType(normalSmall, 'unblocked', 'c1').find((e) => e.reason === 'time-window' && e.region === waiting.region && ms(e) > ms(waiting))!;
    // Asked a minute into the wait and approved halfway through it, on a whole minute.
    const approvedAt = Math.floor((ms(waiting) + ms(opened)) / 2 / MINUTE) * MINUTE;
    expect(approvedAt - ms(waiting)).toBeGreaterThan(30 * MINUTE);
    late = await simulateJson(
      {
        ...SCENARIO,
        events: [
          { at: new Date(ms(waiting) + MINUTE).toISOString(), kind: 'emergency-request', change: 'c1', by: 'alice', reason: 'checkout is down' },
          { at: new Date(approvedAt).toISOString(), kind: 'emergency-decision', change: 'c1', by: 'pat', decision: 'approve' },
        ],
      },
      SMALL,
    );
  });

  it('ends the wait at once: unblocked, and the one-box deploys within a minute of the approval', () => {
    const granted = ms(ofType(late, 'approval.granted', 'c1')[0]!);
    expect(ms(waiting)).toBeLessThan(granted);
    const released = ofType(late, 'unblocked', 'c1').find((e) => e.reason === 'time-window' && e.region === waiting.region && ms(e) >= ms(waiting))!;
    // Released by the approval: not before it, within a minute of it.
    expect(ms(released)).toBeGreaterThanOrEqual(granted);
    expect(ms(released) - granted).toBeLessThan(MINUTE);
    const deployed = ofType(late, 'deployment.started', 'c1').find((e) => e.stage === waiting.stage && e.region === waiting.region && ms(e) >= granted)!;
    expect(deployed.target).toBe('onebox');
    expect(ms(deployed) - granted).toBeLessThan(MINUTE);
  });
});
