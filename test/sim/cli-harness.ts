/**
 * Runs the real CLI (`bin/handsoff.mjs`) as a user would, and parses its JSON Lines.
 *
 * A simulation is deterministic (test/sim/rollout.test.ts, "the same scenario"), so the same
 * input gives the same output: `simulateJson` and `plan` run each distinct input once per
 * `vitest run` and share its output between the tests and the test files that ask for it
 * (in this file's memo, and across files in the directory of test/sim/shared-runs.ts). Those
 * shared runs, and every `runCli`, go to the suite's warm CLI processes (test/sim/shared-runs.ts):
 * the CLI's own `main` with its exit code, stdout and stderr, without a new process's start.
 * `runProcess` and a `fresh` run start `bin/handsoff.mjs` in a process of its own: for what only
 * the entry point does (the build check, `--version`), and to compare a fresh process with a warm one.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import type { ChangeSummary } from '../../sim/types.ts';
import type { CliOutput } from './shared-runs.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SMALL_PIPELINE = join(ROOT, 'test/fixtures/small-pipeline.json');

export interface CliRun extends CliOutput {
  events: HandsoffEvent[];
}

const spawnCli = (args: string[]): Promise<CliOutput> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/handsoff.mjs'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });

/** The suite's warm CLI processes (test/sim/shared-runs.ts); none when run without the suite's config. */
const warmCli: string | undefined = inject('warmCli');

/** A CLI run in one of the suite's warm processes: the same `main` from the same build, in a process that ran others before. */
const warmRun = (url: string, args: string[]): Promise<CliOutput> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as CliOutput) : reject(new Error(`the warm CLI answered ${res.statusCode}: ${body}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ args }));
  });

/** Each caller gets its own parse: a test that sorts or changes its events changes no one else's. */
const withEvents = (args: string[], out: CliOutput): CliRun => ({
  ...out,
  events: args.includes('--json') && out.code === 0 ? out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as HandsoffEvent) : [],
});

/** `bin/handsoff.mjs` in a process of its own, as a user starts it. */
export const runProcess = async (args: string[]): Promise<CliRun> => withEvents(args, await spawnCli(args));

/**
 * The CLI run once, not shared: its exit code, stdout and stderr as a process of its own gives
 * them (main returns its code and never exits the process: commander's exitOverride), from a
 * warm process of the suite when there is one, else from `bin/handsoff.mjs`.
 */
export const runCli = async (args: string[]): Promise<CliRun> => withEvents(args, await (warmCli ? warmRun(warmCli, args) : spawnCli(args)));

/** The directory shared by the test files of this `vitest run`; none when run without the suite's config. */
const shared: string | undefined = inject('sharedRuns');
const dir = mkdtempSync(join(shared ?? tmpdir(), 'handsoff-test-'));

/** What decides a run's output: its arguments, each file named after `--pipeline` or `--scenario` by its contents. */
const inputOf = (args: string[]): string =>
  JSON.stringify(
    args.map((arg, i) => {
      const named = ['--pipeline', '--scenario'].includes(args[i - 1] ?? '') && existsSync(arg) && statSync(arg).isFile();
      return named ? { contents: readFileSync(arg, 'utf8') } : arg;
    }),
  );

const memo = new Map<string, Promise<CliOutput>>();

/**
 * `runCli`, once per distinct input in a `vitest run`. Only a run that exits 0 is shared; its
 * stdout (the JSON stream or plan, which name no file path) is what the callers read.
 */
const runShared = async (args: string[]): Promise<CliRun> => {
  const key = createHash('sha256').update(inputOf(args)).digest('hex');
  const file = shared && join(shared, `${key}.json`);
  let run = memo.get(key);
  if (!run) {
    run = file && existsSync(file) ? Promise.resolve(JSON.parse(readFileSync(file, 'utf8')) as CliOutput) : warmCli ? warmRun(warmCli, args) : spawnCli(args);
    memo.set(key, run);
  }
  const out = await run;
  if (out.code !== 0) memo.delete(key);
  else if (file && !existsSync(file)) {
    // Written whole, then renamed: a file that runs at the same time reads all of it or none.
    writeFileSync(`${file}.${process.pid}`, JSON.stringify(out));
    renameSync(`${file}.${process.pid}`, file);
  }
  return withEvents(args, out);
};

/** Writes a JSON file for a test and returns its path. */
let n = 0;
export const writeJson = (name: string, value: unknown): string => {
  const path = join(dir, `${++n}-${name}`);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
};

/**
 * `handsoff simulate --json` of a scenario, run once for every test that asks for the same
 * pipelines and scenario; `fresh` runs it anew in a process of its own (a test that compares two runs).
 */
export const simulateJson = async (scenario: unknown, pipelines: string[] = [SMALL_PIPELINE], { fresh = false } = {}): Promise<HandsoffEvent[]> => {
  const file = writeJson('scenario.json', scenario);
  const args = ['simulate', ...pipelines.flatMap((p) => ['--pipeline', p]), '--scenario', file, '--json'];
  const run = await (fresh ? runProcess(args) : runShared(args));
  if (run.code !== 0) throw new Error(`simulate exited ${run.code}: ${run.stderr}`);
  return run.events;
};

/**
 * The demo as `npm start` runs it (`simulate`, no pipeline and no scenario: the default
 * pipeline and the built-in scenario), with its stream (`--json`) and its HTML report, run
 * once per `vitest run` for every test file that asks. The report is written in the run's
 * shared directory, under the one name every caller gives, so the callers share the run.
 */
export const demo = async (): Promise<{ events: HandsoffEvent[]; report: string; stderr: string }> => {
  const report = join(shared ?? dir, 'demo-report.html');
  const run = await runShared(['simulate', '--json', '--report', report]);
  if (run.code !== 0) throw new Error(`simulate exited ${run.code}: ${run.stderr}`);
  return { events: run.events, report, stderr: run.stderr };
};

export const plan = async (pipeline = SMALL_PIPELINE): Promise<{ pipeline: string; waves: Array<{ name: string; regions: Array<{ region: string; units: string[] }> }> }> => {
  const run = await runShared(['plan', '--pipeline', pipeline, '--json']);
  if (run.code !== 0) throw new Error(`plan exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
};

export const ofType = (events: HandsoffEvent[], type: string, change?: string): HandsoffEvent[] =>
  events.filter((e) => e.type === type && (change === undefined || e.change === change));

/** A change merged through review: its author and an approver other than the author. */
export const reviewed = { author: 'alice', approvedBy: ['bob'] };

/** Each change's summary, as the run's `simulation.finished` reports it. */
export const summary = (events: HandsoffEvent[]): Record<string, ChangeSummary> =>
  (ofType(events, 'simulation.finished')[0]!.changes ?? {}) as Record<string, ChangeSummary>;

export const ms = (e: HandsoffEvent): number => Date.parse(e.time);
