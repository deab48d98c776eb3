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
const START_HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const END_HHMM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

/** One thing wrong with a window: the field (`['days', 1]`), and what is wrong with the fix. */
export interface WindowProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export interface WindowRuleOptions {
  /**
   * Accept `region` as the zone: a pipeline definition's window, evaluated in each region's
   * own zone once resolved. The windows table holds resolved zones only.
   * @default false
   */
  readonly regionZone?: boolean;
}

const show = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value)));

/** Whether `zone` is an IANA zone; luxon's cached zone says so once per name (isValidZone builds an Intl formatter each call). */
const isIanaZone = (zone: string): boolean => IANAZone.create(zone).isValid;

/**
 * The rules of a deployment window, in the one place that the pipeline schema, the
 * check-window handler (for the items of the windows table) and the evaluation below read:
 * an IANA zone; at least one weekday, each listed once; `start` HH:MM from 00:00 to 23:59;
 * `end` HH:MM from 00:00 to 24:00, different from `start` (earlier than `start`: the
 * window crosses midnight). Every problem, each with its field; empty when usable.
 */
export const windowProblemsAt = (window: unknown, options: WindowRuleOptions = {}): WindowProblem[] => {
  if (typeof window !== 'object' || window === null || Array.isArray(window)) {
    return [{ path: [], message: `expected a window object { timeZone, days, start, end }; received ${show(window)}` }];
  }
  const w = window as Record<string, unknown>;
  const problems: WindowProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });
  const zone = w.timeZone;
  if (!(typeof zone === 'string' && ((options.regionZone && zone === 'region') || isIanaZone(zone)))) {
    add(
      ['timeZone'],
      `${show(zone)} is not an IANA time zone; write e.g. 'America/Los_Angeles'${options.regionZone ? ", or 'region' for each region's own zone" : " (a table item holds the region's resolved zone, never 'region')"}`,
    );
  }
  const days = w.days;
  if (!Array.isArray(days)) {
    add(['days'], `expected a list of weekdays, e.g. ["MON", "TUE"]; received ${show(days)}`);
  } else if (days.length === 0) {
    add(['days'], `lists no day, so the window never opens; list at least one of ${Weekdays.join(', ')}`);
  } else {
    const seen = new Set<unknown>();
    days.forEach((day, i) => {
      if (!Weekdays.includes(day as Weekday)) {
        add(['days', i], `expected one of ${Weekdays.map((d) => `'${d}'`).join(', ')}; received ${show(day)}`);
      } else if (seen.has(day)) {
        add(['days', i], `day ${show(day)} is listed twice; list it once`);
      }
      seen.add(day);
    });
  }
  const start = w.start;
  const end = w.end;
  const startOk = typeof start === 'string' && START_HHMM.test(start);
  const endOk = typeof end === 'string' && END_HHMM.test(end);
  if (!startOk) add(['start'], `expected a 24-hour time HH:MM between 00:00 and 23:59; received ${show(start)}`);
  if (!endOk) add(['end'], `expected a 24-hour time HH:MM between 00:00 and 24:00 (24:00: the end of the day); received ${show(end)}`);
  if (startOk && endOk && minutesOf(start) === minutesOf(end)) {
    add(
      ['end'],
      `end ${show(end)} equals start ${show(start)}, so the window never opens; set end later than start (or earlier, for a window that crosses midnight)`,
    );
  }
  return problems;
};

/** windowProblemsAt as sentences naming their field (`days[1]: ...`); empty when usable. */
export const windowProblems = (window: unknown, options: WindowRuleOptions = {}): string[] =>
  windowProblemsAt(window, options).map((p) => (p.path.length === 0 ? p.message : `${formatField(p.path)}: ${p.message}`));

const formatField = (path: readonly (string | number)[]): string =>
  path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

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
