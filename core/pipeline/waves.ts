/**
 * The default wave plan (docs/design.md section 1): wave 1 = the lowest-traffic region, so a bad
 * change meets as few customers as possible while it bakes longest; wave 2 = the
 * highest-traffic region, alone, so its blast radius is one region; then ever wider waves
 * (3, up to 12, the rest) as confidence grows. Ties break by region code so that the plan is
 * the same on every machine.
 */
import type { RegionInfo } from '../model.ts';

/** Sizes of the waves after wave 1 and wave 2; whatever is left forms the last wave. */
export const WAVE_SIZES_AFTER_FIRST_TWO = [3, 12] as const;

const byCode = (a: RegionInfo, b: RegionInfo): number => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);

/**
 * Plan waves of region codes for the given regions (any order). Empty waves are skipped.
 * Regions flagged `newRegion` join the last wave (by code), whatever their traffic.
 */
export function planWaves(regions: readonly RegionInfo[]): string[][] {
  const all = [...new Map(regions.map((r) => [r.code, r])).values()];
  const unique = all.filter((r) => !r.newRegion);
  const added = all.filter((r) => r.newRegion).sort(byCode).map((r) => r.code);
  if (unique.length === 0) return added.length > 0 ? [added] : [];

  const ascending = [...unique].sort((a, b) => a.traffic - b.traffic || byCode(a, b));
  const first = ascending[0]!;
  const rest = unique.filter((r) => r.code !== first.code).sort((a, b) => b.traffic - a.traffic || byCode(a, b));

  const waves: string[][] = [[first.code]];
  let next = 0;
  for (const size of [1, ...WAVE_SIZES_AFTER_FIRST_TWO]) {
    waves.push(rest.slice(next, next + size).map((r) => r.code));
    next += size;
  }
  waves.push(rest.slice(next).map((r) => r.code));
  const planned = waves.filter((wave) => wave.length > 0);
  if (added.length > 0) planned[planned.length - 1]!.push(...added);
  return planned;
}
