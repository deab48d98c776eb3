/**
 * The world as CloudWatch's metric store for the alarms: a planned MetricStat resolves once
 * to a reader of the world's per-minute series (NaN: no datapoint). The world refuses any
 * metric, statistic or period it does not record, rather than guess.
 */
import { COMPANY_EVENT_METRIC, COMPANY_EVENTS_NAMESPACE } from '../../core/alarms/plan.ts';
import type { MetricStat } from '../../core/alarms/types.ts';
import { METRICS_NAMESPACE, StandardMetric } from '../../core/naming.ts';
import { type Iv, type IvSeries, NO_DATA, point } from './alarms/bounds.ts';
import type { Band } from './alarms/evaluate.ts';
import type { Series } from './alarms/math.ts';
import { Field, MINUTE_MS, type MinuteSeries, WorldMetric } from './metrics.ts';
import type { Fleet } from './model.ts';
import type { QuietFleets } from './quiet.ts';
import { expectedRequests } from './serve.ts';
import { seriesKey, type WorldState } from './state.ts';
import { LEARNED_STD_DEV_FRACTION } from './traffic.ts';

export interface MetricSource {
  series(m: MetricStat, region: string): Series;
  band(m: MetricStat, region: string): Band;
  /** What the metric's datapoints can be over a block of minutes while its fleet is quiet (alarms/bounds.ts). */
  bounds(m: MetricStat, region: string): IvSeries;
  /** The range of the band's edges over a block while its fleet is quiet. */
  bandBounds(m: MetricStat, region: string, width: number): (block: number) => { lower: Iv; upper: Iv };
  /** What the metric's datapoints depend on: a fleet's traffic, or the company event level of the region. */
  inputOf(m: MetricStat, region: string): { fleet: Fleet } | { company: string };
}

/** The field a metric is recorded in at its one statistic (Latency: three percentiles). */
const fieldOf = (metric: string, statistic: string): number | undefined => {
  const at = (stat: string, field: number) => (statistic === stat ? field : undefined);
  switch (metric) {
    case StandardMetric.REQUESTS: return at('Sum', Field.REQUESTS);
    case StandardMetric.FAULTS: return at('Sum', Field.FAULTS);
    case StandardMetric.LOG_ERRORS: return at('Sum', Field.LOG_ERRORS);
    case StandardMetric.LATENCY: return statistic === 'p50' ? Field.P50 : statistic === 'p90' ? Field.P90 : statistic === 'p99' ? Field.P99 : undefined;
    case StandardMetric.CPU: return at('Average', Field.CPU);
    case StandardMetric.MEMORY: return at('Average', Field.MEMORY);
    case StandardMetric.DISK: return at('Average', Field.DISK);
    case StandardMetric.UNHEALTHY_HOSTS: return at('Maximum', Field.UNHEALTHY);
    case WorldMetric.IN_SERVICE_HOSTS: return at('Maximum', Field.IN_SERVICE);
    case WorldMetric.INSTALLING_HOSTS: return at('Maximum', Field.INSTALLING);
  }
  return undefined;
};

const describe = (m: MetricStat): string =>
  `${m.namespace} ${m.metric} {${Object.entries(m.dimensions).map(([k, v]) => `${k}=${v}`).join(', ')}} ${m.statistic}/${m.periodSeconds}s`;

const isCompanyEvent = (m: MetricStat, region: string): boolean =>
  m.namespace === COMPANY_EVENTS_NAMESPACE && m.metric === COMPANY_EVENT_METRIC && m.statistic === 'Maximum' && m.dimensions.Region === region;

export const metricSource = (state: WorldState, companyEvents: ReadonlyMap<string, number>, quiet: QuietFleets): MetricSource => {
  const owner = new Map<MinuteSeries, Fleet>();
  for (const f of state.fleets) {
    for (const s of [f.fleetSeries, f.oneBox?.series, ...f.units.map((g) => g.series)]) if (s && !owner.has(s)) owner.set(s, f);
  }
  const fleetOf = (s: MinuteSeries): Fleet => owner.get(s)!;
  const fieldSeries = (m: MetricStat, region: string): { s: MinuteSeries; field: number } => {
    const s = seriesFor(m, region);
    const field = fieldOf(m.metric, m.statistic);
    if (!s || field === undefined) throw new Error(`the simulated CloudWatch holds no ${describe(m)} in ${region}`);
    return { s, field };
  };
  const bandFleet = (m: MetricStat, region: string): Fleet => {
    const s = seriesFor(m, region);
    const fleet = state.fleets.find((f) => f.fleetSeries === s);
    if (!s || !fleet || m.metric !== StandardMetric.REQUESTS || m.statistic !== 'Sum') {
      throw new Error(`the world models an anomaly band only for a production fleet's RequestCount (Sum), not ${describe(m)}`);
    }
    return fleet;
  };
  const seriesFor = (m: MetricStat, region: string) => {
    if (m.periodSeconds * 1000 !== MINUTE_MS) throw new Error(`the world records per minute: ${describe(m)} needs a 60 s period`);
    const dims = Object.keys(m.dimensions);
    const { Service: service, Scope: scope } = m.dimensions;
    if (m.namespace !== METRICS_NAMESPACE || dims.length !== 2 || service === undefined || scope === undefined) return undefined;
    const s = state.series.get(seriesKey(service, region, scope));
    if (!s) throw new Error(`the world records no metrics for ${describe(m)} in ${region}`);
    return s;
  };
  return {
    series(m, region) {
      if (isCompanyEvent(m, region)) {
        // The operator's event level while declared; no datapoint otherwise.
        return () => companyEvents.get(region) ?? Number.NaN;
      }
      const { s, field } = fieldSeries(m, region);
      return (minute) => {
        const o = s.offsetOf(minute);
        return o < 0 ? Number.NaN : s.at(o, field as never);
      };
    },
    band(m, region) {
      const fleet = bandFleet(m, region);
      return {
        centre: (minute) => expectedRequests(fleet, minute),
        stdDev: (minute) => LEARNED_STD_DEV_FRACTION * expectedRequests(fleet, minute),
      };
    },
    bounds(m, region) {
      if (isCompanyEvent(m, region)) {
        return () => {
          const level = companyEvents.get(region);
          return level === undefined ? NO_DATA : point(level);
        };
      }
      const { s, field } = fieldSeries(m, region);
      const fleet = fleetOf(s);
      return (block) => quiet.bounds(fleet, s, block)[field]!;
    },
    bandBounds(m, region, width) {
      const fleet = bandFleet(m, region);
      // Each edge is linear in the centre (the deviation is a fraction of it): extremes at the centre's.
      const edge = (c: number, sign: number) => c + sign * width * (LEARNED_STD_DEV_FRACTION * c);
      const span = (a: number, b: number): Iv => ({ lo: Math.min(a, b), hi: Math.max(a, b), nan: false, val: true });
      return (block) => {
        const c = quiet.expected(fleet, block);
        return { lower: span(edge(c.lo, -1), edge(c.hi, -1)), upper: span(edge(c.lo, 1), edge(c.hi, 1)) };
      };
    },
    inputOf(m, region) {
      if (isCompanyEvent(m, region)) return { company: region };
      return { fleet: fleetOf(fieldSeries(m, region).s) };
    },
  };
};
