/**
 * Deployment time windows: may a production step START at this instant? Pure logic, no AWS.
 *
 * A window is evaluated in its own IANA time zone (the region's, when the pipeline says
 * `region`; callers resolve that before calling): it is open on the listed weekdays, from
 * `start` (inclusive) to `end` (exclusive), except on holidays (dates in the window's
 * zone). An `end` at or before `start` crosses midnight: the opening belongs to the day it
 * starts on, so a Thursday 22:00-02:00 window is open until Friday 02:00. `24:00` is
 * accepted as an end meaning midnight. Wall-clock times that do not exist on a DST
 * spring-forward day move forward, as the clocks do (02:30 becomes 03:30).
 */
import { DateTime, IANAZone } from 'luxon';
import { Weekdays, type DeploymentWindow, type Weekday } from './model.ts';

/** How far ahead `nextOpening` looks before concluding the window never opens. */
export const MAX_SEARCH_DAYS = 400;

const MINUTES_PER_DAY = 24 * 60;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

/** What is wrong with a window, one message per problem; empty when it is usable. */
export const windowProblems = (window: Partial<DeploymentWindow> | undefined): string[] => {
  if (!window) return ['no window'];
  const problems: string[] = [];
  if (typeof window.timeZone !== 'string' || !IANAZone.isValidZone(window.timeZone)) {
    problems.push(
      `timeZone '${String(window.timeZone)}' is not an IANA time zone (e.g. 'America/New_York'); 'region' must be resolved to the region's zone before evaluation`,
    );
  }
  if (!Array.isArray(window.days)) {
    problems.push(`days must be a list of ${Weekdays.join(', ')}`);
  } else {
    for (const day of window.days) {
      if (!Weekdays.includes(day as Weekday)) problems.push(`day '${String(day)}' is not one of ${Weekdays.join(', ')}`);
    }
  }
  for (const field of ['start', 'end'] as const) {
    const value = window[field];
    if (typeof value !== 'string' || !HHMM.test(value) || (field === 'start' && value === '24:00')) {
      problems.push(`${field} '${String(value)}' is not a time of day HH:MM`);
    }
  }
  return problems;
};

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/** Length of one opening in minutes of wall-clock time; 0 means the window never opens. */
const openingMinutes = (window: DeploymentWindow): number => {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (end === start) return 0;
  return end > start ? end - start : end + MINUTES_PER_DAY - start;
};

const weekdayOf = (day: DateTime): Weekday => Weekdays[day.weekday - 1]!;

/** Is `day` (a date in the window's zone) a day on which an opening starts? */
const opensOn = (window: DeploymentWindow, holidays: ReadonlySet<string>, day: DateTime): boolean =>
  window.days.includes(weekdayOf(day)) && !holidays.has(day.toISODate()!);

/** The instant the opening of `day` starts and ends (wall-clock start, plus its length). */
const openingOf = (window: DeploymentWindow, day: DateTime): { from: DateTime; to: DateTime } => {
  const start = minutesOf(window.start);
  const from = DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: Math.floor(start / 60), minute: start % 60 },
    { zone: day.zone },
  );
  // The end is a wall-clock time too (15:00 stays 15:00 on a DST day), on the next day
  // when the window crosses midnight.
  const endMinutes = start + openingMinutes(window);
  const endDay = day.startOf('day').plus({ days: Math.floor(endMinutes / MINUTES_PER_DAY) });
  const rest = endMinutes % MINUTES_PER_DAY;
  const to = DateTime.fromObject(
    { year: endDay.year, month: endDay.month, day: endDay.day, hour: Math.floor(rest / 60), minute: rest % 60 },
    { zone: day.zone },
  );
  return { from, to };
};

const assertUsable = (window: DeploymentWindow): void => {
  const problems = windowProblems(window);
  if (problems.length > 0) throw new RangeError(`invalid deployment window: ${problems.join('; ')}`);
};

/** Is the window open at `at`? Start inclusive, end exclusive, holidays closed. */
export const isOpen = (window: DeploymentWindow, holidays: ReadonlySet<string>, at: Date): boolean => {
  assertUsable(window);
  if (openingMinutes(window) === 0) return false;
  const local = DateTime.fromJSDate(at, { zone: window.timeZone });
  // An opening that crosses midnight started the day before.
  for (const day of [local.startOf('day').minus({ days: 1 }), local.startOf('day')]) {
    if (!opensOn(window, holidays, day)) continue;
    const { from, to } = openingOf(window, day);
    if (local >= from && local < to) return true;
  }
  return false;
};

/**
 * The first instant at or after `from` when the window is open; `from` itself when it is
 * open now. Undefined when it does not open within MAX_SEARCH_DAYS (no days, an empty
 * window, or holidays on every listed day).
 */
export const nextOpening = (
  window: DeploymentWindow,
  holidays: ReadonlySet<string>,
  from: Date,
): Date | undefined => {
  if (isOpen(window, holidays, from)) return from;
  if (openingMinutes(window) === 0 || window.days.length === 0) return undefined;
  const local = DateTime.fromJSDate(from, { zone: window.timeZone });
  let day = local.startOf('day');
  for (let i = 0; i <= MAX_SEARCH_DAYS; i++, day = day.plus({ days: 1 })) {
    if (!opensOn(window, holidays, day)) continue;
    const { from: opening, to } = openingOf(window, day);
    if (opening > local && opening < to) return opening.toJSDate();
  }
  return undefined;
};
