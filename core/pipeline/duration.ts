/**
 * ISO 8601 durations (`PT1H`, `P1D`, `PT30M`) as used by pipeline bakes and scenario
 * slow burns, converted to seconds. Years and months are rejected: their length depends
 * on the calendar, and a bake must mean the same number of seconds on every run.
 */
import { Duration } from 'luxon';

export class InvalidDurationError extends Error {
  override readonly name = 'InvalidDurationError';
  constructor(
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** What {@link checkIsoDuration} answers: the seconds, or why the value is not a duration. */
export type DurationCheck = { ok: true; seconds: number } | { ok: false; message: string };

const show = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value));

/** Parse without throwing; the message says what is wrong, the value and the fix. */
export function checkIsoDuration(value: unknown): DurationCheck {
  if (typeof value !== 'string') {
    return {
      ok: false,
      message: `expected an ISO 8601 duration string such as 'PT1H'; received ${show(value)}`,
    };
  }
  const duration = Duration.fromISO(value);
  if (!duration.isValid) {
    return {
      ok: false,
      message: `${show(value)} is not an ISO 8601 duration; write e.g. 'PT30M', 'PT12H' or 'P1DT6H'`,
    };
  }
  if (duration.years !== 0 || duration.quarters !== 0 || duration.months !== 0) {
    return {
      ok: false,
      message: `${show(value)} uses years or months, whose length depends on the calendar; write it in weeks, days, hours or minutes (e.g. 'P30D')`,
    };
  }
  const seconds = duration.as('seconds');
  if (!Number.isFinite(seconds) || seconds < 0) {
    return { ok: false, message: `${show(value)} is negative; a duration must be zero or more` };
  }
  return { ok: true, seconds: Math.round(seconds) };
}

/** ISO 8601 duration to whole seconds; throws {@link InvalidDurationError} with a clear message. */
export function parseIsoDuration(value: string): number {
  const check = checkIsoDuration(value);
  if (!check.ok) throw new InvalidDurationError(value, check.message);
  return check.seconds;
}

/** Whole seconds to a normalized ISO 8601 duration (`PT4H`, `P1DT2H30M`, `PT0S`). */
export function secondsToIso(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidDurationError(seconds, `expected a non-negative number of seconds; received ${seconds}`);
  }
  let rest = Math.round(seconds);
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3_600);
  rest -= hours * 3_600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${secs ? `${secs}S` : ''}`;
  if (!days && !time) return 'PT0S';
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}
