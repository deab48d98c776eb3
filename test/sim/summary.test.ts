/**
 * `simulation.finished` (docs/simulation.md, "Events"): per change the boxes that run it when the
 * run ends, and the run's AWS-side counts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { CHAOS_PIPELINE } from '../../sim/chaos-shared.ts';
import { ofType, reviewed, simulateJson, writeJson } from './cli-harness.ts';

const PIPELINE = writeJson('summary-pipeline.json', CHAOS_PIPELINE);
const start = '2026-11-30T08:00:00Z';
const until = '2026-12-03T08:00:00Z';
const finished = (events: HandsoffEvent[]) => ofType(events, 'simulation.finished')[0]!;
const changes = (events: HandsoffEvent[]) => finished(events).changes as Record<string, { status: string; boxesAtEnd: number }>;
// Pre-production alpha and three regions, each a one-box and one cell of hostsPerUnit boxes.
const ALL_BOXES = CHAOS_PIPELINE.hostsPerUnit + 3 * (1 + CHAOS_PIPELINE.hostsPerUnit);

describe('simulation.finished', () => {
  let one: HandsoffEvent[];
  let two: HandsoffEvent[];
  beforeAll(async () => {
    one = await simulateJson({ start, until, changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed }] }, [PIPELINE]);
    two = await simulateJson(
      {
        start,
        until,
        changes: [
          { id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed },
          { id: 'c2', at: '2026-11-30T09:30:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.5, regions: ['sa-east-1'] } },
        ],
      },
      [PIPELINE],
    );
  });

  it('counts the boxes a completed change runs on when the run ends: every box', () => {
    expect(changes(one).c1).toMatchObject({ status: 'succeeded', boxesAtEnd: ALL_BOXES });
  });

  it('counts every production box for the previous change once a failed change is rolled back there', () => {
    expect(changes(two).c2!.status).toBe('failed');
    const prod = ofType(two, 'world.deployment').filter((e) => e.revision === 'c2' && String(e.stage).startsWith('wave-') && e.status === 'Succeeded');
    expect(prod.length).toBeGreaterThan(0);
    expect(changes(two).c1!.boxesAtEnd + changes(two).c2!.boxesAtEnd).toBe(ALL_BOXES);
    expect(changes(two).c1!.boxesAtEnd).toBeGreaterThanOrEqual(3 * (1 + CHAOS_PIPELINE.hostsPerUnit));
  });

  it('reports the AWS-side counts of the run', () => {
    const stats = finished(one).stats as Record<string, number>;
    expect(Object.keys(stats).sort()).toEqual(['dynamodbRequests', 'executions', 'invocations', 'largestHistory', 'transitions']);
    // One pipeline execution and one child execution per production region.
    expect(stats.executions).toBe(4);
    for (const key of ['transitions', 'invocations', 'dynamodbRequests', 'largestHistory']) expect(stats[key], key).toBeGreaterThan(0);
    expect(stats.largestHistory).toBeGreaterThan(stats.transitions / 4);
    expect((finished(two).stats as Record<string, number>).executions).toBeGreaterThan(stats.executions);
  });
});
