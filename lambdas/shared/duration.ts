/** ISO 8601 durations as the event vocabulary writes them: `PT1H`, `P2DT3H4M`, `PT0S`. */
import { Duration } from 'luxon';

export const isoDuration = (millis: number): string => {
  const seconds = Math.max(0, Math.round(millis / 1000));
  if (seconds === 0) return 'PT0S';
  const parts = Duration.fromObject({ seconds }).shiftTo('days', 'hours', 'minutes', 'seconds').toObject();
  const nonZero = Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== 0 && v !== undefined));
  return Duration.fromObject(nonZero).toISO() ?? 'PT0S';
};

export const isoDurationSeconds = (seconds: number): string => isoDuration(seconds * 1000);

/** Current virtual-or-real time (the simulator fakes Date.now). */
export const now = (): number => Date.now();
export const nowIso = (): string => new Date(Date.now()).toISOString();
