/**
 * The resolved pipeline model: what every other part of handsoff (state machine builders,
 * CDK stacks, handlers, the simulator) consumes. It is produced from a pipeline definition
 * (JSON form or pipelines-as-code class) by validation + wave planning in core/pipeline.
 * Pure data, no AWS imports.
 */

export const Weekdays = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;
export type Weekday = (typeof Weekdays)[number];

export const PreProdStages = ['alpha', 'beta', 'gamma', 'zeta'] as const;
export type PreProdStage = (typeof PreProdStages)[number];

/**
 * Kinds of change a service ships through separate pipelines (the article's app, infra,
 * config, OS and tools pipelines): each kind has its own pipeline, CodeDeploy application and
 * groups, and lanes, so that a failing config change never holds the app pipeline. A service
 * has at most one pipeline of each kind.
 */
export const PipelineKinds = ['app', 'infra', 'config', 'os', 'tools'] as const;
export type PipelineKind = (typeof PipelineKinds)[number];

/** What runs a pre-production stage's integration test suite. */
export const TestRunners = ['codebuild', 'lambda'] as const;
export type TestRunner = (typeof TestRunners)[number];

export const DeploymentTarget = { ONE_BOX: 'onebox', FLEET: 'fleet' } as const;
export type DeploymentTarget = (typeof DeploymentTarget)[keyof typeof DeploymentTarget];

export const UnitKind = { AZ: 'az', CELL: 'cell' } as const;
export type UnitKind = (typeof UnitKind)[keyof typeof UnitKind];

export type TrafficTier = 1 | 2 | 3 | 4;

/** One entry of the central region catalog. */
export interface RegionInfo {
  /** AWS region code, e.g. `us-east-1`. */
  readonly code: string;
  readonly name: string;
  /** AZ ids (not names): stable across accounts, e.g. `use1-az1`. */
  readonly azIds: readonly string[];
  /** IANA time zone of the region, e.g. `America/New_York`. */
  readonly timeZone: string;
  /**
   * Relative traffic weight used by the wave planner (higher = more traffic) and by the
   * simulator's traffic model.
   */
  readonly traffic: number;
  /**
   * A region recently added to the catalog: every `waves: auto` plan puts it in its last
   * wave, whatever its traffic weight, until the catalog drops the flag (its traffic is
   * known and it has proven itself). Without it a quiet new region would become wave 1.
   * @default false
   */
  readonly newRegion?: boolean;
}

export interface DeploymentWindow {
  /** IANA zone, or `region` for each region's own zone. */
  readonly timeZone: string;
  readonly days: readonly Weekday[];
  /** `HH:MM`, inclusive. */
  readonly start: string;
  /** `HH:MM`, exclusive. */
  readonly end: string;
}

export interface BakePolicy {
  readonly oneBoxSeconds: number;
  readonly firstWaveSeconds: number;
  readonly laterWavesSeconds: number;
  /** Per-wave overrides, index 0 = wave-1. Missing entries use first/later. */
  readonly waveSeconds: readonly (number | undefined)[];
  readonly unitSeconds: number;
  readonly preProdSeconds: number;
  readonly minRequests: number;
  /** Cap on a bake's extension for minimum data points. @default - twice the bake */
  readonly maxExtensionSeconds?: number;
  readonly emergencyFloorSeconds: number;
}

export interface RollingPolicy {
  readonly maxBatchPercent: number;
  readonly minHealthyPercent: number;
}

export interface ResolvedRegion {
  readonly region: string;
  /** Deployment units in rollout order: AZ ids (`use1-az1`) or cell ids (`use1-cell1`). */
  readonly units: readonly string[];
  /** Zone that the deployment window of this region is evaluated in. */
  readonly windowTimeZone: string;
}

export interface ResolvedWave {
  /** `wave-1`, `wave-2`, ... */
  readonly name: string;
  readonly regions: readonly ResolvedRegion[];
  readonly bakeSeconds: number;
}

export interface ResolvedPipeline {
  readonly name: string;
  readonly service: string;
  readonly team: string;
  /** The kind of change this pipeline ships. @default 'app' */
  readonly kind: PipelineKind;
  /**
   * Release batching: a change waiting for a busy stage is superseded by a newer change
   * waiting for the same stage (which carries it). `false` keeps strict one-by-one order.
   * @default true
   */
  readonly batching: boolean;
  /** Integration tests of the pre-production stages. */
  readonly tests: {
    readonly runner: TestRunner;
    /** The team's test function (name or ARN), with the `lambda` runner (core/tests.ts). */
    readonly function?: string;
    /** Endpoint template of the stages (core/tests.ts DEFAULT_ENDPOINT_TEMPLATE). */
    readonly endpoint?: string;
    /** How long a suite may run. @default 30 */
    readonly timeoutMinutes?: number;
  };
  readonly unit: UnitKind;
  readonly cellsPerRegion: number;
  readonly hostsPerUnit: number;
  readonly preProd: readonly PreProdStage[];
  /** Region that hosts the pre-production stages. @default us-west-2 */
  readonly preProdRegion: string;
  /** One-box deployment and bake before the units of each region. */
  readonly oneBox: boolean;
  readonly waves: readonly ResolvedWave[];
  readonly bake: BakePolicy;
  readonly rolling: RollingPolicy;
  readonly window: DeploymentWindow;
  /** Dates (YYYY-MM-DD) in the window's time zone when no production step may start. */
  readonly holidays: readonly string[];
  readonly holidaysByRegion: Readonly<Record<string, readonly string[]>>;
}
