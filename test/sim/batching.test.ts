/**
 * Release batching through `handsoff simulate --json` (examples/batching-scenario.json): four
 * changes merged two hours apart, the last three while the first is in wave 1 (it bakes there
 * for twelve hours). Batching (the default), the two waiting in front of wave 1 are superseded
 * by the newest when the lane frees; `batching: false`, all four deploy, one by one, in order.
 * A third run has the newest change fail in wave 1: every stage it rolls back returns to what
 * it ran last (an older change's revision), never to a superseded gap. A fourth has the third
 * change fast-tracked: no normal change supersedes it.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { orderViolations } from '../../sim/chaos-shared.ts';
import { ms, ofType, simulateJson, summary, writeJson } from './cli-harness.ts';

const PIPELINE = 'examples/pipeline.json';
const scenario = JSON.parse(readFileSync('examples/batching-scenario.json', 'utf8')) as { changes: Array<{ id: string; at: string; behavior?: unknown }> };
const mergeOrder = scenario.changes.map((c) => c.id);


/** For every deployment group (of a stage and region): the changes that started a deployment there, in time order. */
const deploymentsByPlace = (events: HandsoffEvent[]): Map<string, string[]> => {
  const places = new Map<string, string[]>();
  for (const e of ofType(events, 'deployment.started')) {
    const place = `${e.stage}|${e.region}|${e.deploymentGroup}`;
    places.set(place, [...(places.get(place) ?? []), String(e.change)]);
  }
  return places;
};

/** Groups where an older change started a deployment after a newer one (the chaos runs' order rule). */
const outOfOrder = (events: HandsoffEvent[]): string[] => orderViolations(events, mergeOrder);

describe('release batching: four changes merged while wave 1 is busy', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(scenario, [PIPELINE]);
  });

  it('supersedes the changes waiting for wave 1 by the newest, which completes', () => {
    const superseded = ofType(events, 'change.superseded');
    expect(superseded.map((e) => [e.change, e.by, e.stage])).toEqual([
      ['c2', 'c4', 'wave-1'],
      ['c3', 'c4', 'wave-1'],
    ]);
    const changes = summary(events);
    expect(changes.c1).toMatchObject({ status: 'succeeded' });
    expect(changes.c2).toMatchObject({ status: 'superseded', leadTime: null, regionsReached: [] });
    expect(changes.c3).toMatchObject({ status: 'superseded', leadTime: null, regionsReached: [] });
    expect(changes.c4).toMatchObject({ status: 'succeeded' });
    expect(changes.c4!.regionsReached).toEqual(changes.c1!.regionsReached);
    expect(changes.c4!.boxesAtEnd).toBeGreaterThan(0);
  });

  it('lets the waiting changes collect in front of wave 1: each frees gamma while it waits', () => {
    const firstSuperseded = ms(ofType(events, 'change.superseded')[0]!);
    for (const c of ['c3', 'c4']) {
      const gamma = ofType(events, 'stage.started', c).find((e) => e.stage === 'gamma');
      expect(gamma, `${c} enters gamma`).toBeDefined();
      expect(ms(gamma!)).toBeLessThan(firstSuperseded);
    }
    expect(ofType(events, 'blocked').filter((e) => e.reason === 'lane').map((e) => [e.change, e.stage])).toEqual([
      ['c2', 'wave-1'],
      ['c3', 'wave-1'],
      ['c4', 'wave-1'],
    ]);
  });

  it('ends a superseded change there: it deploys nothing after, and the newest takes wave 1 at once', () => {
    const takeOver = ofType(events, 'change.superseded')[0]!;
    for (const c of ['c2', 'c3']) {
      const after = events.filter((e) => e.change === c && !e.type.startsWith('world.') && ms(e) > ms(takeOver));
      expect(after).toEqual([]);
      expect(ofType(events, 'deployment.started', c).filter((e) => String(e.stage).startsWith('wave-'))).toEqual([]);
    }
    const c4Wave1 = ofType(events, 'stage.started', 'c4').find((e) => e.stage === 'wave-1')!;
    expect(ms(c4Wave1)).toBe(ms(takeOver));
  });

  it('never starts an older change deployment after a newer one, in any stage or region', () => {
    expect(outOfOrder(events)).toEqual([]);
    expect(deploymentsByPlace(events).size).toBeGreaterThan(0);
  });
});

describe('batching: false keeps strict one-by-one order', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    const strict = writeJson('strict-pipeline.json', { ...JSON.parse(readFileSync(PIPELINE, 'utf8')), batching: false });
    events = await simulateJson(scenario, [strict]);
  });

  it('deploys all four changes, in merge order, everywhere', () => {
    expect(ofType(events, 'change.superseded')).toEqual([]);
    const changes = summary(events);
    for (const c of mergeOrder) expect(changes[c], c).toMatchObject({ status: 'succeeded' });
    expect(outOfOrder(events)).toEqual([]);
    const wave1 = [...deploymentsByPlace(events)].find(([place]) => place.startsWith('wave-1|'))![1];
    expect([...new Set(wave1)]).toEqual(mergeOrder);
  });
});

describe('batching: the newest change fails in wave 1 after superseding the waiting ones', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    const failing = {
      ...scenario,
      changes: scenario.changes.map((c) => (c.id === 'c4' ? { ...c, behavior: { kind: 'faults', rate: 0.5, regions: ['sa-east-1'] } } : c)),
    };
    events = await simulateJson(failing, [PIPELINE]);
  });

  it('rolls each stage back to the revision it ran last', () => {
    expect(ofType(events, 'change.superseded').map((e) => e.by)).toEqual(['c4', 'c4']);
    expect(summary(events).c4).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
    const rollbacks = ofType(events, 'rollback.started', 'c4');
    expect(rollbacks.length).toBeGreaterThan(0);
    for (const r of rollbacks) {
      // What the place ran before c4's deployment there: the last deployment that succeeded before it.
      const c4Started = ofType(events, 'deployment.started', 'c4').find((e) => e.stage === r.stage && e.region === r.region && e.target === r.target);
      expect(c4Started, `c4 deployed in ${r.stage}/${r.region}`).toBeDefined();
      const before = ofType(events, 'deployment.succeeded').filter(
        (e) => e.change !== 'c4' && e.stage === r.stage && e.region === r.region && e.target === r.target && ms(e) <= ms(c4Started!),
      );
      expect(r.revision, `${r.stage}/${r.region}/${r.target}`).toBe(before.at(-1)?.revision);
    }
  });
});

describe('batching: an approved emergency among the waiting changes', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      {
        ...scenario,
        approvers: ['pat'],
        events: [
          { at: '2026-11-30T13:05:00Z', kind: 'emergency-request', change: 'c3', by: 'dave', reason: 'checkout fails for EU cards' },
          { at: '2026-11-30T13:20:00Z', kind: 'emergency-decision', change: 'c3', by: 'pat', decision: 'approve', reason: 'incident INC-1' },
        ],
      },
      [PIPELINE],
    );
  });

  it('is never superseded by a newer normal change: it takes wave 1, the older one is superseded by it, the newer one follows it', () => {
    expect(ofType(events, 'change.superseded').map((e) => [e.change, e.by, e.stage])).toEqual([['c2', 'c3', 'wave-1']]);
    const changes = summary(events);
    expect(changes.c2).toMatchObject({ status: 'superseded' });
    for (const c of ['c1', 'c3', 'c4']) expect(changes[c], c).toMatchObject({ status: 'succeeded' });
    const wave1 = ofType(events, 'stage.started').filter((e) => e.stage === 'wave-1').map((e) => e.change);
    expect(wave1).toEqual(['c1', 'c3', 'c4']);
    expect(outOfOrder(events)).toEqual([]);
  });
});
