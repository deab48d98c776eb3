/**
 * Every alarm the world holds: exactly the alarm plan of each region it simulates
 * (core/alarms `regionAlarmPlan`), evaluated at each minute tick; no alarm and no threshold of
 * its own.
 *
 * An alarm whose inputs are quiet (quiet fleets, an unchanged company event level) and whose
 * bounds prove its state cannot move sleeps: the tick skips it until an input wakes, or its
 * block of bounds ends. Waking evaluates the minutes still in its window, so it resumes with
 * the very window, values and state minute-by-minute evaluation would have given; states
 * change at the same minute as when every alarm is evaluated every minute.
 */
import type { AlarmDef, MetricStat } from '../../../core/alarms/types.ts';
import { BLOCK_MINUTES, compileBounds, type IvSeries } from './bounds.ts';
import { compileMath, type Series } from './math.ts';
import { type AlarmState, type AnyAlarm, CompositeAlarm, MetricAlarm, type QuietClass } from './evaluate.ts';
import type { MetricSource } from '../metric-source.ts';
import type { Fleet } from '../model.ts';
import { isMathExpr, type MathExpr } from '../../../core/alarms/types.ts';

/** A metric-math expression over the world's series, nested expressions included. */
const mathSeries = (e: MathExpr, source: MetricSource, region: string): Series =>
  compileMath(e.expression, (id) => {
    const q = e.using[id];
    if (!q) throw new Error(`expression '${e.expression}' names '${id}', which it does not define`);
    return isMathExpr(q) ? mathSeries(q, source, region) : source.series(q, region);
  });

/** The same expression's bounds over a block of quiet minutes. */
const mathBounds = (e: MathExpr, source: MetricSource, region: string): IvSeries =>
  compileBounds(e.expression, (id) => {
    const q = e.using[id]!;
    return isMathExpr(q) ? mathBounds(q, source, region) : source.bounds(q, region);
  });

const metricsOf = (e: MathExpr): MetricStat[] => Object.values(e.using).flatMap((q) => (isMathExpr(q) ? metricsOf(q) : [q]));

/** When the tick evaluates a metric alarm: its inputs, whether it sleeps, and until when. */
interface Schedule {
  readonly seq: number;
  readonly fleets: readonly Fleet[];
  readonly company: boolean;
  asleep: boolean;
  /** The first minute its bounds do not cover (a block start): proven again there. */
  until: number;
  cls: QuietClass;
  /** A block whose bounds could not prove it steady: not tried again before the next. */
  unproven: number;
}

/** Which fleets are quiet (quiet.ts); absent in an eager world, where every alarm is evaluated every minute. */
export interface Quietness {
  isQuiet(fleet: Fleet): boolean;
  readonly lastTicked: number;
}

/** DescribeAlarms order: by name. */
export const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class AlarmBook {
  /** region -> alarms sorted by name (DescribeAlarms order) */
  readonly byRegion = new Map<string, AnyAlarm[]>();
  private readonly metricAlarms: MetricAlarm[] = [];
  private readonly composites: CompositeAlarm[] = [];
  /** region -> name -> alarm: DescribeAlarms looks up ~100,000 names a simulated week. */
  private readonly index = new Map<string, Map<string, AnyAlarm>>();
  private readonly schedule = new Map<MetricAlarm, Schedule>();
  /** Metric alarms the tick evaluates, in plan order (sorted again when one wakes). */
  private awake: MetricAlarm[] = [];
  private awakeSorted = true;
  private readonly byFleet = new Map<Fleet, MetricAlarm[]>();
  private readonly byCompany = new Map<string, MetricAlarm[]>();
  /** Block start minute -> sleeping alarms whose bounds end there. */
  private readonly due = new Map<number, MetricAlarm[]>();
  /** A state changed (or an alarm went) since the composites were last read. */
  private compositesDirty = true;
  /** Metric alarm evaluations (one datapoint each) and composite rule readings so far. */
  evaluations = 0;
  compositeEvaluations = 0;

  constructor(
    plan: readonly AlarmDef[],
    source: MetricSource,
    now: number,
    /** Called on every state change (after the alarm holds its new state). */
    private readonly onTransition: (alarm: AnyAlarm, previous: AlarmState, now: number) => void,
    private readonly quiet?: Quietness,
  ) {
    for (const def of plan) {
      let names = this.index.get(def.region);
      if (!names) this.index.set(def.region, (names = new Map()));
      if (names.has(def.name)) throw new Error(`alarm '${def.name}' would exist twice in ${def.region}; alarm names must be unique per region`);
      let alarm: AnyAlarm;
      switch (def.kind) {
        case 'composite':
          alarm = new CompositeAlarm(def, now);
          this.composites.push(alarm);
          break;
        case 'metric':
          alarm = new MetricAlarm(def, source.series(def.metric, def.region), now);
          alarm.quiet = { value: source.bounds(def.metric, def.region) };
          break;
        case 'math':
          alarm = new MetricAlarm(def, mathSeries(def.math, source, def.region), now);
          alarm.quiet = { value: mathBounds(def.math, source, def.region) };
          break;
        case 'anomaly':
          alarm = new MetricAlarm(def, source.series(def.metric, def.region), now, source.band(def.metric, def.region));
          alarm.quiet = { value: source.bounds(def.metric, def.region), band: source.bandBounds(def.metric, def.region, def.bandWidth) };
          break;
      }
      if (alarm instanceof MetricAlarm) {
        const inputs = (def.kind === 'math' ? metricsOf(def.math) : def.kind === 'composite' ? [] : [def.metric]).map((m) => source.inputOf(m, def.region));
        const fleets = [...new Set(inputs.flatMap((i) => ('fleet' in i ? [i.fleet] : [])))];
        const company = inputs.some((i) => 'company' in i);
        this.schedule.set(alarm, { seq: this.metricAlarms.length, fleets, company, asleep: false, until: -1, cls: { exists: 2, breach: 2 }, unproven: -1 });
        for (const f of fleets) {
          let list = this.byFleet.get(f);
          if (!list) this.byFleet.set(f, (list = []));
          list.push(alarm);
        }
        if (company) {
          let list = this.byCompany.get(def.region);
          if (!list) this.byCompany.set(def.region, (list = []));
          list.push(alarm);
        }
        this.metricAlarms.push(alarm);
        this.awake.push(alarm);
      }
      names.set(def.name, alarm);
      let list = this.byRegion.get(def.region);
      if (!list) this.byRegion.set(def.region, (list = []));
      list.push(alarm);
    }
    for (const list of this.byRegion.values()) list.sort(byName);
    // Composites read their members' states directly (the rule names alarms of its region).
    for (const c of this.composites) {
      c.bind((name) => {
        const alarm = this.get(c.region, name);
        return alarm ? () => (alarm.deleted ? undefined : alarm.state) : () => undefined;
      });
    }
  }

  get(region: string, name: string): AnyAlarm | undefined {
    return this.index.get(region)?.get(name);
  }

  /** Every alarm's definition, region by region: what the world evaluates. */
  definitions(): AlarmDef[] {
    return [...this.byRegion.values()].flatMap((list) => list.map((a) => a.def));
  }

  /**
   * Evaluates the minute that just ended: metric alarms first, then the composites over them.
   * `woke`: fleets that stopped being quiet in this minute (their alarms wake first).
   */
  tick(minute: number, now: number, woke: readonly Fleet[] = []): void {
    for (const f of woke) for (const a of this.byFleet.get(f) ?? []) this.wake(a, minute - 1);
    const due = this.due.get(minute);
    if (due) {
      this.due.delete(minute);
      for (const a of due) {
        const s = this.schedule.get(a);
        if (!s?.asleep || s.until !== minute) continue;
        const c = a.quietClass(minute / BLOCK_MINUTES);
        // Still steady when the new block allows every datapoint the old one did.
        const covers = c && (c.exists === 2 || c.exists === s.cls.exists) && (s.cls.exists === 0 || c.breach === 2 || c.breach === s.cls.breach);
        if (c && covers && a.steadyUnder(c)) this.sleep(a, s, c, minute);
        else this.wake(a, minute - 1);
      }
    }
    if (!this.awakeSorted) {
      this.awake.sort((a, b) => this.schedule.get(a)!.seq - this.schedule.get(b)!.seq);
      this.awakeSorted = true;
    }
    const block = Math.floor((minute + 1) / BLOCK_MINUTES);
    let kept = 0;
    for (let i = 0; i < this.awake.length; i++) {
      const alarm = this.awake[i]!;
      this.awake[kept++] = alarm;
      const evaluated = alarm.evaluate(minute);
      this.evaluations++;
      const state = alarm.forced ?? evaluated;
      if (state !== alarm.state) this.set(alarm, state, alarm.reasonFor(state), now);
      // From the next minute on, a steady alarm over quiet inputs sleeps.
      const s = this.schedule.get(alarm)!;
      if (!this.quiet || s.unproven === block || !s.fleets.every((f) => this.quiet!.isQuiet(f))) continue;
      const c = alarm.quietClass(block);
      if (!c) continue;
      if (alarm.steadyUnder(c)) {
        kept--;
        this.sleep(alarm, s, c, minute + 1);
      } else if (alarm.forced === undefined && alarm.decisions(c) === undefined) s.unproven = block;
    }
    this.awake.length = kept;
    if (this.compositesDirty) {
      this.compositesDirty = false;
      for (const alarm of this.composites) this.recompute(alarm, now);
    }
  }

  /** Wakes the alarms reading a region's company event level (before it changes). */
  wakeCompany(region: string): void {
    if (!this.quiet) return;
    for (const a of this.byCompany.get(region) ?? []) this.wake(a, this.quiet.lastTicked);
  }

  private sleep(alarm: MetricAlarm, s: Schedule, c: QuietClass, from: number): void {
    s.asleep = true;
    s.cls = c;
    s.until = (Math.floor(from / BLOCK_MINUTES) + 1) * BLOCK_MINUTES;
    let list = this.due.get(s.until);
    if (!list) this.due.set(s.until, (list = []));
    list.push(alarm);
  }

  /**
   * Wakes a sleeping alarm: evaluates the minutes up to `through` that are still in its
   * window (the others left it unchanged), so that it holds what minute-by-minute evaluation
   * would have. Its state cannot have moved while it slept (that is what put it to sleep).
   */
  private wake(alarm: MetricAlarm, through: number): void {
    const s = this.schedule.get(alarm);
    if (!s?.asleep || alarm.deleted) return;
    s.asleep = false;
    const n = alarm.def.evaluationPeriods;
    for (let m = Math.max(alarm.lastEvaluated + 1, through - n + 1); m <= through; m++) {
      const evaluated = alarm.evaluate(m);
      this.evaluations++;
      if ((alarm.forced ?? evaluated) !== alarm.state) {
        throw new Error(`the world skipped alarm '${alarm.name}' in ${alarm.region} although minute ${m} moves it to ${evaluated}; its bounds are wrong`);
      }
    }
    this.awake.push(alarm);
    this.awakeSorted = false;
  }

  /** Re-reads a composite's rule (after a member or its forced state changed). */
  recompute(alarm: CompositeAlarm, now: number): void {
    this.compositeEvaluations++;
    const state = alarm.computed();
    if (state !== alarm.state) this.set(alarm, state, alarm.reasonFor(state), now);
  }

  /** Moves an alarm to a state (SetAlarmState, or an evaluation). */
  set(alarm: AnyAlarm, state: AlarmState, reason: string, now: number): void {
    if (alarm.state === state) return;
    const previous = alarm.state;
    alarm.state = state;
    alarm.reason = reason;
    alarm.updatedAt = now;
    if (state === 'ALARM') alarm.everAlarmed = true;
    this.compositesDirty = true;
    this.onTransition(alarm, previous, now);
  }

  /** DeleteAlarms: the alarm stops existing (no evaluation, no DescribeAlarms entry, no state for composites). */
  remove(region: string, name: string): boolean {
    const alarm = this.get(region, name);
    if (!alarm) return false;
    alarm.deleted = true;
    this.index.get(region)!.delete(name);
    const list = this.byRegion.get(region)!;
    list.splice(list.indexOf(alarm), 1);
    if (alarm instanceof MetricAlarm) {
      this.metricAlarms.splice(this.metricAlarms.indexOf(alarm), 1);
      const i = this.awake.indexOf(alarm);
      if (i >= 0) this.awake.splice(i, 1);
      this.schedule.delete(alarm);
    } else this.composites.splice(this.composites.indexOf(alarm), 1);
    this.compositesDirty = true;
    return true;
  }

  composite(region: string, name: string): CompositeAlarm | undefined {
    const a = this.get(region, name);
    return a instanceof CompositeAlarm ? a : undefined;
  }

  metric(region: string, name: string): MetricAlarm | undefined {
    const a = this.get(region, name);
    return a instanceof MetricAlarm ? a : undefined;
  }
}
