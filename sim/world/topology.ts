/**
 * The world's inventory, built once: per pipeline and production region an application, a
 * one-box group (none with `oneBox: false`) and a group per unit; per pre-production stage a
 * group in `preProdRegion` (gamma with one-box: its one-box group too); their metric series
 * and the fleets whose traffic they share.
 * Every group starts on `initial` with a Succeeded baseline deployment.
 */
import type { ResolvedPipeline } from '../../core/model.ts';
import { pipelineSetProblems } from '../../core/pipeline/set.ts';
import {
  applicationName,
  artifactKey,
  DeploymentConfig,
  fleetService,
  GAMMA_ONE_BOX_SCOPE,
  GAMMA_STAGE,
  gammaOneBoxGroupName,
  hasGammaOneBox,
  oneBoxGroupName,
  preProdGroupName,
  unitGroupName,
} from '../../core/naming.ts';
import { rollingConfig } from '../../core/rollout.ts';
import { CopyMetadata } from '../../core/build.ts';
import { bundleOf } from './artifacts.ts';
import { MinuteSeries } from './metrics.ts';
import type { Deployment, DeploymentGroup, Fleet } from './model.ts';
import { keyOf, noise } from './random.ts';
import { BASELINE_REVISION, groupKey, nextDeploymentId, seriesKey, type WorldState } from './state.ts';
import { MODE_SERVE } from './serve.ts';
import { BASE_REQUESTS_PER_MINUTE, LocalClock, PRE_PROD_REQUESTS_PER_MINUTE } from './traffic.ts';

/** Problems that make a world impossible to build (unknown regions, and the pipeline set's rules: core/pipeline/set.ts). */
export const topologyProblems = (state: WorldState, pipelines: readonly ResolvedPipeline[]): string[] => {
  const problems: string[] = [];
  const known = [...state.catalog.keys()].join(', ');
  for (const p of pipelines) {
    for (const wave of p.waves) {
      for (const r of wave.regions) {
        if (!state.catalog.has(r.region)) {
          problems.push(`pipeline '${p.name}' ${wave.name} lists region '${r.region}', which is not in the region catalog; known: ${known}`);
        }
      }
    }
    if (p.hostsPerUnit < 1) problems.push(`pipeline '${p.name}' has hostsPerUnit ${p.hostsPerUnit}; it needs at least 1`);
  }
  problems.push(...pipelineSetProblems(pipelines).map((c) => c.message));
  return problems;
};

/** Builds every group, host, series and fleet of the pipelines into `state`. */
export const buildTopology = (state: WorldState, pipelines: readonly ResolvedPipeline[], now: number): void => {
  for (const pipeline of pipelines) {
    for (const wave of pipeline.waves) {
      for (const region of wave.regions) buildProductionFleet(state, pipeline, wave.name, region.region, region.units, now);
    }
    for (const stage of pipeline.preProd) buildPreProdFleet(state, pipeline, stage, now);
  }
};

const clockOf = (state: WorldState, region: string): LocalClock => {
  let clock = state.clocks.get(region);
  if (!clock) {
    clock = new LocalClock(state.catalog.get(region)!.timeZone);
    state.clocks.set(region, clock);
  }
  return clock;
};

const seriesOf = (state: WorldState, service: string, region: string, scope: string): MinuteSeries => {
  const key = seriesKey(service, region, scope);
  let s = state.series.get(key);
  if (!s) {
    s = new MinuteSeries(service, region, scope, state.retention);
    state.series.set(key, s);
  }
  return s;
};

interface GroupSpec {
  name: string;
  region: string;
  target: 'onebox' | 'fleet';
  stage: string;
  preProd: boolean;
  unit?: string;
  location: string;
  scope: string;
  hosts: number;
  defaultConfig: string;
}

const buildGroup = (state: WorldState, pipeline: ResolvedPipeline, spec: GroupSpec, now: number): DeploymentGroup => {
  const application = applicationName(pipeline.name);
  const group: DeploymentGroup = {
    pipeline,
    application,
    name: spec.name,
    region: spec.region,
    target: spec.target,
    stage: spec.stage,
    preProd: spec.preProd,
    ...(spec.unit !== undefined ? { unit: spec.unit } : {}),
    location: spec.location,
    defaultConfig: spec.defaultConfig,
    hosts: [],
    series: seriesOf(state, fleetService(pipeline), spec.region, spec.scope),
  };
  const key = artifactKey(pipeline.name, BASELINE_REVISION);
  for (let i = 0; i < spec.hosts; i++) {
    const index = state.counters.hosts++;
    group.hosts.push({
      id: `i-${(0x5a0000 + index).toString(16).padStart(17, '0')}`,
      index,
      group,
      revision: key,
      installedAt: now,
      installing: false,
      installEndedAt: Number.NEGATIVE_INFINITY,
      mode: MODE_SERVE,
      faultRate: 0,
      latencyScale: 1,
      unhealthy: false,
      memoryOffset: 8 * (noise(state.seed ^ 0x6c8e9cf5, index, 0) - 0.5),
      diskOffset: 10 * (noise(state.seed ^ 0x3c6ef372, index, 0) - 0.5),
      last: { minute: -1, requests: 0, faults: 0, logErrors: 0, latencyP50: Number.NaN, latencyP90: Number.NaN, latencyP99: Number.NaN, cpu: Number.NaN, memory: Number.NaN, disk: Number.NaN },
    });
  }
  const gk = groupKey(spec.region, application, spec.name);
  if (state.groups.has(gk)) throw new Error(`deployment group '${spec.name}' of '${application}' in '${spec.region}' would be created twice; check unit ids and stage names`);
  state.groups.set(gk, group);
  let apps = state.applications.get(spec.region);
  if (!apps) state.applications.set(spec.region, (apps = new Set()));
  apps.add(application);
  // The baseline's bundle, copied to the region's artifact bucket as handsoff copies a change's.
  const baselineBucket = state.regionBucket(spec.region);
  state.artifacts.declare(baselineBucket);
  const baseline0 = {
    bucket: baselineBucket,
    object: state.artifacts.get(baselineBucket, key) ?? state.artifacts.upload(baselineBucket, key, { [CopyMetadata.SHA256]: bundleOf(key).sha256 }),
  };
  // The baseline: a succeeded deployment of `initial`, so lastSuccessfulDeployment and rollback work from the start.
  const baseline: Deployment = {
    id: nextDeploymentId(state),
    group,
    configName: DeploymentConfig.ONE_AT_A_TIME,
    revision: {
      revisionType: 'S3',
      s3Location: { bucket: baseline0.bucket, key, bundleType: 'zip', version: baseline0.object.versionId, eTag: baseline0.object.eTag },
    },
    description: 'baseline of the simulated world',
    status: 'Succeeded',
    createTime: now,
    startTime: now,
    completeTime: now,
    next: group.hosts.length,
    batch: [],
    succeeded: group.hosts.length,
    failed: 0,
    stopRequested: false,
  };
  state.deployments.set(baseline.id, baseline);
  group.lastSuccessful = baseline;
  group.lastAttempted = baseline;
  return group;
};

const buildProductionFleet = (state: WorldState, pipeline: ResolvedPipeline, wave: string, region: string, units: readonly string[], now: number): void => {
  const info = state.catalog.get(region)!;
  const common = { region, stage: wave, preProd: false, location: region };
  // A pipeline without one-box (`oneBox: false`) has no one-box group: its units take all the traffic.
  const oneBox =
    pipeline.oneBox === false
      ? undefined
      : buildGroup(state, pipeline, { ...common, name: oneBoxGroupName(pipeline.name), target: 'onebox', scope: 'onebox', hosts: 1, defaultConfig: DeploymentConfig.ONE_AT_A_TIME }, now);
  const unitGroups = units.map((unit) =>
    buildGroup(
      state,
      pipeline,
      { ...common, name: unitGroupName(pipeline.name, unit), target: 'fleet', unit, scope: unit, hosts: pipeline.hostsPerUnit, defaultConfig: rollingConfig(pipeline.rolling).name },
      now,
    ),
  );
  const fleet: Fleet = {
    pipeline,
    region,
    peakRequestsPerMinute: BASE_REQUESTS_PER_MINUTE * info.traffic,
    clock: clockOf(state, region),
    noiseKey: keyOf(`${pipeline.name}/${region}`),
    ...(oneBox ? { oneBox } : {}),
    units: unitGroups,
    fleetSeries: seriesOf(state, fleetService(pipeline), region, 'fleet'),
    expected: 0,
    expectedMinute: -1,
  };
  state.fleets.push(fleet);
};

const buildPreProdFleet = (state: WorldState, pipeline: ResolvedPipeline, stage: string, now: number): void => {
  const region = pipeline.preProdRegion;
  // Gamma deploys one-box first (core/naming.ts hasGammaOneBox): one host of its own scope.
  const oneBox = stage === GAMMA_STAGE && hasGammaOneBox(pipeline)
    ? buildGroup(
        state,
        pipeline,
        {
          name: gammaOneBoxGroupName(pipeline.name),
          region,
          target: 'onebox',
          stage,
          preProd: true,
          location: `${stage}:${region}`,
          scope: GAMMA_ONE_BOX_SCOPE,
          hosts: 1,
          defaultConfig: DeploymentConfig.ONE_AT_A_TIME,
        },
        now,
      )
    : undefined;
  const group = buildGroup(
    state,
    pipeline,
    {
      name: preProdGroupName(pipeline.name, stage),
      region,
      target: 'fleet',
      stage,
      preProd: true,
      location: `${stage}:${region}`,
      scope: stage,
      hosts: pipeline.hostsPerUnit,
      defaultConfig: rollingConfig(pipeline.rolling).name,
    },
    now,
  );
  state.fleets.push({
    pipeline,
    region,
    peakRequestsPerMinute: PRE_PROD_REQUESTS_PER_MINUTE,
    noiseKey: keyOf(`${pipeline.name}/${stage}:${region}`),
    ...(oneBox ? { oneBox } : {}),
    units: [group],
    expected: 0,
    expectedMinute: -1,
  });
};
