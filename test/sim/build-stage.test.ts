/**
 * The build stage through `handsoff simulate --json`: the pipeline's build runs in virtual
 * minutes and reports `build.completed` with the revision and SHA-256 it produced; a change
 * whose build fails deploys nothing; every deployment of a change uses the revision and
 * checksum its build produced; a rollback restores the previous change's checksummed copy.
 * One run shared by the assertions that read it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { describeEvent } from '../../sim/timeline.ts';
import { ms, ofType, reviewed, simulateJson } from './cli-harness.ts';


describe('the build stage', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      changes: [
        { id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed },
        // Its unit tests fail in the build.
        { id: 'c2', at: '2026-11-30T10:00:00Z', ...reviewed, behavior: { kind: 'build-failure' } },
        // Builds, then fails on its first boxes: rolled back to c1.
        { id: 'c3', at: '2026-11-30T12:00:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.5 } },
      ],
    });
  });

  it('builds each change in virtual minutes and records the revision and SHA-256 it produced, between the build stage\'s start and end', () => {
    for (const change of ['c1', 'c3']) {
      const started = ofType(events, 'stage.started', change).find((e) => e.stage === 'build')!;
      const [built] = ofType(events, 'build.completed', change);
      const completed = ofType(events, 'stage.completed', change).find((e) => e.stage === 'build')!;
      expect(built).toMatchObject({ stage: 'build', revision: change, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(ms(built!) - ms(started)).toBeGreaterThanOrEqual(60_000);
      expect(ms(completed)).toBeGreaterThanOrEqual(ms(built!));
    }
    expect(ofType(events, 'build.completed', 'c1')[0]!.sha256).not.toBe(ofType(events, 'build.completed', 'c3')[0]!.sha256);
    // The human timeline says what was built, and its checksum.
    const built = ofType(events, 'build.completed', 'c1')[0]!;
    expect(describeEvent(built)).toContain(`built c1, sha256 ${String(built.sha256).slice(0, 12)}`);
  });

  it('fails a change whose build fails in build, with the failing phase and its message, and deploys nothing of it', () => {
    const [failed] = ofType(events, 'change.failed', 'c2');
    expect(failed).toMatchObject({ stage: 'build', reason: expect.stringMatching(/the build failed in its BUILD phase: .*unit tests of c2 failed/) });
    expect(ofType(events, 'build.completed', 'c2')).toEqual([]);
    // It fails when its unit tests do, minutes into the build.
    const started = ofType(events, 'stage.started', 'c2').find((e) => e.stage === 'build')!;
    expect(ms(failed!) - ms(started)).toBeGreaterThanOrEqual(60_000);
    expect(ofType(events, 'deployment.started', 'c2')).toEqual([]);
    expect(ofType(events, 'world.deployment').filter((e) => e.revision === 'c2')).toEqual([]);
    expect(ofType(events, 'stage.started', 'c2').map((e) => e.stage)).toEqual(['source', 'build']);
  });

  it('deploys every change by the revision its build produced, with that SHA-256', () => {
    for (const change of ['c1', 'c3']) {
      const built = ofType(events, 'build.completed', change)[0]!;
      const deployments = ofType(events, 'deployment.started', change);
      expect(deployments.length).toBeGreaterThan(0);
      for (const d of deployments) expect(d).toMatchObject({ revision: built.revision, sha256: built.sha256 });
    }
  });

  it("rolls a failed change back to the previous change's checksummed copy", () => {
    const rollbacks = ofType(events, 'rollback.started', 'c3');
    expect(rollbacks.length).toBeGreaterThan(0);
    const previous = ofType(events, 'build.completed', 'c1')[0]!;
    for (const r of rollbacks) expect(r).toMatchObject({ revision: 'c1', sha256: previous.sha256 });
    const summary = ofType(events, 'simulation.finished')[0]!.changes as Record<string, { status: string; boxesAtEnd: number }>;
    expect(summary.c3).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
    expect(summary.c2).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
    expect(summary.c1).toMatchObject({ status: 'succeeded' });
  });
});
