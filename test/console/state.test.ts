/**
 * The console's view, folded from a recorded stream: a real `handsoff simulate --json` run
 * of the small pipeline (statuses, where each change is, what holds it, the company event's
 * blockers, the audit), and, for what the operator handler will emit (overrides, approvals),
 * events written as docs/simulation.md spells them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { foldChange, foldState, pipelineView } from '../../console/state.ts';
import type { PipelineView, StateView } from '../../console/api.ts';
import { overrideRequest } from '../../console/requests.ts';
import { consolePipeline, productionRegions } from '../../core/console.ts';
import { fixturePipelines } from '../infra/fixtures.ts';
import { simulateJson } from '../sim/cli-harness.ts';
import { SCENARIO, smallPipelines } from './fixtures.ts';

let events: HandsoffEvent[];
let pipelines: PipelineView[];
beforeAll(async () => {
  [events, pipelines] = await Promise.all([simulateJson(SCENARIO), smallPipelines().then((ps) => ps.map(pipelineView))]);
});

/** The view at `iso`: the stream as it was then. */
const at = (iso: string, extra: HandsoffEvent[] = []) => {
  const nowMs = Date.parse(iso);
  return foldState({ events: [...events.filter((e) => Date.parse(e.time) <= nowMs), ...extra], pipelines, nowMs });
};
const change = (view: ReturnType<typeof at>, id: string) => view.changes.find((c) => c.id === id)!;

describe('the state of a recorded run', () => {
  it('draws the pipeline: pre-production stages in their region, then the waves', () => {
    const view = at(SCENARIO.until);
    expect(view.pipelines).toHaveLength(1);
    const waves = view.pipelines[0]!.waves;
    expect(waves.slice(0, 3)).toEqual([
      { name: 'alpha', regions: ['us-west-2'] },
      { name: 'beta', regions: ['us-west-2'] },
      { name: 'gamma', regions: ['us-west-2'] },
    ]);
    expect(waves[3]).toEqual({ name: 'wave-1', regions: ['sa-east-1'] });
    expect(view.now).toBe(new Date(SCENARIO.until).toISOString());
  });

  it('knows no change before its merge, and a merged change with its author', () => {
    expect(at('2026-11-30T08:30:00Z').changes).toEqual([]);
    const c1 = change(at('2026-11-30T09:10:00Z'), 'c1');
    expect(c1).toMatchObject({ id: 'c1', pipeline: 'storefront-api', author: 'alice', status: 'in-flight', stage: 'alpha', emergency: null, blocked: null });
  });

  it('shows a change held by its window as waiting, with the reason, where and until when', () => {
    const liftOf = (b: HandsoffEvent) => events.find((e) => e.type === 'unblocked' && e.change === 'c1' && Date.parse(e.time) > Date.parse(b.time))!;
    // A hold whose lift lets the change go on at once (a window may open onto another blocker, the company event).
    const blocked = events.find(
      (b) => b.type === 'blocked' && b.change === 'c1' && b.reason === 'time-window' && !events.some((e) => e.type === 'blocked' && e.change === 'c1' && e.time === liftOf(b).time),
    )!;
    const view = at(blocked.time);
    expect(change(view, 'c1')).toMatchObject({
      status: 'waiting',
      stage: blocked.stage,
      region: blocked.region,
      blocked: { reason: 'time-window', since: blocked.time, until: blocked.until, stage: blocked.stage, region: blocked.region },
    });
    expect(view.blockers).toContainEqual({ blocker: 'time-window', region: blocked.region, state: 'ALARM', override: null });
    const lifted = liftOf(blocked);
    expect(change(at(lifted.time), 'c1')).toMatchObject({ status: 'in-flight', blocked: null });
  });

  it('lists the company event in every region while it holds, and none once it is over', () => {
    const during = at('2026-12-01T15:00:00Z').blockers.filter((b) => b.blocker === 'company-event');
    expect(during.map((b) => b.region).sort()).toEqual(['ap-southeast-2', 'eu-west-1', 'sa-east-1', 'us-east-1', 'us-west-2']);
    expect(during.every((b) => b.state === 'ALARM' && b.override === null)).toBe(true);
    expect(at('2026-12-01T17:30:00Z').blockers.filter((b) => b.blocker === 'company-event')).toEqual([]);
  });

  it('ends with each change as the run ended it, a failed one where it failed', () => {
    const finished = events.at(-1)!;
    expect(finished.type).toBe('simulation.finished');
    const view = at(finished.time);
    const statuses = finished.changes as Record<string, { status: string }>;
    for (const c of view.changes) expect(c.status).toBe(statuses[c.id]!.status);
    const failed = events.find((e) => e.type === 'change.failed' && e.change === 'c2')!;
    expect(change(view, 'c2')).toMatchObject({ status: 'failed', stage: failed.stage, region: failed.region, blocked: null });
  });

  it("gives a change's audit: every event naming it, in the stream's order, and no world event", () => {
    const view = foldChange(events, 'c2')!;
    expect(view.audit).toEqual(events.filter((e) => e.change === 'c2' && !e.type.startsWith('world.')));
    expect(view.audit[0]).toMatchObject({ type: 'change.received', author: 'carol' });
    expect(view.audit.map((e) => e.type)).toContain('rollback.started');
    expect(foldChange(events, 'nope')).toBeUndefined();
  });
});

describe('operators in the view', () => {
  const t = (h: number) => new Date(Date.parse('2026-11-30T09:30:00Z') + h * 3_600_000).toISOString();
  const base = { pipeline: 'storefront-api', change: 'c1' };
  const requested: HandsoffEvent = { time: t(0), type: 'approval.requested', ...base, by: 'alice', reason: 'fix the checkout' };

  it('follows an emergency request: requested, refused deciders change nothing, granted', () => {
    const emergency = (extra: HandsoffEvent[]) => change(at(t(1), extra), 'c1').emergency;
    expect(emergency([])).toBeNull();
    expect(emergency([requested])).toBe('requested');
    const selfApproval: HandsoffEvent = { time: t(0.1), type: 'approval.denied', ...base, by: 'Alice', reason: 'self-approval' };
    const notApprover: HandsoffEvent = { time: t(0.2), type: 'approval.denied', ...base, by: 'dave', reason: 'not-an-approver' };
    expect(emergency([requested, selfApproval, notApprover])).toBe('requested');
    expect(emergency([requested, selfApproval, { time: t(0.3), type: 'approval.granted', ...base, by: 'pat', reason: 'ok' }])).toBe('approved');
    expect(emergency([requested, { time: t(0.3), type: 'approval.denied', ...base, by: 'pat', reason: 'not urgent enough' }])).toBe('denied');
    // ... and the audit has every one of them.
    const audit = foldChange([...events.filter((e) => Date.parse(e.time) <= Date.parse(t(1))), requested, selfApproval], 'c1')!.audit;
    expect(audit.slice(-2)).toEqual([requested, selfApproval]);
  });

  const override = (fields: Partial<HandsoffEvent>): HandsoffEvent => ({
    time: '2026-12-01T14:00:00.000Z',
    type: 'override.applied',
    pipeline: 'storefront-api',
    blocker: 'company-event',
    region: 'us-east-1',
    by: 'dave',
    reason: 'the checkout fix must ship',
    expires: '2026-12-01T16:00:00Z',
    ...fields,
  });

  it('sets an override beside the blocker it applies to, until it expires', () => {
    const during = at('2026-12-01T15:00:00Z', [override({})]).blockers;
    const useast = during.find((b) => b.blocker === 'company-event' && b.region === 'us-east-1')!;
    expect(useast.override).toEqual({ by: 'dave', reason: 'the checkout fix must ship', expires: '2026-12-01T16:00:00Z', pipeline: 'storefront-api' });
    expect(during.filter((b) => b.override !== null)).toHaveLength(1);
    // Past its expiry, or expired by the handler, it no longer applies.
    const later = at('2026-12-01T16:30:00Z', [override({})]).blockers;
    expect(later.filter((b) => b.override !== null)).toEqual([]);
    const expired = at('2026-12-01T15:30:00Z', [override({}), { ...override({}), time: '2026-12-01T15:10:00.000Z', type: 'override.expired' }]).blockers;
    expect(expired.filter((b) => b.override !== null)).toEqual([]);
  });

  it('applies an override without a region to the blocker in every region', () => {
    const all = at('2026-12-01T15:00:00Z', [override({ region: undefined })]).blockers.filter((b) => b.blocker === 'company-event');
    expect(all).toHaveLength(5);
    expect(all.every((b) => b.override?.by === 'dave')).toBe(true);
  });

  it('lists an override in force whose blocker does not hold now, as OK', () => {
    const view = at('2026-11-30T12:30:00Z', [override({ time: '2026-11-30T12:00:00.000Z', blocker: 'team-alarm', region: 'sa-east-1', change: 'c1', expires: '2026-11-30T20:00:00Z' })]);
    expect(view.blockers).toEqual([{ blocker: 'team-alarm', region: 'sa-east-1', state: 'OK', override: { by: 'dave', reason: 'the checkout fix must ship', expires: '2026-11-30T20:00:00Z', pipeline: 'storefront-api', change: 'c1' } }]);
  });

  it("shows a team's aggregate alarm in its region while it alarms", () => {
    const alarm = (state: string, time: string): HandsoffEvent => ({ time, type: 'world.alarm', region: 'us-east-1', team: 'storefront', scope: 'team', alarm: 'handsoff-storefront-us-east-1-aggregate', state });
    const view = at('2026-11-30T13:00:00Z', [alarm('ALARM', '2026-11-30T12:40:00.000Z')]);
    expect(view.blockers).toContainEqual({ blocker: 'team-alarm', region: 'us-east-1', team: 'storefront', state: 'ALARM', override: null });
    expect(at('2026-11-30T13:00:00Z', [alarm('ALARM', '2026-11-30T12:40:00.000Z'), alarm('OK', '2026-11-30T12:50:00.000Z')]).blockers.filter((b) => b.blocker === 'team-alarm')).toEqual([]);
  });
});

describe('the regions an override may be for', () => {
  it('are the production regions, the same for the console and the scenario validator (pre-production refused by both)', () => {
    const p = fixturePipelines[0]!;
    const view = consolePipeline(p);
    const preProd = view.waves[0]!.regions[0]!;
    const prod = productionRegions([view]);
    expect(prod).toEqual([...new Set(p.waves.flatMap((w) => w.regions.map((r) => r.region)))]);
    expect(prod).not.toContain(preProd);
    const state: StateView = { now: '2026-12-01T12:00:00Z', pipelines: [{ name: view.name, waves: view.waves }], changes: [], blockers: [] };
    const body = { blocker: 'company-event', reason: 'fix', expires: '2026-12-01T18:00:00Z' };
    expect(overrideRequest({ ...body, region: preProd }, state, { name: 'dave', approver: false })).toMatchObject({ ok: false, problems: [expect.objectContaining({ field: 'region' })] });
    expect(overrideRequest({ ...body, region: prod[0] }, state, { name: 'dave', approver: false })).toMatchObject({ ok: true });
  });
});
