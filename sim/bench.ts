/**
 * `npm run bench`: what the monitors buy, measured in the simulator.
 *
 * For a set of bad changes (faults, latency, crash, boxes that stop serving, a slow burn)
 * under two policies (handsoff's default with one-box, and the same without one-box), and
 * for healthy control changes, it prints:
 * - alarm-to-rollback latency (virtual seconds from the alarm's state change in the world
 *   to `rollback.started`), median and max;
 * - failed requests per bad change (customer impact);
 * - false positives: rollbacks of healthy changes;
 * - wall time per run.
 * Figures go to the README; nothing here asserts a time.
 */
import type { HandsoffEvent } from '../core/events.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import { validatePipeline } from '../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import { simulate, type SimChange } from './engine.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'sa-east-1', 'ap-southeast-2'];
const START = Date.parse('2026-11-30T08:00:00Z');
const MERGE = Date.parse('2026-11-30T09:00:00Z');

const pipeline = (oneBox: boolean): ResolvedPipeline => {
  const v = validatePipeline(
    { name: 'bench-service', service: 'BenchService', team: 'bench', regions: REGIONS, hostsPerUnit: 6, oneBox },
    'bench',
    { catalog: REGION_CATALOG },
  );
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('; '));
  return v.pipeline;
};

interface Case {
  name: string;
  behavior: SimChange['behavior'];
}

/** Bad changes that pass pre-production (their effect is production-only) and one slow burn. */
const badCases = (p: ResolvedPipeline): Case[] => {
  const prod = p.waves.flatMap((w) => w.regions.map((r) => r.region));
  const wave1 = p.waves[0]!.regions[0]!.region;
  const wave2 = p.waves[1]!.regions[0]!.region;
  return [
    { name: 'faults 20% (wave-1 region)', behavior: { kind: 'faults', rate: 0.2, regions: [wave1] } },
    { name: 'faults 5% (all production)', behavior: { kind: 'faults', rate: 0.05, regions: prod } },
    { name: 'latency p99 1.5 s (all production)', behavior: { kind: 'latency', p99Ms: 1500, regions: prod } },
    { name: 'crash on install (all production)', behavior: { kind: 'crash', regions: prod } },
    { name: 'boxes stop serving (all production)', behavior: { kind: 'traffic-drop', regions: prod } },
    { name: 'slow burn: faults 30% after 5 h (wave-2 region)', behavior: { kind: 'faults', rate: 0.3, regions: [wave2], afterSeconds: 5 * 3600 } },
  ];
};

interface RunFigures {
  status: string;
  failedRequests: number;
  latencies: number[];
  rollbacks: number;
  wallSeconds: number;
}

/** Seconds from the alarm's last state change to ALARM (in the world) to each rollback. */
const rollbackLatencies = (events: HandsoffEvent[]): number[] => {
  const out: number[] = [];
  for (const rb of events.filter((e) => e.type === 'rollback.started')) {
    // The alarm that led to this rollback: the latest one of the change in its region before it.
    const trigger = events
      .filter((e) => e.type === 'alarm.triggered' && e.change === rb.change && e.region === rb.region && Date.parse(e.time) <= Date.parse(rb.time))
      .at(-1);
    const alarmName = (trigger?.alarmName ?? trigger?.alarm) as string | undefined;
    const worldAlarm = events
      .filter((e) => e.type === 'world.alarm' && e.state === 'ALARM' && e.alarm === alarmName && Date.parse(e.time) <= Date.parse(rb.time))
      .at(-1);
    if (worldAlarm) out.push((Date.parse(rb.time) - Date.parse(worldAlarm.time)) / 1000);
  }
  return out;
};

const run = async (p: ResolvedPipeline, behavior: SimChange['behavior'], days = 10): Promise<RunFigures> => {
  const events: HandsoffEvent[] = [];
  const t0 = performance.now();
  const result = await simulate({
    pipelines: [p],
    scenario: {
      start: START,
      until: START + days * 86_400_000,
      changes: [{ id: 'c1', pipeline: p.name, at: MERGE, author: 'alice', approvedBy: ['bob'], behavior }],
      events: [],
    },
    onEvent: (e) => events.push(e),
  });
  const c = result.changes.c1!;
  return {
    status: c.status,
    failedRequests: c.failedRequests,
    latencies: rollbackLatencies(events),
    rollbacks: events.filter((e) => e.type === 'rollback.started').length,
    wallSeconds: (performance.now() - t0) / 1000,
  };
};

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number): string => (Number.isNaN(n) ? '-' : String(Math.round(n * 10) / 10));

export const bench = async (): Promise<void> => {
  const policies = [
    { name: 'one-box', p: pipeline(true) },
    { name: 'no one-box', p: pipeline(false) },
  ];
  const rows: string[] = [];
  const all: Record<string, { latencies: number[]; failed: number[] }> = {};
  rows.push(`| bad change | policy | outcome | failed requests | rollback latency median / max (s) | wall (s) |`);
  rows.push(`| --- | --- | --- | ---: | ---: | ---: |`);
  for (const c of badCases(policies[0]!.p)) {
    for (const { name, p } of policies) {
      const f = await run(p, c.behavior);
      (all[name] ??= { latencies: [], failed: [] }).latencies.push(...f.latencies);
      all[name]!.failed.push(f.failedRequests);
      rows.push(`| ${c.name} | ${name} | ${f.status} | ${f.failedRequests} | ${fmt(median(f.latencies))} / ${fmt(f.latencies.length ? Math.max(...f.latencies) : NaN)} | ${fmt(f.wallSeconds)} |`);
      process.stderr.write('.');
    }
  }
  const healthy = [];
  for (const { name, p } of policies) {
    const f = await run(p, { kind: 'healthy' }, 21);
    healthy.push(`| healthy change, 21 days | ${name} | ${f.status} | rollbacks (false positives): ${f.rollbacks} | wall ${fmt(f.wallSeconds)} s |`);
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const out = [
    `handsoff bench: ${REGIONS.length} regions, 6 hosts per unit, default bakes and window; virtual time`,
    '',
    ...rows,
    '',
    '| policy | alarm-to-rollback median (s) | max (s) | failed requests, mean per bad change |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(all).map(
      ([name, v]) =>
        `| ${name} | ${fmt(median(v.latencies))} | ${fmt(v.latencies.length ? Math.max(...v.latencies) : NaN)} | ${fmt(v.failed.reduce((a, b) => a + b, 0) / v.failed.length)} |`,
    ),
    '',
    '| control | policy | outcome | false positives | wall |',
    '| --- | --- | --- | --- | --- |',
    ...healthy,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
};
