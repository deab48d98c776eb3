/**
 * Rollout batches: how many hosts of a deployment group CodeDeploy takes out of service at
 * a time, from a deployment configuration's minimum healthy hosts. One rule for the target
 * stacks (which create the configurations), the handlers (which name them) and the
 * simulated world (which runs the batches).
 *
 * CodeDeploy (EC2/on-premises) keeps the minimum number of healthy hosts in service and
 * deploys to as many of the others at once as it may; a FLEET_PERCENT minimum is converted to
 * a host count by rounding fractional hosts up. A configuration has no "maximum batch" of its
 * own: a pipeline's `rolling.maxBatchPercent` is a consequence of `minHealthyPercent`, and
 * validation refuses the pairs CodeDeploy could not honour.
 */
import type { RollingPolicy } from './model.ts';

/** A CodeDeploy server deployment configuration's minimum healthy hosts. */
export type MinimumHealthyHosts = { readonly type: 'FLEET_PERCENT' | 'HOST_COUNT'; readonly value: number };

export interface DeploymentConfigSpec {
  readonly name: string;
  readonly minimumHealthyHosts: MinimumHealthyHosts;
  /** Created by the target stacks (false: a CodeDeploy default). */
  readonly custom: boolean;
}

/** CodeDeploy's own one-host-at-a-time configuration: the one-box and the baselines. */
export const ONE_AT_A_TIME: DeploymentConfigSpec = {
  name: 'CodeDeployDefault.OneAtATime',
  minimumHealthyHosts: { type: 'HOST_COUNT', value: -1 },
  custom: false,
};
export const HALF_AT_A_TIME: DeploymentConfigSpec = {
  name: 'CodeDeployDefault.HalfAtATime',
  minimumHealthyHosts: { type: 'FLEET_PERCENT', value: 50 },
  custom: false,
};
export const ALL_AT_ONCE: DeploymentConfigSpec = {
  name: 'CodeDeployDefault.AllAtOnce',
  minimumHealthyHosts: { type: 'HOST_COUNT', value: 0 },
  custom: false,
};

/**
 * Fast rollback: 66% healthy, so a third of the hosts roll back at once (CodeDeploy rounds the
 * healthy count up: 67% of 6 hosts would keep 5 and go one at a time).
 */
export const FAST_ROLLBACK: DeploymentConfigSpec = {
  name: 'handsoff-fast-rollback-33',
  minimumHealthyHosts: { type: 'FLEET_PERCENT', value: 66 },
  custom: true,
};

/**
 * A pipeline's rolling configuration, shared by every pipeline with the same minimum (an
 * account holds at most 50 custom configurations): `handsoff-rolling-66` for the default.
 */
export const rollingConfig = (rolling: RollingPolicy): DeploymentConfigSpec => ({
  name: `handsoff-rolling-${rolling.minHealthyPercent}`,
  minimumHealthyHosts: { type: 'FLEET_PERCENT', value: rolling.minHealthyPercent },
  custom: true,
});

/** Hosts that must stay healthy in a group of `hosts`. */
export const minimumHealthy = (spec: DeploymentConfigSpec, hosts: number): number => {
  const { type, value } = spec.minimumHealthyHosts;
  if (spec.name === ONE_AT_A_TIME.name) return Math.max(0, hosts - 1);
  // 1e-9: 66% of 6 hosts is 3.96 in floating point, not 3.9600000000000004 rounded to 5.
  return type === 'HOST_COUNT' ? Math.min(hosts, value) : Math.ceil((hosts * value) / 100 - 1e-9);
};

/** Hosts CodeDeploy deploys to at once: all but the minimum healthy, and at least one. */
export const hostsPerBatch = (spec: DeploymentConfigSpec, hosts: number): number =>
  Math.max(1, hosts - minimumHealthy(spec, hosts));

/** The largest share of a unit's hosts out of service at once under `rolling`, for a fleet of `hosts`. */
export const rollingBatchPercent = (rolling: RollingPolicy, hosts: number): number =>
  Math.round((100 * hostsPerBatch(rollingConfig(rolling), hosts)) / hosts);

/**
 * What is wrong with a rolling policy for units of `hosts` hosts: a maximum batch the
 * minimum healthy share does not imply (CodeDeploy enforces only the minimum).
 */
export const rollingProblems = (rolling: RollingPolicy, hosts: number): string[] => {
  const batch = hostsPerBatch(rollingConfig(rolling), hosts);
  const allowed = Math.max(1, Math.round((hosts * rolling.maxBatchPercent) / 100));
  if (batch <= allowed) return [];
  // The largest percentage whose rounded-up healthy count leaves `allowed` hosts to deploy to.
  const needed = Math.min(99, Math.floor((100 * (hosts - allowed)) / hosts));
  return [
    `maxBatchPercent ${rolling.maxBatchPercent} cannot hold: with minHealthyPercent ${rolling.minHealthyPercent}, CodeDeploy deploys to ${batch} of ${hosts} hosts at once (it enforces only the hosts that stay healthy); raise minHealthyPercent to ${needed} or raise maxBatchPercent`,
  ];
};

/** The configurations the simulated world and the stacks know, by name. */
export const knownConfig = (name: string, rolling: RollingPolicy): DeploymentConfigSpec | undefined =>
  [ONE_AT_A_TIME, HALF_AT_A_TIME, ALL_AT_ONCE, FAST_ROLLBACK, rollingConfig(rolling)].find((c) => c.name === name);
