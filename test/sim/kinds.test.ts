/**
 * A pipeline per kind of change, through `handsoff simulate --json`: the app and the config
 * pipeline of one service (examples/kinds-pipelines.ts) run side by side through their own
 * deployment groups; a failing config change fails in its pipeline while the app change
 * completes; what the team's aggregate alarm does when a config change's faults trip it; and
 * the CLI refuses two pipelines of one kind for one service.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ms, ofType, runCli, simulateJson, writeJson } from './cli-harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PIPELINES = join(ROOT, 'examples/kinds-pipelines.ts');
const SCENARIO = JSON.parse(readFileSync(join(ROOT, 'examples/kinds-scenario.json'), 'utf8')) as {
  changes: Array<{ id: string; pipeline: string; at: string; behavior: unknown }>;
};
const APP = 'storefront-api';
const CONFIG = 'storefront-api-config';

type Finished = HandsoffEvent & { changes: Record<string, { status: string; boxesAtEnd: number; regionsReached: string[] }> };
const finished = (events: HandsoffEvent[]): Finished['changes'] => (ofType(events, 'simulation.finished')[0] as Finished).changes;
const field = (e: HandsoffEvent, key: string): string => (e as unknown as Record<string, string>)[key]!;

describe('an app and a config pipeline of one service', () => {
  it('run side by side, each through its own deployment groups', async () => {
    const events = await simulateJson(SCENARIO, [PIPELINES]);
    const groupsOf = (pipeline: string, type: string) =>
      new Set(ofType(events, type).filter((e) => e.pipeline === pipeline).map((e) => `${field(e, 'region')}/${field(e, 'deploymentGroup')}`));
    for (const type of ['deployment.started', 'world.deployment']) {
      const app = groupsOf(APP, type);
      const config = groupsOf(CONFIG, type);
      expect(app.size, type).toBeGreaterThan(0);
      expect(config.size, type).toBeGreaterThan(0);
      expect([...app].filter((g) => config.has(g)), type).toEqual([]);
      expect([...config].every((g) => g.split('/')[1]!.startsWith(`${CONFIG}-`)), type).toBe(true);
    }
    // Side by side: both pipelines have a deployment in progress in one region at one time.
    const started = ofType(events, 'deployment.started');
    const overlap = started.some(
      (a) =>
        a.pipeline === APP &&
        started.some((c) => {
          if (c.pipeline !== CONFIG || field(c, 'region') !== field(a, 'region')) return false;
          const done = (d: HandsoffEvent) => ofType(events, 'deployment.succeeded').find((x) => field(x, 'deploymentId') === field(d, 'deploymentId'));
          return ms(c) <= ms(done(a) ?? a) && ms(a) <= ms(done(c) ?? c);
        }),
    );
    expect(overlap).toBe(true);
    // Every production region of each pipeline got its change through its own one-box first.
    for (const pipeline of [APP, CONFIG]) {
      const prod = started.filter((e) => e.pipeline === pipeline && field(e, 'stage').startsWith('wave-') && e.change !== 'config-1');
      const regions = new Set(prod.map((e) => field(e, 'region')));
      for (const r of regions) expect(prod.find((e) => field(e, 'region') === r)!.target, `${pipeline} ${r}`).toBe('onebox');
    }
  });

  it('a failing config change fails in its pipeline while the app change completes', async () => {
    const events = await simulateJson(SCENARIO, [PIPELINES]);
    const failed = ofType(events, 'change.failed');
    expect(failed.map((e) => [e.pipeline, e.change, field(e, 'stage')])).toEqual([[CONFIG, 'config-1', 'beta']]);
    expect(field(failed[0]!, 'reason')).toContain(`${CONFIG}-beta-`);
    const changes = finished(events);
    expect(changes['app-1']).toMatchObject({ status: 'succeeded', regionsReached: ['eu-west-1', 'sa-east-1', 'us-east-1'] });
    expect(changes['config-1']).toMatchObject({ status: 'failed', boxesAtEnd: 0, regionsReached: [] });
    // The config pipeline is not stuck behind its failure either: its next change completes.
    expect(changes['config-2']!.status).toBe('succeeded');
    // Nothing of the app pipeline was rolled back, stopped or held for the config change.
    expect(ofType(events, 'rollback.started').filter((e) => e.pipeline === APP)).toEqual([]);
    expect(ofType(events, 'alarm.triggered').filter((e) => e.pipeline === APP)).toEqual([]);
    expect(new Set(ofType(events, 'blocked').filter((e) => e.pipeline === APP).map((e) => field(e, 'reason')))).toEqual(new Set(['time-window']));
  });

  it("a config change whose faults trip the team's aggregate rolls back the app change in flight there, and holds nothing after", async () => {
    const scenario = {
      ...SCENARIO,
      changes: [
        ...SCENARIO.changes.map((c) => (c.id === 'config-1' ? { ...c, behavior: { kind: 'faults', rate: 0.2, regions: ['sa-east-1'], after: 'PT10M' } } : c)),
        { id: 'app-2', pipeline: APP, at: '2026-12-01T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } },
      ],
    };
    const events = await simulateJson(scenario, [PIPELINES]);
    const aggregate = 'handsoff-storefront-sa-east-1-aggregate';
    const alarm = ofType(events, 'world.alarm').filter((e) => field(e, 'alarm') === aggregate);
    expect(alarm.map((e) => field(e, 'state'))).toEqual(['ALARM', 'OK']);
    const failed = ofType(events, 'change.failed');
    // The config change fails on its own one-box alarm; the app change, baking on its one-box
    // in that region when the team's service went into alarm there, rolls back with it (fail closed).
    expect(failed.map((e) => [e.pipeline, e.change, field(e, 'region'), field(e, 'reason')])).toEqual([
      [CONFIG, 'config-1', 'sa-east-1', `alarm ${CONFIG}-sa-east-1-onebox-faults went to ALARM`],
      [APP, 'app-1', 'sa-east-1', `alarm ${aggregate} went to ALARM`],
    ]);
    const changes = finished(events);
    expect(changes['app-1']!.boxesAtEnd).toBe(0);
    // Then the app pipeline is held by nothing of the config pipeline: its next change completes.
    expect(changes['app-2']).toMatchObject({ status: 'succeeded', regionsReached: ['eu-west-1', 'sa-east-1', 'us-east-1'] });
    expect(changes['config-2']!.status).toBe('succeeded');
    expect(ofType(events, 'blocked', 'app-2').map((e) => field(e, 'reason'))).toEqual(ofType(events, 'blocked', 'app-2').map(() => 'time-window'));
  });
});

describe('two pipelines of one kind for one service', () => {
  it('are refused by validate, simulate and plan (exit 2), naming both pipelines, the service, the kind and the fix', async () => {
    const app = writeJson('storefront-api.json', { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1'] });
    const other = writeJson('storefront-web.json', { name: 'storefront-web', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1'] });
    for (const command of ['validate', 'simulate', 'plan']) {
      const run = await runCli([command, '--pipeline', app, '--pipeline', other]);
      expect(run.code, command).toBe(2);
      expect(run.stdout, command).toBe('');
      expect(run.stderr).toContain(
        `pipelines 'storefront-api' (${app}) and 'storefront-web' (${other}) are both 'app' pipelines of service 'StorefrontApi'`,
      );
      expect(run.stderr).toContain(`set "kind" of 'storefront-web' to the kind of change it ships (infra, config, os, tools)`);
    }
    // With its kind set, the pair is valid.
    const config = writeJson('storefront-web.json', { name: 'storefront-web', service: 'StorefrontApi', team: 'storefront', kind: 'config', regions: ['us-east-1'] });
    const run = await runCli(['validate', '--pipeline', app, '--pipeline', config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('storefront-web');
  });

  it("alarms prints each kind's alarms, and the team's aggregate over both kinds' fleet alarms", async () => {
    const run = await runCli(['alarms', '--pipeline', PIPELINES, '--region', 'sa-east-1', '--json']);
    expect(run.code).toBe(0);
    const plans = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { pipeline: string; alarms: Array<{ name: string; scope: string; rule?: string }> });
    expect(plans.map((p) => p.pipeline)).toEqual([APP, CONFIG]);
    for (const p of plans) {
      const own = p.alarms.filter((a) => a.scope !== 'team' && a.scope !== 'company');
      expect(own.every((a) => a.name.startsWith(`${p.pipeline}-sa-east-1-`)), p.pipeline).toBe(true);
      const aggregate = p.alarms.find((a) => a.scope === 'team')!;
      expect(aggregate.name).toBe('handsoff-storefront-sa-east-1-aggregate');
      for (const pipeline of [APP, CONFIG]) expect(aggregate.rule).toContain(`ALARM("${pipeline}-sa-east-1-faults")`);
    }
    expect(plans[0]!.alarms.filter((a) => plans[1]!.alarms.some((b) => b.name === a.name)).map((a) => a.scope).sort()).toEqual(['company', 'team']);
  });

  it('plan prints each pipeline of a file exporting a service\'s pipelines', async () => {
    const run = await runCli(['plan', '--pipeline', PIPELINES, '--json']);
    expect(run.code).toBe(0);
    const plans = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { pipeline: string });
    expect(plans.map((p) => p.pipeline)).toEqual([APP, CONFIG]);
  });
});
