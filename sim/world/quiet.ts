/**
 * Quiet fleets: a fleet whose hosts all serve their baseline (none installing or just
 * installed, none running a revision whose behavior applies to it) serves a minute that is a
 * pure function of (seed, fleet, minute) (serve.ts, random.ts). The tick does not serve such
 * a fleet; its minutes are computed, with the same numbers, when a query or an alarm reads
 * them (MinuteSeries.lazy), and the alarms get bounds of its series over blocks of minutes
 * (alarms/bounds.ts) to tell whether they can change at all.
 *
 * A fleet is settled at a tick when every host is out of any install since before the
 * minute began and runs a revision without an applicable behavior. Only CodeDeploy starting
 * a batch and the scenario setting a behavior can unsettle it (`touch`); time alone cannot.
 */
import { BLOCK_MINUTES, type Iv, NO_DATA } from './alarms/bounds.ts';
import { Field, MINUTE_MS, type MinuteSeries } from './metrics.ts';
import type { DeploymentGroup, Fleet } from './model.ts';
import { appliesTo, expectedRequests, type Traffic } from './serve.ts';
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
  ONE_BOX_MAX_SHARE,
  type WorldState,
} from './state.ts';
import { TRAFFIC_NOISE } from './traffic.ts';

interface Quiet {
  readonly fleet: Fleet;
  readonly series: MinuteSeries[];
  /** First minute of the open quiet range; -1 while the tick serves the fleet. */
  from: number;
  /** Closed quiet ranges, as [from, to] pairs, oldest first. */
  closed: number[];
  /** Its hosts may have changed since the last tick. */
  dirty: boolean;
  /** Always served by the tick (an eager world, or a series it shares with another fleet). */
  readonly never: boolean;
  boundsBlock: number;
  bounds: Map<MinuteSeries, Iv[]>;
  /** The traffic model's expected requests over `boundsBlock` (the anomaly band's centre). */
  expected: Iv;
}

const NF = 12;

export class QuietFleets {
  /** The minute of the last tick. */
  lastTicked = -1;
  private readonly list: Quiet[] = [];
  private readonly byFleet = new Map<Fleet, Quiet>();
  private readonly byGroup = new Map<DeploymentGroup, Quiet>();

  constructor(
    private readonly state: WorldState,
    private readonly traffic: Traffic,
    eager: boolean,
  ) {
    const owners = new Map<MinuteSeries, number>();
    const seriesOf = (f: Fleet): MinuteSeries[] => [...(f.oneBox ? [f.oneBox] : []), ...f.units].map((g) => g.series).concat(f.fleetSeries ? [f.fleetSeries] : []);
    for (const f of state.fleets) for (const s of new Set(seriesOf(f))) owners.set(s, (owners.get(s) ?? 0) + 1);
    for (const fleet of state.fleets) {
      const series = [...new Set(seriesOf(fleet))];
      const q: Quiet = { fleet, series, from: -1, closed: [], dirty: false, never: eager || series.some((s) => owners.get(s)! > 1), boundsBlock: -1, bounds: new Map(), expected: NO_DATA };
      this.list.push(q);
      this.byFleet.set(fleet, q);
      for (const g of [...(fleet.oneBox ? [fleet.oneBox] : []), ...fleet.units]) this.byGroup.set(g, q);
      if (q.never) continue;
      for (const s of series) s.lazy = { lastMinute: () => (q.from >= 0 ? this.lastTicked : -1), fill: (m) => this.fill(q, m) };
    }
  }

  /** The hosts of a group are about to change (a batch starts): its fleet is looked at again at the next tick. */
  touchGroup(group: DeploymentGroup): void {
    const q = this.byGroup.get(group);
    if (q) q.dirty = true;
  }

  /** A behavior changed: every fleet is looked at again at the next tick. */
  touchAll(): void {
    for (const q of this.list) q.dirty = true;
  }

  /** Whether the tick is not serving the fleet (its minutes are computed when read). */
  isQuiet(fleet: Fleet): boolean {
    return (this.byFleet.get(fleet)?.from ?? -1) >= 0;
  }

  /** The minute tick: serves the fleets that are not quiet; returns those that stopped being quiet in this minute. */
  tick(minute: number, now: number): Fleet[] {
    this.lastTicked = minute;
    const woke: Fleet[] = [];
    const minuteStart = minute * MINUTE_MS;
    for (const q of this.list) {
      if (q.from >= 0 && !q.dirty) continue;
      q.dirty = false;
      const settled = !q.never && this.settled(q.fleet, minuteStart);
      if (q.from >= 0) {
        if (settled) continue;
        const from = q.from;
        q.from = -1;
        q.closed.push(from, minute - 1);
        while (q.closed.length > 0 && q.closed[1]! < minute - this.state.retention) q.closed.splice(0, 2);
        // The hosts keep the minute before as their last one (those that leave the load balancer now).
        this.traffic.serveMinute(q.fleet, minute - 1, now, true);
        woke.push(q.fleet);
        this.traffic.serveMinute(q.fleet, minute, now);
      } else if (settled) {
        q.from = minute;
      } else {
        this.traffic.serveMinute(q.fleet, minute, now);
      }
    }
    return woke;
  }

  /** Host snapshots read `last`: brings a quiet fleet's hosts to the last ticked minute. */
  refreshGroup(group: DeploymentGroup): void {
    const q = this.byGroup.get(group);
    if (q && q.from >= 0 && this.lastTicked >= q.from) this.fill(q, this.lastTicked);
  }

  private settled(fleet: Fleet, minuteStart: number): boolean {
    const behaviors = this.state.behaviors;
    const groups = fleet.oneBox ? [fleet.oneBox, ...fleet.units] : fleet.units;
    for (const group of groups) {
      for (const host of group.hosts) {
        if (host.installing || host.installEndedAt > minuteStart) return false;
        const b = behaviors.get(host.revision);
        if (b && appliesTo(b, group)) return false;
      }
    }
    return true;
  }

  private fill(q: Quiet, minute: number): boolean {
    let inside = q.from >= 0 && minute >= q.from && minute <= this.lastTicked;
    for (let i = 0; !inside && i < q.closed.length; i += 2) inside = minute >= q.closed[i]! && minute <= q.closed[i + 1]!;
    if (!inside) return false;
    this.traffic.serveMinute(q.fleet, minute, 0, true);
    return true;
  }

  /** Bounds of every field of a quiet fleet's series over a block of minutes (per field, by `Field`). */
  bounds(fleet: Fleet, series: MinuteSeries, block: number): Iv[] {
    return this.block(fleet, block).bounds.get(series)!;
  }

  /** The range of the traffic model's expected requests of a fleet over a block. */
  expected(fleet: Fleet, block: number): Iv {
    return this.block(fleet, block).expected;
  }

  private block(fleet: Fleet, block: number): Quiet {
    const q = this.byFleet.get(fleet)!;
    if (q.boundsBlock !== block) {
      q.boundsBlock = block;
      let lo = Number.POSITIVE_INFINITY;
      let hi = 0;
      for (let m = block * BLOCK_MINUTES; m < (block + 1) * BLOCK_MINUTES; m++) {
        const e = expectedRequests(fleet, m);
        if (e < lo) lo = e;
        if (e > hi) hi = e;
      }
      q.expected = range(lo, hi);
      q.bounds = fleetBounds(fleet, lo, hi);
    }
    return q;
  }
}

const range = (lo: number, hi: number): Iv => ({ lo, hi, nan: false, val: true });
/** Latency of a scope: a request-weighted mean of its hosts' baseline percentiles, none without a request. */
const latency = (requests: Iv, lo: number, hi: number): Iv => (requests.hi === 0 ? NO_DATA : { lo, hi, nan: requests.lo === 0, val: true });

/** What a settled fleet's series can hold in the minutes of one block (see serve.ts for the numbers). */
const fleetBounds = (fleet: Fleet, eLo: number, eHi: number): Map<MinuteSeries, Iv[]> => {
  const tLo = eLo * (1 - TRAFFIC_NOISE) * (1 - 1e-9);
  const tHi = eHi * (1 + TRAFFIC_NOISE) * (1 + 1e-9);
  const unitHosts = fleet.units.reduce((n, g) => n + g.hosts.length, 0);
  const oneBoxShare = fleet.oneBox ? (unitHosts === 0 ? 1 : Math.min(1 / (unitHosts + 1), ONE_BOX_MAX_SHARE)) : 0;
  const unitShare = unitHosts > 0 ? (1 - oneBoxShare) / unitHosts : 0;
  const out = new Map<MinuteSeries, Iv[]>();
  const whole = { rLo: 0, rHi: 0, cpuLo: Number.POSITIVE_INFINITY, cpuHi: 0, memLo: Number.POSITIVE_INFINITY, memHi: 0, diskLo: Number.POSITIVE_INFINITY, diskHi: 0, hosts: 0 };
  const groups = fleet.oneBox ? [fleet.oneBox, ...fleet.units] : fleet.units;
  for (const group of groups) {
    const share = group === fleet.oneBox ? oneBoxShare : unitShare;
    const k = group.hosts.length;
    // Each host gets its share stochastically rounded: floor or floor + 1.
    const perLo = Math.floor(tLo * share);
    const perHi = Math.floor(tHi * share) + 1;
    const cpuLo = BASELINE_CPU_IDLE_PERCENT + (BASELINE_CPU_LOAD_PERCENT * perLo) / (perLo + CPU_HALF_LOAD_REQUESTS) - 2;
    const cpuHi = BASELINE_CPU_IDLE_PERCENT + (BASELINE_CPU_LOAD_PERCENT * perHi) / (perHi + CPU_HALF_LOAD_REQUESTS) + 2;
    const mem = group.hosts.map((h) => BASELINE_MEMORY_PERCENT + h.memoryOffset);
    const disk = group.hosts.map((h) => BASELINE_DISK_PERCENT + h.diskOffset);
    const b = scopeBounds(k * perLo, k * perHi, cpuLo, cpuHi, Math.min(...mem) - 1, Math.max(...mem) + 1, Math.min(...disk), Math.max(...disk), k);
    if (k > 0) {
      whole.rLo += k * perLo;
      whole.rHi += k * perHi;
      whole.cpuLo = Math.min(whole.cpuLo, cpuLo);
      whole.cpuHi = Math.max(whole.cpuHi, cpuHi);
      whole.memLo = Math.min(whole.memLo, Math.min(...mem) - 1);
      whole.memHi = Math.max(whole.memHi, Math.max(...mem) + 1);
      whole.diskLo = Math.min(whole.diskLo, Math.min(...disk));
      whole.diskHi = Math.max(whole.diskHi, Math.max(...disk));
      whole.hosts += k;
    }
    out.set(group.series, b);
  }
  if (fleet.fleetSeries) {
    const w = whole;
    out.set(fleet.fleetSeries, scopeBounds(w.rLo, w.rHi, w.cpuLo, w.cpuHi, w.memLo, w.memHi, w.diskLo, w.diskHi, w.hosts));
  }
  return out;
};

const scopeBounds = (rLo: number, rHi: number, cpuLo: number, cpuHi: number, memLo: number, memHi: number, diskLo: number, diskHi: number, hosts: number): Iv[] => {
  const b: Iv[] = new Array<Iv>(NF);
  // Counts are integers, recorded exactly; the other fields are bounds with a margin.
  const count = (lo: number, hi: number): Iv => ({ lo, hi, nan: false, val: true, exact: true });
  const requests = count(rLo, rHi);
  b[Field.REQUESTS] = requests;
  b[Field.FAULTS] = range(rLo * BASELINE_FAULT_RATE, rHi * BASELINE_FAULT_RATE);
  b[Field.LOG_ERRORS] = range(rLo * (BASELINE_FAULT_RATE + BASELINE_LOG_ERROR_RATE), rHi * (BASELINE_FAULT_RATE + BASELINE_LOG_ERROR_RATE));
  const p99 = (f: number) => (BASELINE_LATENCY_P99_MS * f);
  const scale = (ms: number) => ms / BASELINE_LATENCY_P99_MS;
  b[Field.P50] = latency(requests, p99(0.9) * scale(BASELINE_LATENCY_P50_MS), p99(1.1) * scale(BASELINE_LATENCY_P50_MS));
  b[Field.P90] = latency(requests, p99(0.9) * scale(BASELINE_LATENCY_P90_MS), p99(1.1) * scale(BASELINE_LATENCY_P90_MS));
  b[Field.P99] = latency(requests, p99(0.9), p99(1.1));
  // Every host of a quiet scope is in the load balancer and reports.
  b[Field.CPU] = hosts > 0 ? range(cpuLo, cpuHi) : NO_DATA;
  b[Field.MEMORY] = hosts > 0 ? range(memLo, memHi) : NO_DATA;
  b[Field.DISK] = hosts > 0 ? range(diskLo, diskHi) : NO_DATA;
  b[Field.UNHEALTHY] = count(0, 0);
  b[Field.IN_SERVICE] = count(hosts, hosts);
  b[Field.INSTALLING] = count(0, 0);
  return b;
};
