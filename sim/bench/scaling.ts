/**
 * How the work grows: one healthy change per pipeline, all pipelines in one world, over
 * 1/5/10 pipelines (5 regions each) and 5/17/34 regions (one pipeline). Counts, wall and
 * cost per run and per pipeline-region: linear growth shows as a flat per-pipeline-region column.
 */
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import type { SimScenario } from '../engine.ts';
import { attribute, type Figures } from './attribute.ts';
import { costOf, emptyUsage } from './cost.ts';
import { count, fmt, table, usd } from './format.ts';
import { meteredRun } from './run.ts';

export const PIPELINE_COUNTS = [1, 5, 10] as const;
export const REGION_COUNTS = [5, 17, 34] as const;
/** Regions of the pipelines axis. */
export const PIPELINES_AXIS_REGIONS = 5;

const START = Date.parse('2026-11-30T08:00:00Z');
const MERGE = Date.parse('2026-11-30T09:00:00Z');

/** `n` pipelines of one team over the first `regions` regions of the catalog. */
export const benchPipelines = (n: number, regions: number): ResolvedPipeline[] =>
  Array.from({ length: n }, (_, i) => {
    const v = validatePipeline(
      {
        name: `bench-${i + 1}`,
        service: `BenchService${i + 1}`,
        team: 'bench',
        regions: REGION_CATALOG.slice(0, regions).map((r) => r.code),
        hostsPerUnit: 3,
      },
      'bench',
      { catalog: REGION_CATALOG },
    );
    if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('; '));
    return v.pipeline;
  });

/** One healthy change per pipeline, merged at the same time. */
export const oneChangeEach = (pipelines: readonly ResolvedPipeline[], days = 21): SimScenario => ({
  start: START,
  until: START + days * 86_400_000,
  changes: pipelines.map((p) => ({ id: `${p.name}-c1`, pipeline: p.name, at: MERGE, author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } })),
  events: [],
});

export interface ScalingRow {
  pipelines: number;
  regions: number;
  wallSeconds: number;
  cpuSeconds: number;
  virtualDays: number;
  /** Every change and the shared work, the alarms excepted. */
  work: Figures;
  /** The changes' own work (the shared reconciler and alarms apart). */
  changes: Pick<Figures, 'transitions' | 'invocations' | 'dynamodbRequests'> & { cost: number };
  /** The standing alarms over the run (shared). */
  alarmsCost: number;
  allSucceeded: boolean;
}

const workCost = (f: Figures): number => f.cost.total;

export const scalingRun = async (pipelines: number, regions: number): Promise<ScalingRow> => {
  const ps = benchPipelines(pipelines, regions);
  const cpu0 = process.cpuUsage();
  const run = await meteredRun(ps, oneChangeEach(ps));
  const cpu = process.cpuUsage(cpu0);
  const { total, shared, changes } = attribute(run);
  const own = Object.values(changes);
  const alarmsCost = costOf({ ...emptyUsage(), alarmMetricMonths: shared.usage.alarmMetricMonths, compositeAlarmMonths: shared.usage.compositeAlarmMonths }).cloudwatch;
  const work: Figures = { ...total, cost: { ...total.cost, cloudwatch: total.cost.cloudwatch - alarmsCost, total: total.cost.total - alarmsCost } };
  return {
    pipelines,
    regions,
    wallSeconds: run.wallSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    virtualDays: (Date.parse(run.result.stats.virtualEnd) - run.scenario.start) / 86_400_000,
    work,
    changes: {
      transitions: own.reduce((n, f) => n + f.transitions, 0),
      invocations: own.reduce((n, f) => n + f.invocations, 0),
      dynamodbRequests: own.reduce((n, f) => n + f.dynamodbRequests, 0),
      cost: own.reduce((n, f) => n + f.cost.total, 0),
    },
    alarmsCost,
    allSucceeded: Object.values(run.result.changes).every((c) => c.status === 'succeeded'),
  };
};

export const scaling = async (progress: (what: string) => void): Promise<ScalingRow[]> => {
  const rows: ScalingRow[] = [];
  for (const n of PIPELINE_COUNTS) {
    progress(`scaling: ${n} pipeline(s) x ${PIPELINES_AXIS_REGIONS} regions`);
    rows.push(await scalingRun(n, PIPELINES_AXIS_REGIONS));
  }
  for (const r of REGION_COUNTS.filter((r) => r !== PIPELINES_AXIS_REGIONS)) {
    progress(`scaling: 1 pipeline x ${r} regions`);
    rows.push(await scalingRun(1, r));
  }
  return rows;
};

export const scalingTables = (rows: readonly ScalingRow[]): string[] => {
  const per = (r: ScalingRow, n: number) => n / (r.pipelines * r.regions);
  return [
    '## Scaling: one healthy change per pipeline, one world',
    '',
    "The run: every change and the shared work (the reconciler); its cost is Step Functions, Lambda, DynamoDB, Scheduler, EventBridge and GetMetricData, the standing alarms apart. Per pipeline-region: the changes' own work.",
    '',
    ...table(
      ['pipelines x regions', 'wall (s)', 'CPU (s)', 'virtual days', 'transitions', 'invocations', 'DynamoDB requests', 'cost', 'alarms', 'per pipeline-region: transitions', 'invocations', 'DynamoDB requests', 'cost'],
      rows.map((r) => [
        `${r.pipelines} x ${r.regions}${r.allSucceeded ? '' : ' (not all succeeded)'}`,
        fmt(r.wallSeconds),
        fmt(r.cpuSeconds),
        fmt(r.virtualDays),
        count(r.work.transitions),
        count(r.work.invocations),
        count(r.work.dynamodbRequests),
        usd(workCost(r.work)),
        usd(r.alarmsCost),
        fmt(per(r, r.changes.transitions)),
        fmt(per(r, r.changes.invocations)),
        fmt(per(r, r.changes.dynamodbRequests)),
        usd(per(r, r.changes.cost)),
      ]),
      'lrrrrrrrrrrrr',
    ),
  ];
};
