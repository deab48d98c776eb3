/**
 * The world's CloudWatch alarms: each evaluates exactly one definition of the alarm plan
 * (core/alarms), as CloudWatch documents it.
 *
 * - One datapoint per period (60 s) from the metric, the metric-math expression or, for an
 *   anomaly alarm, the metric against `ANOMALY_DETECTION_BAND(m, width)`.
 * - M of N over the last `evaluationPeriods` datapoints, missing data per `treatMissingData`:
 *   with no datapoint in the range, `missing` -> INSUFFICIENT_DATA, `ignore` -> the state
 *   stays, `breaching` -> ALARM, `notBreaching` -> OK; with at least `datapointsToAlarm`
 *   datapoints the existing ones decide (ALARM when M of them breach); with fewer, the
 *   missing ones are filled as the option says (`missing` and `ignore`: ALARM only when
 *   every existing datapoint breaches).
 * - Composite: ALARM while the rule holds; INSUFFICIENT_DATA while it does not and every
 *   alarm it names is INSUFFICIENT_DATA or absent; OK otherwise.
 */
import type { AnomalyAlarmDef, Comparison, CompositeAlarmDef, MathAlarmDef, MetricAlarmDef, TreatMissingData } from '../../../core/alarms/types.ts';
import { compare, existence, type Iv, type IvSeries, point, type Tri } from './bounds.ts';
import { compileRule, type Series } from './math.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** The M-of-N decision of one evaluation (pure; see the file comment). */
export const decideState = (r: {
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: TreatMissingData;
  /** Datapoints present in the range, and how many of them breach. */
  present: number;
  breaching: number;
  current: AlarmState;
}): AlarmState => decide(r.evaluationPeriods, r.datapointsToAlarm, MISSING_CODE[r.treatMissingData], r.present, r.breaching, r.current);

const MISSING_CODE: Record<TreatMissingData, number> = { missing: 0, ignore: 1, breaching: 2, notBreaching: 3 };

/** decideState without an argument object (the minute tick calls it for every alarm). */
const decide = (n: number, m: number, missing: number, present: number, breaching: number, current: AlarmState): AlarmState => {
  if (present === 0) {
    switch (missing) {
      case 0: return 'INSUFFICIENT_DATA';
      case 1: return current;
      case 2: return m <= n ? 'ALARM' : 'OK';
      default: return 'OK';
    }
  }
  if (present >= m) return breaching >= m ? 'ALARM' : 'OK';
  switch (missing) {
    case 2: return breaching + (n - present) >= m ? 'ALARM' : 'OK';
    case 3: return 'OK';
    default: return breaching === present ? 'ALARM' : 'OK';
  }
};

const popcount = (x: number): number => {
  let n = 0;
  for (let h = x; h; h &= h - 1) n++;
  return n;
};

const comparisonText: Record<Comparison, string> = {
  GreaterThanThreshold: 'greater than the threshold',
  GreaterThanOrEqualToThreshold: 'greater than or equal to the threshold',
  LessThanThreshold: 'less than the threshold',
  LessThanOrEqualToThreshold: 'less than or equal to the threshold',
  LessThanLowerThreshold: 'less than the lower edge of the band',
  GreaterThanUpperThreshold: 'greater than the upper edge of the band',
  LessThanLowerOrGreaterThanUpperThreshold: 'outside the band',
};

const fmt = (v: number): string => (v !== v ? 'missing' : String(Number(v.toPrecision(4))));

interface Stateful {
  /** DeleteAlarms: the alarm no longer exists (composites naming it see no state). */
  deleted: boolean;
  state: AlarmState;
  reason: string;
  updatedAt: number;
  everAlarmed: boolean;
}

/** The anomaly band of a metric: its centre at a minute and its standard deviation there, as the world's model has learned them. */
export interface Band {
  centre(minute: number): number;
  stdDev(minute: number): number;
}

/** What every datapoint of a block of quiet minutes is: whether it exists, whether (existing) it breaches. */
export interface QuietClass {
  exists: Tri;
  breach: Tri;
}

/** Bounds of an alarm's datapoints while its inputs are quiet (alarms/bounds.ts). */
export interface QuietBounds {
  value: IvSeries;
  /** Anomaly alarms: the band's edges. */
  band?: (block: number) => { lower: Iv; upper: Iv };
}

const THRESHOLD_OPS = ['>', '>=', '<', '<='] as const;

export class MetricAlarm implements Stateful {
  readonly type = 'MetricAlarm' as const;
  deleted = false;
  /** A state the scenario forces (an alarm that cannot read its metric); undefined: evaluations decide. */
  forced: AlarmState | undefined;
  state: AlarmState = 'OK';
  reason = 'Initial state: no breaching datapoints.';
  updatedAt: number;
  everAlarmed = false;
  /** Bounds of its datapoints while its inputs are quiet; undefined: evaluated every minute. */
  quiet: QuietBounds | undefined;
  /** Bit i: the datapoint i minutes before the last evaluated one exists / breaches. */
  private present = 0;
  private breach = 0;
  private readonly mask: number;
  private readonly values: Float64Array;
  /** The last minute evaluated; -1 before the first. */
  lastEvaluated = -1;
  private readonly cmp: number;
  private readonly threshold: number;
  private readonly width: number;
  private readonly n: number;
  private readonly m: number;
  private readonly missing: number;

  constructor(
    readonly def: MetricAlarmDef | MathAlarmDef | AnomalyAlarmDef,
    private readonly value: Series,
    now: number,
    private readonly band?: Band,
  ) {
    if (def.evaluationPeriods < 1 || def.evaluationPeriods > 30) throw new Error(`alarm '${def.name}': 1 to 30 evaluation periods`);
    if (def.kind === 'anomaly' && !band) throw new Error(`alarm '${def.name}': an anomaly alarm needs its band`);
    this.updatedAt = now;
    this.mask = (1 << def.evaluationPeriods) - 1;
    this.values = new Float64Array(def.evaluationPeriods).fill(Number.NaN);
    this.cmp = (
      ['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold', 'LessThanLowerThreshold', 'GreaterThanUpperThreshold', 'LessThanLowerOrGreaterThanUpperThreshold'] as const
    ).indexOf(def.comparison);
    this.threshold = def.kind === 'anomaly' ? Number.NaN : def.threshold;
    this.width = def.kind === 'anomaly' ? def.bandWidth : 0;
    this.n = def.evaluationPeriods;
    this.m = def.datapointsToAlarm;
    this.missing = MISSING_CODE[def.treatMissingData];
  }

  get name(): string {
    return this.def.name;
  }

  get region(): string {
    return this.def.region;
  }

  private breaches(v: number, minute: number): boolean {
    const t = this.threshold;
    switch (this.cmp) {
      case 0: return v > t;
      case 1: return v >= t;
      case 2: return v < t;
      case 3: return v <= t;
    }
    const band = this.band!;
    const centre = band.centre(minute);
    const spread = this.width * band.stdDev(minute);
    const lower = centre - spread;
    const upper = centre + spread;
    switch (this.cmp) {
      case 4: return v < lower;
      case 5: return v > upper;
      default: return v < lower || v > upper;
    }
  }

  /** Evaluates the datapoint of `minute` (once per minute, in order); returns the state it leads to. */
  evaluate(minute: number): AlarmState {
    const v = this.value(minute);
    const exists = v === v && v !== Number.POSITIVE_INFINITY && v !== Number.NEGATIVE_INFINITY;
    const gap = this.lastEvaluated < 0 ? 1 : minute - this.lastEvaluated;
    // Minutes never evaluated (a gap) count as missing datapoints.
    const keep = gap >= 30 ? 0 : this.mask >>> gap;
    this.present = (((this.present & keep) << gap) | (exists ? 1 : 0)) & this.mask;
    this.breach = (((this.breach & keep) << gap) | (exists && this.breaches(v, minute) ? 1 : 0)) & this.mask;
    this.values[minute % this.values.length] = exists ? v : Number.NaN;
    this.lastEvaluated = minute;
    return decide(this.n, this.m, this.missing, popcount(this.present), popcount(this.breach), this.state);
  }

  /** What every datapoint of a block of quiet minutes is, as far as the bounds tell. */
  quietClass(block: number): QuietClass | undefined {
    const q = this.quiet;
    if (!q) return undefined;
    const v = q.value(block);
    const exists = existence(v);
    if (exists === 0) return { exists, breach: 0 };
    if (this.cmp <= 3) return { exists, breach: compare(THRESHOLD_OPS[this.cmp]!, v, point(this.threshold)) };
    const { lower, upper } = q.band!(block);
    const below = compare('<', v, lower);
    const above = compare('>', v, upper);
    if (this.cmp === 4) return { exists, breach: below };
    if (this.cmp === 5) return { exists, breach: above };
    return { exists, breach: below === 1 || above === 1 ? 1 : below === 0 && above === 0 ? 0 : 2 };
  }

  /**
   * Whether datapoints of that class keep this alarm where it is, however many: the window
   * already holds only such datapoints, and every M-of-N decision over such a window gives
   * the current state (or a state is forced).
   */
  steadyUnder(c: QuietClass): boolean {
    if (this.lastEvaluated < 0) return false;
    if (c.exists === 1 && this.present !== this.mask) return false;
    if (c.exists === 0 && this.present !== 0) return false;
    if (c.breach === 0 && this.breach !== 0) return false;
    if (c.breach === 1 && this.breach !== this.present) return false;
    return this.classSteady(c);
  }

  /** Whether every M-of-N decision over a window of datapoints of that class gives the current state (or one is forced). */
  classSteady(c: QuietClass): boolean {
    return this.forced !== undefined || this.decisions(c, this.state) === this.state;
  }

  /**
   * The one state every M-of-N decision over a window of datapoints of that class gives from
   * `current`, or undefined when they differ (then bounds cannot keep this alarm asleep).
   */
  decisions(c: QuietClass, current: AlarmState = this.state): AlarmState | undefined {
    const n = this.n;
    let only: AlarmState | undefined;
    for (let p = c.exists === 1 ? n : 0; p <= (c.exists === 0 ? 0 : n); p++) {
      for (let b = c.breach === 1 ? p : 0; b <= (c.breach === 0 ? 0 : p); b++) {
        const d = decide(n, this.m, this.missing, p, b, current);
        if (only === undefined) only = d;
        else if (d !== only) return undefined;
      }
    }
    return only;
  }

  /** CloudWatch-like StateReason of the last evaluation (built only on a transition). */
  reasonFor(state: AlarmState): string {
    const d = this.def;
    const n = d.evaluationPeriods;
    const values: string[] = [];
    for (let i = 0; i < n; i++) values.push(this.lastEvaluated - i >= 0 ? fmt(this.values[(this.lastEvaluated - i) % n]!) : 'missing');
    const edge = d.kind === 'anomaly' ? `band (${d.bandWidth} standard deviations)` : `(${fmt(d.threshold)})`;
    const count = popcount(this.breach);
    if (state === 'INSUFFICIENT_DATA') return `Insufficient Data: no datapoint in the last ${n} periods [${values.join(', ')}] (treat missing data: ${d.treatMissingData}).`;
    return state === 'ALARM'
      ? `Threshold Crossed: ${count} out of the last ${n} datapoints [${values.join(', ')}] were ${comparisonText[d.comparison]} ${edge}.`
      : `Threshold Crossed: ${count} out of the last ${n} datapoints [${values.join(', ')}] were ${comparisonText[d.comparison]} ${edge}; ${d.datapointsToAlarm} needed to alarm.`;
  }
}

export class CompositeAlarm implements Stateful {
  readonly type = 'CompositeAlarm' as const;
  deleted = false;
  state: AlarmState = 'OK';
  reason = 'Initial state: the rule does not hold.';
  updatedAt: number;
  everAlarmed = false;
  /** A state the scenario forces (standing in for alarms the world does not simulate); undefined: the rule decides. */
  forced: AlarmState | undefined;
  private rule: ReturnType<typeof compileRule> | undefined;
  private readers: Array<() => AlarmState | undefined> = [];

  constructor(
    readonly def: CompositeAlarmDef,
    now: number,
  ) {
    this.updatedAt = now;
  }

  /** Resolves the alarms the rule names (once every alarm of the region exists). */
  bind(resolve: (name: string) => () => AlarmState | undefined): void {
    const bind = (name: string) => {
      const reader = resolve(name);
      this.readers.push(reader);
      return reader;
    };
    this.rule = compileRule(this.def.rule, bind);
  }

  get name(): string {
    return this.def.name;
  }

  get region(): string {
    return this.def.region;
  }

  /** The alarms the rule names. */
  get members(): readonly string[] {
    return this.rule?.names ?? [];
  }

  computed(): AlarmState {
    if (this.forced) return this.forced;
    const rule = this.rule!;
    if (rule.test()) return 'ALARM';
    return this.readers.length > 0 && this.readers.every((r) => (r() ?? 'INSUFFICIENT_DATA') === 'INSUFFICIENT_DATA') ? 'INSUFFICIENT_DATA' : 'OK';
  }

  reasonFor(state: AlarmState): string {
    if (this.forced) return `State forced to ${this.forced} by the scenario.`;
    const firing = this.members.filter((_, i) => this.readers[i]!() === 'ALARM');
    if (state === 'ALARM') return `Alarm rule evaluated to ALARM: ${firing.join(', ')} in ALARM.`;
    return state === 'INSUFFICIENT_DATA' ? 'Alarm rule evaluated to INSUFFICIENT_DATA: no alarm it names has data.' : 'Alarm rule evaluated to OK: no member alarm in ALARM.';
  }
}

export type AnyAlarm = MetricAlarm | CompositeAlarm;
