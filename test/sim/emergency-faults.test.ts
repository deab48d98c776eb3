/**
 * The emergency fast-track when things go wrong, through `handsoff simulate --json` on a
 * two-wave pipeline (`shop`: alpha, then us-east-1, then eu-west-1; bakes of an hour or two,
 * the emergency floor PT5M): EventBridge down when the fast-tracked change ends, the operator
 * handler crashing after it wrote an approval, and refused decisions tried twice.
 */
import { describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ms, ofType, simulateJson, writeJson } from './cli-harness.ts';

const SHOP = writeJson('shop.json', {
  name: 'shop',
  service: 'Shop',
  team: 'shop',
  regions: ['us-east-1', 'eu-west-1'],
  waves: [['us-east-1'], ['eu-west-1']],
  unit: 'az',
  hostsPerUnit: 3,
  preProd: ['alpha'],
  preProdRegion: 'us-west-2',
  bake: { oneBox: 'PT1H', firstWave: 'PT2H', laterWaves: 'PT1H', unit: 'PT30M', preProd: 'PT30M', minRequests: 100, emergencyFloor: 'PT5M' },
  window: { timeZone: 'America/Los_Angeles', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' },
});

const healthy = { kind: 'healthy' };
const finished = (events: HandsoffEvent[]) => ofType(events, 'simulation.finished')[0]!.changes as Record<string, { status: string }>;

/** c1 fast-tracked (approved 16:20), c2 merged at `c2At`; EventBridge throttled from 18:20 until `ebUntil`, around c1's end. */
const eventBridgeDownAtTheEnd = (c2At: string, ebUntil: string) => ({
  start: '2026-11-30T08:00:00Z',
  until: '2026-12-06T00:00:00Z',
  approvers: ['pat'],
  changes: [
    { id: 'c1', at: '2026-11-30T16:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: healthy },
    { id: 'c2', at: c2At, author: 'erin', approvedBy: ['bob'], behavior: healthy },
  ],
  events: [
    { at: '2026-11-30T16:10:00Z', kind: 'emergency-request', change: 'c1', by: 'bob', reason: 'sev1' },
    { at: '2026-11-30T16:20:00Z', kind: 'emergency-decision', change: 'c1', by: 'pat', decision: 'approve', reason: 'ok' },
    { at: '2026-11-30T18:20:00Z', kind: 'fault', fault: 'throttle', service: 'eventbridge', rate: 1, until: ebUntil },
  ],
});

describe('a fast-tracked change that ends while EventBridge is down', () => {
  it('releases the change it held: c2 reaches its end (here it fails too: EventBridge stays down past its retries)', async () => {
    const events = await simulateJson(eventBridgeDownAtTheEnd('2026-11-30T16:30:00Z', '2026-11-30T19:30:00Z'), [SHOP]);
    expect(ofType(events, 'blocked', 'c2').filter((e) => e.reason === 'emergency-hold')).toHaveLength(1);
    expect(finished(events).c1!.status).toBe('failed');
    // Held until the 30-day expiry of the record before: in progress at the end of the run.
    expect(finished(events).c2!.status).toBe('failed');
  });

  it('holds no change once its end is recorded, though change.failed never went out: c2 merged later completes', async () => {
    const events = await simulateJson(eventBridgeDownAtTheEnd('2026-11-30T18:00:00Z', '2026-11-30T18:30:00Z'), [SHOP]);
    expect(finished(events).c1!.status).toBe('failed');
    expect(ofType(events, 'blocked', 'c2').filter((e) => e.reason === 'emergency-hold')).toEqual([]);
    expect(ofType(events, 'change.completed', 'c2')).toHaveLength(1);
  });
});

/** c1 fast-tracked; the operator handler crashes at every invocation from 16:15 until `until` (seed 7: the first one after writing the approval). */
const crashAfterTheApproval = (until: string) => ({
  start: '2026-11-30T08:00:00Z',
  until: '2026-12-03T00:00:00Z',
  approvers: ['pat'],
  seed: 7,
  changes: [{ id: 'c1', at: '2026-11-30T16:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: healthy }],
  events: [
    { at: '2026-11-30T16:10:00Z', kind: 'emergency-request', change: 'c1', by: 'alice', reason: 'sev1' },
    { at: '2026-11-30T16:15:00Z', kind: 'fault', fault: 'crash', handler: 'operator', rate: 1, until },
    { at: '2026-11-30T16:20:00Z', kind: 'emergency-decision', change: 'c1', by: 'pat', decision: 'approve', reason: 'ok' },
  ],
});

describe('an approval whose handler crashed after writing it', () => {
  it('takes no effect while it is not announced: no bake at the floor, no window waived', async () => {
    const events = await simulateJson(crashAfterTheApproval('2026-11-30T16:25:00Z'), [SHOP]);
    const crashes = ofType(events, 'world.fault').filter((e) => e.handler === 'operator');
    // The first attempt and the two retries of the asynchronous invocation (after 1 and 2 minutes) all crash.
    expect(crashes.map((e) => e.time)).toEqual(['2026-11-30T16:20:00.000Z', '2026-11-30T16:21:00.000Z', '2026-11-30T16:23:00.000Z']);
    expect(String(crashes[0]!.when)).toMatch(/UpdateItem/);
    expect(ofType(events, 'approval.granted')).toEqual([]);
    expect(ofType(events, 'bake.started', 'c1').filter((e) => e.duration === 'PT5M')).toEqual([]);
    expect(ofType(events, 'unblocked', 'c1').some((e) => e.reason === 'time-window')).toBe(true);
  });

  it('is announced by the retry, and from then on bakes at the floor', async () => {
    const events = await simulateJson(crashAfterTheApproval('2026-11-30T16:22:00Z'), [SHOP]);
    const granted = ofType(events, 'approval.granted', 'c1');
    expect(granted.map((e) => [e.time, e.by])).toEqual([['2026-11-30T16:23:00.000Z', 'pat']]);
    const floor = ofType(events, 'bake.started', 'c1').filter((e) => e.duration === 'PT5M');
    expect(floor.length).toBeGreaterThan(0);
    expect(floor.every((e) => ms(e) >= ms(granted[0]!))).toBe(true);
  });
});

describe('refused decisions tried again', () => {
  it('records each attempt of a person who may not decide (zed at 16:13 and 16:14)', async () => {
    const events = await simulateJson(
      {
        start: '2026-11-30T08:00:00Z',
        until: '2026-12-02T00:00:00Z',
        approvers: ['pat'],
        changes: [{ id: 'c1', at: '2026-11-30T16:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: healthy }],
        events: [
          { at: '2026-11-30T16:10:00Z', kind: 'emergency-request', change: 'c1', by: 'bob', reason: 'sev1' },
          { at: '2026-11-30T16:13:00Z', kind: 'emergency-decision', change: 'c1', by: 'zed', decision: 'approve', reason: 'zed' },
          { at: '2026-11-30T16:14:00Z', kind: 'emergency-decision', change: 'c1', by: 'zed', decision: 'approve', reason: 'zed' },
        ],
      },
      [SHOP],
    );
    expect(ofType(events, 'approval.denied', 'c1').map((e) => [e.time, e.by, e.reason])).toEqual([
      ['2026-11-30T16:13:00.000Z', 'zed', 'not-an-approver'],
      ['2026-11-30T16:14:00.000Z', 'zed', 'not-an-approver'],
    ]);
  });
});
