/** The CLI contract of docs/simulation.md: exit codes, every problem at once, nothing run on bad input. */
import { describe, expect, it } from 'vitest';
import { runCli, runProcess, SMALL_PIPELINE, writeJson } from './cli-harness.ts';

describe('handsoff validate / simulate on invalid input', () => {
  it('exits 2 and names every problem of a pipeline file with its field path', async () => {
    const file = writeJson('bad-pipeline.json', {
      name: 'Bad Name!',
      service: 'StorefrontApi',
      team: 'storefront',
      regions: ['us-east-1', 'us-east-7'],
      window: { timeZone: 'Mars/Olympus', days: ['MON'], start: '09:00', end: '15:00' },
      colour: 'blue',
    });
    for (const command of ['validate', 'simulate']) {
      const run = await runCli([command, '--pipeline', file]);
      expect(run.code, command).toBe(2);
      expect(run.stdout).toBe('');
      for (const needle of ['name', 'us-east-7', 'Mars/Olympus', 'colour']) expect(run.stderr).toContain(needle);
      expect(run.stderr).toContain(file);
    }
  });

  it('exits 2 for an invalid scenario, names every problem, and runs nothing', async () => {
    const scenario = writeJson('bad-scenario.json', {
      start: 'yesterday',
      changes: [
        { id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', behavior: { kind: 'explode' } },
        { id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', behavior: { kind: 'healthy' } },
      ],
    });
    const run = await runCli(['simulate', '--pipeline', SMALL_PIPELINE, '--scenario', scenario, '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('start');
    expect(run.stderr).toContain('explode');
    expect(run.stderr).toMatch(/c1/);
    expect(run.stderr).toContain(scenario);
  });

  it('exits 2 for a missing file and for a file that is not JSON', async () => {
    const missing = await runCli(['validate', '--pipeline', '/nonexistent/pipeline.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nonexistent/pipeline.json');
    const broken = writeJson('broken.json', '{ "name": ');
    const run = await runCli(['validate', '--pipeline', broken]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(broken);
  });

  it('plan --json prints the waves with regions and units', async () => {
    const run = await runCli(['plan', '--pipeline', SMALL_PIPELINE, '--json']);
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.pipeline).toBe('storefront-api');
    expect(plan.waves[0].name).toBe('wave-1');
    expect(plan.waves[0].regions).toHaveLength(1);
    expect(plan.waves.flatMap((w: any) => w.regions.map((r: any) => r.region)).sort()).toEqual(
      ['ap-southeast-2', 'eu-west-1', 'sa-east-1', 'us-east-1', 'us-west-2'],
    );
    for (const r of plan.waves.flatMap((w: any) => w.regions)) expect(r.units.length).toBeGreaterThanOrEqual(2);
  });
});

describe('handsoff simulate for a person', () => {
  it('prints a readable timeline and each change outcome, exit 0', async () => {
    const scenario = writeJson('short.json', {
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-02T00:00:00Z',
      changes: [
        { id: 'ok1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } },
        { id: 'nope', at: '2026-11-30T09:00:00Z', author: 'eve', behavior: { kind: 'healthy' } },
      ],
    });
    const run = await runCli(['simulate', '--pipeline', SMALL_PIPELINE, '--scenario', scenario]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/2026-11-30 09:00Z {2}ok1 +merged by alice into storefront-api/);
    expect(run.stdout).toMatch(/nope +REJECTED: unreviewed/);
    expect(run.stdout).toMatch(/deploying to alpha \/ us-west-2/);
    expect(run.stdout).toMatch(/Outcome:\n {2}ok1 +in-flight/);
    expect(run.stdout).toMatch(/nope +rejected/);
    // nothing of the JSON stream leaks into the human form
    expect(run.stdout).not.toMatch(/^\{/m);
  });

  it('answers --help and --version with exit 0, from bin/handsoff.mjs in a process of its own', async () => {
    expect((await runProcess(['--help'])).code).toBe(0);
    const version = await runProcess(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('a scenario that ends mid-rollout', () => {
  it('stops at until: nothing after it, the change in progress', async () => {
    const scenario = writeJson('cut.json', {
      start: '2026-11-30T08:00:00Z',
      until: '2026-11-30T09:45:00Z',
      changes: [{ id: 'cut', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } }],
    });
    const run = await runCli(['simulate', '--pipeline', SMALL_PIPELINE, '--scenario', scenario, '--json']);
    expect(run.code).toBe(0);
    const until = Date.parse('2026-11-30T09:45:00Z');
    const last = run.events.at(-1)!;
    expect(last).toMatchObject({ type: 'simulation.finished', time: '2026-11-30T09:45:00.000Z' });
    expect((last.changes as Record<string, { status: string }>).cut!.status).toBe('in-flight');
    for (const e of run.events.slice(0, -1)) expect(Date.parse(e.time), e.type).toBeLessThan(until);
  });
});

describe('runs longer than a Node timer', () => {
  it('merges a change 26 days after the start at its own time, not at once', async () => {
    const scenario = writeJson('long.json', {
      start: '2026-11-30T08:00:00Z',
      until: '2026-12-27T00:00:00Z',
      changes: [{ id: 'late', at: '2026-12-26T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } }],
    });
    const run = await runCli(['simulate', '--pipeline', SMALL_PIPELINE, '--scenario', scenario, '--json']);
    expect(run.code).toBe(0);
    expect(run.events.find((e) => e.type === 'change.received')).toMatchObject({ change: 'late', time: '2026-12-26T09:00:00.000Z' });
    expect(run.events.at(-1)).toMatchObject({ type: 'simulation.finished', time: '2026-12-27T00:00:00.000Z' });
  });
});

describe('two pipelines of one kind for one service', () => {
  it('is invalid input: exit 2 before anything runs', async () => {
    const other = writeJson('same-service.json', {
      name: 'storefront-api-copy',
      service: 'StorefrontApi',
      team: 'storefront',
      regions: ['us-east-1', 'sa-east-1'],
    });
    const run = await runCli(['simulate', '--pipeline', SMALL_PIPELINE, '--pipeline', other, '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${other}: kind: pipelines 'storefront-api' (${SMALL_PIPELINE}) and 'storefront-api-copy' (${other}) are both 'app' pipelines of service 'StorefrontApi'`);
  });
});
