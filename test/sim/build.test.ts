/**
 * The CLI runs from its build (bin/build.mjs): a copy of the project without dist/ builds it
 * at the first start, runs from it, rebuilds it when a source changes (so the edit is what
 * runs), refuses to run a source that does not build, and still loads a TypeScript pipeline.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COPIED = ['bin', 'cli', 'console', 'core', 'sim', 'lambdas', 'statemachines', 'infra', 'examples', 'package.json', 'package-lock.json', 'tsconfig.json'];
let copy: string;

const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(copy, 'bin/handsoff.mjs'), ...args], { cwd: copy, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const edit = (file: string, from: string, to: string): void => {
  const path = join(copy, file);
  const text = readFileSync(path, 'utf8');
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
};

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'handsoff-build-'));
  for (const name of COPIED) cpSync(join(ROOT, name), join(copy, name), { recursive: true });
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(copy, 'node_modules'), 'dir');
});
afterAll(() => {
  rmSync(copy, { recursive: true, force: true });
});

describe('the built CLI', () => {
  it('builds dist/ at its first start and runs from it', () => {
    expect(existsSync(join(copy, 'dist'))).toBe(false);
    const r = run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Hands-off, safe continuous deployment on AWS');
    expect(existsSync(join(copy, 'dist/handsoff.js'))).toBe(true);
    // The build lists what it was made from, sources by path.
    expect(Object.keys(JSON.parse(readFileSync(join(copy, 'dist/build.json'), 'utf8')).inputs)).toEqual(
      expect.arrayContaining(['cli/main.ts', 'sim/engine.ts', 'lambdas/start-change/index.ts', 'bin/build.mjs', 'package.json']),
    );
  });

  it('runs an edited source: the next start rebuilds first', () => {
    edit('cli/main.ts', "'Hands-off, safe continuous deployment on AWS;", "'Edited: hands-off deployment;");
    const r = run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Edited: hands-off deployment');
    expect(readFileSync(join(copy, 'dist/handsoff.js'), 'utf8')).toContain('Edited: hands-off deployment');
  });

  it('refuses to start from a source that does not build, and names the file', () => {
    edit('core/events.ts', 'export', 'export export');
    const r = run('--version');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the build failed[\s\S]*core\/events\.ts/);
    edit('core/events.ts', 'export export', 'export');
    expect(run('--version').code).toBe(0);
  });

  it('loads a TypeScript pipeline module, and simulates a JSON one', () => {
    const plan = run('plan', '--pipeline', 'infra/pipelines/checkout-service.ts', '--json');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).pipeline).toBe('checkout-service');

    const scenario = join(copy, 'rejected.json');
    writeFileSync(
      scenario,
      JSON.stringify({ start: '2026-11-30T08:00:00Z', until: '2026-12-01T00:00:00Z', changes: [{ id: 'r1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['alice'] }] }),
    );
    const sim = run('simulate', '--pipeline', 'examples/pipeline.json', '--scenario', scenario, '--json');
    expect(sim.code).toBe(0);
    const last = JSON.parse(sim.stdout.trim().split('\n').pop()!) as { type: string; changes: Record<string, { status: string }> };
    expect(last.type).toBe('simulation.finished');
    expect(last.changes.r1!.status).toBe('rejected');
  });
});
