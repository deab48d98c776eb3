/**
 * Handler `check-window`: may a production step start now in this region? First the
 * blockers (with `team`): the team's aggregate alarm and the company event alarm of the
 * region must not be in ALARM; then the deployment window. Windows and holidays live in
 * DynamoDB so they change without a redeploy. Fails closed: a window it cannot read, or one
 * that never opens, throws WindowUnavailable; a missing team aggregate alarm (or alarms it
 * cannot read) throws BlockerUnavailable; throttling propagates for the ASL's Retry. When
 * closed, the ASL waits and asks again, feeding back its output as `previous`: `blocked` is
 * published when the reason changes, `unblocked` when it clears. Closed by the window, it
 * waits (holds) until `nextOpening`; blocked by an alarm (`blockingAlarm`), it waits for that
 * alarm to leave ALARM (start-bake `purpose: 'blocker'`), at most until `nextOpening`
 * (BLOCKER_RECHECK_SECONDS from now).
 */
import { DateTime } from 'luxon';
import { BlockReason, EventType } from '../../core/events.ts';
import type { DeploymentWindow } from '../../core/model.ts';
import { companyEventAlarmName, teamAggregateAlarmName } from '../../core/naming.ts';
import { isOpen, MAX_SEARCH_DAYS, nextOpening, windowProblems } from '../../core/window.ts';
import { alarmStates } from '../shared/alarms.ts';
import { BLOCKER_RECHECK_SECONDS, type AlarmRef, CheckWindowInput, type CheckWindowOutput } from '../../core/contracts.ts';
import { getItem, queryAll } from '../shared/dynamo.ts';
import { BlockerUnavailableError, InvalidInputError, isThrottling, WindowUnavailableError } from '../../core/errors.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { DEFAULT_WINDOW_SK, holidayKeys, table, type HolidayItem, type WindowItem } from '../shared/tables.ts';
import { lambdaHandler } from '../runtime/handler.ts';

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

/** ISO 8601 UTC without milliseconds when they are zero (`2026-12-02T00:00:00Z`). */
const isoSeconds = (at: Date): string => at.toISOString().replace(/\.000Z$/, 'Z');

/** A blocker in ALARM: why the gate is closed, and the alarm to wait for. */
export interface ActiveBlocker {
  reason: BlockReason;
  alarm: AlarmRef;
}

/**
 * The blocker in ALARM, if any: the team aggregate alarm first, then the company event
 * alarm. Fails closed when the team aggregate alarm does not exist; a missing company event
 * alarm is fine (not every account has one).
 */
export const activeBlocker = async (team: string, region: string): Promise<BlockReason | undefined> =>
  (await activeBlockingAlarm(team, region))?.reason;

/** activeBlocker, with the alarm that blocks. */
export const activeBlockingAlarm = async (team: string, region: string): Promise<ActiveBlocker | undefined> => {
  const teamAlarm = { region, name: teamAggregateAlarmName(team, region) };
  const companyAlarm = { region, name: companyEventAlarmName(region) };
  let states: Awaited<ReturnType<typeof alarmStates>>;
  try {
    states = await alarmStates([teamAlarm, companyAlarm]);
  } catch (err) {
    if (isThrottling(err)) throw err;
    throw new BlockerUnavailableError(
      `cannot read the blocker alarms in ${region}: ${(err as Error).name}: ${(err as Error).message}`,
      { team, region },
      { cause: err },
    );
  }
  if (states.missing.some((a) => a.name === teamAlarm.name)) {
    throw new BlockerUnavailableError(
      `the aggregate alarm '${teamAlarm.name}' of team '${team}' does not exist in ${region}; refusing to start a step without its blocker`,
      { team, region, alarm: teamAlarm.name },
    );
  }
  const alarming = new Set(states.alarming.map((a) => a.name));
  if (alarming.has(teamAlarm.name)) return { reason: BlockReason.TEAM_ALARM, alarm: teamAlarm };
  if (alarming.has(companyAlarm.name)) return { reason: BlockReason.COMPANY_EVENT, alarm: companyAlarm };
  return undefined;
};

/**
 * What blocked the previous check: from `previous` (the previous check's whole output) when
 * given, else from `wasBlocked` / `blockedReason`. Blocked without a reason: the time window
 * (an old state machine only says wasBlocked).
 */
export const previousReason = (input: Pick<CheckWindowInput, 'previous' | 'wasBlocked' | 'blockedReason'>): string | undefined => {
  const previous = input.previous;
  if (previous && typeof previous === 'object') {
    return previous.blocked === true ? previous.reason || previous.blockedReason || BlockReason.TIME_WINDOW : undefined;
  }
  return input.blockedReason || (input.wasBlocked ? BlockReason.TIME_WINDOW : undefined);
};

export const checkWindow = async (input: CheckWindowInput): Promise<CheckWindowOutput> => {
  const { pipeline, change, stage, region, unit, target } = input ?? {};
  if (!pipeline || !region) {
    throw new InvalidInputError(`check-window needs pipeline and region; received ${JSON.stringify({ pipeline, region })}`);
  }
  const scope = { pipeline, change, stage, region, unit, target };
  const previous = previousReason(input);
  /** Publishes the transition from the previous reason to `current` (undefined: open): once per episode and reason. */
  const transition = async (current: BlockReason | undefined, until?: string): Promise<void> => {
    if (previous === current) return;
    const events = [];
    if (previous) events.push({ type: EventType.UNBLOCKED, ...scope, reason: previous });
    if (current) events.push({ type: EventType.BLOCKED, ...scope, reason: current, until });
    await publish(events);
  };

  if (input.team) {
    const blocker = await activeBlockingAlarm(input.team, region);
    if (blocker) {
      // The state machine waits for the alarm's OK event; `nextOpening` is only the re-check cap.
      const recheck = isoSeconds(new Date(Date.now() + BLOCKER_RECHECK_SECONDS * 1000));
      logger.info('blocked by an alarm', { pipeline, region, reason: blocker.reason, alarm: blocker.alarm.name, recheck });
      await transition(blocker.reason);
      return {
        open: false,
        blocked: true,
        reason: blocker.reason,
        blockedReason: blocker.reason,
        nextOpening: recheck,
        blockingAlarm: { region: blocker.alarm.region, name: blocker.alarm.name },
      };
    }
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

  if (isOpen(window, holidays, now)) {
    await transition(undefined);
    return { open: true, blocked: false };
  }
  const opening = nextOpening(window, holidays, now);
  if (!opening) {
    throw new WindowUnavailableError(
      `deployment window of pipeline '${pipeline}' for region '${region}' (${window.days.join(',')} ${window.start}-${window.end} ${window.timeZone}) does not open in the next ${MAX_SEARCH_DAYS} days; check its days and the holidays`,
      { pipeline, region },
    );
  }
  const until = isoSeconds(opening);
  logger.info('deployment window closed', { pipeline, region, until });
  await transition(BlockReason.TIME_WINDOW, until);
  return { open: false, nextOpening: until, blocked: true, reason: BlockReason.TIME_WINDOW, blockedReason: BlockReason.TIME_WINDOW };
};

export const handler = lambdaHandler('check-window', CheckWindowInput, checkWindow);
