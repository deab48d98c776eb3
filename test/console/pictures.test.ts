/**
 * The console's pictures, drawn from the events of a real run (the demo, `simulate --json`),
 * checked for what an auditor reads from them: a row per region the change reached, the
 * rollbacks, the blocked waits with their reason, and hostile names shown as text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import type { ChangeView, StateView } from '../../console/api.ts';
import { pipelineGraph, rolloutTimeline } from '../../console/pictures/index.ts';
import { runCli } from '../sim/cli-harness.ts';

let events: HandsoffEvent[] = [];
let plan: { pipeline: string; waves: Array<{ name: string; regions: Array<{ region: string }> }> };
let finished: Record<string, { status: string; regionsReached: string[] }>;

beforeAll(async () => {
  const run = await runCli(['simulate', '--json']);
  expect(run.code).toBe(0);
  events = run.events;
  finished = events.find((e) => e.type === 'simulation.finished')!.changes as typeof finished;
  const p = await runCli(['plan', '--json']);
  plan = JSON.parse(p.stdout);
});

const changeView = (id: string, upTo = Infinity): ChangeView => {
  const audit = events.filter((e) => e.change === id && Date.parse(e.time) <= upTo);
  const received = audit.find((e) => e.type === 'change.received')!;
  return { id, pipeline: String(received.pipeline), author: String(received.author), status: (finished[id]?.status ?? 'in-flight') as ChangeView['status'], stage: null, region: null, emergency: null, audit };
};

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
  const m = /^<svg [^>]*role="img" aria-labelledby="([^" ]+) ([^" ]+)"/.exec(svg);
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

const stateOf = (changes: StateView['changes'], blockers: StateView['blockers'] = []): StateView => ({
  now: '2026-12-01T12:00:00.000Z',
  pipelines: [{ name: plan.pipeline, waves: [{ name: 'alpha', regions: ['us-west-2'] }, { name: 'beta', regions: ['us-west-2'] }, { name: 'gamma', regions: ['us-west-2'] }, ...plan.waves.map((w) => ({ name: w.name, regions: w.regions.map((r) => r.region) }))] }],
  changes,
  blockers,
});

describe('pipelineGraph', () => {
  it('draws each stage and wave as a column with its regions, and each change where it is, with its status in words', () => {
    const svg = pipelineGraph(
      stateOf(
        [
          { id: 'c1', pipeline: plan.pipeline, author: 'alice', status: 'in-flight', stage: 'wave-2', region: 'us-east-1', emergency: null },
          { id: 'c2', pipeline: plan.pipeline, author: 'carol', status: 'waiting', stage: null, region: null, emergency: 'requested' },
        ],
        [{ blocker: 'team-alarm', region: 'eu-west-1', state: 'ALARM', override: null }],
      ),
    );
    accessible(svg);
    for (const w of plan.waves) {
      expect(svg).toContain(`data-column="${w.name}"`);
      for (const r of w.regions) expect(svg).toContain(`data-region="${r.region}" data-wave="${w.name}"`);
    }
    const usEast1 = /<g class="region" data-region="us-east-1" data-wave="wave-2">(.*?)<\/g><\/g>/s.exec(svg)![1]!;
    expect(usEast1).toContain('data-change="c1" data-status="in-flight"');
    expect(usEast1).toContain('▶ c1');
    expect(svg).toMatch(/<g class="column" data-column="queued">.*data-change="c2" data-status="waiting"/s);
    expect(svg).toContain('data-region="eu-west-1" data-wave="wave-3" data-blocked="true"');
    expect(svg).toMatch(/<desc [^>]*>[^<]*team-alarm in eu-west-1: ALARM/);
    expect(svg).toMatch(/<desc [^>]*>[^<]*c1 in-flight at wave-2 in us-east-1/);
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
      changes: [{ id: evil, pipeline: evil, author: evil, status: 'in-flight', stage: evil, region: evil, emergency: null }],
      blockers: [{ blocker: evil, region: evil, state: 'ALARM', override: { by: evil, reason: evil, expires: evil } }],
    });
    for (const svg of [timeline, graph]) {
      expect(svg).not.toContain('<script');
      expect(svg).not.toContain('"x"');
      expect(svg).toContain(escaped);
      accessible(svg);
      // Ids stay valid names whatever the change is called.
      expect(/aria-labelledby="([^"]*)"/.exec(svg)![1]).toMatch(/^[A-Za-z0-9_ -]+$/);
    }
  });
});
