/**
 * The simulated AWS world the local simulator hands to the real handlers in place of
 * CodeDeploy and CloudWatch: fleets of boxes per region and unit running revisions,
 * traffic with a daily pattern, per-minute metrics, alarms evaluated like CloudWatch,
 * deployments in batches with health checks, and the events AWS would emit.
 *
 * Time is the global clock only (Date.now, setTimeout), so a fake clock drives it; the
 * world keeps one minute tick plus one timer per running deployment.
 */
import type { RegionInfo, ResolvedPipeline } from '../../core/model.ts';
import {
  anomalyAlarmName,
  AnomalyMetric,
  applicationName,
  artifactKey,
  companyEventAlarmName,
  DeploymentConfig,
  oneBoxAlarmName,
  oneBoxGroupName,
  preProdGroupName,
  serviceAlarmName,
  StandardAlarm,
  teamAggregateAlarmName,
  unitAnomalyAlarmName,
  unitGroupName,
} from '../../core/naming.ts';
import { rollingConfig } from '../../core/rollout.ts';
import { EventType, type HandsoffEvent } from '../../core/events.ts';
import type { AlarmStateChangeDetail, CodeDeployStateChangeDetail } from '../../core/contracts.ts';
import {
  type AlarmScope,
  type AlarmState,
  type AnyAlarm,
  anomalyRule,
  CompanyEventAlarm,
  MetricAlarm,
  standardRule,
  TeamAggregateAlarm,
  unitAnomalyRule,
} from './alarms.ts';
import { MINUTE_MS, MinuteSeries, DEFAULT_RETENTION_MINUTES, type MinuteDatapoint } from './metrics.ts';
import type { Behavior, Deployment, DeploymentGroup, DeploymentStatus, Fleet, Host, HostMinute, S3Revision } from './model.ts';
import { keyOf, noise, stochasticRound } from './random.ts';
import {
  BASE_REQUESTS_PER_MINUTE,
  dailyFactor,
  LocalClock,
  PRE_PROD_REQUESTS_PER_MINUTE,
  TRAFFIC_NOISE,
} from './traffic.ts';
import { codeDeployApi } from './codedeploy-api.ts';
import { batchSize } from './deployment-config.ts';
import { cloudWatchApi } from './cloudwatch-api.ts';

export interface WorldOptions {
  /** Each pipeline's production regions come from its waves; its pre-production stages live in `preProdRegion`. */
  pipelines: ResolvedPipeline[];
  /** The region catalog: traffic weight and time zone per region. */
  regions: RegionInfo[];
  /** Everything the world tells the outside, delivered synchronously (often from a timer). */
  emit: (e: WorldEmission) => void;
  /** Seed of the traffic and fault noise. @default 1 */
  seed?: number;
  /** Bucket of the baseline revision `initial`. @default 'handsoff-artifacts' */
  artifactBucket?: string;
  /** Minutes of metric history kept per series. @default 3 days */
  retentionMinutes?: number;
}

export type WorldEmission =
  | { kind: 'codedeploy'; detail: CodeDeployStateChangeDetail }
  | { kind: 'alarm'; region: string; detail: AlarmStateChangeDetail }
  | { kind: 'stream'; event: HandsoffEvent };

export type { Behavior } from './model.ts';

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
/** The one-box host never takes more than this share of its region's traffic. */
export const ONE_BOX_MAX_SHARE = 0.1;
/** Time CodeDeploy takes from CreateDeployment to the first batch. */
export const DEPLOYMENT_START_DELAY_MS = 1_000;
/** Install + ValidateService of one host. */
export const HOST_INSTALL_MS = 2 * MINUTE_MS;
/** A crashed host stays in the load balancer this long (until its health checks fail), failing what it gets. */
export const CRASH_DRAIN_MS = MINUTE_MS;

const MODE_OUT = 0;
const MODE_SERVE = 1;
/** In the load balancer but failing everything routed to it (crashed, or dropping traffic). */
const MODE_BLACKHOLE = 2;

const codeDeployState: Partial<Record<DeploymentStatus, string>> = {
  InProgress: 'START',
  Succeeded: 'SUCCESS',
  Failed: 'FAILURE',
  Stopped: 'STOP',
};

const groupKey = (region: string, application: string, group: string): string => `${region}\u0000${application}\u0000${group}`;
const seriesKey = (service: string, region: string, scope: string): string => `${service}\u0000${region}\u0000${scope}`;

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

export class World {
  private readonly seed: number;
  private readonly emitFn: (e: WorldEmission) => void;
  private readonly artifactBucket: string;
  private readonly retention: number;
  private readonly catalog = new Map<string, RegionInfo>();
  private readonly clocks = new Map<string, LocalClock>();
  private readonly fleets: Fleet[] = [];
  /** @internal for the API adapters */
  readonly groups = new Map<string, DeploymentGroup>();
  /** @internal region -> application names */
  readonly applications = new Map<string, Set<string>>();
  /** @internal */
  readonly deployments = new Map<string, Deployment>();
  /** @internal */
  readonly series = new Map<string, MinuteSeries>();
  private readonly metricAlarms: MetricAlarm[] = [];
  private readonly teamAlarms = new Map<string, TeamAggregateAlarm>();
  private readonly companyAlarms: CompanyEventAlarm[] = [];
  /** @internal region -> alarms sorted by name (DescribeAlarms order) */
  readonly alarmsByRegion = new Map<string, AnyAlarm[]>();
  private readonly behaviors = new Map<string, Behavior>();
  private readonly failed = new Map<string, number>();
  private readonly cdClients = new Map<string, { send(command: unknown): Promise<unknown> }>();
  private readonly cwClients = new Map<string, { send(command: unknown): Promise<unknown> }>();
  private dropFilters: DropFilter[] = [];
  private droppedCount = 0;
  private deploymentCounter = 0;
  private hostCounter = 0;
  private running = 0;
  private tickTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: WorldOptions) {
    this.seed = opts.seed ?? 1;
    this.emitFn = opts.emit;
    this.artifactBucket = opts.artifactBucket ?? 'handsoff-artifacts';
    this.retention = opts.retentionMinutes ?? DEFAULT_RETENTION_MINUTES;
    for (const r of opts.regions) this.catalog.set(r.code, r);
    this.validate(opts);
    const now = Date.now();
    const allRegions = new Set<string>(opts.regions.map((r) => r.code));
    for (const pipeline of opts.pipelines) {
      for (const wave of pipeline.waves) {
        for (const region of wave.regions) {
          this.buildProductionFleet(pipeline, wave.name, region.region, region.units, now);
          allRegions.add(region.region);
        }
      }
      for (const stage of pipeline.preProd) this.buildPreProdFleet(pipeline, stage, now);
      if (pipeline.preProd.length > 0) allRegions.add(pipeline.preProdRegion);
    }
    // Every team has an aggregate and every region a company-event alarm, so that gates
    // find them wherever a pipeline deploys.
    const teams = [...new Set(opts.pipelines.map((p) => p.team))];
    for (const region of allRegions) {
      for (const team of teams) this.teamAlarm(team, region, now);
      const company = new CompanyEventAlarm(companyEventAlarmName(region), region, {}, now);
      this.companyAlarms.push(company);
      this.addAlarm(company);
    }
    for (const list of this.alarmsByRegion.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---------------------------------------------------------------- public API

  /** Starts the minute tick (metrics and alarm evaluation), aligned to whole minutes. */
  start(): void {
    if (this.tickTimer !== undefined) return;
    this.scheduleTick();
  }

  /** Clears every timer the world holds; running deployments freeze where they are. */
  stop(): void {
    if (this.tickTimer !== undefined) clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    for (const d of this.deployments.values()) {
      if (d.timer !== undefined) clearTimeout(d.timer);
      d.timer = undefined;
    }
  }

  /** What boxes running `revision` of `pipeline` do from now on. */
  setBehavior(pipeline: string, revision: string, behavior: Behavior): void {
    this.behaviors.set(artifactKey(pipeline, revision), behavior);
  }

  /** Company-wide event alarm in one region, or in every region when none is named. */
  setCompanyEvent(state: AlarmState, region?: string): void {
    const now = Date.now();
    for (const alarm of this.companyAlarms.filter((a) => region === undefined || a.region === region)) {
      this.transition(alarm, state, `Company-wide event state set to ${state} by the scenario.`, now);
    }
  }

  /** Forces a team aggregate's state; `undefined` returns it to its computed state. */
  forceTeamAlarm(team: string, region: string, state: AlarmState | undefined): void {
    const alarm = this.teamAlarms.get(`${team}\u0000${region}`);
    if (!alarm) {
      const known = [...new Set([...this.teamAlarms.values()].map((a) => a.scope.team))].join(', ');
      throw new Error(`no team aggregate alarm for team '${team}' in region '${region}'; teams: ${known}; regions are the catalog's and the pipelines'`);
    }
    alarm.forced = state;
    const next = alarm.computed();
    if (next !== alarm.state) this.transition(alarm, next, alarm.reasonFor(next), Date.now());
  }

  /** Drop-in for a CodeDeployClient of `region`. */
  codeDeploy(region: string): { send(command: unknown): Promise<unknown> } {
    let client = this.cdClients.get(region);
    if (!client) {
      client = codeDeployApi(this, region);
      this.cdClients.set(region, client);
    }
    return client;
  }

  /** Drop-in for a CloudWatchClient of `region`. */
  cloudWatch(region: string): { send(command: unknown): Promise<unknown> } {
    let client = this.cwClients.get(region);
    if (!client) {
      client = cloudWatchApi(this, region);
      this.cwClients.set(region, client);
    }
    return client;
  }

  /**
   * Requests that failed because boxes ran that revision: faults above the baseline caused
   * by its behavior, plus requests the load balancer routed to its crashed or
   * traffic-dropping boxes. Latency hurts but fails nothing.
   */
  failedRequests(pipeline: string, revision: string): number {
    return this.failed.get(artifactKey(pipeline, revision)) ?? 0;
  }

  /** Deployments Created or InProgress (for idle detection). */
  activeDeployments(): number {
    return this.running;
  }

  /**
   * Lose events: until `untilMs`, the world silently does not deliver its `{kind: 'alarm'}`
   * (or `{kind: 'codedeploy'}`) emissions, as when EventBridge forwarding fails. The state
   * changes still happen (DescribeAlarms, GetDeployment see them) and their `world.*`
   * stream events still appear, marked `dropped: true`: they are ground truth. Filters add
   * up; one past its time is forgotten.
   */
  dropEvents(filter: DropFilter): void {
    if (filter.kind !== 'alarm' && filter.kind !== 'codedeploy') {
      throw new Error(`dropEvents: kind must be 'alarm' or 'codedeploy', got '${String(filter.kind)}'`);
    }
    if (!Number.isFinite(filter.untilMs)) throw new Error('dropEvents: untilMs must be a finite epoch time in milliseconds');
    this.dropFilters.push({ ...filter });
  }

  /** How many `alarm` / `codedeploy` emissions `dropEvents` has suppressed so far. */
  droppedEvents(): number {
    return this.droppedCount;
  }

  /**
   * Deletes an alarm (a fault of the scenario): DescribeAlarms no longer returns it and it
   * no longer changes state. False when the region holds no alarm of that name.
   */
  deleteAlarm(region: string, name: string): boolean {
    const list = this.alarmsByRegion.get(region);
    const index = list?.findIndex((a) => a.name === name) ?? -1;
    if (!list || index < 0) return false;
    const [alarm] = list.splice(index, 1);
    this.metricAlarms.splice(0, this.metricAlarms.length, ...this.metricAlarms.filter((a) => a !== alarm));
    this.companyAlarms.splice(0, this.companyAlarms.length, ...this.companyAlarms.filter((a) => a !== alarm));
    for (const [key, a] of this.teamAlarms) if (a === alarm) this.teamAlarms.delete(key);
    return true;
  }

  /** Boxes of `pipeline` that run `revision` now (installing or serving). */
  boxesRunning(pipeline: string, revision: string): number {
    const key = artifactKey(pipeline, revision);
    let count = 0;
    for (const group of this.groups.values()) {
      if (group.pipeline.name === pipeline) for (const host of group.hosts) if (host.revision === key) count++;
    }
    return count;
  }

  /** Whether an alarm of that name has ever been in ALARM. */
  hasAlarmed(name: string): boolean {
    for (const list of this.alarmsByRegion.values()) {
      for (const alarm of list) if (alarm.name === name && alarm.everAlarmed) return true;
    }
    return false;
  }

  /** Current state of an alarm, or undefined when the world holds no such alarm there. */
  alarmState(region: string, name: string): AlarmState | undefined {
    return this.alarmsByRegion.get(region)?.find((a) => a.name === name)?.state;
  }

  /** The hosts of a deployment group, for tests and the simulator's timeline. */
  groupHosts(region: string, group: string): HostSnapshot[] {
    const found = [...this.groups.values()].find((g) => g.region === region && g.name === group);
    if (!found) throw new Error(`no deployment group '${group}' in region '${region}'`);
    const now = Date.now();
    return found.hosts.map((h) => {
      const { minute, ...metrics } = h.last;
      metrics.latencyP50 = (metrics.latencyP99 * BASELINE_LATENCY_P50_MS) / BASELINE_LATENCY_P99_MS;
      metrics.latencyP90 = (metrics.latencyP99 * BASELINE_LATENCY_P90_MS) / BASELINE_LATENCY_P99_MS;
      return {
        id: h.id,
        revision: h.revision,
        installing: h.installing,
        healthy: h.installing || !this.crashes(h, now),
        installedAt: new Date(h.installedAt).toISOString(),
        ...(minute >= 0 ? { lastMinute: { time: new Date(minute * MINUTE_MS).toISOString(), ...metrics } } : {}),
      };
    });
  }

  private crashes(host: Host, now: number): boolean {
    this.classify(host, now);
    return host.unhealthy;
  }

  // ---------------------------------------------------------------- construction

  private validate(opts: WorldOptions): void {
    const problems: string[] = [];
    const names = new Set<string>();
    const services = new Map<string, string>();
    const known = opts.regions.map((r) => r.code).join(', ');
    for (const p of opts.pipelines) {
      if (names.has(p.name)) problems.push(`pipeline '${p.name}' is given twice; pipeline names must be unique`);
      names.add(p.name);
      const other = services.get(p.service);
      if (other) problems.push(`pipelines '${other}' and '${p.name}' both declare service '${p.service}'; metrics are per service, give each its own`);
      services.set(p.service, p.name);
      for (const wave of p.waves) {
        for (const r of wave.regions) {
          if (!this.catalog.has(r.region)) {
            problems.push(`pipeline '${p.name}' ${wave.name} lists region '${r.region}', which is not in the region catalog; known: ${known}`);
          }
        }
      }
      if (p.hostsPerUnit < 1) problems.push(`pipeline '${p.name}' has hostsPerUnit ${p.hostsPerUnit}; it needs at least 1`);
    }
    if (problems.length > 0) throw new Error(`the simulated world cannot be built:\n- ${problems.join('\n- ')}`);
  }

  private clockOf(region: string): LocalClock {
    let clock = this.clocks.get(region);
    if (!clock) {
      clock = new LocalClock(this.catalog.get(region)!.timeZone);
      this.clocks.set(region, clock);
    }
    return clock;
  }

  private seriesOf(service: string, region: string, scope: string): MinuteSeries {
    const key = seriesKey(service, region, scope);
    let s = this.series.get(key);
    if (!s) {
      s = new MinuteSeries(service, region, scope, this.retention);
      this.series.set(key, s);
    }
    return s;
  }

  private buildGroup(
    pipeline: ResolvedPipeline,
    spec: {
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
    },
    now: number,
  ): DeploymentGroup {
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
      series: this.seriesOf(pipeline.service, spec.region, spec.scope),
    };
    const key = artifactKey(pipeline.name, BASELINE_REVISION);
    for (let i = 0; i < spec.hosts; i++) {
      const index = this.hostCounter++;
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
        memoryOffset: 8 * (noise(this.seed ^ 0x6c8e9cf5, index, 0) - 0.5),
        diskOffset: 10 * (noise(this.seed ^ 0x3c6ef372, index, 0) - 0.5),
        last: { minute: -1, requests: 0, faults: 0, logErrors: 0, latencyP50: Number.NaN, latencyP90: Number.NaN, latencyP99: Number.NaN, cpu: Number.NaN, memory: Number.NaN, disk: Number.NaN },
      });
    }
    const gk = groupKey(spec.region, application, spec.name);
    if (this.groups.has(gk)) throw new Error(`deployment group '${spec.name}' of '${application}' in '${spec.region}' would be created twice; check unit ids and stage names`);
    this.groups.set(gk, group);
    let apps = this.applications.get(spec.region);
    if (!apps) this.applications.set(spec.region, (apps = new Set()));
    apps.add(application);
    // The baseline: a succeeded deployment of `initial`, so lastSuccessfulDeployment and rollback work from the start.
    const baseline: Deployment = {
      id: this.nextDeploymentId(),
      group,
      configName: DeploymentConfig.ONE_AT_A_TIME,
      revision: { revisionType: 'S3', s3Location: { bucket: this.artifactBucket, key, bundleType: 'zip' } },
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
    this.deployments.set(baseline.id, baseline);
    group.lastSuccessful = baseline;
    group.lastAttempted = baseline;
    return group;
  }

  private buildProductionFleet(pipeline: ResolvedPipeline, wave: string, region: string, units: readonly string[], now: number): void {
    const info = this.catalog.get(region)!;
    const common = { region, stage: wave, preProd: false, location: region };
    // A pipeline without one-box (`oneBox: false`) has no one-box group: its units take all the traffic.
    const oneBox =
      pipeline.oneBox === false
        ? undefined
        : this.buildGroup(
            pipeline,
            { ...common, name: oneBoxGroupName(pipeline.name), target: 'onebox', scope: 'onebox', hosts: 1, defaultConfig: DeploymentConfig.ONE_AT_A_TIME },
            now,
          );
    const unitGroups = units.map((unit) =>
      this.buildGroup(
        pipeline,
        { ...common, name: unitGroupName(pipeline.name, unit), target: 'fleet', unit, scope: unit, hosts: pipeline.hostsPerUnit, defaultConfig: rollingConfig(pipeline.rolling).name },
        now,
      ),
    );
    const fleetSeries = this.seriesOf(pipeline.service, region, 'fleet');
    const fleet: Fleet = {
      pipeline,
      region,
      peakRequestsPerMinute: BASE_REQUESTS_PER_MINUTE * info.traffic,
      clock: this.clockOf(region),
      noiseKey: keyOf(`${pipeline.name}/${region}`),
      ...(oneBox ? { oneBox } : {}),
      units: unitGroups,
      fleetSeries,
      expected: 0,
      expectedMinute: -1,
    };
    this.fleets.push(fleet);
    const team = this.teamAlarm(pipeline.team, region, now);
    const fleetScope = { pipeline: pipeline.name, stage: wave, target: 'fleet' as const };
    const oneBoxScope = { pipeline: pipeline.name, stage: wave, target: 'onebox' as const };
    for (const kind of Object.values(StandardAlarm)) {
      const fleetAlarm = new MetricAlarm(serviceAlarmName(pipeline.name, region, kind), region, fleetScope, now, standardRule(kind, fleetSeries));
      this.addMetricAlarm(fleetAlarm);
      team.members.push(fleetAlarm);
      if (oneBox) {
        this.addMetricAlarm(new MetricAlarm(oneBoxAlarmName(pipeline.name, region, kind), region, oneBoxScope, now, standardRule(kind, oneBox.series)));
      }
    }
    // Anomaly alarms: the one box against its fleet; the fleet against its daily season.
    if (oneBox) {
      for (const metric of Object.values(AnomalyMetric)) {
        const rule = anomalyRule(metric, 'onebox', { oneBox: oneBox.series, fleet: fleetSeries });
        this.addMetricAlarm(new MetricAlarm(anomalyAlarmName(pipeline.name, region, 'onebox', metric), region, oneBoxScope, now, rule));
      }
    }
    const expected = (minute: number) => this.expectedRequests(fleet, minute);
    const fleetAnomaly = new MetricAlarm(
      anomalyAlarmName(pipeline.name, region, 'fleet', AnomalyMetric.REQUESTS),
      region,
      fleetScope,
      now,
      anomalyRule(AnomalyMetric.REQUESTS, 'fleet', { fleet: fleetSeries }, expected),
    );
    // Not part of the team aggregate, as in the CDK target stack: a seasonal band is noisier
    // than a fixed threshold, and the aggregate blocks the whole team. The state machines
    // watch it in every region step and wave bake instead.
    this.addMetricAlarm(fleetAnomaly);
    // Each unit against its region: a unit whose boxes stopped serving costs the region only
    // a third of its requests, above the band. Neither in the team aggregate nor in a
    // deployment group, as in the CDK target stack; the region steps watch them.
    for (const group of unitGroups) {
      const unit = group.unit!;
      this.addMetricAlarm(
        new MetricAlarm(unitAnomalyAlarmName(pipeline.name, region, unit), region, { ...fleetScope, unit }, now, unitAnomalyRule(group.series, fleetSeries)),
      );
    }
  }

  /** The traffic model's expected requests of a fleet in a minute: the centre of the anomaly band (CloudWatch learns the season). */
  private expectedRequests(fleet: Fleet, minute: number): number {
    if (fleet.expectedMinute !== minute) {
      fleet.expectedMinute = minute;
      fleet.expected = fleet.peakRequestsPerMinute * (fleet.clock ? dailyFactor(fleet.clock.hourAt((minute + 0.5) * MINUTE_MS)) : 1);
    }
    return fleet.expected;
  }

  private buildPreProdFleet(pipeline: ResolvedPipeline, stage: string, now: number): void {
    const region = pipeline.preProdRegion;
    const group = this.buildGroup(
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
    this.fleets.push({
      pipeline,
      region,
      peakRequestsPerMinute: PRE_PROD_REQUESTS_PER_MINUTE,
      noiseKey: keyOf(`${pipeline.name}/${stage}:${region}`),
      units: [group],
      expected: 0,
      expectedMinute: -1,
    });
    for (const kind of Object.values(StandardAlarm)) {
      this.addMetricAlarm(new MetricAlarm(serviceAlarmName(pipeline.name, stage, kind), region, { pipeline: pipeline.name, stage }, now, standardRule(kind, group.series)));
    }
  }

  private teamAlarm(team: string, region: string, now: number): TeamAggregateAlarm {
    const key = `${team}\u0000${region}`;
    let alarm = this.teamAlarms.get(key);
    if (!alarm) {
      alarm = new TeamAggregateAlarm(teamAggregateAlarmName(team, region), region, { team }, now);
      this.teamAlarms.set(key, alarm);
      this.addAlarm(alarm);
    }
    return alarm;
  }

  private addMetricAlarm(alarm: MetricAlarm): void {
    this.metricAlarms.push(alarm);
    this.addAlarm(alarm);
  }

  private addAlarm(alarm: AnyAlarm): void {
    let list = this.alarmsByRegion.get(alarm.region);
    if (!list) this.alarmsByRegion.set(alarm.region, (list = []));
    if (list.some((a) => a.name === alarm.name)) {
      throw new Error(`alarm '${alarm.name}' would exist twice in ${alarm.region}; alarm names must be unique per region`);
    }
    list.push(alarm);
  }

  // ---------------------------------------------------------------- the minute tick

  private scheduleTick(): void {
    const now = Date.now();
    const next = (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS;
    this.tickTimer = setTimeout(this.tick, next - now);
  }

  private readonly tick = (): void => {
    const now = Date.now();
    // The tick at a minute boundary records the minute that just ended.
    const minute = Math.floor(now / MINUTE_MS) - 1;
    for (const fleet of this.fleets) this.serveMinute(fleet, minute, now);
    for (const alarm of this.metricAlarms) {
      const state = alarm.evaluate(minute);
      if (state !== alarm.state) this.transition(alarm, state, alarm.reasonFor(state), now);
    }
    for (const alarm of this.teamAlarms.values()) {
      const state = alarm.computed();
      if (state !== alarm.state) this.transition(alarm, state, alarm.reasonFor(state), now);
    }
    this.scheduleTick();
  };

  /** Sets a host's scratch fields (mode, fault rate, latency, health) for the minute ending `now`. */
  private classify(host: Host, now: number): void {
    host.faultRate = 0;
    host.latencyScale = 1;
    host.unhealthy = false;
    if (host.installing) {
      host.mode = MODE_OUT;
      return;
    }
    host.mode = MODE_SERVE;
    const behavior = this.behaviors.get(host.revision);
    if (!behavior || behavior.kind === 'healthy' || !appliesTo(behavior, host.group)) return;
    const age = now - host.installedAt;
    switch (behavior.kind) {
      case 'crash':
        host.unhealthy = true;
        host.mode = age <= CRASH_DRAIN_MS ? MODE_BLACKHOLE : MODE_OUT;
        break;
      case 'traffic-drop':
        if (age >= (behavior.afterSeconds ?? 0) * 1000) host.mode = MODE_BLACKHOLE;
        break;
      case 'faults':
        if (age >= (behavior.afterSeconds ?? 0) * 1000) host.faultRate = Math.min(1, Math.max(0, behavior.rate));
        break;
      case 'latency':
        if (age >= (behavior.afterSeconds ?? 0) * 1000) host.latencyScale = Math.max(0, behavior.p99Ms) / BASELINE_LATENCY_P99_MS;
        break;
    }
  }

  /** Routes one minute of the fleet's traffic to its hosts and records the scopes' datapoints. */
  private serveMinute(fleet: Fleet, minute: number, now: number): void {
    const total = this.expectedRequests(fleet, minute) * (1 + TRAFFIC_NOISE * (2 * noise(this.seed, fleet.noiseKey, minute) - 1));

    let oneBoxRoutable = false;
    if (fleet.oneBox) {
      const host = fleet.oneBox.hosts[0]!;
      this.classify(host, now);
      oneBoxRoutable = host.mode !== MODE_OUT;
    }
    let unitRoutable = 0;
    for (const group of fleet.units) {
      for (const host of group.hosts) {
        this.classify(host, now);
        if (host.mode !== MODE_OUT) unitRoutable++;
      }
    }
    // The one box gets its share like any host, capped so it never sees more than 10%.
    const oneBoxShare = oneBoxRoutable ? (unitRoutable === 0 ? 1 : Math.min(1 / (unitRoutable + 1), ONE_BOX_MAX_SHARE)) : 0;
    const unitShare = unitRoutable > 0 ? (1 - oneBoxShare) / unitRoutable : 0;

    const acc = this.acc;
    resetAcc(acc);
    const minuteStart = minute * MINUTE_MS;
    if (fleet.oneBox) this.serveGroup(fleet.oneBox, oneBoxShare, total, minute, minuteStart);
    for (const group of fleet.units) this.serveGroup(group, unitShare, total, minute, minuteStart);
    if (fleet.fleetSeries) fleet.fleetSeries.record(minute, this.datapointOf(acc));
  }

  /** Region-wide sums of the fleet being served (reused: the tick allocates nothing per host). */
  private readonly acc: Acc = newAcc();
  private readonly groupAcc: Acc = newAcc();
  private readonly scratch: MinuteDatapoint = {
    requests: 0, faults: 0, logErrors: 0, latencyP50: 0, latencyP90: 0, latencyP99: 0,
    cpu: 0, memory: 0, disk: 0, unhealthyHosts: 0, inServiceHosts: 0, installingHosts: 0,
  };

  /** A scope's datapoint from its sums: latency = request-weighted mean of the hosts' percentiles (see README). */
  private datapointOf(a: Acc): MinuteDatapoint {
    const d = this.scratch;
    d.requests = a.requests;
    d.faults = a.faults;
    d.logErrors = a.logErrors;
    d.latencyP50 = a.requests > 0 ? a.p50 / a.requests : Number.NaN;
    d.latencyP90 = a.requests > 0 ? a.p90 / a.requests : Number.NaN;
    d.latencyP99 = a.requests > 0 ? a.p99 / a.requests : Number.NaN;
    d.cpu = a.reporting > 0 ? a.cpu / a.reporting : Number.NaN;
    d.memory = a.reporting > 0 ? a.memory / a.reporting : Number.NaN;
    d.disk = a.reporting > 0 ? a.disk / a.reporting : Number.NaN;
    d.unhealthyHosts = a.unhealthy;
    d.inServiceHosts = a.inService;
    d.installingHosts = a.installing;
    return d;
  }

  private serveGroup(group: DeploymentGroup, share: number, total: number, minute: number, minuteStart: number): void {
    const seed = this.seed;
    const perHost = total * share;
    // Sums in locals (registers), written out once per group.
    let requests = 0;
    let faultSum = 0;
    let logErrorSum = 0;
    let p99Sum = 0;
    let cpuSum = 0;
    let memorySum = 0;
    let diskSum = 0;
    let reporting = 0;
    let unhealthy = 0;
    let inService = 0;
    let installing = 0;
    for (const host of group.hosts) {
      if (host.unhealthy) unhealthy++;
      // Out of the load balancer for an install at any moment of the minute.
      if (host.installing || host.installEndedAt > minuteStart) installing++;
      if (host.mode === MODE_OUT) continue;
      inService++;
      const u = noise(seed, host.index, minute);
      const routed = stochasticRound(perHost, u);
      // One more hash per host and minute, sliced: latency noise (high bits), CPU and memory noise (lower bits).
      const v = noise(seed ^ 0x2545f491, host.index, minute);
      let served = 0;
      let faults = 0;
      let p99 = Number.NaN;
      if (host.mode === MODE_BLACKHOLE) {
        this.addFailed(host.revision, routed);
      } else {
        served = routed;
        const extra = host.faultRate > 0 ? Math.min(routed, stochasticRound(routed * host.faultRate, (u * 64) % 1)) : 0;
        if (extra > 0) this.addFailed(host.revision, extra);
        // Baseline faults (and log errors) as their expected value: rounding 0.03 faults up to
        // 1 on a thin one box would make healthy boxes trip the 1% alarm by chance.
        faults = (routed - extra) * BASELINE_FAULT_RATE + extra;
        p99 = BASELINE_LATENCY_P99_MS * (host.latencyScale === 1 ? 0.9 + 0.2 * v : host.latencyScale);
        p99Sum += p99 * served;
      }
      const logErrors = faults + served * BASELINE_LOG_ERROR_RATE;
      // Hosts in the load balancer report utilization; CPU follows the work done, mildly.
      const v2 = v * 4096;
      const v3 = v * 16_777_216;
      const cpu = BASELINE_CPU_IDLE_PERCENT + (BASELINE_CPU_LOAD_PERCENT * served) / (served + CPU_HALF_LOAD_REQUESTS) + 4 * (v2 - Math.floor(v2) - 0.5);
      const memory = BASELINE_MEMORY_PERCENT + host.memoryOffset + 2 * (v3 - Math.floor(v3) - 0.5);
      const disk = BASELINE_DISK_PERCENT + host.diskOffset;
      const last = host.last;
      last.minute = minute;
      last.requests = served;
      last.faults = faults;
      last.logErrors = logErrors;
      last.latencyP99 = p99;
      last.cpu = cpu;
      last.memory = memory;
      last.disk = disk;
      requests += served;
      faultSum += faults;
      logErrorSum += logErrors;
      cpuSum += cpu;
      memorySum += memory;
      diskSum += disk;
      reporting++;
    }
    const g = this.groupAcc;
    g.requests = requests;
    g.faults = faultSum;
    g.logErrors = logErrorSum;
    // Every percentile scales with the host's p99 (baseline 40/80/120 ms; a latency behavior scales all three).
    g.p99 = p99Sum;
    g.p90 = (p99Sum * BASELINE_LATENCY_P90_MS) / BASELINE_LATENCY_P99_MS;
    g.p50 = (p99Sum * BASELINE_LATENCY_P50_MS) / BASELINE_LATENCY_P99_MS;
    g.cpu = cpuSum;
    g.memory = memorySum;
    g.disk = diskSum;
    g.reporting = reporting;
    g.unhealthy = unhealthy;
    g.inService = inService;
    g.installing = installing;
    group.series.record(minute, this.datapointOf(g));
    addAcc(this.acc, g);
  }

  /** Whether an emission of that kind and region is to be lost now (see dropEvents). */
  private drops(kind: DropFilter['kind'], region: string, now: number): boolean {
    if (this.dropFilters.length === 0) return false;
    this.dropFilters = this.dropFilters.filter((f) => f.untilMs > now);
    const hit = this.dropFilters.some((f) => f.kind === kind && (f.region === undefined || f.region === region));
    if (hit) this.droppedCount++;
    return hit;
  }

  private addFailed(revision: string, count: number): void {
    if (count > 0) this.failed.set(revision, (this.failed.get(revision) ?? 0) + count);
  }

  private transition(alarm: AnyAlarm, state: AlarmState, reason: string, now: number): void {
    if (alarm.state === state) return;
    const previous = alarm.state;
    alarm.state = state;
    alarm.reason = reason;
    alarm.updatedAt = now;
    if (state === 'ALARM') alarm.everAlarmed = true;
    const time = new Date(now).toISOString();
    const dropped = this.drops('alarm', alarm.region, now);
    if (!dropped) {
      this.emitFn({
        kind: 'alarm',
        region: alarm.region,
        detail: { alarmName: alarm.name, state: { value: state, reason, timestamp: time }, previousState: { value: previous } },
      });
    }
    const event = alarmEvent(alarm.scope, { time, alarm: alarm.name, region: alarm.region, state, previousState: previous });
    this.emitFn({ kind: 'stream', event: dropped ? { ...event, dropped: true } : event });
  }

  // ---------------------------------------------------------------- deployments (used by the CodeDeploy adapter)

  /** @internal */
  nextDeploymentId(): string {
    return `d-${(++this.deploymentCounter).toString(36).toUpperCase().padStart(9, '0')}`;
  }

  /** @internal Registers a Created deployment and schedules its start. */
  createDeployment(group: DeploymentGroup, configName: string, revision: S3Revision, description: string | undefined): Deployment {
    const now = Date.now();
    const deployment: Deployment = {
      id: this.nextDeploymentId(),
      group,
      configName,
      revision,
      ...(group.lastSuccessful ? { previousRevision: group.lastSuccessful.revision } : {}),
      ...(description !== undefined ? { description } : {}),
      status: 'Created',
      createTime: now,
      next: 0,
      batch: [],
      succeeded: 0,
      failed: 0,
      stopRequested: false,
    };
    this.deployments.set(deployment.id, deployment);
    group.active = deployment;
    group.lastAttempted = deployment;
    this.running++;
    this.announce(deployment);
    deployment.timer = setTimeout(() => this.begin(deployment), DEPLOYMENT_START_DELAY_MS);
    return deployment;
  }

  /** @internal StopDeployment: now if no batch is installing, else when the batch in flight finishes. */
  stopDeployment(deployment: Deployment): void {
    if (deployment.status === 'Created') {
      if (deployment.timer !== undefined) clearTimeout(deployment.timer);
      this.finish(deployment, 'Stopped', { code: 'DEPLOYMENT_STOPPED', message: 'The deployment was stopped by a user request.' });
      return;
    }
    deployment.stopRequested = true;
  }

  private begin(deployment: Deployment): void {
    deployment.timer = undefined;
    deployment.status = 'InProgress';
    deployment.startTime = Date.now();
    this.announce(deployment);
    this.startBatch(deployment);
  }

  private startBatch(deployment: Deployment): void {
    const hosts = deployment.group.hosts;
    const size = batchSize(deployment.configName, hosts.length, deployment.group.pipeline) ?? 1;
    deployment.batch = hosts.slice(deployment.next, deployment.next + size);
    deployment.next += deployment.batch.length;
    for (const host of deployment.batch) host.installing = true;
    deployment.timer = setTimeout(() => this.finishBatch(deployment), HOST_INSTALL_MS);
  }

  private finishBatch(deployment: Deployment): void {
    deployment.timer = undefined;
    const now = Date.now();
    const key = deployment.revision.s3Location.key;
    const crashed: Host[] = [];
    for (const host of deployment.batch) {
      host.installing = false;
      host.revision = key;
      host.installedAt = now;
      host.installEndedAt = now;
      const behavior = this.behaviors.get(key);
      if (behavior?.kind === 'crash' && appliesTo(behavior, host.group)) crashed.push(host);
    }
    deployment.failed += crashed.length;
    deployment.succeeded += deployment.batch.length - crashed.length;
    deployment.batch = [];
    if (deployment.stopRequested) {
      this.finish(deployment, 'Stopped', { code: 'DEPLOYMENT_STOPPED', message: 'The deployment was stopped by a user request.' });
    } else if (crashed.length > 0) {
      this.finish(deployment, 'Failed', {
        code: 'HEALTH_CONSTRAINTS',
        message: `The overall deployment failed because too many individual instances failed deployment: ${crashed.map((h) => h.id).join(', ')} failed ValidateService after installing ${key}.`,
      });
    } else if (deployment.next < deployment.group.hosts.length) {
      this.startBatch(deployment);
    } else {
      this.finish(deployment, 'Succeeded');
    }
  }

  private finish(deployment: Deployment, status: DeploymentStatus, error?: { code: string; message: string }): void {
    deployment.status = status;
    deployment.completeTime = Date.now();
    deployment.timer = undefined;
    if (error) deployment.error = error;
    const group = deployment.group;
    if (group.active === deployment) group.active = undefined;
    if (status === 'Succeeded') group.lastSuccessful = deployment;
    this.running--;
    this.announce(deployment);
  }

  /** Emits the CodeDeploy state-change event (if any) and the world.deployment stream event. */
  private announce(deployment: Deployment): void {
    const group = deployment.group;
    const state = codeDeployState[deployment.status];
    const dropped = state !== undefined && this.drops('codedeploy', group.region, Date.now());
    if (state && !dropped) {
      this.emitFn({
        kind: 'codedeploy',
        detail: { region: group.region, application: group.application, deploymentGroup: group.name, deploymentId: deployment.id, state },
      });
    }
    const key = deployment.revision.s3Location.key;
    const prefix = `${group.pipeline.name}/`;
    const revision = key.startsWith(prefix) && key.endsWith('.zip') ? key.slice(prefix.length, -'.zip'.length) : key;
    const event: HandsoffEvent = {
      time: new Date(Date.now()).toISOString(),
      type: EventType.WORLD_DEPLOYMENT,
      pipeline: group.pipeline.name,
      stage: group.stage,
      region: group.region,
      ...(group.unit !== undefined ? { unit: group.unit } : {}),
      target: group.target,
      deploymentId: deployment.id,
      status: deployment.status,
      revision,
      deploymentGroup: group.name,
      ...(dropped ? { dropped: true } : {}),
    };
    this.emitFn({ kind: 'stream', event });
  }
}

/** Sums of a scope's hosts over one minute (latency and utilization sums weighted for the mean). */
interface Acc {
  requests: number;
  faults: number;
  logErrors: number;
  p50: number;
  p90: number;
  p99: number;
  cpu: number;
  memory: number;
  disk: number;
  reporting: number;
  unhealthy: number;
  inService: number;
  installing: number;
}

const newAcc = (): Acc => ({ requests: 0, faults: 0, logErrors: 0, p50: 0, p90: 0, p99: 0, cpu: 0, memory: 0, disk: 0, reporting: 0, unhealthy: 0, inService: 0, installing: 0 });

const resetAcc = (a: Acc): void => {
  a.requests = a.faults = a.logErrors = a.p50 = a.p90 = a.p99 = a.cpu = a.memory = a.disk = 0;
  a.reporting = a.unhealthy = a.inService = a.installing = 0;
};

const addAcc = (a: Acc, b: Acc): void => {
  a.requests += b.requests;
  a.faults += b.faults;
  a.logErrors += b.logErrors;
  a.p50 += b.p50;
  a.p90 += b.p90;
  a.p99 += b.p99;
  a.cpu += b.cpu;
  a.memory += b.memory;
  a.disk += b.disk;
  a.reporting += b.reporting;
  a.unhealthy += b.unhealthy;
  a.inService += b.inService;
  a.installing += b.installing;
};

const alarmEvent = (scope: AlarmScope, fields: { time: string; alarm: string; region: string; state: AlarmState; previousState: AlarmState }): HandsoffEvent => ({
  time: fields.time,
  type: EventType.WORLD_ALARM,
  ...(scope.pipeline !== undefined ? { pipeline: scope.pipeline } : {}),
  ...(scope.stage !== undefined ? { stage: scope.stage } : {}),
  region: fields.region,
  ...(scope.unit !== undefined ? { unit: scope.unit } : {}),
  ...(scope.target !== undefined ? { target: scope.target } : {}),
  ...(scope.team !== undefined ? { team: scope.team } : {}),
  alarm: fields.alarm,
  state: fields.state,
  previousState: fields.previousState,
});

/** Whether a behavior's `regions` covers a group: `us-east-1` = production there, `gamma:us-west-2` (or `gamma`) = that stage. */
export const appliesTo = (behavior: Behavior, group: DeploymentGroup): boolean => {
  if (behavior.kind === 'healthy' || !behavior.regions) return true;
  return behavior.regions.includes(group.location) || (group.preProd && behavior.regions.includes(group.stage));
};
