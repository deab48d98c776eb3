/**
 * Every alarm the world holds: exactly the alarm plan of each region it simulates
 * (core/alarms `regionAlarmPlan`), evaluated each minute; no alarm and no threshold of its own.
 */
import type { AlarmDef } from '../../../core/alarms/types.ts';
import { compileMath, type Series } from './math.ts';
import { type AlarmState, type AnyAlarm, CompositeAlarm, MetricAlarm } from './evaluate.ts';
import type { MetricSource } from '../metric-source.ts';
import { isMathExpr, type MathExpr } from '../../../core/alarms/types.ts';

/** A metric-math expression over the world's series, nested expressions included. */
const mathSeries = (e: MathExpr, source: MetricSource, region: string): Series =>
  compileMath(e.expression, (id) => {
    const q = e.using[id];
    if (!q) throw new Error(`expression '${e.expression}' names '${id}', which it does not define`);
    return isMathExpr(q) ? mathSeries(q, source, region) : source.series(q, region);
  });

export class AlarmBook {
  /** region -> alarms sorted by name (DescribeAlarms order) */
  readonly byRegion = new Map<string, AnyAlarm[]>();
  private readonly metricAlarms: MetricAlarm[] = [];
  private readonly composites: CompositeAlarm[] = [];
  private readonly index = new Map<string, AnyAlarm>();

  constructor(
    plan: readonly AlarmDef[],
    source: MetricSource,
    now: number,
    /** Called on every state change (after the alarm holds its new state). */
    private readonly onTransition: (alarm: AnyAlarm, previous: AlarmState, now: number) => void,
  ) {
    for (const def of plan) {
      const key = `${def.region}\u0000${def.name}`;
      if (this.index.has(key)) throw new Error(`alarm '${def.name}' would exist twice in ${def.region}; alarm names must be unique per region`);
      let alarm: AnyAlarm;
      switch (def.kind) {
        case 'composite':
          alarm = new CompositeAlarm(def, now);
          this.composites.push(alarm);
          break;
        case 'metric':
          alarm = new MetricAlarm(def, source.series(def.metric, def.region), now);
          break;
        case 'math':
          alarm = new MetricAlarm(def, mathSeries(def.math, source, def.region), now);
          break;
        case 'anomaly':
          alarm = new MetricAlarm(def, source.series(def.metric, def.region), now, source.band(def.metric, def.region));
          break;
      }
      if (alarm instanceof MetricAlarm) this.metricAlarms.push(alarm);
      this.index.set(key, alarm);
      let list = this.byRegion.get(def.region);
      if (!list) this.byRegion.set(def.region, (list = []));
      list.push(alarm);
    }
    for (const list of this.byRegion.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Composites read their members' states directly (the rule names alarms of its region).
    for (const c of this.composites) {
      c.bind((name) => {
        const alarm = this.get(c.region, name);
        return alarm ? () => (alarm.deleted ? undefined : alarm.state) : () => undefined;
      });
    }
  }

  get(region: string, name: string): AnyAlarm | undefined {
    return this.index.get(`${region}\u0000${name}`);
  }

  /** Every alarm's definition, region by region: what the world evaluates. */
  definitions(): AlarmDef[] {
    return [...this.byRegion.values()].flatMap((list) => list.map((a) => a.def));
  }

  /** Evaluates the minute that just ended: metric alarms first, then the composites over them. */
  tick(minute: number, now: number): void {
    for (const alarm of this.metricAlarms) {
      const evaluated = alarm.evaluate(minute);
      const state = alarm.forced ?? evaluated;
      if (state !== alarm.state) this.set(alarm, state, alarm.reasonFor(state), now);
    }
    for (const alarm of this.composites) this.recompute(alarm, now);
  }

  /** Re-reads a composite's rule (after a member or its forced state changed). */
  recompute(alarm: CompositeAlarm, now: number): void {
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
    this.onTransition(alarm, previous, now);
  }

  /** DeleteAlarms: the alarm stops existing (no evaluation, no DescribeAlarms entry, no state for composites). */
  remove(region: string, name: string): boolean {
    const alarm = this.get(region, name);
    if (!alarm) return false;
    alarm.deleted = true;
    this.index.delete(`${region}\u0000${name}`);
    const list = this.byRegion.get(region)!;
    list.splice(list.indexOf(alarm), 1);
    if (alarm instanceof MetricAlarm) this.metricAlarms.splice(this.metricAlarms.indexOf(alarm), 1);
    else this.composites.splice(this.composites.indexOf(alarm), 1);
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
