/**
 * The demo (`simulate` with no arguments), measured: its wall time as a user sees it (the CLI
 * from start to exit, a child process), the simulation's own wall and CPU time in this
 * process, the virtual-to-wall ratio, and per change its counts and AWS bill beside what
 * CodePipeline V2 would charge for the same policy.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedPipeline } from '../../core/model.ts';
import type { SimScenario } from '../engine.ts';
import { attribute, SHARED, type Figures } from './attribute.ts';
import { PRICE_REGION, PRICES_CHECKED } from './cost.ts';
import { count, fmt, table, usd } from './format.ts';
import { meteredRun } from './run.ts';

/** The checkout: the first folder above this module (a source file or the build's chunk) with the CLI in it. */
const ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'bin/handsoff.mjs'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('bench: cannot find bin/handsoff.mjs above the bench module');
    dir = up;
  }
  return dir;
})();

export interface DemoFigures {
  pipelines: string[];
  regions: number;
  /** `node bin/handsoff.mjs simulate --json`, start to exit (undefined when skipped). */
  cliWallSeconds?: number;
  /** simulate() alone, in this process, metered. */
  wallSeconds: number;
  cpuSeconds: number;
  virtualSeconds: number;
  /** Virtual seconds per wall second of simulate(). */
  ratio: number;
  outcomes: Record<string, string>;
  changes: Record<string, Figures>;
  shared: Figures;
  total: Figures;
  /** The closing `simulation.finished` stats, which `total` adds up to. */
  stats: Record<string, number>;
}

/** Wall seconds of the CLI's demo run, start to exit. */
export const cliWall = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/handsoff.mjs'), 'simulate', '--json'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`handsoff simulate exited with ${code}`))));
  });

export const demo = async (pipelines: ResolvedPipeline[], scenario: SimScenario, progress: (what: string) => void, withCli = true): Promise<DemoFigures> => {
  let cliWallSeconds: number | undefined;
  if (withCli) {
    progress('demo: the CLI, start to exit');
    cliWallSeconds = await cliWall();
  }
  progress('demo: simulate(), metered');
  const cpu0 = process.cpuUsage();
  const run = await meteredRun(pipelines, scenario);
  const cpu = process.cpuUsage(cpu0);
  const { changes, shared, total } = attribute(run);
  const virtualSeconds = (Date.parse(run.result.stats.virtualEnd) - scenario.start) / 1000;
  return {
    pipelines: pipelines.map((p) => p.name),
    regions: new Set(pipelines.flatMap((p) => p.waves.flatMap((w) => w.regions.map((r) => r.region)))).size,
    ...(cliWallSeconds === undefined ? {} : { cliWallSeconds }),
    wallSeconds: run.wallSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    virtualSeconds,
    ratio: virtualSeconds / run.wallSeconds,
    outcomes: Object.fromEntries(Object.entries(run.result.changes).map(([c, s]) => [c, s.status])),
    changes,
    shared,
    total,
    stats: { ...run.result.stats.run },
  };
};

export const demoTables = (d: DemoFigures): string[] => {
  const rows: Array<[string, string, Figures]> = [
    ...Object.entries(d.changes).map(([c, f]): [string, string, Figures] => [c, d.outcomes[c] ?? '', f]),
    [SHARED, 'reconciler, alarm events of no change, alarms', d.shared],
    ['total', `= simulation.finished.stats`, d.total],
  ];
  const cp = (f: Figures) => f.codePipeline;
  return [
    `## Demo: ${d.pipelines.join(', ')}, ${d.regions} regions, ${Object.keys(d.changes).length} changes, ${fmt(d.virtualSeconds / 86_400)} virtual days`,
    '',
    ...table(
      ['CLI wall, start to exit (s)', 'simulate() wall (s)', 'simulate() CPU (s)', 'virtual : wall'],
      [[d.cliWallSeconds === undefined ? '-' : fmt(d.cliWallSeconds), fmt(d.wallSeconds), fmt(d.cpuSeconds), `${count(d.ratio)} : 1`]],
      'rrrr',
    ),
    '',
    `Per change; AWS at ${PRICE_REGION} list prices checked ${PRICES_CHECKED} (sim/bench/cost.ts); CodePipeline V2 for the same policy, every deployment, bake and wait an action at $0.002 per action-minute.`,
    '',
    ...table(
      ['change', 'outcome', 'transitions', 'invocations', 'DynamoDB requests', 'largest history', 'AWS cost', 'CodePipeline action-min (deploy / bake / wait)', 'CodePipeline V2'],
      rows.map(([c, outcome, f]) => [
        c,
        outcome,
        count(f.transitions),
        count(f.invocations),
        count(f.dynamodbRequests),
        count(f.largestHistory),
        usd(f.cost.total),
        cp(f) ? `${count(cp(f)!.total)} (${count(cp(f)!.deploy)} / ${count(cp(f)!.bake)} / ${count(cp(f)!.wait)})` : '-',
        cp(f) ? usd(cp(f)!.cost) : '-',
      ]),
      'llrrrrrrr',
    ),
    '',
    'What it is billed for:',
    '',
    ...table(
      ['change', 'Lambda GB-s', 'RRU', 'WRU', 'Scheduler inv.', 'events', 'GetMetricData metrics', 'alarm-metric-months', 'composite-months', 'Step Functions', 'Lambda', 'DynamoDB', 'Scheduler', 'EventBridge', 'CloudWatch'],
      rows.map(([c, , f]) => [
        c,
        fmt(f.usage.lambdaGbSeconds),
        count(f.usage.readUnits),
        count(f.usage.writeUnits),
        count(f.usage.schedulerInvocations),
        count(f.usage.events),
        count(f.usage.metricsRequested),
        fmt(f.usage.alarmMetricMonths),
        fmt(f.usage.compositeAlarmMonths),
        usd(f.cost.stepFunctions),
        usd(f.cost.lambda),
        usd(f.cost.dynamodb),
        usd(f.cost.scheduler),
        usd(f.cost.eventbridge),
        usd(f.cost.cloudwatch),
      ]),
      'lrrrrrrrrrrrrrr',
    ),
  ];
};
