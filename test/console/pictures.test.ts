/**
 * The console's pictures, drawn from the events of a real run (the demo, `simulate --json`),
 * checked for what an auditor reads from them: a row per region the change reached, the
 * rollbacks, the blocked waits with their reason, and hostile names shown as text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import type { ChangeView, StateView } from '../../console/api.ts';
import { pipelineGraph, rolloutTimeline } from '../../console/pictures/index.ts';
import { foldChange, foldState } from '../../console/state.ts';
import { runCli } from '../sim/cli-harness.ts';
import { demoEvents, demoPipeline } from './demo.ts';

let events: HandsoffEvent[] = [];
let plan: { pipeline: string; waves: Array<{ name: string; regions: Array<{ region: string }> }> };
let finished: Record<string, { status: string; regionsReached: string[] }>;

beforeAll(async () => {
  events = await demoEvents();
  finished = events.find((e) => e.type === 'simulation.finished')!.changes as typeof finished;
  const p = await runCli(['plan', '--json']);
  plan = JSON.parse(p.stdout);
});

/** The change as the console's API gives it, from the stream up to `upTo`. */
const changeView = (id: string, upTo = Infinity): ChangeView => foldChange(events.filter((e) => Date.parse(e.time) <= upTo), id)!;

/** The rows of a timeline: each `<g class="row" data-stage data-region>` and what it holds (up to the next row or the axis). */
const rowsOf = (svg: string): Array<{ stage: string; region?: string; body: string }> =>
  svg
    .split('class="axis-line"')[0]!
    .split('<g class="row')
    .slice(1)
    .map((chunk) => {
      const m = /^[^"]*" data-stage="([^"]*)"(?: data-region="([^"]*)")?>/.exec(chunk)!;
      return { stage: m[1]!, region: m[2], body: chunk.split('<g class="axis"')[0]! };
    });

const accessible = (svg: string): void => {
  const m = /^<svg [^>]*role="img" aria-labelledby="([^" ]+)" aria-describedby="([^" ]+)"/.exec(svg);
  expect(m).not.toBeNull();
  expect(svg).toContain(`<title id="${m![1]}">`);
  expect(svg).toContain(`<desc id="${m![2]}">`);
};

describe('rolloutTimeline, on the demo run', () => {
  it('draws one row per production region the change reached, each once, and a row per pre-production stage', () => {
    const svg = rolloutTimeline(changeView('c1'));
    accessible(svg);
    const rows = rowsOf(svg);
    const production = rows.filter((r) => r.stage.startsWith('wave-')).map((r) => r.region!);
    expect(production.sort()).toEqual([...finished.c1!.regionsReached].sort());
    expect(new Set(production).size).toBe(production.length);
    expect(rows.filter((r) => ['alpha', 'beta', 'gamma'].includes(r.stage)).map((r) => `${r.stage} ${r.region}`)).toEqual(['alpha us-west-2', 'beta us-west-2', 'gamma us-west-2']);
    // Each production region shows its one-box and every unit it deployed, as text in the tooltips.
    const usEast1 = rows.find((r) => r.region === 'us-east-1')!;
    const units = events.filter((e) => e.change === 'c1' && e.type === 'deployment.succeeded' && e.region === 'us-east-1' && e.unit).map((e) => String(e.unit));
    expect(units.length).toBe(6);
    for (const u of units) expect(usEast1.body).toContain(`deployment of ${u} in us-east-1`);
    expect(usEast1.body).toContain('deployment of one-box in us-east-1');
    expect(usEast1.body).toContain('done: one-box and 6 units');
  });

  it('marks a rollback wherever the stream has rollback.started, and says the row was rolled back', () => {
    const svg = rolloutTimeline(changeView('c2'));
    const started = events.filter((e) => e.change === 'c2' && e.type === 'rollback.started');
    expect(started.length).toBeGreaterThan(0);
    const rows = rowsOf(svg);
    for (const e of started) {
      const row = rows.find((r) => r.stage === e.stage && r.region === e.region)!;
      expect(row, `${e.stage} ${e.region}`).toBeDefined();
      expect(row.body).toMatch(/<g class="span rollback" data-kind="rollback"/);
      expect(row.body).toContain(`rollback of ${e.target === 'onebox' ? 'one-box' : e.target} in ${e.region} to ${e.revision}`);
      expect(row.body).toContain('rolled back');
    }
    expect(svg.match(/class="span rollback"/g)!.length).toBe(started.length);
    // The alarm that caused it is a mark with its name, and the change's failure is said in words.
    const alarm = events.find((e) => e.change === 'c2' && e.type === 'alarm.triggered')!;
    expect(rows.find((r) => r.region === alarm.region && r.stage === alarm.stage)!.body).toContain(`alarm ${alarm.alarm}`);
    expect(svg).toMatch(/Change c2 \(storefront-api\) by carol: ✗ failed/);
  });

  it('draws every blocked wait with its reason, where it happened', () => {
    const blocked = events.filter((e) => e.change === 'c1' && e.type === 'blocked');
    expect(blocked.length).toBeGreaterThan(3);
    const rows = rowsOf(rolloutTimeline(changeView('c1')));
    for (const e of blocked) {
      const row = e.region ? rows.find((r) => r.stage === e.stage && r.region === e.region)! : rows.find((r) => r.region === undefined)!;
      expect(row.body).toContain(`data-kind="blocked" data-reason="${e.reason}"`);
      expect(row.body).toContain(`blocked by ${e.reason}${e.region ? ` in ${e.region}` : ''}`);
    }
    const spans = rows.reduce((n, r) => n + (r.body.match(/data-kind="blocked"/g)?.length ?? 0), 0);
    expect(spans).toBe(blocked.length);
  });

  it('shows a wait that has not ended as still running, up to now, with its reason as the row outcome', () => {
    const block = events.find((e) => e.change === 'c2' && e.type === 'blocked' && e.region)!;
    const now = new Date(Date.parse(block.time) + 3_600_000).toISOString();
    const svg = rolloutTimeline({ ...changeView('c2', Date.parse(block.time)), status: 'in-flight' }, { now });
    const row = rowsOf(svg).find((r) => r.region === block.region)!;
    expect(row.body).toMatch(/data-kind="blocked" data-reason="time-window" data-open="true"/);
    expect(row.body).toContain('blocked: time-window');
    expect(row.body).toContain('(1 h so far)');
  });
});

describe('rolloutTimeline, operators', () => {
  // The events of an override of a company event, as the simulator writes them.
  const base = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };
  const override = { id: 'company-event|*|*|c1|dave|2026-12-01T03:00:00.000Z', blocker: 'company-event', by: 'dave', reason: 'checkout fix during the sale', expires: '2026-12-01T03:00:00.000Z' };
  const audit: HandsoffEvent[] = [
    { time: '2026-11-30T09:00:00.000Z', type: 'change.received', pipeline: 'storefront-api', change: 'c1', author: 'alice' },
    { time: '2026-11-30T10:48:06.000Z', type: 'blocked', ...base, target: 'onebox', reason: 'company-event', alarm: 'handsoff-company-event-sa-east-1' },
    { time: '2026-11-30T13:00:00.000Z', type: 'override.applied', change: 'c1', override: override.id, blocker: 'company-event', by: 'dave', reason: override.reason, expires: override.expires },
    { time: '2026-11-30T13:00:00.000Z', type: 'unblocked', ...base, target: 'onebox', reason: 'company-event', override },
    { time: '2026-11-30T13:00:00.000Z', type: 'deployment.started', ...base, target: 'onebox', deploymentId: 'd-1' },
    { time: '2026-11-30T13:02:02.000Z', type: 'deployment.succeeded', ...base, target: 'onebox', deploymentId: 'd-1' },
    { time: '2026-11-30T14:02:02.000Z', type: 'unblocked', ...base, unit: 'sae1-az1', target: 'fleet', reason: 'company-event', override },
    { time: '2026-11-30T14:02:02.000Z', type: 'deployment.started', ...base, unit: 'sae1-az1', target: 'fleet', deploymentId: 'd-2' },
    { time: '2026-11-30T15:00:00.000Z', type: 'approval.requested', pipeline: 'storefront-api', change: 'c1', by: 'dave', reason: 'the sale' },
    { time: '2026-11-30T15:00:00.000Z', type: 'approval.denied', pipeline: 'storefront-api', change: 'c1', by: 'mallory', reason: 'not-an-approver' },
    { time: '2026-11-30T15:00:00.000Z', type: 'approval.granted', pipeline: 'storefront-api', change: 'c1', by: 'pat', reason: 'small fix' },
  ];
  const view: ChangeView = { id: 'c1', pipeline: 'storefront-api', author: 'alice', status: 'in-flight', stage: 'wave-1', region: 'sa-east-1', emergency: 'approved', blocked: null, audit };

  it('marks the override with who and why, and each step that starts under it', () => {
    const rows = rowsOf(rolloutTimeline(view, { now: '2026-11-30T16:00:00.000Z' }));
    const whole = rows.find((r) => r.region === undefined)!;
    expect(whole.body).toContain('override of company-event by dave: checkout fix during the sale, until 2026-12-01T03:00:00.000Z');
    const region = rows.find((r) => r.region === 'sa-east-1')!;
    expect(region.body.match(/<g class="mark override"/g)!.length).toBe(2);
    expect(region.body).toContain('one-box in sa-east-1 starts under the override of company-event by dave: checkout fix during the sale');
    expect(region.body).toContain('sae1-az1 in sa-east-1 starts under the override of company-event by dave');
    // The wait it ended: blocked by the company event until the override.
    expect(region.body).toMatch(/blocked by company-event in sa-east-1, 10:48 to 13:00 \(2 h 12 min\), then unblocked/);
  });

  it('marks the emergency request, the refusal and the approval, side by side when they fall in one minute', () => {
    const whole = rowsOf(rolloutTimeline(view))[0]!;
    expect(whole.region).toBeUndefined();
    const marks = [...whole.body.matchAll(/<g class="mark (\w+)" data-kind="\w+"><title>([^<]*)<\/title><circle cx="([\d.]+)"/g)].map((m) => ({ kind: m[1], title: m[2], x: Number(m[3]) }));
    const emergency = marks.filter((m) => ['requested', 'denied', 'granted'].includes(m.kind!));
    expect(emergency.map((m) => m.title)).toEqual(['15:00 emergency requested by dave: the sale', '15:00 emergency denied by mallory: not-an-approver', '15:00 emergency approved by pat: small fix']);
    expect(new Set(emergency.map((m) => m.x)).size).toBe(3);
  });
});

describe('pipelineGraph', () => {
  it('draws each stage and wave as a column with its regions, and each change where it is, with its status in words', () => {
    // The demo's state on its second day: c1 is in wave 2, c2 waits for the lane; a team alarm holds eu-west-1.
    const nowMs = Date.parse('2026-12-01T16:00:00.000Z');
    const upToNow = events.filter((e) => Date.parse(e.time) <= nowMs);
    upToNow.push({ time: '2026-12-01T15:59:00.000Z', type: 'world.alarm', region: 'eu-west-1', team: 'storefront', scope: 'team', alarm: 'handsoff-storefront-eu-west-1-aggregate', state: 'ALARM' });
    const state = foldState({ events: upToNow, pipelines: [demoPipeline()], nowMs });
    const c1 = state.changes.find((c) => c.id === 'c1')!;
    const c2 = state.changes.find((c) => c.id === 'c2')!;
    const svg = pipelineGraph(state);
    accessible(svg);
    for (const w of plan.waves) {
      expect(svg).toContain(`data-column="${w.name}"`);
      for (const r of w.regions) expect(svg).toContain(`data-region="${r.region}" data-wave="${w.name}"`);
    }
    for (const stage of ['alpha', 'beta', 'gamma']) expect(svg).toContain(`data-region="us-west-2" data-wave="${stage}"`);
    const box = (region: string, wave: string) => new RegExp(`<g class="region" data-region="${region}" data-wave="${wave}"[^>]*>(.*?)</g></g>`, 's').exec(svg)![1]!;
    expect([c1.stage, c1.region]).toEqual(['wave-2', 'us-east-1']);
    expect(box('us-east-1', 'wave-2')).toContain(`data-change="c1" data-status="${c1.status}"`);
    expect(box('us-east-1', 'wave-2')).toMatch(/[▶…] c1/);
    expect(c2.blocked?.reason).toBe('time-window');
    expect(box(c2.region!, c2.stage!)).toContain('data-change="c2" data-status="waiting"');
    expect(box(c2.region!, c2.stage!)).toContain('blocked by time-window');
    expect(svg).toContain('data-region="eu-west-1" data-wave="wave-3" data-blocked="true"');
    expect(svg).toMatch(/<desc [^>]*>[^<]*team-alarm in eu-west-1: ALARM/);
    expect(svg).toMatch(/<desc [^>]*>[^<]*c1 (in-flight|waiting) at wave-2 in us-east-1/);
  });

  it('puts a change that has not started a stage in the first column', () => {
    const svg = pipelineGraph({ now: '2026-12-01T12:00:00.000Z', pipelines: [demoPipeline()], changes: [{ id: 'c9', pipeline: 'storefront-api', author: 'bob', status: 'waiting', stage: null, region: null, emergency: 'requested', blocked: null }], blockers: [] });
    expect(svg).toMatch(/<g class="column" data-column="queued">.*data-change="c9" data-status="waiting"/s);
    expect(svg).toContain('emergency requested');
  });

  it('puts a change at a stage but in none of its regions (waiting for the lane) beside the column name, in no region', () => {
    const lane = { reason: 'lane', since: '2026-12-01T11:00:00.000Z', stage: 'wave-1', region: null };
    const svg = pipelineGraph({ now: '2026-12-01T12:00:00.000Z', pipelines: [demoPipeline()], changes: [{ id: 'c2', pipeline: 'storefront-api', author: 'carol', status: 'waiting', stage: 'wave-1', region: null, emergency: null, blocked: lane }], blockers: [] });
    const column = /<g class="column" data-column="wave-1">(.*?)<g class="region"/s.exec(svg)![1]!;
    expect(column).toContain('data-change="c2" data-status="waiting"');
    expect(svg).not.toMatch(/<g class="region"[^>]*>(?:(?!<\/g><\/g>).)*data-change="c2"/s);
    expect(svg).toMatch(/<desc [^>]*>[^<]*c2 at wave-1, in no region yet \(waiting, blocked by lane\)/);
  });
});

describe('hostile names', () => {
  const evil = `<script>alert("x")</script>&'`;
  const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;';

  it('are text in both pictures, never markup', () => {
    const c2 = changeView('c2');
    const audit = c2.audit.map((e) => ({ ...e, change: evil, region: e.region ? `${e.region}${evil}` : undefined, reason: e.reason ? evil : undefined, author: evil }));
    const timeline = rolloutTimeline({ ...c2, id: evil, author: evil, pipeline: evil, audit });
    const graph = pipelineGraph({
      now: '2026-12-01T12:00:00.000Z',
      pipelines: [{ name: evil, waves: [{ name: evil, regions: [evil] }] }],
      changes: [{ id: evil, pipeline: evil, author: evil, status: 'in-flight', stage: evil, region: evil, emergency: null, blocked: { reason: evil, since: evil, stage: evil, region: evil } }],
      blockers: [{ blocker: evil, region: evil, state: 'ALARM', override: { by: evil, reason: evil, expires: evil } }],
    });
    for (const svg of [timeline, graph]) {
      expect(svg).not.toContain('<script');
      expect(svg).not.toContain('"x"');
      expect(svg).toContain(escaped);
      accessible(svg);
      // Ids stay valid names whatever the change is called.
      expect(/aria-labelledby="([^"]*)"/.exec(svg)![1]).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });
});
