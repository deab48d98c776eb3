/**
 * Items the stack seeds into the windows and holidays tables from the pipeline config, in
 * the layouts of core/tables.ts (the contract with check-window). The config is
 * the source of truth at deploy time; between deploys an operator may edit the items
 * (windows and holidays change without a redeploy), and the next deploy that changes the
 * config writes its items again.
 */
import type { ResolvedPipeline } from '../../core/model.ts';
import type { HolidayItem, WindowItem } from '../../core/tables.ts';

export type SeedItem = Record<string, string | number | boolean | readonly string[]>;

/** One window item per production region, in the region's resolved window time zone. */
export const windowItems = (p: ResolvedPipeline): WindowItem[] =>
  p.waves.flatMap((wave) =>
    wave.regions.map((r) => ({
      pk: p.name,
      sk: r.region,
      timeZone: r.windowTimeZone,
      days: [...p.window.days],
      start: p.window.start,
      end: p.window.end,
    })),
  );

/** One item per holiday: the pipeline's (every region) and each region's own. */
export const holidayItems = (p: ResolvedPipeline): HolidayItem[] => [
  ...p.holidays.map((date) => ({ pk: p.name, sk: date })),
  ...Object.entries(p.holidaysByRegion).flatMap(([region, dates]) =>
    dates.map((date) => ({ pk: `${p.name}#${region}`, sk: date })),
  ),
];

/** DynamoDB JSON of a seed item (what the low-level BatchWriteItem API takes). */
export const marshall = (item: SeedItem): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(item).map(([k, v]) => {
      if (typeof v === 'string') return [k, { S: v }];
      if (typeof v === 'number') return [k, { N: String(v) }];
      if (typeof v === 'boolean') return [k, { BOOL: v }];
      return [k, { L: v.map((s) => ({ S: s })) }];
    }),
  );
