/** The simulated AWS world: see world.ts and README.md in this folder. */
export {
  World,
  type WorldOptions,
  type WorldWork,
  type WorldEmission,
  type HostSnapshot,
  type DropFilter,
  BASELINE_REVISION,
  BASELINE_FAULT_RATE,
  BASELINE_LOG_ERROR_RATE,
  BASELINE_LATENCY_P50_MS,
  BASELINE_LATENCY_P90_MS,
  BASELINE_LATENCY_P99_MS,
  BASELINE_CPU_IDLE_PERCENT,
  BASELINE_CPU_LOAD_PERCENT,
  BASELINE_MEMORY_PERCENT,
  BASELINE_DISK_PERCENT,
  ONE_BOX_MAX_SHARE,
  HOST_INSTALL_MS,
  DEPLOYMENT_START_DELAY_MS,
  CRASH_DRAIN_MS,
  appliesTo,
} from './world.ts';
export type { Behavior, DeploymentStatus, HostMinute } from './model.ts';
export type { AlarmState } from './alarms/evaluate.ts';
export { decideState } from './alarms/evaluate.ts';
export { LEARNED_STD_DEV_FRACTION } from './traffic.ts';
export { WorldMetric } from './metrics.ts';
export { batchSize } from './deployment-config.ts';
export { dailyFactor, BASE_REQUESTS_PER_MINUTE, PRE_PROD_REQUESTS_PER_MINUTE } from './traffic.ts';
