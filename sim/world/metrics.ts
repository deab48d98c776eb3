/**
 * Per-minute metric series of one (service, region, scope), kept in ring buffers so that
 * memory stays bounded over a three-week run. Queries aggregate minutes into the requested
 * period the way GetMetricData does.
 */
import { StandardMetric } from '../../core/naming.ts';

export const MINUTE_MS = 60_000;
/** How much history a series keeps: enough for the longest bake plus its baseline. */
export const DEFAULT_RETENTION_MINUTES = 3 * 24 * 60;

export interface MinuteDatapoint {
  requests: number;
  faults: number;
  /** p99 latency in ms; NaN when the scope served no request in that minute. */
  latencyP99: number;
  unhealthyHosts: number;
}

export class MinuteSeries {
  private readonly stamp: Int32Array;
  private readonly requests: Float64Array;
  private readonly faults: Float64Array;
  private readonly latency: Float32Array;
  private readonly unhealthy: Float32Array;
  /** Latest recorded minute; -1 before the first. */
  lastMinute = -1;

  constructor(
    readonly service: string,
    readonly region: string,
    readonly scope: string,
    readonly capacity: number = DEFAULT_RETENTION_MINUTES,
  ) {
    this.stamp = new Int32Array(capacity).fill(-1);
    this.requests = new Float64Array(capacity);
    this.faults = new Float64Array(capacity);
    this.latency = new Float32Array(capacity);
    this.unhealthy = new Float32Array(capacity);
  }

  /** Records the datapoints of `minute` (epoch minutes: ms / 60 000). */
  record(minute: number, requests: number, faults: number, latencyP99: number, unhealthyHosts: number): void {
    const slot = minute % this.capacity;
    this.stamp[slot] = minute;
    this.requests[slot] = requests;
    this.faults[slot] = faults;
    this.latency[slot] = latencyP99;
    this.unhealthy[slot] = unhealthyHosts;
    if (minute > this.lastMinute) this.lastMinute = minute;
  }

  has(minute: number): boolean {
    return minute >= 0 && this.stamp[minute % this.capacity] === minute;
  }

  /** Value of one standard metric in one minute; undefined when not recorded (or no latency sample). */
  value(minute: number, metric: string): number | undefined {
    if (!this.has(minute)) return undefined;
    const slot = minute % this.capacity;
    switch (metric) {
      case StandardMetric.REQUESTS:
        return this.requests[slot];
      case StandardMetric.FAULTS:
        return this.faults[slot];
      case StandardMetric.LATENCY: {
        const v = this.latency[slot]!;
        return Number.isNaN(v) ? undefined : v;
      }
      case StandardMetric.UNHEALTHY_HOSTS:
        return this.unhealthy[slot];
      default:
        return undefined;
    }
  }

  datapoint(minute: number): MinuteDatapoint | undefined {
    if (!this.has(minute)) return undefined;
    const slot = minute % this.capacity;
    return {
      requests: this.requests[slot]!,
      faults: this.faults[slot]!,
      latencyP99: this.latency[slot]!,
      unhealthyHosts: this.unhealthy[slot]!,
    };
  }
}

export interface StatResult {
  timestamps: Date[];
  values: number[];
}

/** Statistics the world can answer; percentiles of latency come from the per-minute p99 (see README). */
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
  for (let bucket = first + skip; bucket < end; bucket += perBucket) {
    const values: number[] = [];
    const last = Math.min(bucket + perBucket, end);
    for (let m = bucket; m < last; m++) {
      const v = series.value(m, metric);
      if (v !== undefined) values.push(v);
    }
    if (values.length > 0) {
      result.timestamps.push(new Date(bucket * MINUTE_MS));
      result.values.push(aggregate(stat, values));
    }
  }
  return result;
};
