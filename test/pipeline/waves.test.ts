import { describe, expect, it } from 'vitest';
import type { RegionInfo } from '../../core/model.ts';
import { REGION_CATALOG, regionInfo } from '../../infra/catalog/regions.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { planWaves } from '../../core/pipeline/waves.ts';

const region = (code: string, traffic: number): RegionInfo => ({
  code,
  name: code,
  azIds: [`${code}-az1`],
  timeZone: 'UTC',
  traffic,
});

describe('region catalog', () => {
  it('knows every region once, with AZ ids, a valid zone and a positive traffic weight', () => {
    // Prepare
    const codes = REGION_CATALOG.map((r) => r.code);

    // Assess
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.length).toBeGreaterThanOrEqual(34);
    for (const r of REGION_CATALOG) {
      expect(r.azIds.length, r.code).toBeGreaterThanOrEqual(2);
      expect(Intl.DateTimeFormat(undefined, { timeZone: r.timeZone }).resolvedOptions().timeZone).toBeTruthy();
      expect(r.traffic, r.code).toBeGreaterThan(0);
    }
    expect(regionInfo('us-east-1')?.azIds).toEqual(['use1-az1', 'use1-az2', 'use1-az3', 'use1-az4', 'use1-az5', 'use1-az6']);
    expect(regionInfo('us-east-7')).toBeUndefined();
  });

  it('gives us-east-1 the highest traffic weight', () => {
    const top = [...REGION_CATALOG].sort((a, b) => b.traffic - a.traffic)[0];
    expect(top?.code).toBe('us-east-1');
  });
});

describe('planWaves', () => {
  it('plans the full catalog as 1, 1, 3, 12 and the rest', () => {
    // Act
    const waves = planWaves(REGION_CATALOG);

    // Assess
    const byTraffic = [...REGION_CATALOG].sort((a, b) => a.traffic - b.traffic);
    expect(waves.map((w) => w.length)).toEqual([1, 1, 3, 12, REGION_CATALOG.length - 17]);
    expect(waves[0]).toEqual([byTraffic[0]!.code]);
    expect(waves[1]).toEqual(['us-east-1']);
    expect(waves.flat().sort()).toEqual(REGION_CATALOG.map((r) => r.code).sort());
  });

  it('orders waves after the first by traffic, highest first', () => {
    // Act
    const waves = planWaves(REGION_CATALOG);

    // Assess
    const traffic = (code: string) => regionInfo(code)!.traffic;
    const afterFirst = waves.slice(1).flat().map(traffic);
    expect(afterFirst).toEqual([...afterFirst].sort((a, b) => b - a));
  });

  it('breaks traffic ties by region code whatever the input order', () => {
    // Prepare
    const regions = [region('b-1', 5), region('a-1', 5), region('c-1', 1), region('d-1', 1), region('e-1', 9)];

    // Act
    const forward = planWaves(regions);
    const backward = planWaves([...regions].reverse());

    // Assess
    expect(forward).toEqual([['c-1'], ['e-1'], ['a-1', 'b-1', 'd-1']]);
    expect(backward).toEqual(forward);
  });

  it('skips empty waves for small region sets', () => {
    expect(planWaves([])).toEqual([]);
    expect(planWaves([region('a-1', 1)])).toEqual([['a-1']]);
    expect(planWaves([region('a-1', 1), region('b-1', 2), region('c-1', 3)])).toEqual([['a-1'], ['c-1'], ['b-1']]);
  });
});

describe('a region flagged new in the catalog', () => {
  it('lands in the last wave even when it has the least traffic of all', () => {
    const quiet: RegionInfo = { code: 'ap-new-1', name: 'New', azIds: ['apn1-az1', 'apn1-az2'], timeZone: 'Asia/Tokyo', traffic: 0.01, newRegion: true };
    const plan = planWaves([...REGION_CATALOG, quiet]);
    expect(plan[0]).toEqual(planWaves(REGION_CATALOG)[0]);
    expect(plan.at(-1)).toContain('ap-new-1');
    expect(plan.slice(0, -1).flat()).not.toContain('ap-new-1');
    // without the flag the same region would have become wave 1
    expect(planWaves([...REGION_CATALOG, { ...quiet, newRegion: false }])[0]).toEqual(['ap-new-1']);
  });
});

describe('a region added to the catalog', () => {
  it('lands in the last wave of an auto pipeline, which is not edited, and moves no other region', () => {
    // Prepare
    const pipeline = { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', waves: 'auto' };
    const before = validatePipeline(pipeline, 'p.json', { catalog: REGION_CATALOG });
    const newRegion: RegionInfo = {
      code: 'eu-east-9',
      name: 'Europe (New)',
      azIds: ['eue9-az1', 'eue9-az2', 'eue9-az3'],
      timeZone: 'Europe/Warsaw',
      traffic: 2.1,
    };

    // Act
    const after = validatePipeline(pipeline, 'p.json', { catalog: [...REGION_CATALOG, newRegion] });

    // Assess
    if (!before.ok || !after.ok) throw new Error('expected both to validate');
    const names = (p: typeof after.pipeline) => p.waves.map((w) => w.regions.map((r) => r.region));
    const last = names(after.pipeline).at(-1)!;
    expect(names(after.pipeline).length).toBe(names(before.pipeline).length);
    expect(last).toContain('eu-east-9');
    expect(names(after.pipeline).slice(0, -1)).toEqual(names(before.pipeline).slice(0, -1));
    expect(last.filter((c) => c !== 'eu-east-9')).toEqual(names(before.pipeline).at(-1));
    expect(after.pipeline.waves.at(-1)!.regions.find((r) => r.region === 'eu-east-9')?.units).toEqual(newRegion.azIds);
  });
});
