/**
 * `handsoff console` as a user runs it (bin/handsoff.mjs, from the build): invalid files exit
 * 2 before serving; once it serves it prints one line with its URL (loopback, a free port),
 * answers the API there, and stops cleanly on SIGTERM (exit 0, nothing more on stdout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli, writeJson } from '../sim/cli-harness.ts';
import { SCENARIO, SMALL_PIPELINE } from './fixtures.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Running {
  child: ChildProcess;
  url: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const startConsole = (args: string[]): Running => {
  const child = spawn(process.execPath, [join(ROOT, 'bin/handsoff.mjs'), 'console', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  let found: (url: string) => void;
  const url = new Promise<string>((resolve) => (found = resolve));
  child.stdout!.on('data', (d) => {
    stdout += d;
    const m = /^console: (http:\/\/\S+)\n/m.exec(stdout);
    if (m) found(m[1]!);
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, url: Promise.race([url, exit.then((e) => Promise.reject(new Error(`console exited ${e.code}: ${e.stderr}`)))]), exit };
};

describe('handsoff console', () => {
  it('serves on loopback, prints exactly its URL, answers the API, and stops on SIGTERM with 0', async () => {
    const run = startConsole(['--pipeline', SMALL_PIPELINE, '--scenario', writeJson('scenario.json', SCENARIO), '--port', '0', '--speed', '60000']);
    const url = await run.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);

    expect((await fetch(`${url}api/state`)).status).toBe(401);
    const state = await fetch(`${url}api/state`, { headers: { 'X-Handsoff-User': 'dave' } });
    expect(state.status).toBe(200);
    expect(((await state.json()) as { pipelines: Array<{ name: string }> }).pipelines.map((p) => p.name)).toEqual(['storefront-api']);
    const page = await fetch(url);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    // An event stream left open does not keep it from stopping.
    const stream = await fetch(`${url}api/events/stream`, { headers: { Cookie: 'handsoff-user=dave' } });
    expect(stream.status).toBe(200);

    run.child.kill('SIGTERM');
    const exit = await run.exit;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.stdout).toBe(`console: ${url}\n`);
    await stream.body?.cancel().catch(() => undefined);
  });

  it('exits 2 on an invalid scenario before serving, naming the problem', async () => {
    const bad = writeJson('bad-scenario.json', { ...SCENARIO, changes: [{ id: 'c1', at: 'tomorrow', author: 'alice', behavior: { kind: 'healthy' } }] });
    const run = await runCli(['console', '--pipeline', SMALL_PIPELINE, '--scenario', bad, '--port', '0']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/changes\[0\]\.at/);
  });

  it('exits 2 on a bad port or speed', async () => {
    for (const args of [['--port', '70000'], ['--port', 'x'], ['--speed', '0'], ['--speed', 'fast']]) {
      const run = await runCli(['console', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
    }
  });
});
