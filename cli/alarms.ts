/**
 * `handsoff alarms`: the alarm plan of a pipeline (core/alarms), as docs/simulation.md prints it:
 * every alarm that watches its steps, in each region it deploys to (or one), exactly as the
 * CDK target stacks create them and the simulated world evaluates them.
 */
import { type AlarmEntry, pipelineAlarmPlan, pipelineRegions, toAlarmEntry } from '../core/alarms/index.ts';
import type { ResolvedPipeline } from '../core/model.ts';

export class UnknownRegionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownRegionError';
  }
}

export interface AlarmsOutput {
  pipeline: string;
  alarms: AlarmEntry[];
}

/**
 * The plan of one pipeline, in one region or in every region it deploys to; `pipelines` are
 * the others synthesized with it (its team's aggregate alarms span theirs). @default [p]
 */
export const alarmsOf = (p: ResolvedPipeline, catalog: readonly string[], region?: string, pipelines: readonly ResolvedPipeline[] = [p]): AlarmsOutput => {
  const regions = pipelineRegions(p);
  if (region !== undefined) {
    if (!catalog.includes(region)) throw new UnknownRegionError(`unknown region '${region}'; the region catalog has: ${catalog.join(', ')}`);
    if (!regions.includes(region)) throw new UnknownRegionError(`pipeline '${p.name}' does not deploy to region '${region}'; it deploys to: ${regions.join(', ')}`);
  }
  return { pipeline: p.name, alarms: (region !== undefined ? [region] : regions).flatMap((r) => pipelineAlarmPlan(p, r, pipelines).map(toAlarmEntry)) };
};

const what = (a: AlarmEntry): string => {
  switch (a.kind) {
    case 'composite':
      return a.rule!.length > 60 ? `${a.rule!.slice(0, 57)}...` : a.rule!;
    case 'metric':
      return `${a.metric} ${a.statistic}`;
    case 'math':
      return a.expression!;
    case 'anomaly':
      return `${a.metric} ${a.statistic} vs ${a.expression}`;
  }
};

const when = (a: AlarmEntry): string => {
  if (a.kind === 'composite') return '';
  const symbol: Record<string, string> = {
    GreaterThanThreshold: '>',
    GreaterThanOrEqualToThreshold: '>=',
    LessThanThreshold: '<',
    LessThanOrEqualToThreshold: '<=',
    LessThanLowerThreshold: '< band',
    GreaterThanUpperThreshold: '> band',
    LessThanLowerOrGreaterThanUpperThreshold: 'outside band',
  };
  const cmp = symbol[a.comparison!] ?? a.comparison!;
  return `${cmp}${a.threshold !== undefined ? ` ${a.threshold}` : ''}, ${a.datapointsToAlarm} of ${a.evaluationPeriods} x ${a.periodSeconds}s, missing: ${a.treatMissingData}`;
};

/** A readable table, one alarm a line. */
export const alarmsTable = (out: AlarmsOutput): string[] => {
  const rows = out.alarms.map((a) => [a.region, a.scope + (a.unit ? ` ${a.unit}` : a.stage ? ` ${a.stage}` : ''), a.kind, a.name, when(a), what(a)]);
  const head = ['REGION', 'SCOPE', 'KIND', 'NAME', 'ALARMS WHEN', 'ON'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [`${out.pipeline}: ${out.alarms.length} alarms`, line(head), ...rows.map(line)];
};
