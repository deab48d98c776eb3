/**
 * The gate decision before a step: may it start now in this region? One rule, one place:
 * check-window asks it when the state machine reaches a gate, and a blocker wait asks it again
 * at its re-check (and when its blocking alarm changes state), so the gate and the re-check can
 * never disagree.
 *
 * First the blockers (with `team`): the team's aggregate alarm and the company event alarm of
 * the region must exist (else `alarm-missing`), have data (else `insufficient-data`) and not
 * be in ALARM (else `team-alarm` / `company-event`); then the deployment window (unless
 * `window: false`); then, with the window open, the step's own alarms (`alarms`) must have
 * data (else `insufficient-data`). One DescribeAlarms for the blockers and the step's alarms;
 * the window and holidays (DynamoDB) are read only when no blocker closes the gate.
 * Fails closed: a window it cannot read, or one that never opens, throws WindowUnavailable;
 * alarms it cannot read throw BlockerUnavailable; throttling propagates.
 */
import { DateTime } from 'luxon';
import { BlockReason } from '../../core/events.ts';
import type { DeploymentWindow } from '../../core/model.ts';
import { companyEventAlarmName, teamAggregateAlarmName } from '../../core/naming.ts';
import { isOpen, MAX_SEARCH_DAYS, nextOpening, windowProblems } from '../../core/window.ts';
import { alarmingSince, alarmStates, observedState, withoutData, type AlarmStates } from './alarms.ts';
import type { AlarmRef, BlockingState, GateAsk } from '../../core/contracts.ts';
import { getItem, queryAll } from './dynamo.ts';
import { BlockerUnavailableError, isThrottling, WindowUnavailableError } from '../../core/errors.ts';
import { DEFAULT_WINDOW_SK, holidayKeys, table, type HolidayItem, type WindowItem } from './tables.ts';
import { noteOf, operatorsReader, overrideFor, readOperatorItems, type OperatorItems, type OperatorsReader, type OverrideNote } from './operator-reads.ts';
import { sparesEpisode, type OverridableBlocker } from '../../core/operators.ts';
import { isEmergencyItem, type EmergencyItem, type OverrideItem } from '../../core/operator-items.ts';
import { emergencyGate } from './emergency-hold.ts';

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

/** What closes the gate: why, and the alarm to wait for (in the state it blocks in). */
export interface ActiveBlocker {
  reason: BlockReason;
  alarm: AlarmRef & { state: BlockingState };
  /** With `emergency-hold`: the fast-tracked change the gate waits for (its "alarm" is the pipeline's hold key). */
  emergency?: string;
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

/** The gate's two blocker alarms in `region`, team aggregate first. */
const blockerAlarms = (team: string, region: string): Array<{ alarm: AlarmRef; reason: BlockReason }> => [
  { alarm: { region, name: teamAggregateAlarmName(team, region) }, reason: BlockReason.TEAM_ALARM },
  { alarm: { region, name: companyEventAlarmName(region) }, reason: BlockReason.COMPANY_EVENT },
];

/**
 * The blocker that closes the gate, if any, from states read with both blockers: one in
 * ALARM first (team aggregate, then company event), else one that does not exist
 * (`alarm-missing`: a gate never opens without its blocker), else one without data
 * (`insufficient-data`, withoutData's rule).
 */
const blockerOf = (states: AlarmStates, team: string, region: string, setAside: ReadonlySet<BlockReason> = new Set()): ActiveBlocker | undefined => {
  const blockers = blockerAlarms(team, region);
  const noData = withoutData(states);
  const order: Array<[BlockingState, (b: (typeof blockers)[number]) => BlockReason, (b: (typeof blockers)[number]) => boolean]> = [
    // A blocker in ALARM that an override sets aside holds no more; missing or without data, it does (never overridable).
    ['ALARM', (b) => b.reason, (b) => observedState(states, b.alarm) === 'ALARM' && !setAside.has(b.reason)],
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
  blockerOf(await readAlarms(region, blockerAlarms(team, region).map((b) => b.alarm), { team }), team, region);

/** What the gate decides: open (with the overrides that set a blocker aside, if any); closed by an alarm (waited for as an event); closed by the window until its next opening. */
export type GateDecision =
  | { open: true; overrides?: OverrideNote[] }
  | { open: false; blocker: ActiveBlocker }
  | { open: false; blocker?: undefined; until: Date; overrides?: OverrideNote[] };

/**
 * Overrides (lambdas/shared/operator-reads.ts): what of the gate's blockers an override sets
 * aside for the step of `change`. A team aggregate or company event in ALARM, or a closed
 * window, holds unless an override applies to (that blocker, region, pipeline, change) now;
 * the operators table is read (one Query) only when one of those would hold.
 */
const gateOverrides = (pipeline: string, region: string, change: string | undefined, read: OperatorsReader) => {
  const used: OverrideNote[] = [];
  return {
    used,
    /**
     * The override that sets `blocker` aside, recorded in `used` when there is one. A team
     * aggregate (`alarmingSince`: when it entered ALARM) is set aside only in the episode the
     * override was applied in (core/operators.ts sparesEpisode).
     */
    async setsAside(blocker: OverridableBlocker, alarmingSinceMs?: number): Promise<boolean> {
      const accept = blocker === BlockReason.TEAM_ALARM ? (o: OverrideItem) => sparesEpisode(o, alarmingSinceMs) : undefined;
      const o = await overrideFor(read, { blocker, region, pipeline, change: change ?? '', nowMs: Date.now() }, accept);
      if (o) used.push(noteOf(o));
      return o !== undefined;
    },
  };
};

/**
 * The operators partition for the emergency rules: unreadable is BlockerUnavailable (the gate
 * cannot tell whether an emergency holds it); throttling propagates for the retry.
 */
const emergencyItems = async (read: () => Promise<OperatorItems>): Promise<EmergencyItem[]> => {
  try {
    return (await read()).filter((item) => isEmergencyItem(item)) as unknown as EmergencyItem[];
  } catch (err) {
    if (isThrottling(err)) throw err;
    throw new BlockerUnavailableError(`cannot read the operators table ${table.operators()}: ${(err as Error).name}: ${(err as Error).message}`, {}, { cause: err });
  }
};

/**
 * The decision of the gate `ask` of `pipeline` in `region` now (the rule above). With `step`
 * (the change and stage at the gate), overrides may set a blocker aside for that change, and
 * a production gate also asks the emergencies (emergency-hold.ts): after the blockers,
 * `emergency-hold` holds a change that has not entered production while a fast-tracked one
 * runs; the fast-tracked change's window is waived. The operators partition is read at most
 * once per decision (one Query shared by both), and only when a rule needs it.
 */
export const decideGate = async (pipeline: string, region: string, ask: GateAsk, step?: { change: string; stage: string }): Promise<GateDecision> => {
  let items: Promise<OperatorItems> | undefined;
  const readOnce = (): Promise<OperatorItems> => (items ??= readOperatorItems());
  // Overrides fail closed by setting nothing aside when the partition cannot be read.
  const overrides = gateOverrides(pipeline, region, step?.change, operatorsReader(readOnce));
  const opened = (): GateDecision => (overrides.used.length > 0 ? { open: true, overrides: overrides.used } : { open: true });
  const stepAlarms: AlarmRef[] = [...new Set(ask.alarms ?? [])].map((name) => ({ region, name }));
  const gateAlarms: AlarmRef[] = ask.team ? blockerAlarms(ask.team, region).map((b) => b.alarm) : [];
  const toRead = [...gateAlarms, ...stepAlarms.filter((a) => !gateAlarms.some((g) => g.name === a.name))];
  const states = toRead.length > 0 ? await readAlarms(region, toRead, { team: ask.team }) : undefined;
  /** Open but for the data: the step's deployment would start now, not on an alarm without data (withoutData's rule). */
  const dataOnly = (): GateDecision => {
    const noData = states ? withoutData(states).filter((a) => stepAlarms.some((s) => s.name === a.name)) : [];
    if (noData.length > 0) return { open: false, blocker: { reason: BlockReason.INSUFFICIENT_DATA, alarm: { ...noData[0]!, state: 'INSUFFICIENT_DATA' } } };
    return opened();
  };

  if (ask.team && states) {
    const setAside = new Set<BlockReason>();
    let blocker = blockerOf(states, ask.team, region);
    while (blocker && blocker.alarm.state === 'ALARM' && (blocker.reason === BlockReason.TEAM_ALARM || blocker.reason === BlockReason.COMPANY_EVENT)) {
      if (!(await overrides.setsAside(blocker.reason, alarmingSince(states, blocker.alarm)))) break;
      setAside.add(blocker.reason);
      blocker = blockerOf(states, ask.team, region, setAside);
    }
    if (blocker) return { open: false, blocker };
  }
  const emergency = step && ask.window !== false ? await emergencyGate(await emergencyItems(readOnce), { pipeline, region, ...step }) : undefined;
  if (emergency?.hold) return { open: false, blocker: emergency.hold };
  if (ask.window === false || emergency?.windowWaived) return dataOnly();

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
  if (await overrides.setsAside(BlockReason.TIME_WINDOW)) return dataOnly();
  const opening = nextOpening(window, holidays, now);
  if (!opening) {
    throw new WindowUnavailableError(
      `deployment window of pipeline '${pipeline}' for region '${region}' (${window.days.join(',')} ${window.start}-${window.end} ${window.timeZone}) does not open in the next ${MAX_SEARCH_DAYS} days; check its days and the holidays`,
      { pipeline, region },
    );
  }
  // Closed by the window with a blocker set aside: the overrides that did so are named too.
  return { open: false, until: opening, ...(overrides.used.length > 0 ? { overrides: overrides.used } : {}) };
};

/**
 * Whether the gate of a blocker wait would still be closed by its blocking alarm, in the state
 * that closed it: the re-check of the wait takes the gate's own decision (decideGate, with what
 * the gate asked). False when the decision changed (open, another alarm or reason, the window),
 * or when the wait does not know what its gate asked (an older definition): then the execution
 * wakes and the gate decides. Anything it cannot read (alarms, the window) or any other error
 * wakes the gate too, which decides with its own rule (check-window fails the step with the
 * reason): a wait never re-arms on an answer it could not get, so an unreadable blocker
 * (a denied DescribeAlarms) fails the change visibly instead of holding it silently until the
 * task's timeout. Throttling propagates (the handler's retry, or the reconciler, goes on).
 */
export const blockerStillHolds = async (
  waiter: { pipeline: string; change?: string; stage?: string; region?: string; gate?: GateAsk; blocker?: AlarmRef & { state?: BlockingState } },
  log: (message: string, fields: Record<string, unknown>) => void,
): Promise<boolean> => {
  const { blocker, gate, region } = waiter;
  if (!blocker || !gate || !region) return false;
  try {
    const decision = await decideGate(waiter.pipeline, region, gate, waiter.change && waiter.stage ? { change: waiter.change, stage: waiter.stage } : undefined);
    if (decision.open || !decision.blocker) return false;
    const now = decision.blocker.alarm;
    return now.name === blocker.name && now.region === blocker.region && now.state === (blocker.state ?? 'ALARM');
  } catch (err) {
    if (isThrottling(err)) throw err;
    log('cannot take the gate decision again; the gate decides', { blocker: blocker.name, error: `${(err as Error).name}: ${(err as Error).message}` });
    return false;
  }
};
