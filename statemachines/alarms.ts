/** Which alarms watch a region while it has the change, and the static per-region input. */
import { type ResolvedPipeline, type ResolvedRegion } from '../core/model.ts';
import { applicationName, AnomalyMetric, anomalyAlarmName, oneBoxAlarmName, oneBoxGroupName, StandardAlarm, teamAggregateAlarmName, unitAnomalyAlarmName, unitGroupName } from '../core/naming.ts';
import { Json } from './asl.ts';

/**
 * What watches a region while it has the change: the team's aggregate alarm (ANY of the
 * team's fleet alarms there, every pipeline: a team-wide rollback), the fleet's request
 * count against its daily season, each unit's requests against the rest of the region (a
 * unit whose boxes stopped serving), and, with one-box, the one-box's own alarms and its
 * anomaly checks against the fleet (a fault on one box is 10% of the region: the fleet
 * alarms may stay quiet).
 */
export const regionAlarms = (p: ResolvedPipeline, r: ResolvedRegion): string[] => [
  ...(p.oneBox
    ? [
        ...Object.values(StandardAlarm).map((kind) => oneBoxAlarmName(p.name, r.region, kind)),
        ...Object.values(AnomalyMetric).map((metric) => anomalyAlarmName(p.name, r.region, 'onebox', metric)),
      ]
    : []),
  teamAggregateAlarmName(p.team, r.region),
  anomalyAlarmName(p.name, r.region, 'fleet', AnomalyMetric.REQUESTS),
  ...r.units.map((unit) => unitAnomalyAlarmName(p.name, r.region, unit)),
];

/** The static per-region input of a region execution (everything but the change). */
export const regionItem = (p: ResolvedPipeline, r: ResolvedRegion): Record<string, Json> => {
  const alarmNames = regionAlarms(p, r);
  return {
    region: r.region,
    application: applicationName(p.name),
    oneBoxGroup: oneBoxGroupName(p.name),
    units: r.units.map((unit) => ({
      unit,
      deploymentGroup: unitGroupName(p.name, unit),
      metricScopes: [{ region: r.region, scope: unit }],
    })),
    oneBoxMetricScopes: [{ region: r.region, scope: 'onebox' }],
    alarmNames,
    alarms: alarmNames.map((name) => ({ region: r.region, name })),
  };
};
