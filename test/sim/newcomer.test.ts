/**
 * What a new user meets first, through the CLI as they would run it: messages that name the
 * right kind of file, `validate` telling what `simulate` would not honour, bakes of zero,
 * and a pre-production failure that says where it happened.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ofType, runCli, SMALL_PIPELINE, writeJson } from './cli-harness.ts';

const START = '2026-11-30T08:00:00Z';
const change = (id: string, behavior: unknown = { kind: 'healthy' }) => ({
  id,
  at: '2026-11-30T09:00:00Z',
  author: 'alice',
  approvedBy: ['bob'],
  behavior,
});

describe('a directory passed as a file', () => {
  it('calls a directory given as --scenario a scenario, not a pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'handsoff-dir-'));
    const run = await runCli(['validate', '--pipeline', SMALL_PIPELINE, '--scenario', dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(dir);
    expect(run.stderr).toMatch(/is a directory; pass a scenario file/);
    expect(run.stderr).not.toMatch(/pipeline file/);
  });

  it('still calls a directory given as --pipeline a pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'handsoff-dir-'));
    const run = await runCli(['validate', '--pipeline', join(dir, '.')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/pipeline/);
  });
});

describe('validate warns about scenario parts simulate ignores', () => {
  const scenario = {
    start: START,
    until: '2026-12-01T00:00:00Z',
    approvers: ['pat'],
    changes: [change('c1')],
    events: [
      { at: '2026-11-30T10:00:00Z', kind: 'company-event', state: 'ALARM', region: 'us-east-1' },
      { at: '2026-11-30T11:00:00Z', kind: 'emergency-request', change: 'c1', by: 'alice', reason: 'outage' },
      { at: '2026-11-30T12:00:00Z', kind: 'emergency-decision', change: 'c1', by: 'pat', decision: 'approve' },
    ],
  };

  it('honours operator events and the approvers group: no warning for them, exit 0', async () => {
    const file = writeJson('operator-parts.json', scenario);
    const run = await runCli(['validate', '--pipeline', SMALL_PIPELINE, '--scenario', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^valid: /);
    expect(run.stderr.split('\n').filter((l) => l.includes('warning'))).toEqual([]);
  });

  it('says nothing for a scenario that simulate honours in full', async () => {
    const file = writeJson('honoured.json', {
      start: START,
      until: '2026-12-01T00:00:00Z',
      changes: [change('c1')],
      // Overrides are simulated: the operator handler applies them.
      events: [{ at: '2026-11-30T10:00:00Z', kind: 'override', blocker: 'company-event', region: 'us-east-1', by: 'dave', reason: 'hotfix', expires: '2026-11-30T20:00:00Z' }],
    });
    const run = await runCli(['validate', '--pipeline', SMALL_PIPELINE, '--scenario', file]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
  });
});

describe('a bake of zero', () => {
  const zeroBakes = writeJson('zero-bakes.json', {
    name: 'storefront-api',
    service: 'StorefrontApi',
    team: 'storefront',
    regions: ['us-east-1', 'us-west-2', 'eu-west-1', 'sa-east-1', 'ap-southeast-2'],
    hostsPerUnit: 3,
    bake: { oneBox: 'PT0S', firstWave: 'PT0S', laterWaves: 'PT0S', unit: 'PT0S', preProd: 'PT0S', minRequests: 100 },
  });

  it('validates, and a healthy change goes everywhere without waiting for requests', async () => {
    const scenario = writeJson('zero-bake-scenario.json', { start: START, until: '2026-12-10T00:00:00Z', changes: [change('c1')] });
    const run = await runCli(['simulate', '--pipeline', zeroBakes, '--scenario', scenario, '--json']);
    expect(run.code).toBe(0);
    const finished = run.events.find((e) => e.type === 'simulation.finished') as unknown as { changes: Record<string, { status: string; regionsReached: unknown }> };
    expect(finished.changes.c1!.status).toBe('succeeded');
    expect(ofType(run.events, 'change.failed')).toEqual([]);
    expect(ofType(run.events, 'bake.extended')).toEqual([]);
    const bakes = ofType(run.events, 'bake.started', 'c1');
    expect(bakes.length).toBeGreaterThan(0);
    expect(bakes.every((b) => b.duration === 'PT0S')).toBe(true);
    expect(ofType(run.events, 'bake.completed', 'c1')).toHaveLength(bakes.length);
  });

  it('still rolls back a bad change on its alarms', async () => {
    const scenario = writeJson('zero-bake-bad.json', {
      start: START,
      until: '2026-12-10T00:00:00Z',
      changes: [change('bad', { kind: 'faults', rate: 0.5 })],
    });
    const run = await runCli(['simulate', '--pipeline', zeroBakes, '--scenario', scenario, '--json']);
    expect(run.code).toBe(0);
    const finished = run.events.find((e) => e.type === 'simulation.finished') as unknown as { changes: Record<string, { status: string }> };
    expect(finished.changes.bad!.status).toBe('failed');
    expect(ofType(run.events, 'alarm.triggered', 'bad').length).toBeGreaterThan(0);
    expect(ofType(run.events, 'change.completed', 'bad')).toEqual([]);
  });
});

describe('a change that fails in pre-production', () => {
  it('says in change.failed which region it failed in, also when the cause names none', async () => {
    // Far more requests than pre-production serves: the first bake fails with insufficient-data.
    const thirsty = writeJson('thirsty.json', {
      name: 'storefront-api',
      service: 'StorefrontApi',
      team: 'storefront',
      regions: ['us-east-1', 'us-west-2', 'sa-east-1'],
      hostsPerUnit: 3,
      bake: { minRequests: 1_000_000_000 },
    });
    const scenario = writeJson('preprod-thin.json', {
      start: START,
      until: '2026-12-01T00:00:00Z',
      changes: [change('c1')],
    });
    const run = await runCli(['simulate', '--pipeline', thirsty, '--scenario', scenario, '--json']);
    expect(run.code).toBe(0);
    const failed = ofType(run.events, 'change.failed', 'c1');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ stage: 'alpha', region: 'us-west-2', reason: expect.stringMatching(/insufficient-data/) });
  });
});
