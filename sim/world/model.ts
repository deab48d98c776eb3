/**
 * The world's inventory: hosts, CodeDeploy deployment groups and the fleets (a region of a
 * pipeline, or one of its pre-production stages) whose traffic they share.
 */
import type { ResolvedPipeline } from '../../core/model.ts';
import type { MinuteDatapoint, MinuteSeries } from './metrics.ts';
import type { LocalClock } from './traffic.ts';

/** What boxes running a revision do. `regions`: `us-east-1` = production there, `gamma:us-west-2` = that stage. */
export type Behavior =
  | { kind: 'healthy' }
  | { kind: 'faults'; rate: number; regions?: string[]; afterSeconds?: number }
  | { kind: 'latency'; p99Ms: number; regions?: string[]; afterSeconds?: number }
  | { kind: 'crash'; regions?: string[] }
  | { kind: 'traffic-drop'; regions?: string[]; afterSeconds?: number }
  /** The build fails (world/codebuild.ts): no box ever runs the change. */
  | { kind: 'build-failure' }
  /** The integration tests of these pre-production stages fail; the boxes themselves are healthy. */
  | { kind: 'test-failure'; stages: string[] };

/** Behaviours that act on the boxes running a revision. */
export type BoxBehavior = Exclude<Behavior, { kind: 'build-failure' } | { kind: 'test-failure' }>;
export const isBoxBehavior = (b: Behavior): b is BoxBehavior => b.kind !== 'build-failure' && b.kind !== 'test-failure';

export type DeploymentStatus = 'Created' | 'InProgress' | 'Succeeded' | 'Failed' | 'Stopped';

export interface S3Revision {
  revisionType: 'S3';
  s3Location: { bucket: string; key: string; bundleType: string; version?: string; eTag?: string };
}

export interface Host {
  /** `i-` + 17 hex digits, like an EC2 instance id. */
  readonly id: string;
  /** Stable index over the whole world: the key of the host's noise. */
  readonly index: number;
  readonly group: DeploymentGroup;
  /** Revision id the box runs: the artifact key (naming.artifactKey). */
  revision: string;
  installedAt: number;
  /** CodeDeploy is installing a revision: out of the load balancer. */
  installing: boolean;
  /** When CodeDeploy last finished installing on this host (-Infinity: never in this world). */
  installEndedAt: number;
  /** Scratch of the current minute tick (see World.serveMinute). */
  mode: number;
  faultRate: number;
  /** Latency multiplier over the baseline percentiles (a `latency` behavior: p99Ms / 120). */
  latencyScale: number;
  unhealthy: boolean;
  /** Per-host offsets of memory and disk utilization (percent points), fixed at creation. */
  readonly memoryOffset: number;
  readonly diskOffset: number;
  /** The host's own metrics of the last minute served (for snapshots; not a CloudWatch series; p50/p90 derived from p99). */
  last: HostMinute;
}

/** One host's metrics of one minute: those of a scope's minute but the host counts. */
export interface HostMinute extends Omit<MinuteDatapoint, 'unhealthyHosts' | 'inServiceHosts' | 'installingHosts'> {
  minute: number;
}

export interface DeploymentGroup {
  readonly pipeline: ResolvedPipeline;
  readonly application: string;
  readonly name: string;
  readonly region: string;
  /** `onebox` | `fleet` (a unit or a pre-production stage's fleet). */
  readonly target: 'onebox' | 'fleet';
  /** Pre-production stage (`alpha`..) or the production wave (`wave-N`). */
  readonly stage: string;
  readonly preProd: boolean;
  readonly unit?: string;
  /** Where behaviors apply: the region code for production, `stage:region` for pre-production. */
  readonly location: string;
  readonly defaultConfig: string;
  readonly hosts: Host[];
  /** Metric scope the group's hosts report under (`onebox`, a unit id, or a stage). */
  readonly series: MinuteSeries;
  active?: Deployment;
  lastSuccessful?: Deployment;
  lastAttempted?: Deployment;
}

export interface Deployment {
  readonly id: string;
  readonly group: DeploymentGroup;
  readonly configName: string;
  readonly revision: S3Revision;
  /** Revision of the group's last successful deployment when this one was created. */
  readonly previousRevision?: S3Revision;
  readonly description?: string;
  status: DeploymentStatus;
  readonly createTime: number;
  startTime?: number;
  completeTime?: number;
  /** Hosts in deployment order; the next batch starts at `next`. */
  next: number;
  batch: Host[];
  succeeded: number;
  failed: number;
  stopRequested: boolean;
  timer?: ReturnType<typeof setTimeout>;
  error?: { code: string; message: string };
}

/** A production region of a pipeline, or one pre-production stage: hosts sharing one traffic source. */
export interface Fleet {
  readonly pipeline: ResolvedPipeline;
  readonly region: string;
  /** Peak requests per minute of the whole fleet (before the daily pattern). */
  readonly peakRequestsPerMinute: number;
  /** Production: the region's clock drives the daily pattern. Pre-production: flat canary traffic. */
  readonly clock?: LocalClock;
  readonly noiseKey: number;
  readonly oneBox?: DeploymentGroup;
  readonly units: DeploymentGroup[];
  /** Whole-region series (production only). */
  readonly fleetSeries?: MinuteSeries;
  /** Scratch: expected requests (traffic model, no noise) of `expectedMinute`. */
  expected: number;
  expectedMinute: number;
}
