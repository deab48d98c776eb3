/**
 * The source stage through the CLI, judged by the world's own records: a change the review
 * gate rejects deploys nothing, and a push delivered twice runs its change once.
 */
import { describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ofType, simulateJson } from './cli-harness.ts';

/** The world's deployments of a revision: one entry per CodeDeploy deployment id, with its group. */
const deploymentsOf = (events: HandsoffEvent[], revision: string): Map<string, string> =>
  new Map(
    events
      .filter((e) => e.type === 'world.deployment' && e.revision === revision)
      .map((e) => [String(e.deploymentId), `${e.region}/${String(e.deploymentGroup)}`]),
  );

describe('source stage (review gate)', () => {
  it('rejects unreviewed and self-approved changes, whatever the letter case, and deploys none of them', async () => {
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-11-30T12:00:00Z',
      changes: [
        { id: 'unreviewed', at: '2026-11-30T09:00:00Z', author: 'alice' },
        { id: 'selfie', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['alice'] },
        { id: 'selfie-case', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['Alice'] },
        { id: 'reviewed', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['Alice', 'bob'] },
      ],
    });
    const reason = (change: string) => ofType(events, 'change.rejected', change).map((e) => String(e.reason));
    expect(reason('unreviewed')).toEqual([expect.stringMatching(/^unreviewed: /)]);
    expect(reason('selfie')).toEqual([expect.stringMatching(/^self-approved: /)]);
    expect(reason('selfie-case')).toEqual([expect.stringMatching(/^self-approved: /)]);
    expect(reason('reviewed')).toEqual([]);

    for (const change of ['unreviewed', 'selfie', 'selfie-case']) {
      expect(deploymentsOf(events, change).size, change).toBe(0);
      expect(ofType(events, 'stage.started', change).map((e) => e.stage)).toEqual(['source']);
    }
    // The control: the reviewed change of the same run does deploy.
    expect(deploymentsOf(events, 'reviewed').size).toBeGreaterThan(0);
    const finished = ofType(events, 'simulation.finished')[0]!.changes as Record<string, { status: string }>;
    expect(finished.unreviewed!.status).toBe('rejected');
    expect(finished.selfie!.status).toBe('rejected');
    expect(finished['selfie-case']!.status).toBe('rejected');
  });

  it('runs a change once when its push event is delivered twice', async () => {
    const events = await simulateJson({
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-10T00:00:00Z',
      changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'] }],
      events: [{ at: '2026-11-30T08:00:00Z', kind: 'fault', fault: 'duplicate-events', source: 'source', until: '2026-11-30T10:00:00Z' }],
    });
    expect(ofType(events, 'world.fault', 'c1')).toEqual([expect.objectContaining({ fault: 'duplicate-events', source: 'source' })]);
    expect(ofType(events, 'change.received', 'c1')).toHaveLength(1);
    expect(ofType(events, 'change.completed', 'c1')).toHaveLength(1);
    // Each deployment group got the revision exactly once, by the world's own records.
    const groups = [...deploymentsOf(events, 'c1').values()];
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.length).toBe(new Set(groups).size);
  });
});
