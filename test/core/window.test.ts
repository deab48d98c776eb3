import { describe, expect, it } from 'vitest';
import type { DeploymentWindow } from '../../core/model.ts';
import { isOpen, nextOpening, windowProblems } from '../../core/window.ts';

const businessHours = (timeZone: string, overrides: Partial<DeploymentWindow> = {}): DeploymentWindow => ({
  timeZone,
  days: ['MON', 'TUE', 'WED', 'THU'],
  start: '09:00',
  end: '15:00',
  ...overrides,
});
const none = new Set<string>();
const at = (iso: string): Date => new Date(iso);

describe('isOpen', () => {
  const la = businessHours('America/Los_Angeles');

  it('is open inside the hours of a listed day, in the window zone', () => {
    // Tuesday 10:00 PST
    expect(isOpen(la, none, at('2026-12-01T18:00:00Z'))).toBe(true);
  });

  it('includes the start and excludes the end', () => {
    expect(isOpen(la, none, at('2026-12-01T16:59:59Z'))).toBe(false); // 08:59:59
    expect(isOpen(la, none, at('2026-12-01T17:00:00Z'))).toBe(true); // 09:00
    expect(isOpen(la, none, at('2026-12-01T22:59:59Z'))).toBe(true); // 14:59:59
    expect(isOpen(la, none, at('2026-12-01T23:00:00Z'))).toBe(false); // 15:00
  });

  it('is closed on days not listed (Friday) and on holidays', () => {
    expect(isOpen(la, none, at('2026-12-04T18:00:00Z'))).toBe(false); // Friday 10:00
    expect(isOpen(la, new Set(['2026-12-01']), at('2026-12-01T18:00:00Z'))).toBe(false);
  });

  it('judges the weekday and the holiday in the window zone, not in UTC', () => {
    // Monday 2026-11-30 17:00 in Los Angeles is already Tuesday 10:00 in Tokyo.
    const instant = at('2026-12-01T01:00:00Z');
    expect(isOpen(la, none, instant)).toBe(false);
    expect(isOpen(businessHours('Asia/Tokyo'), none, instant)).toBe(true);
    expect(isOpen(businessHours('Asia/Tokyo'), new Set(['2026-12-01']), instant)).toBe(false);
  });

  it('keeps a window that crosses midnight open until its end the next day', () => {
    const night = businessHours('UTC', { days: ['THU'], start: '22:00', end: '02:00' });
    expect(isOpen(night, none, at('2026-12-03T23:00:00Z'))).toBe(true); // Thursday 23:00
    expect(isOpen(night, none, at('2026-12-04T01:59:00Z'))).toBe(true); // Friday 01:59
    expect(isOpen(night, none, at('2026-12-04T02:00:00Z'))).toBe(false);
    expect(isOpen(night, none, at('2026-12-04T23:00:00Z'))).toBe(false); // Friday night
  });

  it('accepts 24:00 as the end of the day', () => {
    const allDay = businessHours('UTC', { start: '00:00', end: '24:00' });
    expect(isOpen(allDay, none, at('2026-12-01T23:59:59Z'))).toBe(true);
  });
});

describe('nextOpening', () => {
  const la = businessHours('America/Los_Angeles');

  it('is the instant itself when the window is open', () => {
    const now = at('2026-12-01T18:00:00Z');
    expect(nextOpening(la, none, now)).toEqual(now);
  });

  it('is later the same day before the start', () => {
    expect(nextOpening(la, none, at('2026-12-01T15:00:00Z'))?.toISOString()).toBe('2026-12-01T17:00:00.000Z');
  });

  it('skips the weekend after hours on Thursday', () => {
    // Thursday 16:00 PST -> Monday 09:00 PST
    expect(nextOpening(la, none, at('2026-12-04T00:00:00Z'))?.toISOString()).toBe('2026-12-07T17:00:00.000Z');
  });

  it('skips holidays', () => {
    const holidays = new Set(['2026-12-24', '2026-12-28']);
    // Wednesday 23 Dec after hours: Thursday is a holiday, Friday-Sunday are not listed, Monday is a holiday.
    expect(nextOpening(la, holidays, at('2026-12-24T00:00:00Z'))?.toISOString()).toBe('2026-12-29T17:00:00.000Z');
  });

  it('follows the DST change: 09:00 New York is 14:00Z before and 13:00Z after', () => {
    const ny = businessHours('America/New_York', { days: ['MON', 'TUE', 'WED', 'THU', 'FRI'] });
    // Friday 6 March 2026 16:00 EST; clocks spring forward on Sunday 8 March.
    expect(nextOpening(ny, none, at('2026-03-06T21:00:00Z'))?.toISOString()).toBe('2026-03-09T13:00:00.000Z');
    expect(nextOpening(ny, none, at('2026-03-05T21:00:00Z'))?.toISOString()).toBe('2026-03-06T14:00:00.000Z');
  });

  it('moves a start that does not exist on the DST day forward, as the clocks do', () => {
    const early = businessHours('America/New_York', { days: ['SUN'], start: '02:30', end: '04:00' });
    // 02:30 does not exist on 8 March 2026: the window opens at 03:30 EDT (07:30Z).
    expect(nextOpening(early, none, at('2026-03-07T12:00:00Z'))?.toISOString()).toBe('2026-03-08T07:30:00.000Z');
  });

  it('refuses a window that can never open (no day, or end equal to start)', () => {
    expect(() => nextOpening(businessHours('UTC', { days: [] }), none, at('2026-12-01T00:00:00Z'))).toThrow(/never opens/);
    expect(() => nextOpening(businessHours('UTC', { start: '10:00', end: '10:00' }), none, at('2026-12-01T00:00:00Z'))).toThrow(/never opens/);
  });

  it('is undefined when holidays cover every opening', () => {
    const everyMonday = new Set<string>();
    for (let d = new Date('2026-11-30T00:00:00Z'); d < new Date('2028-03-01T00:00:00Z'); d = new Date(d.getTime() + 7 * 86_400_000)) {
      everyMonday.add(d.toISOString().slice(0, 10));
    }
    expect(nextOpening(businessHours('UTC', { days: ['MON'] }), everyMonday, at('2026-11-29T00:00:00Z'))).toBeUndefined();
  });
});

describe('windowProblems', () => {
  it('accepts a valid window', () => {
    expect(windowProblems(businessHours('Europe/Dublin'))).toEqual([]);
  });

  it('names every problem with the value received', () => {
    const problems = windowProblems({ timeZone: 'region', days: ['MON', 'FUN' as never], start: '9:00', end: '25:00' });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/timeZone: 'region' is not an IANA time zone/);
    expect(problems.join('\n')).toMatch(/days\[1\]: .*received 'FUN'/);
    expect(problems.join('\n')).toMatch(/start: .*received '9:00'/);
    expect(problems.join('\n')).toMatch(/end: .*received '25:00'/);
  });

  it('refuses to evaluate an invalid window', () => {
    expect(() => isOpen(businessHours('Mars/Olympus'), none, new Date())).toThrow(/Mars\/Olympus/);
  });
});
