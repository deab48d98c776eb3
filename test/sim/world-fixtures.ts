/**
 * Fixtures of the world tests (world.test.ts, world-monitors.test.ts): a four-region
 * catalog, a pipeline over it, and larger catalogs for the runs at scale.
 */
import type { RegionInfo, ResolvedPipeline, ResolvedRegion } from '../../core/model.ts';
import type { World } from '../../sim/world/index.ts';

export const catalog: RegionInfo[] = [
  { code: 'sa-east-1', name: 'Sao Paulo', azIds: ['sae1-az1', 'sae1-az2', 'sae1-az3'], timeZone: 'America/Sao_Paulo', traffic: 1 },
  { code: 'us-east-1', name: 'N. Virginia', azIds: ['use1-az1', 'use1-az2', 'use1-az4'], timeZone: 'America/New_York', traffic: 10 },
  { code: 'us-west-2', name: 'Oregon', azIds: ['usw2-az1', 'usw2-az2', 'usw2-az3'], timeZone: 'America/Los_Angeles', traffic: 6 },
  { code: 'ap-northeast-1', name: 'Tokyo', azIds: ['apne1-az1', 'apne1-az2', 'apne1-az4'], timeZone: 'Asia/Tokyo', traffic: 5 },
];

export const resolved = (info: RegionInfo): ResolvedRegion => ({ region: info.code, units: info.azIds, windowTimeZone: info.timeZone });

/** `storefront-api` with one-box, the first region of `regions` in wave 1 and the others in wave 2. */
export const pipeline = (overrides: Partial<ResolvedPipeline> = {}, regions: RegionInfo[] = catalog): ResolvedPipeline => ({
  name: 'storefront-api',
  service: 'StorefrontApi',
  team: 'storefront',
  kind: 'app',
  batching: true,
  tests: { runner: 'codebuild' },
  unit: 'az',
  cellsPerRegion: 3,
  hostsPerUnit: 6,
  preProd: ['alpha', 'beta', 'gamma'],
  preProdRegion: 'us-west-2',
  oneBox: true,
  waves: [
    { name: 'wave-1', regions: [resolved(regions[0]!)], bakeSeconds: 12 * 3600 },
    { name: 'wave-2', regions: regions.slice(1).map(resolved), bakeSeconds: 2 * 3600 },
  ],
  bake: {
    oneBoxSeconds: 3600,
    firstWaveSeconds: 12 * 3600,
    laterWavesSeconds: 2 * 3600,
    waveSeconds: [],
    unitSeconds: 1800,
    preProdSeconds: 3600,
    minRequests: 100,
    emergencyFloorSeconds: 600,
  },
  rolling: { maxBatchPercent: 33, minHealthyPercent: 66 },
  window: { timeZone: 'region', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' },
  holidays: [],
  holidaysByRegion: {},
  ...overrides,
});

/** `n` regions spread over the world's time zones; traffic weights 1..19 (weight 1 every 7th). */
export const bigCatalog = (n: number): RegionInfo[] => {
  const zones = ['America/New_York', 'America/Los_Angeles', 'Europe/Dublin', 'Europe/Berlin', 'Asia/Tokyo', 'Asia/Singapore', 'Australia/Sydney', 'America/Sao_Paulo', 'Asia/Kolkata', 'Africa/Johannesburg'];
  return Array.from({ length: n }, (_, i) => {
    const code = `xx-region-${i + 1}`;
    return { code, name: code, azIds: [`xr${i + 1}-az1`, `xr${i + 1}-az2`, `xr${i + 1}-az3`], timeZone: zones[i % zones.length]!, traffic: 1 + (i % 7) * 3 };
  });
};

/**
 * The S3 location of `key` as handsoff deploys it in `region`: its copy in the region's
 * artifact bucket (the simulated CodeDeploy refuses anything else), made if not there yet.
 */
export const regionCopy = (world: World, region: string, key: string): { bucket: string; key: string; bundleType: 'zip' } => {
  const bucket = world.regionBucket(region);
  world.artifacts.declare(bucket);
  if (!world.artifacts.get(bucket, key)) world.artifacts.upload(bucket, key);
  return { bucket, key, bundleType: 'zip' };
};
