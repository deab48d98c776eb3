/**
 * Handler `check-window`: may a production step start now in this region? First the
 * blockers (with `team`): the team's aggregate alarm and the company event alarm of the
 * region must exist (else `alarm-missing`), have data (else `insufficient-data`) and not be
 * in ALARM (else `team-alarm` / `company-event`); then the deployment window; then, with the
 * window open, the step's own alarms (`alarms`) must have data (else `insufficient-data`).
 * A pre-production step (`window: false`, no `team`) has only that last check.
 * Windows and holidays live in DynamoDB so they change without a redeploy. Fails closed: a
 * window it cannot read, or one that never opens, throws WindowUnavailable; alarms it
 * cannot read throw BlockerUnavailable; throttling propagates for the ASL's Retry. When
 * closed, the ASL waits and asks again, feeding back its output as `previous`: `blocked` is
 * published when the reason changes, `unblocked` when it clears. Closed by the window, it
 * waits (holds) until `nextOpening`; closed by an alarm (`blockingAlarm`, with the state it
 * blocks in), it waits for that alarm to exist in another state (start-bake `purpose:
 * 'blocker'`), at most until `nextOpening` (BLOCKER_RECHECK_SECONDS from now).
 */
import { DateTime } from 'luxon';
import { BlockReason, EventType } from '../../core/events.ts';
import type { DeploymentWindow } from '../../core/model.ts';
import { companyEventAlarmName, teamAggregateAlarmName } from '../../core/naming.ts';
import { isOpen, MAX_SEARCH_DAYS, nextOpening, windowProblems } from '../../core/window.ts';
import { alarmStates, observedState, withoutData, type AlarmStates } from '../shared/alarms.ts';
import { BLOCKER_RECHECK_SECONDS, type AlarmRef, type BlockingState, CheckWindowInput, type CheckWindowOutput } from '../../core/contracts.ts';
import { getItem, queryAll } from '../shared/dynamo.ts';
import { BlockerUnavailableError, isThrottling, WindowUnavailableError } from '../../core/errors.ts';
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

/** What closes the gate: why, and the alarm to wait for (in the state it blocks in). */
export interface ActiveBlocker {
  reason: BlockReason;
  alarm: AlarmRef & { state: BlockingState };
}

/** Reads alarm states, turning anything but throttling into BlockerUnavailable (fail closed). */
const readAlarms = async (region: string, alarms: AlarmRef[], context: Record<string, unknown>): Promise<AlarmStates> => {
  try {
    return await alarmStates(alarms);
  } catch (err) {
    if (isThrottling(err)) throw err;
    throw new BlockerUnavailableError(
      `cannot read the alarms of the gate in ${region}: ${(err as Error).name}: ${(err as Error).message}`,
      { ...context, region },
      { cause: err },
    );
  }
};

/**
 * The blocker that closes the gate, if any, from states read with both blockers: one in
 * ALARM first (team aggregate, then company event), else one that does not exist
 * (`alarm-missing`: a gate never opens without its blocker), else one without data
 * (`insufficient-data`, withoutData's rule).
 */
const blockerOf = (states: AlarmStates, team: string, region: string): ActiveBlocker | undefined => {
  const blockers = [
    { alarm: { region, name: teamAggregateAlarmName(team, region) }, reason: BlockReason.TEAM_ALARM },
    { alarm: { region, name: companyEventAlarmName(region) }, reason: BlockReason.COMPANY_EVENT },
  ];
  const noData = withoutData(states);
  const order: Array<[BlockingState, (b: (typeof blockers)[number]) => BlockReason, (b: (typeof blockers)[number]) => boolean]> = [
    ['ALARM', (b) => b.reason, (b) => observedState(states, b.alarm) === 'ALARM'],
    ['MISSING', () => BlockReason.ALARM_MISSING, (b) => observedState(states, b.alarm) === 'MISSING'],
    ['INSUFFICIENT_DATA', () => BlockReason.INSUFFICIENT_DATA, (b) => noData.some((a) => a.name === b.alarm.name && a.region === region)],
  ];
  for (const [state, reasonOf, holds] of order) {
    const found = blockers.find(holds);
    if (found) return { reason: reasonOf(found), alarm: { ...found.alarm, state } };
  }
  return undefined;
};

/** The blocker that closes the gate of `team` in `region`, if any (one DescribeAlarms). */
export const activeBlockingAlarm = async (team: string, region: string): Promise<ActiveBlocker | undefined> =>
  blockerOf(
    await readAlarms(region, [{ region, name: teamAggregateAlarmName(team, region) }, { region, name: companyEventAlarmName(region) }], { team }),
    team,
    region,
  );

/** Why the blockers close the gate, if they do. */
export const activeBlocker = async (team: string, region: string): Promise<BlockReason | undefined> =>
  (await activeBlockingAlarm(team, region))?.reason;

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
  const { pipeline, change, stage, region, unit, target } = input;
  const scope = { pipeline, change, stage, region, unit, target };
  const previous = previousReason(input);
  /**
   * Publishes the transition from the previous reason to `current` (undefined: open): once per
   * episode and reason; `blocked` names the alarm that blocks, when one does.
   */
  const transition = async (current: BlockReason | undefined, until?: string, alarm?: string): Promise<void> => {
    if (previous === current) return;
    const events = [];
    if (previous) events.push({ type: EventType.UNBLOCKED, ...scope, reason: previous });
    if (current) events.push({ type: EventType.BLOCKED, ...scope, reason: current, until, ...(alarm ? { alarm } : {}) });
    await publish(events);
  };

  /** Closed by an alarm: the state machine waits for its state to change; `nextOpening` is only the re-check cap. */
  const blockedBy = async (blocker: ActiveBlocker): Promise<CheckWindowOutput> => {
    const recheck = isoSeconds(new Date(Date.now() + BLOCKER_RECHECK_SECONDS * 1000));
    logger.info('blocked by an alarm', { pipeline, region, reason: blocker.reason, alarm: blocker.alarm.name, state: blocker.alarm.state, recheck });
    await transition(blocker.reason, undefined, blocker.alarm.name);
    return {
      open: false,
      blocked: true,
      reason: blocker.reason,
      blockedReason: blocker.reason,
      nextOpening: recheck,
      blockingAlarm: { region: blocker.alarm.region, name: blocker.alarm.name, state: blocker.alarm.state },
    };
  };

  // One DescribeAlarms for the blockers and the step's alarms.
  const stepAlarms: AlarmRef[] = [...new Set(input.alarms ?? [])].map((name) => ({ region, name }));
  const gateAlarms: AlarmRef[] = input.team
    ? [{ region, name: teamAggregateAlarmName(input.team, region) }, { region, name: companyEventAlarmName(region) }]
    : [];
  const toRead = [...gateAlarms, ...stepAlarms.filter((a) => !gateAlarms.some((g) => g.name === a.name))];
  const states = toRead.length > 0 ? await readAlarms(region, toRead, { team: input.team }) : undefined;
  /** Open but for the data: the step's deployment would start now, not on an alarm without data (withoutData's rule). */
  const dataOnly = async (): Promise<CheckWindowOutput> => {
    const noData = states ? withoutData(states).filter((a) => stepAlarms.some((s) => s.name === a.name)) : [];
    if (noData.length > 0) return blockedBy({ reason: BlockReason.INSUFFICIENT_DATA, alarm: { ...noData[0]!, state: 'INSUFFICIENT_DATA' } });
    await transition(undefined);
    return { open: true, blocked: false };
  };

  if (input.team && states) {
    const blocker = blockerOf(states, input.team, region);
    if (blocker) return blockedBy(blocker);
  }

  if (input.window === false) return dataOnly();

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

  if (isOpen(window, holidays, now)) return dataOnly();
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
