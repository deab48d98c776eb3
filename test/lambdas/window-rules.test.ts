/**
 * One set of window rules: a window the pipeline schema accepts is one the check-window
 * handler evaluates from the windows table, and a window the handler would refuse is
 * rejected at validation, in both directions, naming the same field.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { windowProblems } from '../../core/window.ts';
import { checkWindow } from '../../lambdas/check-window/index.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { ddb, useAwsMocks } from './support.ts';

useAwsMocks();

const pipeline = 'storefront-api';
const base = { timeZone: 'UTC', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' };

/** What the schema says of a pipeline with this window (one region, so the zone is the window's). */
const schemaProblems = (window: Record<string, unknown>): string[] => {
  const v = validatePipeline({ name: pipeline, service: 'StorefrontApi', team: 'storefront', regions: ['eu-west-1'], window }, 'p.json', { catalog: REGION_CATALOG });
  return v.ok ? [] : v.problems.map((p) => p.path);
};

/** Whether check-window evaluates this window as a table item, or refuses it. */
const handlerAccepts = async (window: Record<string, unknown>): Promise<boolean> => {
  ddb.reset();
  ddb.on(GetCommand).resolves({ Item: { pk: pipeline, sk: '*', ...window } });
  ddb.on(QueryCommand).resolves({ Items: [] });
  vi.setSystemTime(new Date('2026-12-01T10:00:00Z'));
  try {
    await checkWindow({ pipeline, change: 'c1', stage: 'wave-1', region: 'eu-west-1' });
    return true;
  } catch (err) {
    if ((err as Error).name === 'WindowUnavailable') return false;
    throw err;
  }
};

// Windows the handler accepted and the schema rejected, windows the schema accepted and the
// handler rejected, and ordinary ones.
const cases: Array<[string, Record<string, unknown>, string | undefined]> = [
  ['business hours', base, undefined],
  ['a window that crosses midnight', { ...base, start: '22:00', end: '02:00' }, undefined],
  ['a day that ends at 24:00', { ...base, start: '00:00', end: '24:00' }, undefined],
  ['every day of the week', { ...base, days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] }, undefined],
  ['no day at all', { ...base, days: [] }, 'window.days'],
  ['a day listed twice', { ...base, days: ['MON', 'MON'] }, 'window.days[1]'],
  ['a day that is not one', { ...base, days: ['MON', 'FUN'] }, 'window.days[1]'],
  ['start at 24:00', { ...base, start: '24:00', end: '02:00' }, 'window.start'],
  ['end past 24:00', { ...base, end: '24:30' }, 'window.end'],
  ['a one-digit hour', { ...base, start: '9:00' }, 'window.start'],
  ['end equal to start (never opens)', { ...base, start: '12:00', end: '12:00' }, 'window.end'],
  ['an unknown zone', { ...base, timeZone: 'Mars/Olympus' }, 'window.timeZone'],
];

describe('window rules: schema and handler agree', () => {
  it.each(cases)('%s', async (_what, window, field) => {
    const schema = schemaProblems(window);
    const handler = await handlerAccepts(window);
    expect(schema).toEqual(field ? [field] : []);
    expect(handler).toBe(field === undefined);
    expect(windowProblems(window).length === 0).toBe(field === undefined);
  });

  it("accepts 'region' as a pipeline's zone, never in a table item", async () => {
    expect(schemaProblems({ ...base, timeZone: 'region' })).toEqual([]);
    expect(await handlerAccepts({ ...base, timeZone: 'region' })).toBe(false);
  });
});
