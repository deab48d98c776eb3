/** The simulated AWS world: see world.ts and README.md in this folder. */
export {
  World,
  type WorldOptions,
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
export type { AlarmState } from './alarms.ts';
export {
  FAULT_RATE_THRESHOLD,
  LATENCY_P50_THRESHOLD_MS,
  LATENCY_P90_THRESHOLD_MS,
  LATENCY_P99_THRESHOLD_MS,
  CPU_THRESHOLD_PERCENT,
  MEMORY_THRESHOLD_PERCENT,
  DISK_THRESHOLD_PERCENT,
  LOG_ERROR_RATE_THRESHOLD,
  UNHEALTHY_HOSTS_THRESHOLD,
  ONEBOX_REQUESTS_RATIO,
  ONEBOX_REQUESTS_MIN_FLEET,
  ONEBOX_LATENCY_RATIO,
  ONEBOX_LATENCY_MARGIN_MS,
  ONEBOX_FAULTS_RATIO,
  ONEBOX_FAULTS_MIN_RATE,
  FLEET_REQUESTS_BAND,
} from './alarms.ts';
export { WorldMetric } from './metrics.ts';
export { batchSize } from './deployment-config.ts';
export { dailyFactor, BASE_REQUESTS_PER_MINUTE, PRE_PROD_REQUESTS_PER_MINUTE } from './traffic.ts';
