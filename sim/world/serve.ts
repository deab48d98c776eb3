/**
 * One minute of traffic: each fleet's requests (daily pattern and noise) routed over the
 * hosts in its load balancer, what each host does with them (its revision's behavior), and
 * the per-scope datapoints recorded into the metric series. Allocates nothing per host.
 */
import { MINUTE_MS, type MinuteDatapoint } from './metrics.ts';
import { isBoxBehavior, type Behavior, type BoxBehavior, type DeploymentGroup, type Fleet, type Host } from './model.ts';
import { noise, stochasticRound } from './random.ts';
import {
  BASELINE_CPU_IDLE_PERCENT,
  BASELINE_CPU_LOAD_PERCENT,
  BASELINE_DISK_PERCENT,
  BASELINE_FAULT_RATE,
  BASELINE_LATENCY_P50_MS,
  BASELINE_LATENCY_P90_MS,
  BASELINE_LATENCY_P99_MS,
  BASELINE_LOG_ERROR_RATE,
  BASELINE_MEMORY_PERCENT,
  CPU_HALF_LOAD_REQUESTS,
  CRASH_DRAIN_MS,
  ONE_BOX_MAX_SHARE,
  type WorldState,
} from './state.ts';
import { dailyFactor, TRAFFIC_NOISE } from './traffic.ts';

export const MODE_OUT = 0;
export const MODE_SERVE = 1;
/** In the load balancer but failing everything routed to it (crashed, or dropping traffic). */
export const MODE_BLACKHOLE = 2;

/** The traffic model's expected requests of a fleet in a minute (also the centre of its learned anomaly band). */
export const expectedRequests = (fleet: Fleet, minute: number): number => {
  if (fleet.expectedMinute !== minute) {
    fleet.expectedMinute = minute;
    fleet.expected = fleet.peakRequestsPerMinute * (fleet.clock ? dailyFactor(fleet.clock.hourAt((minute + 0.5) * MINUTE_MS)) : 1);
  }
  return fleet.expected;
};

export class Traffic {
  constructor(private readonly state: WorldState) {}

  /** Sets a host's scratch fields (mode, fault rate, latency, health) for the minute ending `now`. */
  classify(host: Host, now: number): void {
    host.faultRate = 0;
    host.latencyScale = 1;
    host.unhealthy = false;
    if (host.installing) {
      host.mode = MODE_OUT;
      return;
    }
    host.mode = MODE_SERVE;
    const behavior = this.state.behaviors.get(host.revision);
    if (!behavior || !appliesTo(behavior, host.group)) return;
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

  /** Fleet-minutes served (by the tick, or computed for a quiet fleet when read). */
  served = 0;

  /**
   * Routes one minute of the fleet's traffic to its hosts and records the scopes' datapoints.
   * `quiet`: the fleet was settled in that minute (quiet.ts): every host serves its baseline,
   * whatever the hosts' fields say now; the same numbers the tick would have recorded then.
   */
  serveMinute(fleet: Fleet, minute: number, now: number, quiet = false): void {
    this.served++;
    const total = expectedRequests(fleet, minute) * (1 + TRAFFIC_NOISE * (2 * noise(this.state.seed, fleet.noiseKey, minute) - 1));

    let oneBoxRoutable = false;
    if (fleet.oneBox) {
      const host = fleet.oneBox.hosts[0]!;
      if (!quiet) this.classify(host, now);
      oneBoxRoutable = quiet || host.mode !== MODE_OUT;
    }
    let unitRoutable = 0;
    for (const group of fleet.units) {
      if (quiet) {
        unitRoutable += group.hosts.length;
        continue;
      }
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
    if (fleet.oneBox) this.serveGroup(fleet.oneBox, oneBoxShare, total, minute, minuteStart, quiet);
    for (const group of fleet.units) this.serveGroup(group, unitShare, total, minute, minuteStart, quiet);
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

  private serveGroup(group: DeploymentGroup, share: number, total: number, minute: number, minuteStart: number, quiet: boolean): void {
    const seed = this.state.seed;
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
      // A quiet minute: every host healthy, in the load balancer, with its baseline.
      const mode = quiet ? MODE_SERVE : host.mode;
      const faultRate = quiet ? 0 : host.faultRate;
      const latencyScale = quiet ? 1 : host.latencyScale;
      if (!quiet && host.unhealthy) unhealthy++;
      // Out of the load balancer for an install at any moment of the minute.
      if (!quiet && (host.installing || host.installEndedAt > minuteStart)) installing++;
      if (mode === MODE_OUT) continue;
      inService++;
      const u = noise(seed, host.index, minute);
      const routed = stochasticRound(perHost, u);
      // One more hash per host and minute, sliced: latency noise (high bits), CPU and memory noise (lower bits).
      const v = noise(seed ^ 0x2545f491, host.index, minute);
      let served = 0;
      let faults = 0;
      let p99 = Number.NaN;
      if (mode === MODE_BLACKHOLE) {
        this.addFailed(host.revision, routed);
      } else {
        served = routed;
        const extra = faultRate > 0 ? Math.min(routed, stochasticRound(routed * faultRate, (u * 64) % 1)) : 0;
        if (extra > 0) this.addFailed(host.revision, extra);
        // Baseline faults (and log errors) as their expected value: rounding 0.03 faults up to
        // 1 on a thin one box would make healthy boxes trip the 1% alarm by chance.
        faults = (routed - extra) * BASELINE_FAULT_RATE + extra;
        p99 = BASELINE_LATENCY_P99_MS * (latencyScale === 1 ? 0.9 + 0.2 * v : latencyScale);
        p99Sum += p99 * served;
      }
      const logErrors = faults + served * BASELINE_LOG_ERROR_RATE;
      // Hosts in the load balancer report utilization; CPU follows the work done, mildly.
      const v2 = v * 4096;
      const v3 = v * 16_777_216;
      const cpu = BASELINE_CPU_IDLE_PERCENT + (BASELINE_CPU_LOAD_PERCENT * served) / (served + CPU_HALF_LOAD_REQUESTS) + 4 * (v2 - Math.floor(v2) - 0.5);
      const memory = BASELINE_MEMORY_PERCENT + host.memoryOffset + 2 * (v3 - Math.floor(v3) - 0.5);
      const disk = BASELINE_DISK_PERCENT + host.diskOffset;
      // The host keeps its latest minute: a quiet minute computed later never takes it back.
      const last = host.last;
      if (minute > last.minute) {
        last.minute = minute;
        last.requests = served;
        last.faults = faults;
        last.logErrors = logErrors;
        last.latencyP99 = p99;
        last.cpu = cpu;
        last.memory = memory;
        last.disk = disk;
      }
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

  private addFailed(revision: string, count: number): void {
    if (count > 0) this.state.failed.set(revision, (this.state.failed.get(revision) ?? 0) + count);
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

/**
 * Whether a behavior acts on a group's boxes: never a healthy one, nor a build or test
 * failure (they act on the build and the suites); else where its `regions` say (`us-east-1` =
 * production there, `gamma:us-west-2` or `gamma` = that stage), everywhere without them.
 */
export const appliesTo = (behavior: Behavior, group: DeploymentGroup): behavior is BoxBehavior => {
  if (!isBoxBehavior(behavior) || behavior.kind === 'healthy') return false;
  if (!behavior.regions) return true;
  return behavior.regions.includes(group.location) || (group.preProd && behavior.regions.includes(group.stage));
};
