/**
 * The simulated AWS world the local simulator hands to the real handlers in place of
 * CodeDeploy and CloudWatch: fleets of boxes per region and unit running revisions (topology.ts),
 * traffic with a daily pattern and per-minute metrics (serve.ts, metrics.ts), the alarm plan
 * evaluated like CloudWatch (alarms/), deployments in batches with health checks
 * (deployments.ts), and the events AWS would emit. This file is the facade: construction, the
 * minute tick, the scenario's levers and the queries.
 *
 * Time is the global clock only (Date.now, setTimeout), so a fake clock drives it; the
 * world keeps one minute tick plus one timer per running deployment. The tick serves only
 * the fleets that are not quiet and evaluates only the alarms that can move (quiet.ts,
 * alarms/book.ts): the world's cost follows deployments, not regions x minutes.
 */
import { regionAlarmPlan, targetRegions } from '../../core/alarms/plan.ts';
import type { AlarmDef } from '../../core/alarms/types.ts';
import { artifactKey, regionArtifactBucketName, teamAggregateAlarmName } from '../../core/naming.ts';
import { ACCOUNT } from '../lambda.ts';
import { ArtifactStore } from './artifacts.ts';
import { alarmEvent } from './alarm-event.ts';
import { AlarmBook } from './alarms/book.ts';
import { type AlarmState, type AnyAlarm, MetricAlarm } from './alarms/evaluate.ts';
import { cloudWatchApi } from './cloudwatch-api.ts';
import { codeDeployApi } from './codedeploy-api.ts';
import { Deployments } from './deployments.ts';
import { metricSource } from './metric-source.ts';
import { DEFAULT_RETENTION_MINUTES, MINUTE_MS } from './metrics.ts';
import type { Behavior, Deployment, DeploymentGroup, Host, S3Revision } from './model.ts';
import type { DropFilter, HostSnapshot, WorldOptions, WorldWork } from './options.ts';
import { QuietFleets } from './quiet.ts';
import { Traffic } from './serve.ts';
import { BASELINE_LATENCY_P50_MS, BASELINE_LATENCY_P90_MS, BASELINE_LATENCY_P99_MS, type WorldEmission, type WorldState } from './state.ts';
import { buildTopology, topologyProblems } from './topology.ts';

export * from './state.ts';
export { appliesTo } from './serve.ts';
export type { Behavior } from './model.ts';

export type { WorldOptions, WorldWork, HostSnapshot, DropFilter } from './options.ts';

export class World {
  private readonly state: WorldState;
  private readonly emitFn: (e: WorldEmission) => void;
  private readonly traffic: Traffic;
  private readonly engine: Deployments;
  private readonly book: AlarmBook;
  private readonly quiet: QuietFleets;
  private minuteTicks = 0;
  /** Company-event metric level per region while an event is declared. */
  private readonly companyEvents = new Map<string, number>();
  /** (pipeline, region) -> wave, for the scope of production alarms. */
  private readonly waveOf = new Map<string, string>();
  private readonly cdClients = new Map<string, { send(command: unknown): Promise<unknown> }>();
  private readonly cwClients = new Map<string, { send(command: unknown): Promise<unknown> }>();
  private dropFilters: DropFilter[] = [];
  private droppedCount = 0;
  private tickTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: WorldOptions) {
    this.emitFn = opts.emit;
    this.state = {
      seed: opts.seed ?? 1,
      artifacts: new ArtifactStore(),
      regionBucket: opts.regionArtifactBucket ?? ((region) => regionArtifactBucketName(ACCOUNT, region)),
      retention: opts.retentionMinutes ?? DEFAULT_RETENTION_MINUTES,
      catalog: new Map(opts.regions.map((r) => [r.code, r])),
      clocks: new Map(),
      fleets: [],
      groups: new Map(),
      applications: new Map(),
      deployments: new Map(),
      series: new Map(),
      behaviors: new Map(),
      failed: new Map(),
      counters: { deployments: 0, hosts: 0, running: 0 },
    };
    const problems = topologyProblems(this.state, opts.pipelines);
    if (problems.length > 0) throw new Error(`the simulated world cannot be built:\n- ${problems.join('\n- ')}`);
    const now = Date.now();
    buildTopology(this.state, opts.pipelines, now);
    for (const p of opts.pipelines) for (const w of p.waves) for (const r of w.regions) this.waveOf.set(`${p.name}\u0000${r.region}`, w.name);
    this.traffic = new Traffic(this.state);
    this.quiet = new QuietFleets(this.state, this.traffic, opts.eager === true);
    this.engine = new Deployments(this.state, this.emitFn, (kind, region, at) => this.drops(kind, region, at), (group) => this.quiet.touchGroup(group));
    // Exactly the alarm plan of every region a target stack would exist for.
    const plan = targetRegions(opts.pipelines).flatMap((region) => regionAlarmPlan(opts.pipelines, region));
    const source = metricSource(this.state, this.companyEvents, this.quiet);
    this.book = new AlarmBook(plan, source, now, (alarm, previous, at) => this.announceAlarm(alarm, previous, at), opts.eager === true ? undefined : this.quiet);
  }

  /** What the world has done so far (counts, not time): ticks, fleet-minutes served, alarm evaluations. */
  work(): WorldWork {
    return {
      minuteTicks: this.minuteTicks,
      fleetMinutesServed: this.traffic.served,
      alarmEvaluations: this.book.evaluations,
      compositeEvaluations: this.book.compositeEvaluations,
    };
  }

  // ---------------------------------------------------------------- for the API adapters

  /** @internal */
  get groups(): Map<string, DeploymentGroup> {
    return this.state.groups;
  }

  /** @internal region -> application names */
  get applications(): Map<string, Set<string>> {
    return this.state.applications;
  }

  /** @internal */
  get deployments(): Map<string, Deployment> {
    return this.state.deployments;
  }

  /** @internal */
  get series(): WorldState['series'] {
    return this.state.series;
  }

  /** @internal region -> alarms sorted by name (DescribeAlarms order) */
  get alarmsByRegion(): ReadonlyMap<string, readonly AnyAlarm[]> {
    return this.book.byRegion;
  }

  /** @internal The alarm of that name in the region, if it exists. */
  alarmNamed(region: string, name: string): AnyAlarm | undefined {
    return this.book.get(region, name);
  }

  /** @internal Registers a Created deployment and schedules its start. */
  createDeployment(group: DeploymentGroup, configName: string, revision: S3Revision, description: string | undefined): Deployment {
    return this.engine.createDeployment(group, configName, revision, description);
  }

  /** @internal StopDeployment: now if no batch is installing, else when the batch in flight finishes. */
  stopDeployment(deployment: Deployment): void {
    this.engine.stopDeployment(deployment);
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
    for (const d of this.state.deployments.values()) {
      if (d.timer !== undefined) clearTimeout(d.timer);
      d.timer = undefined;
    }
  }

  /** What `revision` of `pipeline` does (its build, its boxes), if the scenario gave it a behaviour. */
  behaviorOf(pipeline: string, revision: string): Behavior | undefined {
    return this.state.behaviors.get(artifactKey(pipeline, revision));
  }

  /** The simulated S3 of the artifacts: the home bucket and each region's copies. */
  get artifacts(): ArtifactStore {
    return this.state.artifacts;
  }

  /** The artifact bucket of a region (its copies, which its CodeDeploy reads). */
  regionBucket(region: string): string {
    return this.state.regionBucket(region);
  }

  /** What boxes running `revision` of `pipeline` do from now on. */
  setBehavior(pipeline: string, revision: string, behavior: Behavior): void {
    this.state.behaviors.set(artifactKey(pipeline, revision), behavior);
    this.quiet.touchAll();
  }

  /**
   * Company-wide event in one region, or in every region when none is named: as an operator
   * does, the event metric is put (every minute while declared; none once over) and the
   * alarm's state set at once; its evaluations then keep it there. INSUFFICIENT_DATA stands
   * for an alarm that cannot read its metric: it stays so until the next OK or ALARM.
   */
  setCompanyEvent(state: AlarmState, region?: string): void {
    const now = Date.now();
    for (const list of this.book.byRegion.values()) {
      for (const alarm of list) {
        if (alarm.def.scope !== 'company' || (region !== undefined && alarm.region !== region)) continue;
        // The minutes evaluated so far read the level as it was.
        this.book.wakeCompany(alarm.region);
        if (state === 'ALARM') this.companyEvents.set(alarm.region, 1);
        else this.companyEvents.delete(alarm.region);
        if (alarm instanceof MetricAlarm) alarm.forced = state === 'INSUFFICIENT_DATA' ? state : undefined;
        this.book.set(alarm, state, `Company-wide event state set to ${state} by the scenario.`, now);
      }
    }
  }

  /**
   * Forces a team aggregate's state (standing in for the team's services the world does not
   * simulate); `undefined` hands it back to its rule.
   */
  forceTeamAlarm(team: string, region: string, state: AlarmState | undefined): void {
    const alarm = this.book.composite(region, teamAggregateAlarmName(team, region));
    if (!alarm) {
      const known = [...new Set(this.book.definitions().flatMap((d) => (d.scope === 'team' ? [d.team] : [])))].join(', ');
      throw new Error(`no team aggregate alarm for team '${team}' in region '${region}'; teams: ${known}; a team has one in each region where one of its pipelines runs in production`);
    }
    alarm.forced = state;
    this.book.recompute(alarm, Date.now());
  }

  /** Whether the team has an aggregate alarm in the region (it runs there in production). */
  hasTeamAlarm(team: string, region: string): boolean {
    return this.book.composite(region, teamAggregateAlarmName(team, region)) !== undefined;
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
    return this.state.failed.get(artifactKey(pipeline, revision)) ?? 0;
  }

  /** Deployments Created or InProgress (for idle detection). */
  activeDeployments(): number {
    return this.state.counters.running;
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
    for (const list of this.book.byRegion.values()) {
      for (const alarm of list) if (alarm.name === name && alarm.everAlarmed) return true;
    }
    return false;
  }

  /** Current state of an alarm, or undefined when the world holds no such alarm there. */
  alarmState(region: string, name: string): AlarmState | undefined {
    return this.book.get(region, name)?.state;
  }

  /**
   * Deletes an alarm, as DeleteAlarms does (a fault the scenario injects): it is no longer
   * evaluated nor described, and composite rules naming it see no state. Returns whether it existed.
   */
  deleteAlarm(region: string, name: string): boolean {
    return this.book.remove(region, name);
  }

  /** The definitions of every alarm the world holds and evaluates (the alarm plan of its regions). */
  alarmDefinitions(): AlarmDef[] {
    return this.book.definitions();
  }

  /** The hosts of a deployment group, for tests and the simulator's timeline. */
  groupHosts(region: string, group: string): HostSnapshot[] {
    const found = [...this.state.groups.values()].find((g) => g.region === region && g.name === group);
    if (!found) throw new Error(`no deployment group '${group}' in region '${region}'`);
    this.quiet.refreshGroup(found);
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
    this.traffic.classify(host, now);
    return host.unhealthy;
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
    this.minuteTicks++;
    // Quiet fleets are not served (their minutes are computed when read); alarms that cannot move sleep.
    const woke = this.quiet.tick(minute, now);
    this.book.tick(minute, now, woke);
    this.scheduleTick();
  };

  // ---------------------------------------------------------------- emissions

  /** Whether an emission of that kind and region is to be lost now (see dropEvents). */
  private drops(kind: DropFilter['kind'], region: string, now: number): boolean {
    if (this.dropFilters.length === 0) return false;
    this.dropFilters = this.dropFilters.filter((f) => f.untilMs > now);
    const hit = this.dropFilters.some((f) => f.kind === kind && (f.region === undefined || f.region === region));
    if (hit) this.droppedCount++;
    return hit;
  }

  /** The alarm state-change event (unless lost) and the `world.alarm` stream event, with the alarm's owner. */
  private announceAlarm(alarm: AnyAlarm, previous: AlarmState, now: number): void {
    const time = new Date(now).toISOString();
    const dropped = this.drops('alarm', alarm.region, now);
    if (!dropped) {
      this.emitFn({
        kind: 'alarm',
        region: alarm.region,
        detail: { alarmName: alarm.name, state: { value: alarm.state, reason: alarm.reason, timestamp: time }, previousState: { value: previous } },
      });
    }
    const event = alarmEvent(alarm, previous, time, (p, r) => this.waveOf.get(`${p}\u0000${r}`), dropped);
    this.emitFn({ kind: 'stream', event });
  }
}
