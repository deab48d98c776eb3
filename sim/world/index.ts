/** The simulated AWS world: see world.ts and README.md in this folder. */
export {
  World,
  type WorldOptions,
  type WorldEmission,
  type HostSnapshot,
  BASELINE_REVISION,
  BASELINE_FAULT_RATE,
  BASELINE_LATENCY_P99_MS,
  ONE_BOX_MAX_SHARE,
  HOST_INSTALL_MS,
  DEPLOYMENT_START_DELAY_MS,
  CRASH_DRAIN_MS,
  appliesTo,
} from './world.ts';
export type { Behavior, DeploymentStatus } from './model.ts';
export type { AlarmState } from './alarms.ts';
export { FAULT_RATE_THRESHOLD, LATENCY_P99_THRESHOLD_MS, UNHEALTHY_HOSTS_THRESHOLD } from './alarms.ts';
export { batchSize } from './deployment-config.ts';
export { dailyFactor, BASE_REQUESTS_PER_MINUTE, PRE_PROD_REQUESTS_PER_MINUTE } from './traffic.ts';
