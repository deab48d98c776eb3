/**
 * A pipeline per kind of change: the rule (one pipeline per kind and service), the team base
 * class's kinds, and that two pipelines of one service share no resource but the team's.
 */
import { describe, expect, it } from 'vitest';
import { pipelineAlarms, pipelineRegions, productionRegions, teamAggregateAlarm } from '../../core/alarms/plan.ts';
import { deploymentGroupAlarms } from '../../core/alarms/watches.ts';
import { PipelineKinds, type ResolvedPipeline } from '../../core/model.ts';
import * as naming from '../../core/naming.ts';
import { kindConflicts, kindPipelineName } from '../../core/pipeline/kinds.ts';
import { emergencyHoldKey, emergencyKey } from '../../core/operator-items.ts';
import { holdingEmergencies, windowWaived } from '../../core/operators.ts';
import { changeKey, deploymentKey, holidayKeys, laneKey, rollbackSetKey } from '../../core/tables.ts';
import { Bake, TeamPipeline, Waves, type ServicePipelineProps } from '../../infra/pipeline/definition.ts';
import { STOREFRONT_TEAM_DEFAULTS, StorefrontTeamPipeline } from '../../infra/pipelines/team-base.ts';
import { pipelineStateMachineName, regionStateMachineName } from '../../infra/stacks/arns.ts';
import kindsExample from '../../examples/kinds-pipelines.ts';

const storefront = { name: 'storefront-api', service: 'StorefrontApi', regions: ['sa-east-1', 'us-east-1', 'eu-west-1'] };

describe('kindConflicts: one pipeline per kind and service', () => {
  it('accepts one pipeline of each kind for a service, and one kind across services', () => {
    const all = PipelineKinds.map((kind) => ({ name: kindPipelineName('storefront-api', kind), service: 'StorefrontApi', kind }));
    expect(kindConflicts([...all, { name: 'checkout-service', service: 'CheckoutService', kind: 'app' }])).toEqual([]);
  });

  it('refuses a second pipeline of a kind, naming both pipelines, the service, the kind and the fix', () => {
    const conflicts = kindConflicts([
      { name: 'storefront-api', service: 'StorefrontApi', kind: 'app', source: 'a.json' },
      { name: 'storefront-api-config', service: 'StorefrontApi', kind: 'config', source: 'b.json' },
      { name: 'storefront-web', service: 'StorefrontApi', kind: 'app', source: 'c.json' },
    ]);
    expect(conflicts.map((c) => [c.index, c.first])).toEqual([[2, 0]]);
    const message = conflicts[0]!.message;
    expect(message).toContain("'storefront-api' (a.json)");
    expect(message).toContain("'storefront-web' (c.json)");
    expect(message).toContain("'app' pipelines of service 'StorefrontApi'");
    // The fix: the kinds still free for that service, or another service.
    expect(message).toContain('set "kind" of \'storefront-web\' to the kind of change it ships (infra, os, tools)');
    expect(message).toContain("give 'storefront-web' the service it deploys");
  });

  it("refuses two pipelines whose fleets would be one (a service named like another's kind fleet), naming both and the fleet", () => {
    const conflicts = kindConflicts([
      { name: 'shop-api-config', service: 'ShopApi', kind: 'config', source: 'config.json' },
      { name: 'shopcfg', service: 'ShopApi-config', kind: 'app', source: 'app.json' },
    ]);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ index: 1, first: 0 });
    expect(conflicts[0]!.message).toContain("'shop-api-config' (config.json)");
    expect(conflicts[0]!.message).toContain("'shopcfg' (app.json)");
    expect(conflicts[0]!.message).toContain("one fleet, 'ShopApi-config'");
    // Distinct fleets are fine.
    expect(kindConflicts([{ name: 'a', service: 'ShopApi', kind: 'config' }, { name: 'b', service: 'ShopApi-cfg', kind: 'app' }])).toEqual([]);
  });

  it('derives the names of a service\'s pipelines from its app pipeline', () => {
    expect(PipelineKinds.map((k) => kindPipelineName('storefront-api', k))).toEqual([
      'storefront-api',
      'storefront-api-infra',
      'storefront-api-config',
      'storefront-api-os',
      'storefront-api-tools',
    ]);
  });
});

describe('TeamPipeline.forKinds', () => {
  it('gives one pipeline per kind listed, with derived names and per-kind overrides over the service', () => {
    const [app, config, ...rest] = StorefrontTeamPipeline.forKinds(storefront, {
      config: { bake: { firstWave: Bake.hours(4) } },
      app: { hostsPerUnit: 3 },
    });
    expect(rest).toEqual([]);
    expect(app).toBeInstanceOf(StorefrontTeamPipeline);
    const a = app!.resolve();
    const c = config!.resolve();
    expect([a.name, a.kind, a.service, a.team]).toEqual(['storefront-api', 'app', 'StorefrontApi', 'storefront']);
    expect([c.name, c.kind, c.service, c.team]).toEqual(['storefront-api-config', 'config', 'StorefrontApi', 'storefront']);
    // Per-kind overrides touch their kind only; a bake override merges with the team's other bakes.
    expect([a.hostsPerUnit, c.hostsPerUnit]).toEqual([3, 6]);
    expect([a.bake.firstWaveSeconds, c.bake.firstWaveSeconds]).toEqual([12 * 3600, 4 * 3600]);
    expect(c.bake.oneBoxSeconds).toBe(3600);
    // The same safety: one-box, the stages, waves and windows of the team.
    expect(c.oneBox).toBe(true);
    expect(c.preProd).toEqual(a.preProd);
    expect(c.waves.map((w) => w.regions.map((r) => r.region))).toEqual(a.waves.map((w) => w.regions.map((r) => r.region)));
    expect(c.window).toEqual(a.window);
  });

  it('lets a kind name its pipeline', () => {
    const [config] = StorefrontTeamPipeline.forKinds(storefront, { config: { name: 'storefront-settings' } });
    expect(config!.resolve()).toMatchObject({ name: 'storefront-settings', kind: 'config' });
  });

  it("applies the team's policy per kind before the service's props", () => {
    class Team extends TeamPipeline {
      constructor(props: ServicePipelineProps) {
        super({ team: 'ops', waves: Waves.auto(), kinds: { os: { bake: { firstWave: Bake.hours(24), unit: Bake.hours(1) } } } }, props);
      }
    }
    const [app, os] = Team.forKinds({ ...storefront, bake: { unit: Bake.minutes(45) } }, { app: {}, os: {} }).map((p) => p.resolve());
    expect(app!.bake.firstWaveSeconds).toBe(12 * 3600);
    expect(os!.bake.firstWaveSeconds).toBe(24 * 3600);
    // The service's own bake wins over the team's per-kind one.
    expect([app!.bake.unitSeconds, os!.bake.unitSeconds]).toEqual([45 * 60, 45 * 60]);
    // The storefront team bakes OS patches a day in wave 1; its app pipelines keep 12 hours.
    expect(STOREFRONT_TEAM_DEFAULTS.kinds?.os?.bake?.firstWave).toEqual(Bake.hours(24));
    expect(new StorefrontTeamPipeline({ ...storefront, kind: 'os' }).resolve().bake.firstWaveSeconds).toBe(24 * 3600);
    expect(new StorefrontTeamPipeline(storefront).resolve().bake.firstWaveSeconds).toBe(12 * 3600);
  });

  it('is what examples/kinds-pipelines.ts exports', () => {
    expect(kindsExample.map((p) => [p.props.name, p.props.kind])).toEqual([
      ['storefront-api', 'app'],
      ['storefront-api-config', 'config'],
    ]);
  });
});

/** Every name a pipeline's resources take: AWS resources, table items, lanes and executions. */
const resourceNames = (p: ResolvedPipeline): string[] => {
  const stages = [...p.preProd, ...p.waves.map((w) => w.name)];
  const regions = pipelineRegions(p);
  return [
    `application:${naming.applicationName(p.name)}`,
    `fleet:${naming.fleetService(p)}`,
    `machine:${pipelineStateMachineName(p.name)}`,
    `machine:${regionStateMachineName(p.name)}`,
    ...regions.flatMap((r) => [...deploymentGroupAlarms(p, r).keys()].map((g) => `group:${r}/${naming.applicationName(p.name)}/${g}`)),
    ...regions.flatMap((r) => pipelineAlarms(p, r).map((a) => `alarm:${r}/${a.name}`)),
    ...stages.map((s) => `lane:${laneKey(p.name, s)}`),
    `change:${JSON.stringify(changeKey(p.name, 'c1'))}`,
    `deployment:${JSON.stringify(deploymentKey(p.name, 'c1', 'wave-1', 'us-east-1', naming.unitGroupName(p.name, 'use1-az1')))}`,
    `rollback:${rollbackSetKey(p.name, 'c1', 'wave-1', 'us-east-1')}`,
    ...regions.flatMap((r) => holidayKeys(p.name, r).map((k) => `holiday:${k}`)),
    `emergency:${JSON.stringify(emergencyKey(p.name, 'c1'))}`,
    `emergency-hold:${emergencyHoldKey(p.name)}`,
  ];
};

describe('two pipelines of one service', () => {
  it('share no CodeDeploy application, group, alarm, fleet, lane, table item (changes, deployments, rollbacks, holidays, emergencies) or state machine', () => {
    const pipelines = StorefrontTeamPipeline.forKinds(storefront, Object.fromEntries(PipelineKinds.map((k) => [k, {}]))).map((p) => p.resolve());
    expect(pipelines.map((p) => p.kind)).toEqual([...PipelineKinds]);
    const owner = new Map<string, string>();
    for (const p of pipelines) {
      const names = resourceNames(p);
      expect(names.some((n) => n.startsWith('group:'))).toBe(true);
      expect(names.some((n) => n.startsWith('alarm:'))).toBe(true);
      for (const n of names) {
        expect(owner.get(n) ?? p.name, n).toBe(p.name);
        owner.set(n, p.name);
      }
    }
    // What they do share, by design: the team's aggregate alarm of each production region, over every kind's fleet alarms.
    for (const r of productionRegions(pipelines[0]!)) {
      const aggregate = teamAggregateAlarm('storefront', r, pipelines)!;
      expect(aggregate.name).toBe(naming.teamAggregateAlarmName('storefront', r));
      for (const p of pipelines) expect(aggregate.members).toContain(naming.serviceAlarmName(p.name, r, naming.StandardAlarm.FAULTS));
    }
  });

  it("holds no change of one pipeline for an emergency of the other", () => {
    const emergency = { pipeline: 'storefront-api-config', change: 'c1', state: 'approved', announced: 'approved' } as const;
    expect(holdingEmergencies([emergency], 'storefront-api-config', 'c2')).toEqual([emergency]);
    expect(holdingEmergencies([emergency], 'storefront-api', 'c2')).toEqual([]);
    // Nor does it waive the window of a change of the same id in the other pipeline.
    expect(windowWaived([emergency], 'storefront-api-config', 'c1')).toBe(true);
    expect(windowWaived([emergency], 'storefront-api', 'c1')).toBe(false);
  });

  it("names each kind's fleet: the app keeps the service, the others add their kind", () => {
    expect(PipelineKinds.map((kind) => naming.fleetService({ service: 'StorefrontApi', kind }))).toEqual([
      'StorefrontApi',
      'StorefrontApi-infra',
      'StorefrontApi-config',
      'StorefrontApi-os',
      'StorefrontApi-tools',
    ]);
  });
});
