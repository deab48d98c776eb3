/**
 * A change whose pipeline fails on a step of its own (here: every notify invocation dies for
 * a quarter of an hour, so the report that wave 1 is complete fails beyond its retries), not
 * in a stage's judgement: it fails as any failed change does. Every stage it reached is rolled
 * back, it is reported failed with the cause, and it runs on no box at the end. Through
 * `handsoff simulate --json`, judged from the world's own deployment records.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ms, ofType, reviewed, simulateJson, summary } from './cli-harness.ts';

const scenario = (events: unknown[] = []) => ({
  start: '2026-11-30T08:00:00Z',
  until: '2026-12-05T00:00:00Z',
  changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed }],
  events,
});

describe('a change whose pipeline step fails beyond its retries after wave 1', () => {
  let events: HandsoffEvent[];
  let reached: string[];
  beforeAll(async () => {
    // When the healthy run reports wave 1 complete: the crashes start just before.
    const healthy = await simulateJson(scenario());
    const completed = ofType(healthy, 'stage.completed', 'c1').find((e) => e.stage === 'wave-1')!;
    const from = ms(completed) - 1000;
    events = await simulateJson(
      scenario([
        { at: new Date(from).toISOString(), kind: 'fault', fault: 'crash', handler: 'notify', rate: 1, until: new Date(from + 15 * 60_000).toISOString() },
      ]),
    );
    // The stages started before that report, in the stream's order.
    const before = healthy.slice(0, healthy.indexOf(completed));
    reached = [...new Set(ofType(before, 'stage.started', 'c1').map((e) => String(e.stage)))].filter((s) => s !== 'source' && s !== 'build');
  });

  it('rolls back every stage the change reached, naming the failed step as the cause', () => {
    const rolledBack = new Set(ofType(events, 'rollback.started', 'c1').map((e) => String(e.stage)));
    expect(reached).toContain('wave-1');
    expect([...rolledBack].sort()).toEqual([...reached].sort());
    for (const e of ofType(events, 'rollback.started', 'c1')) expect(e.reason).toMatch(/^the change failed in a step of the pipeline: the notify invocation crashed/);
    // Nothing of the change goes further.
    expect(ofType(events, 'stage.started', 'c1').map((e) => e.stage)).not.toContain('wave-2');
  });

  it('is reported failed once its stages are rolled back, and runs on no box at the end', () => {
    const failed = ofType(events, 'change.failed', 'c1');
    expect(failed.length).toBeGreaterThan(0);
    const lastRollback = Math.max(...ofType(events, 'rollback.completed', 'c1').map(ms));
    expect(ms(failed[0]!)).toBeGreaterThanOrEqual(lastRollback);
    expect(summary(events).c1).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});
