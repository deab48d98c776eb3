/**
 * A change that fails late (docs/simulation.md: "a failed change runs on no box at the end"),
 * through `handsoff simulate --json`: the stages it passed are rolled back too, except where a
 * newer change has been deployed since (the newer change contains it). Judged from the world's
 * own deployment records (`world.deployment`) and the run's summary.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ms, ofType, plan, reviewed, simulateJson, summary } from './cli-harness.ts';


/** The world's deployments created in a stage (and region), in order: `revision` per deployment. */
const created = (events: HandsoffEvent[], stage: string, region?: string): HandsoffEvent[] =>
  ofType(events, 'world.deployment').filter((e) => e.status === 'Created' && e.stage === stage && (region === undefined || e.region === region));


describe('a change that fails in wave 2, after pre-production and wave 1, with a healthy change behind it', () => {
  let events: HandsoffEvent[];
  let preProd: string[];
  let wave1: string;
  let wave2: string;
  let failedAt: number;
  beforeAll(async () => {
    const thePlan = await plan();
    wave1 = thePlan.waves[0]!.regions[0]!.region;
    wave2 = thePlan.waves[1]!.regions[0]!.region;
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      changes: [
        // Bad in wave 2's region only: it passes pre-production and wave 1, then fails there (Tuesday afternoon).
        { id: 'c2', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.5, regions: [wave2] } },
        // Merged later; it is in the first pre-production stage when c2 fails.
        { id: 'c3', at: '2026-12-01T13:45:00Z', ...reviewed },
      ],
    });
    preProd = [...new Set(ofType(events, 'stage.started', 'c2').map((e) => String(e.stage)))].filter((s) => !['source', 'build'].includes(s) && !s.startsWith('wave-'));
    failedAt = ms(ofType(events, 'change.failed', 'c2')[0]!);
  });

  it('fails in wave 2, having completed pre-production and wave 1', () => {
    expect(preProd.length).toBeGreaterThan(1);
    expect(ofType(events, 'stage.completed', 'c2').map((e) => e.stage)).toEqual(expect.arrayContaining([...preProd, 'wave-1']));
    expect(ofType(events, 'change.failed', 'c2')[0]).toMatchObject({ stage: 'wave-2', region: wave2 });
  });

  it('runs on no box at the end: pre-production and wave 1 were rolled back to what ran before', () => {
    expect(summary(events).c2).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
    // Every group of wave 1 got c2, then its rollback to the revision before, before c2 was marked failed.
    const wave1Groups = created(events, 'wave-1', wave1).filter((e) => e.revision === 'c2');
    expect(wave1Groups.length).toBeGreaterThan(1);
    for (const group of wave1Groups.map((e) => e.deploymentGroup)) {
      const after = created(events, 'wave-1', wave1).filter((e) => e.deploymentGroup === group && ms(e) > ms(wave1Groups[0]!));
      const rollback = after.find((e) => e.revision !== 'c2');
      expect(rollback, `${group} in ${wave1}`).toMatchObject({ revision: 'initial' });
      expect(ms(rollback!)).toBeLessThanOrEqual(failedAt);
    }
    // The pre-production stages c3 had not reached yet: rolled back too.
    // Each of their groups (gamma's one-box too) went from c2 back to what ran before.
    for (const stage of preProd.slice(1)) {
      const groups = [...new Set(created(events, stage).map((e) => String(e.deploymentGroup)))];
      for (const group of groups) {
        expect(created(events, stage).filter((e) => e.deploymentGroup === group).map((e) => e.revision).slice(0, 2), group).toEqual(['c2', 'initial']);
      }
    }
    const rolledBack = new Set(ofType(events, 'rollback.started', 'c2').map((e) => e.stage));
    expect([...rolledBack].sort()).toEqual([...preProd.slice(1), 'wave-1', 'wave-2'].sort());
    for (const e of ofType(events, 'rollback.started', 'c2').filter((r) => r.stage !== 'wave-2')) {
      expect(e.reason).toMatch(/^the change failed in wave-2: /);
    }
    expect(ofType(events, 'rollback.completed', 'c2').length).toBe(ofType(events, 'rollback.started', 'c2').length);
  });

  it('does not roll back the newer change: the first pre-production stage went from c2 to c3 only', () => {
    const first = preProd[0]!;
    expect(created(events, first).map((e) => e.revision)).toEqual(['c2', 'c3']);
    // c3 was deployed there before c2 failed (and before c2's rollbacks of the earlier stages).
    expect(ms(created(events, first)[1]!)).toBeLessThan(failedAt);
    expect(ms(created(events, first)[1]!)).toBeLessThan(ms(ofType(events, 'rollback.started', 'c2').find((e) => e.stage !== 'wave-2')!));
    expect(ofType(events, 'rollback.started', 'c2').filter((e) => e.stage === first)).toEqual([]);
    expect(summary(events).c3!.status).toBe('succeeded');
    expect(ofType(events, 'change.completed', 'c3')).toHaveLength(1);
  });
});

describe('a change that fails in one region of a wave of several', () => {
  let events: HandsoffEvent[];
  let regions: string[];
  beforeAll(async () => {
    const thePlan = await plan();
    const wave = thePlan.waves.find((w) => w.regions.length > 1)!;
    regions = wave.regions.map((r) => r.region);
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      changes: [{ id: 'c2', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.5, regions: [regions.at(-1)!] } }],
    });
  });

  it('also rolls back the regions of that wave that did not fail, each group once: it runs on no box at the end', () => {
    const failed = ofType(events, 'change.failed', 'c2')[0]!;
    expect(failed.region).toBe(regions.at(-1));
    expect(summary(events).c2).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
    const stage = String(failed.stage);
    const deployed = created(events, stage).filter((e) => e.revision === 'c2');
    expect(new Set(deployed.map((e) => e.region)).size).toBeGreaterThan(1);
    for (const d of deployed) {
      const restores = created(events, stage, String(d.region)).filter((e) => e.deploymentGroup === d.deploymentGroup && ms(e) > ms(d));
      expect(restores.map((e) => e.revision), `${d.region} ${d.deploymentGroup}`).toEqual(['initial']);
    }
  });
});

describe('a change deployed over a change that then fails, and fails itself', () => {
  // bad waits at wave 1 (its window) while cr passes pre-production over it; bad then fails at
  // wave 1's one-box, leaving pre-production to cr (the newer change). When cr fails in turn, its
  // rollback must not restore bad there: bad is a failed change.
  let events: HandsoffEvent[];
  let wave1: string;
  beforeAll(async () => {
    wave1 = (await plan()).waves[0]!.regions[0]!.region;
    events = await simulateJson({
      start: '2026-11-30T00:00:00Z',
      until: '2026-12-05T00:00:00Z',
      changes: [
        { id: 'bad', at: '2026-11-30T00:30:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.3, regions: [wave1] } },
        { id: 'cr', at: '2026-11-30T03:00:00Z', ...reviewed, behavior: { kind: 'crash', regions: [wave1] } },
      ],
    });
  });

  it('passes over the failed change: every pre-production group goes back to what ran before both', () => {
    const badFailed = ms(ofType(events, 'change.failed', 'bad')[0]!);
    const crRollbacks = ofType(events, 'rollback.started', 'cr').filter((e) => !String(e.stage).startsWith('wave-'));
    expect(crRollbacks.length).toBeGreaterThan(1);
    for (const e of crRollbacks) {
      expect(ms(e)).toBeGreaterThan(badFailed);
      expect(e.revision, `${e.stage} ${e.target}`).toBe('initial');
    }
    // Pre-production got bad, then cr over it, then the rollback straight to initial.
    for (const stage of new Set(crRollbacks.map((e) => String(e.stage)))) {
      for (const group of new Set(created(events, stage).map((e) => String(e.deploymentGroup)))) {
        expect(created(events, stage).filter((e) => e.deploymentGroup === group).map((e) => e.revision), `${stage} ${group}`).toEqual(['bad', 'cr', 'initial']);
      }
    }
  });

  it('leaves neither failed change on any box', () => {
    expect(summary(events).bad).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
    expect(summary(events).cr).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});

describe('a slow burn in a region of a wave that is done before the other regions of its wave', () => {
  // The last wave's regions open their windows hours apart (09:00 local): ap-southeast-2 is done
  // long before us-west-2 starts. Its faults start after its last unit bake, while the wave waits.
  let events: HandsoffEvent[];
  let region: string;
  let others: string[];
  beforeAll(async () => {
    const wave = (await plan()).waves.at(-1)!;
    region = 'ap-southeast-2';
    others = wave.regions.map((r) => r.region).filter((r) => r !== region);
    expect(wave.regions.map((r) => r.region)).toContain(region);
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-12T00:00:00Z',
      changes: [{ id: 'c2', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.3, regions: [region], after: 'PT4H' } }],
    });
  });

  it('is rolled back there within a minute of its alarm, while the wave still waits for its other regions', () => {
    const stage = String(ofType(events, 'deployment.started', 'c2').find((e) => e.region === region)!.stage);
    const lastBake = ofType(events, 'bake.started', 'c2').filter((e) => e.region === region).at(-1)!;
    const alarm = ofType(events, 'world.alarm').find((e) => e.region === region && e.state === 'ALARM' && ms(e) > ms(lastBake))!;
    expect(alarm, 'an alarm after the region was done').toBeDefined();
    const rollback = ofType(events, 'rollback.started', 'c2').filter((e) => e.region === region && e.stage === stage);
    expect(rollback.length).toBeGreaterThan(1);
    expect(ms(rollback[0]!) - ms(alarm)).toBeLessThanOrEqual(60_000);
    // The wave had not finished: a region of it had not even started.
    const laterStart = ofType(events, 'deployment.started', 'c2').filter((e) => others.includes(String(e.region))).map(ms);
    expect(Math.max(...laterStart)).toBeGreaterThan(ms(rollback[0]!));
    expect(ofType(events, 'change.failed', 'c2')[0]).toMatchObject({ stage, region });
    expect(summary(events).c2).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});
