/**
 * Per-minute metric series of one (service, region, scope), kept in ring buffers so that
 * memory stays bounded over a three-week run. Queries aggregate minutes into the requested
 * period the way GetMetricData does.
 */
import { StandardMetric } from '../../core/naming.ts';

export const MINUTE_MS = 60_000;
/** How much history a series keeps: enough for the longest bake plus its baseline. */
export const DEFAULT_RETENTION_MINUTES = 3 * 24 * 60;

/**
 * Metrics the world records beyond the standard ones: what the load balancer and CodeDeploy
 * know about a scope's hosts (ELB's HealthyHostCount; CodeDeploy's instances in progress).
 * The anomaly alarms use them; GetMetricData serves them under the same dimensions.
 */
export const WorldMetric = {
  /** Hosts registered in the load balancer during the minute (serving, or answering nothing). */
  IN_SERVICE_HOSTS: 'InServiceHosts',
  /** Hosts CodeDeploy was installing at any moment of the minute (out of the load balancer). */
  INSTALLING_HOSTS: 'InstallingHosts',
} as const;

/** One minute of one scope, as recorded (see World.serveGroup). */
export interface MinuteDatapoint {
  requests: number;
  faults: number;
  logErrors: number;
  /** Latency percentiles in ms; NaN when the scope served no request in that minute. */
  latencyP50: number;
  latencyP90: number;
  latencyP99: number;
  /** Average utilization in percent over the hosts that reported; NaN when none did. */
  cpu: number;
  memory: number;
  disk: number;
  unhealthyHosts: number;
  inServiceHosts: number;
  installingHosts: number;
}

/** Metric ids of the typed arrays: resolving a metric name once keeps the minute tick free of string switches. */
export const Field = {
  REQUESTS: 0,
  FAULTS: 1,
  LOG_ERRORS: 2,
  P50: 3,
  P90: 4,
  P99: 5,
  CPU: 6,
  MEMORY: 7,
  DISK: 8,
  UNHEALTHY: 9,
  IN_SERVICE: 10,
  INSTALLING: 11,
} as const;
export type Field = (typeof Field)[keyof typeof Field];

/** The minutes a series holds without the tick recording them (a quiet fleet's). */
export interface LazyMinutes {
  /** The latest such minute, or -1. */
  lastMinute(): number;
  /** Records `minute` into the series (and its fleet's others) if it is such a minute; whether it did. */
  fill(minute: number): boolean;
}

/** Fields per minute in a series' interleaved buffer. */
const NF = 12;

export class MinuteSeries {
  private readonly stamp: Int32Array;
  /**
   * Every field of a minute side by side (minute slot x NF + field): one cache line or two
   * per minute, which the alarms read right after the tick wrote it. Float32 keeps request
   * counts exact (< 2^24) and fractional faults to ~7 digits.
   */
  private readonly data: Float32Array;
  /** Latest recorded minute; -1 before the first. */
  private lastRecorded = -1;
  /**
   * Minutes the series holds without having recorded them: those of a quiet fleet (see
   * quiet.ts), computed when read. Absent: every minute is recorded by the tick.
   */
  lazy: LazyMinutes | undefined;
  /** offsetOf's last answer: the alarms of a scope all ask for the same minute in a row. */
  private cachedMinute = -1;
  private cachedOffset = -1;

  constructor(
    readonly service: string,
    readonly region: string,
    readonly scope: string,
    readonly capacity: number = DEFAULT_RETENTION_MINUTES,
  ) {
    this.stamp = new Int32Array(capacity).fill(-1);
    this.data = new Float32Array(capacity * NF);
  }

  /** Records the datapoints of `minute` (epoch minutes: ms / 60 000). */
  record(minute: number, d: MinuteDatapoint): void {
    const slot = minute % this.capacity;
    this.stamp[slot] = minute;
    const data = this.data;
    const o = slot * NF;
    this.cachedMinute = minute;
    this.cachedOffset = o;
    data[o + Field.REQUESTS] = d.requests;
    data[o + Field.FAULTS] = d.faults;
    data[o + Field.LOG_ERRORS] = d.logErrors;
    data[o + Field.P50] = d.latencyP50;
    data[o + Field.P90] = d.latencyP90;
    data[o + Field.P99] = d.latencyP99;
    data[o + Field.CPU] = d.cpu;
    data[o + Field.MEMORY] = d.memory;
    data[o + Field.DISK] = d.disk;
    data[o + Field.UNHEALTHY] = d.unhealthyHosts;
    data[o + Field.IN_SERVICE] = d.inServiceHosts;
    data[o + Field.INSTALLING] = d.installingHosts;
    if (minute > this.lastRecorded) this.lastRecorded = minute;
  }

  /** Latest minute the series holds (recorded, or computable while its fleet is quiet); -1 before the first. */
  get lastMinute(): number {
    const lazy = this.lazy?.lastMinute() ?? -1;
    return lazy > this.lastRecorded ? lazy : this.lastRecorded;
  }

  has(minute: number): boolean {
    return this.offsetOf(minute) >= 0;
  }

  /** Offset of a minute in the buffer (for `at`), or -1 when the series does not hold it. */
  offsetOf(minute: number): number {
    if (minute === this.cachedMinute && (this.cachedOffset >= 0 || !this.lazy)) return this.cachedOffset;
    const slot = minute % this.capacity;
    if (minute >= 0 && this.stamp[slot] === minute) {
      this.cachedMinute = minute;
      this.cachedOffset = slot * NF;
      return this.cachedOffset;
    }
    // A quiet minute is computed (for every series of its fleet) when first read, within retention.
    if (this.lazy && minute >= 0 && minute > this.lastMinute - this.capacity && this.lazy.fill(minute) && this.stamp[slot] === minute) {
      this.cachedMinute = minute;
      this.cachedOffset = slot * NF;
      return this.cachedOffset;
    }
    this.cachedMinute = minute;
    this.cachedOffset = -1;
    return -1;
  }

  /** A field at an offset from `offsetOf`; NaN = no sample (no request, no host reporting). */
  at(offset: number, field: Field): number {
    return this.data[offset + field]!;
  }

  /** One field of one minute; undefined when not recorded or no sample. */
  get(minute: number, field: Field): number | undefined {
    const o = this.offsetOf(minute);
    if (o < 0) return undefined;
    const v = this.data[o + field]!;
    return v !== v ? undefined : v;
  }

  /**
   * Value of one metric in one minute; undefined when not recorded (or no sample). `stat`
   * picks the statistic where the world keeps several per minute: Latency p50/p90/p99
   * (other percentiles interpolated), Average latency ~ 1.2 x p50; default p99.
   */
  value(minute: number, metric: string, stat?: string): number | undefined {
    if (metric === StandardMetric.LATENCY) return this.latency(minute, stat);
    const field = fieldOf(metric);
    return field === undefined ? undefined : this.get(minute, field);
  }

  private latency(minute: number, stat: string | undefined): number | undefined {
    if (stat === undefined || stat === 'p99' || stat === 'Maximum') return this.get(minute, Field.P99);
    if (stat === 'p50') return this.get(minute, Field.P50);
    if (stat === 'p90') return this.get(minute, Field.P90);
    const p50 = this.get(minute, Field.P50);
    if (p50 === undefined) return undefined;
    if (stat === 'Average') return p50 * 1.2;
    if (stat === 'Minimum') return p50 * 0.25;
    const p = stat.startsWith('p') ? Number(stat.slice(1)) : Number.NaN;
    if (Number.isNaN(p)) return undefined;
    const p90 = this.get(minute, Field.P90)!;
    const p99 = this.get(minute, Field.P99)!;
    if (p <= 50) return (p50 * p) / 50;
    if (p <= 90) return p50 + ((p90 - p50) * (p - 50)) / 40;
    if (p <= 99) return p90 + ((p99 - p90) * (p - 90)) / 9;
    return p99;
  }

  datapoint(minute: number): MinuteDatapoint | undefined {
    const o = this.offsetOf(minute);
    if (o < 0) return undefined;
    const data = this.data;
    return {
      requests: data[o + Field.REQUESTS]!,
      faults: data[o + Field.FAULTS]!,
      logErrors: data[o + Field.LOG_ERRORS]!,
      latencyP50: data[o + Field.P50]!,
      latencyP90: data[o + Field.P90]!,
      latencyP99: data[o + Field.P99]!,
      cpu: data[o + Field.CPU]!,
      memory: data[o + Field.MEMORY]!,
      disk: data[o + Field.DISK]!,
      unhealthyHosts: data[o + Field.UNHEALTHY]!,
      inServiceHosts: data[o + Field.IN_SERVICE]!,
      installingHosts: data[o + Field.INSTALLING]!,
    };
  }
}

/** The field of a metric name (Latency has three: see MinuteSeries.value). */
export const fieldOf = (metric: string): Field | undefined => {
  switch (metric) {
    case StandardMetric.REQUESTS: return Field.REQUESTS;
    case StandardMetric.FAULTS: return Field.FAULTS;
    case StandardMetric.LOG_ERRORS: return Field.LOG_ERRORS;
    case StandardMetric.LATENCY: return Field.P99;
    case StandardMetric.CPU: return Field.CPU;
    case StandardMetric.MEMORY: return Field.MEMORY;
    case StandardMetric.DISK: return Field.DISK;
    case StandardMetric.UNHEALTHY_HOSTS: return Field.UNHEALTHY;
    case WorldMetric.IN_SERVICE_HOSTS: return Field.IN_SERVICE;
    case WorldMetric.INSTALLING_HOSTS: return Field.INSTALLING;
    default: return undefined;
  }
};

export interface StatResult {
  timestamps: Date[];
  values: number[];
}

/** Aggregates a period's minutes: percentiles of a period are approximated by its worst minute (see README). */
const aggregate = (stat: string, values: number[]): number => {
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'SampleCount':
      return values.length;
    default:
      // Maximum and any percentile: the worst minute of the period.
      return Math.max(...values);
  }
};

export const SUPPORTED_STAT = /^(Sum|Average|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?|p100)$/;

/**
 * Aggregates the minutes of [startMs, endMs) into buckets of `periodSeconds` starting at
 * the start time (floored to the minute). Buckets without any recorded minute are absent,
 * as in CloudWatch. Timestamps ascend; callers reverse for TimestampDescending.
 */
export const queryStat = (
  series: MinuteSeries | undefined,
  metric: string,
  stat: string,
  startMs: number,
  endMs: number,
  periodSeconds: number,
): StatResult => {
  const result: StatResult = { timestamps: [], values: [] };
  if (!series) return result;
  const perBucket = Math.max(1, Math.round(periodSeconds / 60));
  const first = Math.floor(startMs / MINUTE_MS);
  const end = Math.min(Math.ceil(endMs / MINUTE_MS), series.lastMinute + 1);
  // Minutes older than the ring buffer are gone: skip straight to the first bucket that can hold data.
  const oldest = series.lastMinute - series.capacity + 1;
  const skip = oldest > first ? Math.floor((oldest - first) / perBucket) * perBucket : 0;
  // Latency keeps several statistics per minute: read the one asked for.
  const minuteStat = metric === StandardMetric.LATENCY ? stat : undefined;
  for (let bucket = first + skip; bucket < end; bucket += perBucket) {
    const values: number[] = [];
    const last = Math.min(bucket + perBucket, end);
    for (let m = bucket; m < last; m++) {
      const v = series.value(m, metric, minuteStat);
      if (v !== undefined) values.push(v);
    }
    if (values.length > 0) {
      result.timestamps.push(new Date(bucket * MINUTE_MS));
      result.values.push(aggregate(stat, values));
    }
  }
  return result;
};
