/** What a World is built with, and what it reports about itself (world.ts). */
import type { RegionInfo, ResolvedPipeline } from '../../core/model.ts';
import type { HostMinute } from './model.ts';
import type { WorldEmission } from './state.ts';

export interface WorldOptions {
  /** Each pipeline's production regions come from its waves; its pre-production stages live in `preProdRegion`. */
  pipelines: ResolvedPipeline[];
  /** The region catalog: traffic weight and time zone per region. */
  regions: RegionInfo[];
  /** Everything the world tells the outside, delivered synchronously (often from a timer). */
  emit: (e: WorldEmission) => void;
  /** Seed of the traffic and fault noise. @default 1 */
  seed?: number;
  /** The artifact bucket of a region, holding its copy of the baseline `initial`. @default naming.regionArtifactBucketName of the simulated account */
  regionArtifactBucket?: (region: string) => string;
  /** Minutes of metric history kept per series. @default 3 days */
  retentionMinutes?: number;
  /**
   * Serve every fleet and evaluate every alarm at every minute tick, quiet or not (the
   * reference the quiet world is held to: same states at the same times, same metrics).
   * @default false
   */
  eager?: boolean;
}

/** The work the world has done so far: what its cost follows. */
export interface WorldWork {
  /** Minute ticks. */
  minuteTicks: number;
  /** Fleet-minutes served: by the tick, or computed for a quiet fleet when read. */
  fleetMinutesServed: number;
  /** Metric alarm evaluations (one datapoint each), and composite rule readings. */
  alarmEvaluations: number;
  compositeEvaluations: number;
}

export interface HostSnapshot {
  id: string;
  revision: string;
  installing: boolean;
  healthy: boolean;
  installedAt: string;
  /** The host's metrics of the last minute it reported (absent before the first tick). */
  lastMinute?: Omit<HostMinute, 'minute'> & { time: string };
}

/** Emissions `World.dropEvents` suppresses: of one kind, until a time, optionally in one region. */
export interface DropFilter {
  kind: 'alarm' | 'codedeploy';
  /** Epoch ms (virtual clock): emissions before this time are dropped. */
  untilMs: number;
  /** Only emissions of this region. @default every region */
  region?: string;
}
