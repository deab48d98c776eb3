/**
 * What the chaos runs (sim/chaos.ts) share with the end-to-end tests, without loading the
 * simulator: the small pipeline they run on, and the release-order invariant they check.
 */
import type { HandsoffEvent } from '../core/events.ts';

/** Three regions, one cell each, two boxes, short bakes, a window that is always open. */
export const CHAOS_PIPELINE = {
  name: 'chaos-service',
  service: 'ChaosService',
  team: 'chaos',
  regions: ['us-east-1', 'eu-west-1', 'sa-east-1'],
  waves: 'auto',
  unit: 'cell',
  cellsPerRegion: 1,
  hostsPerUnit: 2,
  preProd: ['alpha'],
  bake: { oneBox: 'PT20M', firstWave: 'PT30M', laterWaves: 'PT20M', unit: 'PT10M', preProd: 'PT10M', minRequests: 10 },
  window: { timeZone: 'UTC', days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '00:00', end: '23:59' },
};

/** A deployment's group, region first (group names repeat across regions). */
export const groupOf = (e: HandsoffEvent): string => `${String(e.region)}/${String(e.deploymentGroup)}`;

/**
 * Order kept: in each deployment group, the changes that start a deployment come in merge
 * order (`merged`, oldest first); one line per older change that started after a newer one.
 */
export const orderViolations = (events: readonly HandsoffEvent[], merged: readonly string[]): string[] => {
  const out: string[] = [];
  const newest = new Map<string, string>();
  for (const e of events.filter((x) => x.type === 'deployment.started')) {
    const group = groupOf(e);
    const before = newest.get(group);
    if (before !== undefined && merged.indexOf(String(e.change)) < merged.indexOf(before)) {
      out.push(`order broken in ${group}: ${String(e.change)} started a deployment at ${e.time} after newer ${before}`);
    } else newest.set(group, String(e.change));
  }
  return out;
};
