/** Which alarms watch a region while it has the change, and the static per-region input. */
import { type ResolvedPipeline, type ResolvedRegion } from '../core/model.ts';
import { applicationName, oneBoxGroupName, unitGroupName } from '../core/naming.ts';
import { preProdStageAlarms, regionStepAlarms } from '../core/alarms/watches.ts';
import { Json } from './asl.ts';

/**
 * What watches a region while it has the change (its deploys, bakes and holds, and the wave
 * bake): read from the alarm plan (core/alarms/watches.ts), which names them once.
 */
export const regionAlarms = (p: ResolvedPipeline, r: ResolvedRegion): string[] => regionStepAlarms(p, r);

/** What a pre-production stage's deploy and bake watch, from the alarm plan. */
export const preProdAlarms = (p: ResolvedPipeline, stage: string): string[] => preProdStageAlarms(p, stage);

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
