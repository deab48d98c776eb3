/**
 * `handsoff simulate | console | plan | validate`: the simulator's CLI (docs/simulation.md,
 * docs/console.md).
 * Exit status: 0 when the run finished, 2 for invalid input (every problem on stderr, and
 * nothing runs), 1 for an internal error.
 */
import { createRequire } from 'node:module';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ResolvedPipeline } from '../core/model.ts';
import type { HandsoffEvent } from '../core/events.ts';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import { loadPipelineFiles, loadScenarioFile } from './load.ts';
import { alarmsOf, alarmsTable, UnknownRegionError } from './alarms.ts';
import { formatProblem, validatePipeline, type Problem } from '../core/pipeline/resolve.ts';
import { defaultPipeline } from '../infra/pipelines/index.ts';
import { defaultScenario, type Scenario } from '../sim/scenario.ts';
import { ignoredScenarioParts, toSimScenario } from '../sim/scenario-adapter.ts';
import { DEFAULT_REPORT, reportPath, writeReport } from './report.ts';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export class InvalidInputError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`${problems.length} problem(s) in the input`);
    this.name = 'InvalidInputError';
  }
}

const loadPipelines = async (files: string[] | undefined): Promise<ResolvedPipeline[]> => {
  if (!files || files.length === 0) {
    const v = validatePipeline(defaultPipeline, 'infra/pipelines/storefront-api.ts', { catalog: REGION_CATALOG });
    if (!v.ok) throw new InvalidInputError(v.problems);
    return [v.pipeline];
  }
  const loaded = await loadPipelineFiles(files);
  if (!loaded.ok) throw new InvalidInputError(loaded.problems);
  return loaded.pipelines;
};

const loadScenario = async (file: string | undefined, pipelines: ResolvedPipeline[]): Promise<Scenario> => {
  if (!file) {
    const first = pipelines[0]!;
    return defaultScenario(first);
  }
  const v = await loadScenarioFile(file, pipelines);
  if (!v.ok) throw new InvalidInputError(v.problems);
  return v.scenario;
};

/** Warns on stderr about each part of the scenario file that the simulator does not act on. */
const warnIgnored = (scenario: Scenario, file: string | undefined): void => {
  if (!file) return;
  for (const w of ignoredScenarioParts(scenario, file)) process.stderr.write(`${formatProblem(w)}\n`);
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const portOf = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 (any free port) to 65535.');
  return n;
};

const speedOf = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 10_000_000) throw new InvalidArgumentError('the speed is a number of virtual seconds per real second, above 0 and at most 10000000.');
  return n;
};

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export const buildCli = (): Command => {
  const program = new Command('handsoff')
    .description('Hands-off, safe continuous deployment on AWS; this CLI runs pipelines in the local simulator.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('simulate')
    .description('run pipelines on this machine with a simulated AWS world, in virtual time')
    .addOption(new Option('--pipeline <file>', 'pipeline file (.json, or .ts/.js whose default export is a pipeline); repeatable').argParser(collect))
    .option('--scenario <file>', 'scenario file (.json); default: the built-in demo')
    .option('--json', 'print only JSON Lines events on stdout')
    .option('--report <file>', `write an HTML report of the run (pictures, outcomes, decisions); without --json, ${DEFAULT_REPORT} by default`)
    .option('--no-report', 'write no report')
    .action(async (opts: { pipeline?: string[]; scenario?: string; json?: boolean; report?: string | boolean }) => {
      const report = reportPath(opts);
      const pipelines = await loadPipelines(opts.pipeline);
      const scenario = await loadScenario(opts.scenario, pipelines);
      const { simulate } = await import('../sim/engine.ts');
      const { describeEvent, summary } = await import('../sim/timeline.ts');
      const started = performance.now();
      const progress = process.stderr.isTTY && !opts.json;
      let lastProgress = 0;
      const stream: HandsoffEvent[] = [];
      const onEvent = (e: HandsoffEvent): void => {
        if (report) stream.push(e);
        if (opts.json) {
          out(JSON.stringify(e));
          return;
        }
        const line = describeEvent(e);
        if (line) {
          if (progress) process.stderr.write('\r\x1b[K');
          out(line);
        }
        if (progress && performance.now() - lastProgress > 100) {
          lastProgress = performance.now();
          process.stderr.write(`\r\x1b[K  ... simulating, virtual time ${e.time.slice(0, 16)}Z`);
        }
      };
      if (!opts.json) {
        out(`handsoff simulate: ${pipelines.map((p) => p.name).join(', ')}; ${scenario.changes.length} change(s) from ${new Date(scenario.startMs).toISOString()}`);
      }
      warnIgnored(scenario, opts.scenario);
      const simScenario = toSimScenario(scenario, pipelines);
      const result = await simulate({ pipelines, scenario: simScenario, onEvent });
      const wall = ((performance.now() - started) / 1000).toFixed(2);
      if (progress) process.stderr.write('\r\x1b[K');
      const stats = `simulated until ${result.stats.virtualEnd} in ${wall} s wall time; ${result.stats.handlerInvocations} handler invocations, ${result.stats.dynamoCalls} DynamoDB requests; state transitions per change: ${Object.entries(result.stats.transitions).map(([c, n]) => `${c}=${n}`).join(' ')}; largest execution history ~${result.stats.largestHistory.events} events`;
      if (opts.json) process.stderr.write(`${stats}\n`);
      else {
        out(summary(result));
        out(stats);
      }
      if (report) process.stderr.write(`handsoff: report written to ${await writeReport(report, stream, pipelines)}\n`);
    });

  program
    .command('console')
    .description('serve the console (docs/console.md) over the simulator, live: virtual time follows the wall clock')
    .addOption(new Option('--pipeline <file>', 'pipeline file; repeatable').argParser(collect))
    .option('--scenario <file>', 'scenario file (.json); default: the built-in demo')
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').argParser(portOf).default(8787))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--speed <speed>', 'virtual seconds per real second').argParser(speedOf).default(600))
    .action(async (opts: { pipeline?: string[]; scenario?: string; port: number; host: string; speed: number }) => {
      const pipelines = await loadPipelines(opts.pipeline);
      const scenario = await loadScenario(opts.scenario, pipelines);
      warnIgnored(scenario, opts.scenario);
      const { serveConsole } = await import('../console/serve.ts');
      const served = await serveConsole({
        pipelines,
        scenario: toSimScenario(scenario, pipelines),
        approvers: scenario.approvers,
        host: opts.host,
        port: opts.port,
        speed: opts.speed,
      });
      out(`console: ${served.url}`);
      // Ctrl-C or SIGTERM: stop serving, end the run, exit 0. A run that crashes exits 1.
      const signalled = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const crashed = served.done.then(
        () => new Promise<never>(() => undefined),
        (e: Error) => Promise.reject(e),
      );
      try {
        await Promise.race([signalled, crashed]);
      } finally {
        await served.close();
      }
    });

  program
    .command('plan')
    .description('print the waves, regions and units a pipeline rolls out to (each pipeline given, one line of JSON each)')
    .addOption(new Option('--pipeline <file>', 'pipeline file; repeatable; default: the example pipeline').argParser(collect))
    .option('--json', 'print JSON')
    .action(async (opts: { pipeline?: string[]; json?: boolean }) => {
      for (const p of await loadPipelines(opts.pipeline)) {
        const plan = {
          pipeline: p.name,
          waves: p.waves.map((w) => ({ name: w.name, regions: w.regions.map((r) => ({ region: r.region, units: [...r.units] })) })),
        };
        if (opts.json) {
          out(JSON.stringify(plan));
          continue;
        }
        out(`${p.name} (${p.service}${p.kind === 'app' ? '' : ` ${p.kind}`}, team ${p.team}): ${p.preProd.join(' -> ')} in ${p.preProdRegion}, then:`);
        p.waves.forEach((w) => {
          out(`  ${w.name} (bake ${w.bakeSeconds / 3600} h): ${w.regions.map((r) => `${r.region} [${r.units.join(', ')}]`).join('; ')}`);
        });
      }
    });

  program
    .command('alarms')
    .description("print the alarm plan: every alarm that watches the pipeline's steps, as the target stacks create them (each pipeline given, one line of JSON each)")
    .addOption(new Option('--pipeline <file>', 'pipeline file; repeatable; default: the example pipeline').argParser(collect))
    .option('--region <region>', 'one region only')
    .option('--json', 'print JSON')
    .action(async (opts: { pipeline?: string[]; region?: string; json?: boolean }) => {
      const pipelines = await loadPipelines(opts.pipeline);
      for (const p of pipelines) {
        const plan = alarmsOf(p, REGION_CATALOG.map((r) => r.code), opts.region, pipelines);
        if (opts.json) out(JSON.stringify(plan));
        else for (const line of alarmsTable(plan)) out(line);
      }
    });

  program
    .command('validate')
    .description('validate pipeline (and scenario) files; reports every problem at once')
    .addOption(new Option('--pipeline <file>', 'pipeline file; repeatable').argParser(collect).makeOptionMandatory())
    .option('--scenario <file>', 'scenario file to validate against the pipelines')
    .action(async (opts: { pipeline: string[]; scenario?: string }) => {
      const pipelines = await loadPipelines(opts.pipeline);
      if (opts.scenario) warnIgnored(await loadScenario(opts.scenario, pipelines), opts.scenario);
      out(`valid: ${pipelines.map((p) => `${p.name} (${p.waves.length} waves, ${p.waves.reduce((n, w) => n + w.regions.length, 0)} regions)`).join(', ')}${opts.scenario ? `; scenario ${opts.scenario}` : ''}`);
    });

  return program;
};

export const main = async (argv: string[]): Promise<number> => {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof UnknownRegionError) {
      process.stderr.write(`handsoff: ${e.message}\n`);
      return 2;
    }
    if (e instanceof InvalidInputError) {
      for (const p of e.problems) process.stderr.write(`${formatProblem(p)}\n`);
      process.stderr.write(`handsoff: ${e.problems.length} problem(s); nothing was run\n`);
      return 2;
    }
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    process.stderr.write(`handsoff: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
};
