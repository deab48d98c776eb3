/** Runs the real CLI (`bin/handsoff.mjs`) as a user would, and parses its JSON Lines. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HandsoffEvent } from '../../core/events.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SMALL_PIPELINE = join(ROOT, 'test/fixtures/small-pipeline.json');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  events: HandsoffEvent[];
}

export const runCli = (args: string[]): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/handsoff.mjs'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = args.includes('--json') && code === 0 ? stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as HandsoffEvent) : [];
      resolve({ code: code ?? -1, stdout, stderr, events });
    });
  });

const dir = mkdtempSync(join(tmpdir(), 'handsoff-test-'));
let n = 0;
/** Writes a JSON file for a test and returns its path. */
export const writeJson = (name: string, value: unknown): string => {
  const path = join(dir, `${++n}-${name}`);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
};

export const simulateJson = async (scenario: unknown, pipelines: string[] = [SMALL_PIPELINE]): Promise<HandsoffEvent[]> => {
  const file = writeJson('scenario.json', scenario);
  const run = await runCli(['simulate', ...pipelines.flatMap((p) => ['--pipeline', p]), '--scenario', file, '--json']);
  if (run.code !== 0) throw new Error(`simulate exited ${run.code}: ${run.stderr}`);
  return run.events;
};

export const plan = async (pipeline = SMALL_PIPELINE): Promise<{ pipeline: string; waves: Array<{ name: string; regions: Array<{ region: string; units: string[] }> }> }> => {
  const run = await runCli(['plan', '--pipeline', pipeline, '--json']);
  if (run.code !== 0) throw new Error(`plan exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
};

export const ofType = (events: HandsoffEvent[], type: string, change?: string): HandsoffEvent[] =>
  events.filter((e) => e.type === type && (change === undefined || e.change === change));

export const ms = (e: HandsoffEvent): number => Date.parse(e.time);
