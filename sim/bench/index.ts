/**
 * `npm run bench`: in one run, the demo (wall, virtual-to-wall ratio, per change counts and
 * AWS cost beside CodePipeline V2's), scaling over pipelines and regions, and what the
 * monitors buy (alarm-to-rollback latency, failed requests with and without one-box).
 * Progress on stderr; readable tables on stdout, or one JSON document with `--json`.
 * Nothing here asserts a time: figures go to the README.
 */
import { cpus, loadavg } from 'node:os';
import type { ResolvedPipeline } from '../../core/model.ts';
import type { SimScenario } from '../engine.ts';
import { demo, demoTables, type DemoFigures } from './demo.ts';
import { monitors, monitorTables, type MonitorFigures } from './monitors.ts';
import { scaling, scalingTables, type ScalingRow } from './scaling.ts';

export const PARTS = ['demo', 'scaling', 'monitors'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchOptions {
  /** The demo's pipelines and scenario (the CLI's defaults). */
  demo: { pipelines: ResolvedPipeline[]; scenario: SimScenario };
  json?: boolean;
  /** Parts to run; default all. */
  only?: readonly Part[];
  /** Skip the CLI child process of the demo. */
  noCli?: boolean;
}

export interface BenchFigures {
  machine: { cpus: number; loadAverage: number[]; node: string; started: string };
  seconds: number;
  demo?: DemoFigures;
  scaling?: ScalingRow[];
  monitors?: MonitorFigures;
}

export const bench = async (opts: BenchOptions): Promise<BenchFigures> => {
  const t0 = performance.now();
  const parts = new Set(opts.only ?? PARTS);
  const progress = (what: string): void => {
    process.stderr.write(`bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s: ${what}\n`);
  };
  const figures: BenchFigures = {
    machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => Math.round(l * 100) / 100), node: process.version, started: new Date().toISOString() },
    seconds: 0,
  };
  if (parts.has('demo')) figures.demo = await demo(opts.demo.pipelines, opts.demo.scenario, progress, !opts.noCli);
  if (parts.has('scaling')) figures.scaling = await scaling(progress);
  if (parts.has('monitors')) figures.monitors = await monitors(progress);
  figures.seconds = (performance.now() - t0) / 1000;
  progress('done');
  if (opts.json) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  else {
    const out = [
      `# handsoff bench (${figures.machine.cpus} CPUs, load average ${figures.machine.loadAverage.join(' ')} at start, Node ${figures.machine.node}; ${Math.round(figures.seconds)} s)`,
      ...(figures.demo ? ['', ...demoTables(figures.demo)] : []),
      ...(figures.scaling ? ['', ...scalingTables(figures.scaling)] : []),
      ...(figures.monitors ? ['', ...monitorTables(figures.monitors)] : []),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  }
  return figures;
};
