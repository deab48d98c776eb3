/**
 * Handler `check-window`: may a production step start now in this region? Windows and
 * holidays live in DynamoDB so they change without a redeploy. Fails closed: a window it
 * cannot read, or one that never opens, throws WindowUnavailable; throttling propagates for
 * the ASL's Retry. When closed, the ASL waits until `nextOpening` and asks again.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { DateTime } from 'luxon';
import { BlockReason, EventType } from '../../core/events.ts';
import type { DeploymentWindow } from '../../core/model.ts';
import { isOpen, MAX_SEARCH_DAYS, nextOpening, windowProblems } from '../../core/window.ts';
import type { CheckWindowInput, CheckWindowOutput } from '../shared/contracts.ts';
import { getItem, queryAll } from '../shared/dynamo.ts';
import { InvalidInputError, isThrottling, WindowUnavailableError } from '../shared/errors.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { DEFAULT_WINDOW_SK, holidayKeys, table, type HolidayItem, type WindowItem } from '../shared/tables.ts';

/** Reads a table, turning anything but throttling into WindowUnavailable (fail closed). */
const readOrUnavailable = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
  try {
    return await read();
  } catch (err) {
    if (isThrottling(err)) throw err;
    throw new WindowUnavailableError(`cannot read ${what}: ${(err as Error).name}: ${(err as Error).message}`, {}, { cause: err });
  }
};

/** The region's own window item, else the pipeline's default (`*`). */
export const loadWindow = async (pipeline: string, region: string): Promise<WindowItem | undefined> => {
  const tableName = table.windows();
  return readOrUnavailable(`the windows table ${tableName}`, async () => {
    return (
      (await getItem<WindowItem>(tableName, { pk: pipeline, sk: region })) ??
      (await getItem<WindowItem>(tableName, { pk: pipeline, sk: DEFAULT_WINDOW_SK }))
    );
  });
};

/** Holidays of the pipeline and of the region, from the day before `from` on. */
export const loadHolidays = async (pipeline: string, region: string, from: Date): Promise<Set<string>> => {
  const tableName = table.holidays();
  // A day of margin: the window's zone may be behind UTC.
  const since = DateTime.fromJSDate(from, { zone: 'utc' }).minus({ days: 2 }).toISODate()!;
  const items = await readOrUnavailable(`the holidays table ${tableName}`, async () =>
    (
      await Promise.all(
        holidayKeys(pipeline, region).map((pk) =>
          queryAll<HolidayItem>({
            TableName: tableName,
            KeyConditionExpression: '#pk = :pk AND #sk >= :since',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': pk, ':since': since },
          }),
        ),
      )
    ).flat(),
  );
  return new Set(items.map((item) => item.sk));
};

export const checkWindow = async (input: CheckWindowInput): Promise<CheckWindowOutput> => {
  const { pipeline, change, stage, region, unit, target } = input ?? {};
  if (!pipeline || !region) {
    throw new InvalidInputError(`check-window needs pipeline and region; received ${JSON.stringify({ pipeline, region })}`);
  }
  const item = await loadWindow(pipeline, region);
  if (!item) {
    throw new WindowUnavailableError(
      `no deployment window for pipeline '${pipeline}' in region '${region}' (items pk='${pipeline}' sk='${region}' or sk='${DEFAULT_WINDOW_SK}' in ${table.windows()}); refusing to start a step without one`,
      { pipeline, region },
    );
  }
  const window: DeploymentWindow = { timeZone: item.timeZone, days: item.days, start: item.start, end: item.end };
  const problems = windowProblems(window);
  if (problems.length > 0) {
    throw new WindowUnavailableError(
      `deployment window of pipeline '${pipeline}' for region '${region}' (item sk='${item.sk}') is invalid: ${problems.join('; ')}`,
      { pipeline, region },
    );
  }
  const now = new Date(Date.now());
  const holidays = await loadHolidays(pipeline, region, now);
  const scope = { pipeline, change, stage, region, unit, target };

  if (isOpen(window, holidays, now)) {
    if (input.wasBlocked) await publish([{ type: EventType.UNBLOCKED, ...scope, reason: BlockReason.TIME_WINDOW }]);
    return { open: true, blocked: false };
  }
  const opening = nextOpening(window, holidays, now);
  if (!opening) {
    throw new WindowUnavailableError(
      `deployment window of pipeline '${pipeline}' for region '${region}' (${window.days.join(',')} ${window.start}-${window.end} ${window.timeZone}) does not open in the next ${MAX_SEARCH_DAYS} days; check its days and the holidays`,
      { pipeline, region },
    );
  }
  const until = opening.toISOString().replace(/\.000Z$/, 'Z');
  logger.info('deployment window closed', { pipeline, region, until });
  await publish([{ type: EventType.BLOCKED, ...scope, reason: BlockReason.TIME_WINDOW, until }]);
  return { open: false, nextOpening: until, blocked: true };
};

export const handler = middy(checkWindow).use(injectLambdaContext(logger));
