/**
 * The world's local clock (sim/world/traffic.ts) caches a zone's UTC offset per UTC hour,
 * however the hours are asked for: read ahead and back, across daylight-saving changes, it
 * gives the hour luxon gives.
 */
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { LocalClock } from '../../sim/world/traffic.ts';

const HOUR = 3_600_000;
const luxonHour = (zone: string, ms: number): number => {
  const d = DateTime.fromMillis(ms, { zone });
  return d.hour + d.minute / 60 + d.second / 3600 + d.millisecond / HOUR;
};

describe('LocalClock', () => {
  it('gives the local hour of day, asked out of order across daylight-saving changes', () => {
    // Both 2026 changes in New York and Sydney, and a zone without them.
    const spans = [Date.parse('2026-03-08T00:00:00Z'), Date.parse('2026-04-04T10:00:00Z'), Date.parse('2026-11-01T00:00:00Z')];
    for (const zone of ['America/New_York', 'Australia/Sydney', 'Asia/Kolkata']) {
      const clock = new LocalClock(zone);
      const asked: number[] = [];
      for (const start of spans) {
        // The current minute, then hours ahead (an alarm's bounds), then back to the minute after.
        for (let m = 0; m < 48 * 60; m += 37) {
          const now = start + m * 60_000;
          asked.push(now, now + 5 * HOUR + 1_234, now + 60_000, now - 3 * HOUR);
        }
      }
      for (const ms of asked) expect(clock.hourAt(ms)).toBeCloseTo(luxonHour(zone, ms), 9);
    }
  });

  it('refuses a zone that is not an IANA zone', () => {
    expect(() => new LocalClock('Mars/Olympus')).toThrow(/not a valid IANA zone/);
  });
});
