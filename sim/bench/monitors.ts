/**
 * What the monitors buy: for a set of bad changes (faults, latency, crash, boxes that stop
 * serving, a slow burn) under two policies (handsoff's default with one-box, and the same
 * without one-box), and for healthy control changes: alarm-to-rollback latency (virtual
 * seconds from the alarm's state change in the world to `rollback.started`), failed requests
 * per bad change (customer impact), false positives (rollbacks of healthy changes).
 */
import type { HandsoffEvent } from '../../core/events.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { simulate, type SimChange } from '../engine.ts';
import { count, fmt, median, table } from './format.ts';

export const MONITOR_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'sa-east-1', 'ap-southeast-2'];
const START = Date.parse('2026-11-30T08:00:00Z');
const MERGE = Date.parse('2026-11-30T09:00:00Z');

const pipeline = (oneBox: boolean): ResolvedPipeline => {
  const v = validatePipeline(
    { name: 'bench-service', service: 'BenchService', team: 'bench', regions: MONITOR_REGIONS, hostsPerUnit: 6, oneBox },
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

export interface MonitorRun {
  case: string;
  policy: string;
  status: string;
  failedRequests: number;
  /** Alarm-to-rollback latencies, virtual seconds. */
  latencies: number[];
  rollbacks: number;
  wallSeconds: number;
}

export interface MonitorFigures {
  regions: string[];
  bad: MonitorRun[];
  healthy: MonitorRun[];
  byPolicy: Array<{ policy: string; latencyMedian: number; latencyMax: number; failedRequestsMean: number }>;
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

const run = async (p: ResolvedPipeline, c: Case, policy: string, days: number): Promise<MonitorRun> => {
  const events: HandsoffEvent[] = [];
  const t0 = performance.now();
  const result = await simulate({
    pipelines: [p],
    scenario: {
      start: START,
      until: START + days * 86_400_000,
      changes: [{ id: 'c1', pipeline: p.name, at: MERGE, author: 'alice', approvedBy: ['bob'], behavior: c.behavior }],
      events: [],
    },
    onEvent: (e) => events.push(e),
  });
  const s = result.changes.c1!;
  return {
    case: c.name,
    policy,
    status: s.status,
    failedRequests: s.failedRequests,
    latencies: rollbackLatencies(events),
    rollbacks: events.filter((e) => e.type === 'rollback.started').length,
    wallSeconds: (performance.now() - t0) / 1000,
  };
};

export const monitors = async (progress: (what: string) => void): Promise<MonitorFigures> => {
  const policies = [
    { name: 'one-box', p: pipeline(true) },
    { name: 'no one-box', p: pipeline(false) },
  ];
  const bad: MonitorRun[] = [];
  for (const c of badCases(policies[0]!.p)) {
    for (const { name, p } of policies) {
      progress(`monitors: ${c.name}, ${name}`);
      bad.push(await run(p, c, name, 10));
    }
  }
  const healthy: MonitorRun[] = [];
  for (const { name, p } of policies) {
    progress(`monitors: healthy control, ${name}`);
    healthy.push(await run(p, { name: 'healthy change, 21 days', behavior: { kind: 'healthy' } }, name, 21));
  }
  const byPolicy = policies.map(({ name }) => {
    const runs = bad.filter((r) => r.policy === name);
    const latencies = runs.flatMap((r) => r.latencies);
    return {
      policy: name,
      latencyMedian: median(latencies),
      latencyMax: latencies.length ? Math.max(...latencies) : NaN,
      failedRequestsMean: runs.reduce((a, r) => a + r.failedRequests, 0) / runs.length,
    };
  });
  return { regions: MONITOR_REGIONS, bad, healthy, byPolicy };
};

export const monitorTables = (f: MonitorFigures): string[] => [
  `## Monitors: ${f.regions.length} regions, 6 hosts per unit, default bakes and window (virtual time)`,
  '',
  ...table(
    ['bad change', 'policy', 'outcome', 'failed requests', 'alarm-to-rollback median / max (s)', 'wall (s)'],
    f.bad.map((r) => [r.case, r.policy, r.status, count(r.failedRequests), `${fmt(median(r.latencies))} / ${fmt(r.latencies.length ? Math.max(...r.latencies) : NaN)}`, fmt(r.wallSeconds)]),
    'lllrrr',
  ),
  '',
  ...table(
    ['policy', 'alarm-to-rollback median (s)', 'max (s)', 'failed requests, mean per bad change'],
    f.byPolicy.map((p) => [p.policy, fmt(p.latencyMedian), fmt(p.latencyMax), count(p.failedRequestsMean)]),
    'lrrr',
  ),
  '',
  ...table(
    ['control', 'policy', 'outcome', 'rollbacks (false positives)', 'wall (s)'],
    f.healthy.map((r) => [r.case, r.policy, r.status, String(r.rollbacks), fmt(r.wallSeconds)]),
    'lllrr',
  ),
];
