/**
 * Superseded changes in the console's view and the HTML report, from a recorded run of
 * examples/batching-scenario.json (four changes merged while the first is in wave 1; the two
 * waiting in front of wave 1 are superseded by the newest).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { foldChange, foldState } from '../../console/state.ts';
import { reportHtml } from '../../console/report.ts';
import { simulateJson } from '../sim/cli-harness.ts';

const PIPELINE = 'examples/pipeline.json';
const scenario = JSON.parse(readFileSync('examples/batching-scenario.json', 'utf8'));

let events: HandsoffEvent[];
beforeAll(async () => {
  events = await simulateJson(scenario, [PIPELINE]);
});

const viewAt = (iso: string) => {
  const nowMs = Date.parse(iso);
  return foldState({ events: events.filter((e) => Date.parse(e.time) <= nowMs), pipelines: [], nowMs });
};

describe('superseded changes in the console', () => {
  it('shows a change waiting for the lane, then superseded with nothing holding it', () => {
    const superseded = events.find((e) => e.type === 'change.superseded' && e.change === 'c2')!;
    const before = viewAt(new Date(Date.parse(superseded.time) - 60_000).toISOString());
    expect(before.changes.find((c) => c.id === 'c2')).toMatchObject({ status: 'waiting', blocked: { reason: 'lane', stage: 'wave-1' } });
    const after = viewAt(superseded.time);
    expect(after.changes.find((c) => c.id === 'c2')).toMatchObject({ status: 'superseded', blocked: null });
    expect(after.changes.find((c) => c.id === 'c3')).toMatchObject({ status: 'superseded', blocked: null });
    expect(after.changes.find((c) => c.id === 'c4')).toMatchObject({ stage: 'wave-1' });
    expect(viewAt(scenario.until).changes.map((c) => [c.id, c.status])).toEqual([
      ['c1', 'succeeded'],
      ['c2', 'superseded'],
      ['c3', 'superseded'],
      ['c4', 'succeeded'],
    ]);
    expect(foldChange(events, 'c2')!.audit.map((e) => e.type)).toContain('change.superseded');
  });

  it('reports them: the superseded changes and the change that carried them', () => {
    const html = reportHtml({ events, pipelines: [] });
    expect(html).toContain('superseded by c4');
    expect(html.match(/data-kind="superseded"/g)?.length).toBe(2);
  });
});
