/**
 * Runs the simulator's engine in a child process, as `simulate --json` does, with engine
 * events a scenario file cannot express yet (e.g. `delete-alarm`, World.deleteAlarm).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HandsoffEvent } from '../../core/events.ts';
import type { SimEvent } from '../../sim/engine.ts';
import { SMALL_PIPELINE, writeJson } from './cli-harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./engine-child.ts', import.meta.url));

export const simulateWithEngineEvents = (scenario: unknown, events: SimEvent[], pipelines: string[] = [SMALL_PIPELINE]): Promise<HandsoffEvent[]> =>
  new Promise((resolve, reject) => {
    const request = writeJson('engine-request.json', { pipelines, scenario: writeJson('scenario.json', scenario), events });
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, request], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`engine run exited ${code}: ${stderr}`));
      else resolve(stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as HandsoffEvent));
    });
  });
