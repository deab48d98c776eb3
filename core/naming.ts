/**
 * Names shared by the CDK target stacks, the state machine builders, the handlers and the
 * simulated world. Changing one renames AWS resources: these are a public contract.
 */
import type { PreProdStage } from './model.ts';

/** CodeDeploy application of a pipeline, in every region it deploys to. */
export const applicationName = (pipeline: string): string => pipeline;

/** Deployment group holding the single one-box host of a region. */
export const oneBoxGroupName = (pipeline: string): string => `${pipeline}-onebox`;

/** Deployment group holding the fleet of one unit (AZ or cell) of a region. */
export const unitGroupName = (pipeline: string, unit: string): string => `${pipeline}-${unit}`;

/** Deployment group of a pre-production stage (whole stage fleet). */
export const preProdGroupName = (pipeline: string, stage: PreProdStage | string): string =>
  `${pipeline}-${stage}`;

/** The team's high-severity aggregate composite alarm of one region. */
export const teamAggregateAlarmName = (team: string, region: string): string =>
  `handsoff-${team}-${region}-aggregate`;

/** Company-wide event alarm (a blocker for every team), one per region. */
export const companyEventAlarmName = (region: string): string => `handsoff-company-event-${region}`;

export const StandardAlarm = {
  FAULTS: 'faults',
  LATENCY_P99: 'latency-p99',
  HEALTH: 'health',
} as const;
export type StandardAlarm = (typeof StandardAlarm)[keyof typeof StandardAlarm];

/** Fleet-wide service alarm of a region (or of a pre-production stage). */
export const serviceAlarmName = (pipeline: string, scope: string, kind: StandardAlarm): string =>
  `${pipeline}-${scope}-${kind}`;

/** One-box alarm of a region: watches only the one-box host's metrics dimension. */
export const oneBoxAlarmName = (pipeline: string, region: string, kind: StandardAlarm): string =>
  `${pipeline}-${region}-onebox-${kind}`;

/** CloudWatch namespace of the standard metrics every service emits. */
export const METRICS_NAMESPACE = 'Handsoff/Service';

/**
 * Metric dimensions: `Service` plus `Scope`, one of `onebox`, `fleet` (the whole region),
 * a unit id, or a pre-production stage name.
 */
export const StandardMetric = {
  REQUESTS: 'RequestCount',
  FAULTS: 'Faults',
  LATENCY: 'Latency',
  UNHEALTHY_HOSTS: 'UnhealthyHosts',
} as const;

/** Shared CodeDeploy deployment configurations (an account holds at most 50 custom ones). */
export const DeploymentConfig = {
  ONE_AT_A_TIME: 'CodeDeployDefault.OneAtATime',
  /** Rolling: at least 66% of the unit's hosts healthy, so at most a third at a time. */
  ROLLING: 'handsoff-rolling-66',
  /** Fast rollback: a third of the hosts at once. */
  FAST_ROLLBACK: 'handsoff-fast-rollback-33',
} as const;

/** Artifact key of a change's immutable revision. */
export const artifactKey = (pipeline: string, revision: string): string => `${pipeline}/${revision}.zip`;
