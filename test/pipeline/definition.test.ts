import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { describe, expect, it } from 'vitest';
import { Bake, Pipeline, Waves, Window, mergePipelineProps } from '../../infra/pipeline/definition.ts';
import { formatProblem, validatePipeline } from '../../core/pipeline/resolve.ts';
import { CheckoutServicePipeline } from '../../infra/pipelines/checkout-service.ts';
import { defaultPipeline, examplePipelines } from '../../infra/pipelines/index.ts';
import { StorefrontApiPipeline } from '../../infra/pipelines/storefront-api.ts';
import { STOREFRONT_TEAM_DEFAULTS, StorefrontTeamPipeline } from '../../infra/pipelines/team-base.ts';

const resolved = (p: unknown) => {
  const result = validatePipeline(p, 'p.ts', { catalog: REGION_CATALOG });
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.pipeline;
};

describe('static factories', () => {
  it('render ISO durations, windows and waves', () => {
    expect(Bake.hours(12).iso).toBe('PT12H');
    expect(Bake.minutes(90).iso).toBe('PT1H30M');
    expect(Bake.days(1).seconds).toBe(86400);
    expect(Bake.none().iso).toBe('PT0S');
    expect(Window.businessHours({ start: '08:00' }).toJSON()).toEqual({
      timeZone: 'region',
      days: ['MON', 'TUE', 'WED', 'THU'],
      start: '08:00',
      end: '15:00',
    });
    expect(Waves.auto().toJSON()).toBe('auto');
    expect(Waves.explicit([['sa-east-1'], ['us-east-1']]).toJSON()).toEqual([['sa-east-1'], ['us-east-1']]);
  });

  it('never throw where the pipeline is written: a bad amount is a problem of its field at validation, with the others', () => {
    const build = () =>
      new StorefrontTeamPipeline({ name: 'ledger', service: 'Ledger', regions: ['us-east-7'], bake: { unit: Bake.minutes(-5), oneBox: Bake.hours(Number.NaN) } });
    expect(build).not.toThrow();
    const result = validatePipeline(build(), 'ledger.ts', { catalog: REGION_CATALOG });
    expect(!result.ok && result.problems.map((p) => [p.path, p.message])).toEqual(
      expect.arrayContaining([
        ['bake.unit', "'-PT5M' is negative; a duration must be zero or more"],
        ['bake.oneBox', expect.stringMatching(/^'Bake.hours\(NaN\)' is not an ISO 8601 duration/)],
        ['regions[0]', expect.stringContaining("'us-east-7'")],
      ]),
    );
  });
});

describe('Pipeline', () => {
  it('renders the JSON form with only the fields it sets', () => {
    // Prepare
    const pipeline = new Pipeline({
      name: 'orders',
      service: 'Orders',
      team: 'shop',
      bake: { oneBox: Bake.minutes(45), waves: { 2: Bake.hours(4) } },
      window: Window.businessHours(),
    });

    // Act
    const json = pipeline.toJSON();

    // Assess
    expect(json).toEqual({
      name: 'orders',
      service: 'Orders',
      team: 'shop',
      bake: { oneBox: 'PT45M', waves: [null, 'PT4H'] },
      window: { timeZone: 'region', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' },
    });
  });

  it('is accepted by validatePipeline as an instance, with problems on its fields', () => {
    const bad = new Pipeline({ name: 'orders', service: 'Orders', team: 'shop', bake: { unit: Bake.iso('half an hour') } });
    const result = validatePipeline(bad, 'orders.ts', { catalog: REGION_CATALOG });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => `${p.file} ${p.path}`)).toEqual(['orders.ts bake.unit']);
  });

  it('reports a wave number that is not one as a problem of the file', () => {
    const bad = new Pipeline({ name: 'orders', service: 'Orders', team: 'shop', bake: { waves: { 0: Bake.hours(1) } } });
    const result = validatePipeline(bad, 'orders.ts', { catalog: REGION_CATALOG });
    expect(!result.ok && result.problems[0]!.message).toMatch(/wave numbers start at 1/);
  });
});

describe('team inheritance', () => {
  it('lets a service override one team field and inherit the rest', () => {
    // Prepare
    const service = new StorefrontTeamPipeline({
      name: 'search',
      service: 'Search',
      bake: { firstWave: Bake.hours(6) },
      hostsPerUnit: 10,
    });

    // Act
    const p = resolved(service);

    // Assess
    expect(p.team).toBe('storefront');
    expect(p.bake.firstWaveSeconds).toBe(6 * 3600);
    expect(p.bake.oneBoxSeconds).toBe(3600); // inherited from the team
    expect(p.bake.laterWavesSeconds).toBe(2 * 3600);
    expect(p.hostsPerUnit).toBe(10);
    expect(p.holidays).toEqual(STOREFRONT_TEAM_DEFAULTS.holidays);
    expect(p.window).toEqual({ timeZone: 'region', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' });
  });

  it('merges a partial plain window over the team window', () => {
    const merged = mergePipelineProps(STOREFRONT_TEAM_DEFAULTS, { window: { end: '16:00' } });
    expect(new Pipeline({ name: 'x-1', service: 'X', ...merged }).toJSON().window).toEqual({
      timeZone: 'region',
      days: ['MON', 'TUE', 'WED', 'THU'],
      start: '09:00',
      end: '16:00',
    });
  });

  it("merges a service's partial tests over the team's: an endpoint alone keeps the team's runner and function", () => {
    const team = { tests: { runner: 'lambda' as const, function: 'storefront-tests', timeoutMinutes: 20 } };
    const merged = mergePipelineProps(team, { tests: { endpoint: 'https://{stage}.{region}.example.com' } });
    expect(merged.tests).toEqual({ runner: 'lambda', function: 'storefront-tests', timeoutMinutes: 20, endpoint: 'https://{stage}.{region}.example.com' });
    expect(mergePipelineProps(team, { tests: { function: 'other-tests' } }).tests).toEqual({ runner: 'lambda', function: 'other-tests', timeoutMinutes: 20 });
    expect(mergePipelineProps(team, {}).tests).toEqual(team.tests);
  });

  it('gives checkout cell units and a 4 h bake after wave 2', () => {
    const p = resolved(new CheckoutServicePipeline());
    expect(p.unit).toBe('cell');
    expect(p.waves[1]!.regions.map((r) => r.units)).toEqual([['use1-cell1', 'use1-cell2', 'use1-cell3']]);
    expect(p.waves.map((w) => w.bakeSeconds / 3600)).toEqual([12, 4, 2, 2, 2]);
  });

  it('lets one service instance override a field again', () => {
    const p = resolved(new StorefrontApiPipeline({ regions: ['us-east-1', 'sa-east-1'] }));
    expect(p.name).toBe('storefront-api');
    expect(p.waves.map((w) => w.regions.map((r) => r.region))).toEqual([['sa-east-1'], ['us-east-1']]);
  });

  it('ships example pipelines that all validate, storefront-api being the default', () => {
    expect(examplePipelines.map((p) => resolved(p).name)).toEqual(['storefront-api', 'checkout-service']);
    expect(defaultPipeline.name).toBe('storefront-api');
  });
});
