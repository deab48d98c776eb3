/**
 * Which alarms each step watches, read from the alarm plan: the state machine builders and
 * the CDK deployment groups take these lists instead of naming alarms themselves.
 */
import type { ResolvedPipeline, ResolvedRegion } from '../model.ts';
import * as naming from '../naming.ts';
import { pipelineAlarms, teamAggregateAlarm } from './plan.ts';
import type { AlarmDef } from './types.ts';

const names = (alarms: readonly AlarmDef[]): string[] => alarms.map((a) => a.name);

/**
 * What watches a region while it has the change (one-box deploy and bake, unit deploys and
 * bakes, the wave bake, holds): the one-box's own alarms and its anomaly checks against the
 * fleet (a fault on one box is 10% of the region: the fleet alarms may stay quiet), the
 * team's aggregate alarm (ANY of the team's fleet alarms there, every pipeline: a team-wide
 * rollback), the fleet's request count against its daily season, and each unit's requests
 * against the rest of the region (a unit whose boxes stopped serving).
 */
export const regionStepAlarms = (p: ResolvedPipeline, r: ResolvedRegion): string[] => {
  const own = pipelineAlarms(p, r.region).filter((a) => a.stage === undefined);
  return [
    ...names(own.filter((a) => a.scope === 'onebox')),
    // The pipeline's own fleet alarms are members of it.
    ...names([teamAggregateAlarm(p.team, r.region, [p])!]),
    ...names(own.filter((a) => a.scope === 'fleet' && a.kind === 'anomaly')),
    ...names(own.filter((a) => a.scope === 'unit')),
  ];
};

/**
 * What a pre-production stage's deploy and bake watch: the stage's standard alarms and, in
 * gamma with one-box, its one-box's alarms and anomaly checks (the one-box's gate, deploy and
 * bake watch the same: the one-box and the stage's fleet, as a production one-box watches its
 * region's; the fleet's deploy and bake too, while the one-box still runs the change).
 */
export const preProdStageAlarms = (p: ResolvedPipeline, stage: string): string[] =>
  names(pipelineAlarms(p, p.preProdRegion).filter((a) => a.stage === stage));

/**
 * The one-box alarms CodeDeploy watches (with the one-box latency and faults anomaly alarms
 * and the team aggregate): the ones that tell a bad change on one host. Its CPU, memory, disk
 * and p50/p90 alarms exist (handsoff's bakes watch them all) but would overflow the group's
 * limit. Not the requests anomaly: while CodeDeploy installs the one host it serves nothing,
 * and that alarm would stop the deployment itself.
 */
export const ONE_BOX_GROUP_ALARMS: readonly naming.StandardAlarm[] = [
  naming.StandardAlarm.FAULTS,
  naming.StandardAlarm.LATENCY_P99,
  naming.StandardAlarm.HEALTH,
  naming.StandardAlarm.LOG_ERRORS,
];

/** CodeDeploy's alarms per deployment group (the quota handsoff designs for). */
export const MAX_ALARMS_PER_GROUP = 10;

/**
 * The alarms each deployment group of a pipeline in a region carries (CodeDeploy stops and
 * rolls back a deployment when one is in ALARM), by group name. A unit group watches its
 * region's fleet alarms and the team aggregate; neither the unit anomaly (10 alarms already)
 * nor the fleet band. A stage group watches the stage's alarms; gamma's one-box group the
 * same subset as a production one-box group, for its own scope (no team aggregate: that
 * watches production fleets).
 */
export const deploymentGroupAlarms = (p: ResolvedPipeline, region: string, team: { aggregate?: string } = {}): Map<string, string[]> => {
  const groups = new Map<string, string[]>();
  const own = pipelineAlarms(p, region);
  const aggregate = team.aggregate ?? teamAggregateAlarm(p.team, region, [p])?.name;
  const r = p.waves.flatMap((w) => w.regions).find((x) => x.region === region);
  if (r) {
    const fleet = names(own.filter((a) => a.scope === 'fleet' && a.stage === undefined && a.kind !== 'anomaly'));
    if (p.oneBox ?? true) {
      groups.set(naming.oneBoxGroupName(p.name), [
        ...ONE_BOX_GROUP_ALARMS.map((kind) => naming.oneBoxAlarmName(p.name, region, kind)),
        naming.anomalyAlarmName(p.name, region, 'onebox', naming.AnomalyMetric.LATENCY),
        naming.anomalyAlarmName(p.name, region, 'onebox', naming.AnomalyMetric.FAULTS),
        ...(aggregate ? [aggregate] : []),
      ]);
    }
    for (const unit of r.units) groups.set(naming.unitGroupName(p.name, unit), [...fleet, ...(aggregate ? [aggregate] : [])]);
  }
  if (p.preProd.length > 0 && p.preProdRegion === region) {
    // A stage group watches its fleet's alarms, not the gamma one-box's (those are its own group's).
    for (const stage of p.preProd) {
      groups.set(naming.preProdGroupName(p.name, stage), names(own.filter((a) => a.stage === stage && a.scope === 'fleet')));
    }
    if (naming.hasGammaOneBox(p)) {
      groups.set(naming.gammaOneBoxGroupName(p.name), [
        ...ONE_BOX_GROUP_ALARMS.map((kind) => naming.gammaOneBoxAlarmName(p.name, kind)),
        naming.gammaOneBoxAnomalyAlarmName(p.name, naming.AnomalyMetric.LATENCY),
        naming.gammaOneBoxAnomalyAlarmName(p.name, naming.AnomalyMetric.FAULTS),
      ]);
    }
  }
  const planned = new Set([...own.map((a) => a.name), ...(aggregate ? [aggregate] : [])]);
  for (const [group, alarms] of groups) {
    const unknown = alarms.filter((a) => !planned.has(a));
    if (unknown.length > 0) throw new Error(`deployment group '${group}' would watch alarms not in the plan: ${unknown.join(', ')}`);
  }
  return groups;
};
