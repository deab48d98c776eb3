/**
 * The alarm plan: every alarm of a region, as data (types.ts). The CDK target stack of a
 * region creates exactly `regionAlarmPlan(pipelines, region)`; the simulated world holds
 * and evaluates exactly the same; `handsoff alarms` prints `pipelineAlarmPlan`.
 */
import type { ResolvedPipeline, ResolvedRegion } from '../model.ts';
import * as naming from '../naming.ts';
import { ALARM_PERIOD_SECONDS, fleetRequestsAnomalyAlarm, oneBoxAnomalyAlarms, standardAlarms, unitRequestsAnomalyAlarm } from './service.ts';
import type { AlarmDef, CompositeAlarmDef, MetricAlarmDef } from './types.ts';

/** Namespace of the company-wide event metric an operator raises to block every deployment. */
export const COMPANY_EVENTS_NAMESPACE = 'Handsoff/Company';
export const COMPANY_EVENT_METRIC = 'CompanyEvent';

/** Production regions of a pipeline, in wave order. */
export const productionRegions = (p: ResolvedPipeline): string[] => [...new Set(p.waves.flatMap((w) => w.regions.map((r) => r.region)))];

/** Every region a pipeline deploys to: its production regions and its pre-production region. */
export const pipelineRegions = (p: ResolvedPipeline): string[] => [
  ...new Set([...productionRegions(p), ...(p.preProd.length > 0 ? [p.preProdRegion] : [])]),
];

/** Every region any of the pipelines deploys to (one target stack each), sorted. */
export const targetRegions = (pipelines: readonly ResolvedPipeline[]): string[] => [...new Set(pipelines.flatMap(pipelineRegions))].sort();

/** The production region of a pipeline, or undefined when it does not deploy there in production. */
export const productionRegion = (p: ResolvedPipeline, region: string): ResolvedRegion | undefined =>
  p.waves.flatMap((w) => w.regions).find((r) => r.region === region);

/** The standard alarms of a pipeline's fleet in a production region (what its team aggregate watches). */
export const fleetAlarms = (p: ResolvedPipeline, region: string) =>
  standardAlarms({
    service: naming.fleetService(p),
    region,
    scope: 'fleet',
    dimension: 'fleet',
    pipeline: p.name,
    alarmName: (kind) => naming.serviceAlarmName(p.name, region, kind),
    where: `fleet of ${region}`,
  });

/**
 * The alarms a pipeline owns in a region, in a stable order: in a production region the
 * fleet's standard alarms and request band, the one-box's standard alarms and anomaly
 * checks (with one-box), each unit's requests check; in the pre-production region the
 * standard alarms of every stage.
 */
export const pipelineAlarms = (p: ResolvedPipeline, region: string): AlarmDef[] => {
  const alarms: AlarmDef[] = [];
  const r = productionRegion(p, region);
  if (r) {
    const fleetHosts = r.units.length * p.hostsPerUnit;
    alarms.push(...fleetAlarms(p, region), fleetRequestsAnomalyAlarm({ pipeline: p.name, service: naming.fleetService(p), region }));
    if (p.oneBox ?? true) {
      alarms.push(
        ...standardAlarms({
          service: naming.fleetService(p),
          region,
          scope: 'onebox',
          dimension: 'onebox',
          pipeline: p.name,
          alarmName: (kind) => naming.oneBoxAlarmName(p.name, region, kind),
          where: `one-box host of ${region}`,
        }),
        ...oneBoxAnomalyAlarms({ pipeline: p.name, service: naming.fleetService(p), region, fleetHosts }),
      );
    }
    for (const unit of r.units) {
      alarms.push(unitRequestsAnomalyAlarm({ pipeline: p.name, service: naming.fleetService(p), region, fleetHosts, unit, unitHosts: p.hostsPerUnit }));
    }
  }
  if (p.preProd.length > 0 && p.preProdRegion === region) {
    for (const stage of p.preProd) {
      alarms.push(
        ...standardAlarms({
          service: naming.fleetService(p),
          region,
          scope: 'fleet',
          dimension: stage,
          pipeline: p.name,
          stage,
          alarmName: (kind) => naming.serviceAlarmName(p.name, stage, kind),
          where: `stage ${stage}`,
        }),
      );
      if (stage === naming.GAMMA_STAGE && naming.hasGammaOneBox(p)) alarms.push(...gammaOneBoxAlarms(p));
    }
  }
  return alarms;
};

/**
 * Gamma's one-box, watched like a production one-box (docs/design.md): the standard alarms of
 * its own scope (`gamma-onebox`) and its anomaly checks against the rest of gamma's fleet.
 * They belong to stage gamma (scope `onebox`).
 */
export const gammaOneBoxAlarms = (p: ResolvedPipeline): AlarmDef[] => {
  const region = p.preProdRegion;
  const service = naming.fleetService(p);
  const stage = naming.GAMMA_STAGE;
  return [
    ...standardAlarms({
      service,
      region,
      scope: 'onebox',
      dimension: naming.GAMMA_ONE_BOX_SCOPE,
      pipeline: p.name,
      stage,
      alarmName: (kind) => naming.gammaOneBoxAlarmName(p.name, kind),
      where: `gamma one-box host of ${region}`,
    }),
    ...oneBoxAnomalyAlarms(
      { pipeline: p.name, service, region, fleetHosts: p.hostsPerUnit },
      {
        dimension: naming.GAMMA_ONE_BOX_SCOPE,
        fleetDimension: stage,
        fleetIncludesOneBox: false,
        stage,
        name: (m) => naming.gammaOneBoxAnomalyAlarmName(p.name, m),
        where: `gamma one-box in ${region}`,
      },
    ),
  ];
};

/** The composite rule over alarms of one region: ANY of them in ALARM. */
export const anyInAlarm = (names: readonly string[]): string => names.map((n) => `ALARM("${n}")`).join(' OR ');

/**
 * The team's high-severity aggregate of a region: ANY of the fleet standard alarms of the
 * team's pipelines there (never anomaly, one-box or pre-production alarms: a seasonal band
 * is noisier than a threshold, and the aggregate blocks the whole team). Undefined where no
 * pipeline of the team runs in production.
 */
export const teamAggregateAlarm = (team: string, region: string, pipelines: readonly ResolvedPipeline[]): CompositeAlarmDef | undefined => {
  const members = pipelines.filter((p) => p.team === team && productionRegion(p, region)).flatMap((p) => fleetAlarms(p, region).map((a) => a.name));
  if (members.length === 0) return undefined;
  return {
    kind: 'composite',
    name: naming.teamAggregateAlarmName(team, region),
    region,
    scope: 'team',
    team,
    description: `Team ${team} in ${region}: any fleet alarm of its services. Blocks its deployments; when it fires, every in-flight deployment of the team here rolls back.`,
    rule: anyInAlarm(members),
    members,
  };
};

/**
 * The company-wide event alarm of a region (a peak sales day, an incident elsewhere): it
 * blocks every team; an operator raises it with `put-metric-data` on its metric.
 */
export const companyEventAlarm = (region: string): MetricAlarmDef => ({
  kind: 'metric',
  name: naming.companyEventAlarmName(region),
  region,
  scope: 'company',
  description: `Company-wide event in ${region}: no production deployment may start while it is in ALARM.`,
  metric: { namespace: COMPANY_EVENTS_NAMESPACE, metric: COMPANY_EVENT_METRIC, dimensions: { Region: region }, statistic: 'Maximum', periodSeconds: ALARM_PERIOD_SECONDS },
  threshold: 1,
  comparison: 'GreaterThanOrEqualToThreshold',
  periodSeconds: ALARM_PERIOD_SECONDS,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  // No event declared is the normal state.
  treatMissingData: 'notBreaching',
});

/** Every alarm of a region (a target stack's, the world's), or none where no pipeline deploys. */
export const regionAlarmPlan = (pipelines: readonly ResolvedPipeline[], region: string): AlarmDef[] => {
  if (!targetRegions(pipelines).includes(region)) return [];
  const teams = [...new Set(pipelines.map((p) => p.team))];
  return [
    ...pipelines.flatMap((p) => pipelineAlarms(p, region)),
    ...teams.flatMap((team) => teamAggregateAlarm(team, region, pipelines) ?? []),
    companyEventAlarm(region),
  ];
};

/**
 * Every alarm that watches a pipeline's steps in a region: its own, its team's aggregate
 * (over `pipelines`, the team's services sharing the region; default the pipeline alone) and
 * the company event. Empty where the pipeline does not deploy.
 */
export const pipelineAlarmPlan = (p: ResolvedPipeline, region: string, pipelines: readonly ResolvedPipeline[] = [p]): AlarmDef[] => {
  if (!pipelineRegions(p).includes(region)) return [];
  const all = pipelines.includes(p) ? pipelines : [p, ...pipelines];
  const team = productionRegion(p, region) ? teamAggregateAlarm(p.team, region, all) : undefined;
  return [...pipelineAlarms(p, region), ...(team ? [team] : []), companyEventAlarm(region)];
};
