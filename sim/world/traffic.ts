/**
 * The traffic model: how many requests a region (or a pre-production stage) receives in a
 * minute. Customers follow the sun, so production traffic follows the region's local hour.
 */
import { DateTime } from 'luxon';

/** Requests per minute of a region of traffic weight 1 at its daily peak. */
export const BASE_REQUESTS_PER_MINUTE = 2000;
/** Synthetic canary traffic of a pre-production stage, flat all day. */
export const PRE_PROD_REQUESTS_PER_MINUTE = 200;
/** Daily trough, as a fraction of the peak. */
export const TROUGH_FACTOR = 0.3;
export const TROUGH_HOUR = 4;
export const PEAK_HOUR = 15;
/** Minute-to-minute noise, +/- this fraction. */
export const TRAFFIC_NOISE = 0.03;
/**
 * What CloudWatch's anomaly detection model has learned of a fleet's requests, as the world
 * models it: the band's centre is the traffic model's expected value of the minute (the daily
 * season), its standard deviation this fraction of it (day-to-day variation at that hour over
 * the two weeks of training, far above the minute noise). A band of 3 deviations thus has its
 * lower edge at a quarter of the expected requests.
 */
export const LEARNED_STD_DEV_FRACTION = 0.25;

/**
 * Fraction of the peak at a local hour (0..24, fractional): a half cosine rising from the
 * trough at 04:00 to the peak at 15:00, and another falling back over the night.
 */
export const dailyFactor = (localHour: number): number => {
  const rise = PEAK_HOUR - TROUGH_HOUR;
  const sinceTrough = (((localHour - TROUGH_HOUR) % 24) + 24) % 24;
  const phase = sinceTrough <= rise ? sinceTrough / rise : 1 - (sinceTrough - rise) / (24 - rise);
  return TROUGH_FACTOR + (1 - TROUGH_FACTOR) * (1 - Math.cos(Math.PI * phase)) / 2;
};

const HOUR_MS = 3_600_000;

/**
 * Local hour of one IANA zone; caches the UTC offset per UTC hour (zone lookups are slow),
 * every hour it was asked for: the alarms' bounds read hours ahead while the fleets serve the
 * current one.
 */
export class LocalClock {
  private readonly offsets = new Map<number, number>();

  constructor(readonly timeZone: string) {
    if (!DateTime.fromMillis(0, { zone: timeZone }).isValid) {
      throw new Error(`time zone '${timeZone}' is not a valid IANA zone; use e.g. 'America/New_York'`);
    }
  }

  /** Local hour of day (0..24, fractional) at epoch milliseconds `ms`. */
  hourAt(ms: number): number {
    const utcHour = Math.floor(ms / HOUR_MS);
    let offsetMs = this.offsets.get(utcHour);
    if (offsetMs === undefined) {
      offsetMs = DateTime.fromMillis(utcHour * HOUR_MS, { zone: this.timeZone }).offset * 60_000;
      this.offsets.set(utcHour, offsetMs);
    }
    const local = (ms + offsetMs) % (24 * HOUR_MS);
    return (local < 0 ? local + 24 * HOUR_MS : local) / HOUR_MS;
  }
}
