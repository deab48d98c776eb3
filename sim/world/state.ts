/**
 * What the parts of the world share: its inventory, its metric series and the constants of
 * its hosts. `World` (world.ts) owns one; topology.ts fills it, serve.ts routes a minute of
 * traffic through it, deployments.ts moves revisions over it, alarms/ evaluates it.
 */
import type { ArtifactStore } from './artifacts.ts';
import { ONE_BOX_MAX_TRAFFIC_SHARE } from '../../core/alarms/service.ts';
import type { RegionInfo } from '../../core/model.ts';
import type { CodeDeployStateChangeDetail, AlarmStateChangeDetail } from '../../core/contracts.ts';
import type { HandsoffEvent } from '../../core/events.ts';
import { MINUTE_MS, type MinuteSeries } from './metrics.ts';
import type { Behavior, Deployment, DeploymentGroup, Fleet } from './model.ts';
import type { LocalClock } from './traffic.ts';

export type WorldEmission =
  | { kind: 'codedeploy'; detail: CodeDeployStateChangeDetail }
  | { kind: 'alarm'; region: string; detail: AlarmStateChangeDetail }
  | { kind: 'stream'; event: HandsoffEvent };

/** Revision every deployment group runs when the world starts. */
export const BASELINE_REVISION = 'initial';
/** Healthy boxes fail this fraction of requests anyway. */
export const BASELINE_FAULT_RATE = 0.001;
/** Healthy boxes log this many error lines per request on top of one per fault. */
export const BASELINE_LOG_ERROR_RATE = 0.0005;
/** Latency percentiles of a healthy box (+/-10% noise per host and minute); a `latency` behavior scales all three by p99Ms / 120. */
export const BASELINE_LATENCY_P50_MS = 40;
export const BASELINE_LATENCY_P90_MS = 80;
export const BASELINE_LATENCY_P99_MS = 120;
/** CPU of a healthy box: idle part plus a mild load part (requests per minute per host), +/-2% noise. */
export const BASELINE_CPU_IDLE_PERCENT = 28;
export const BASELINE_CPU_LOAD_PERCENT = 12;
export const CPU_HALF_LOAD_REQUESTS = 1000;
/** Memory and disk of a healthy box: a per-host offset (+/-4%, +/-5%) and a little per-minute noise. */
export const BASELINE_MEMORY_PERCENT = 50;
export const BASELINE_DISK_PERCENT = 40;
/** The one-box host never takes more than this share of its region's traffic (the alarm plan's, core/alarms). */
export const ONE_BOX_MAX_SHARE = ONE_BOX_MAX_TRAFFIC_SHARE;
/** Time CodeDeploy takes from CreateDeployment to the first batch. */
export const DEPLOYMENT_START_DELAY_MS = 1_000;
/** Install + ValidateService of one host. */
export const HOST_INSTALL_MS = 2 * MINUTE_MS;
/** A crashed host stays in the load balancer this long (until its health checks fail), failing what it gets. */
export const CRASH_DRAIN_MS = MINUTE_MS;

export const groupKey = (region: string, application: string, group: string): string => `${region}\u0000${application}\u0000${group}`;
export const seriesKey = (service: string, region: string, scope: string): string => `${service}\u0000${region}\u0000${scope}`;

export interface WorldState {
  readonly seed: number;
  /** The simulated S3 of the artifacts (artifacts.ts): the home bucket and each region's copies. */
  readonly artifacts: ArtifactStore;
  /** The artifact bucket of a region (naming.regionArtifactBucketName). */
  readonly regionBucket: (region: string) => string;
  readonly retention: number;
  readonly catalog: Map<string, RegionInfo>;
  readonly clocks: Map<string, LocalClock>;
  readonly fleets: Fleet[];
  readonly groups: Map<string, DeploymentGroup>;
  /** region -> application names */
  readonly applications: Map<string, Set<string>>;
  readonly deployments: Map<string, Deployment>;
  readonly series: Map<string, MinuteSeries>;
  /** artifact key -> what its boxes do */
  readonly behaviors: Map<string, Behavior>;
  /** artifact key -> requests failed because boxes ran it */
  readonly failed: Map<string, number>;
  readonly counters: { deployments: number; hosts: number; running: number };
}

export const nextDeploymentId = (state: WorldState): string =>
  `d-${(++state.counters.deployments).toString(36).toUpperCase().padStart(9, '0')}`;
