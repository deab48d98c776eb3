/**
 * What the gates and the alarm judges read of the operators table: the overrides in force
 * (and, for a production gate, the emergencies: gate.ts). One Query of the operators
 * partition (core/operator-items.ts OPERATORS_PK) per decision, consistent (an override
 * applied a moment ago counts), its items filtered in code with core/operators.ts
 * applicableOverride. For overrides it is read only when an overridable blocker holds (a
 * blocker in ALARM, a closed window) or a team aggregate in ALARM watches a step; a
 * production gate (a step with its change) reads it at every decision for the emergencies,
 * one Query more than before the operators existed.
 *
 * Only announced overrides count (`announcedAt`: their `override.applied` and audit record
 * are published), so an override whose announcement failed never takes effect. A team-alarm
 * override spares an aggregate only in the ALARM episode it was in when the override was
 * applied (core/operators.ts sparesEpisode), never a later one.
 *
 * Fails closed, for overrides: an operators table that cannot be read (throttled or
 * otherwise) sets nothing aside: the blocker holds, the alarm counts. That is logged, never
 * thrown. The emergency read of a production gate is stricter (gate.ts): an unreadable table
 * there is BlockerUnavailable, as an unreadable blocker alarm is (the gate cannot tell
 * whether an emergency holds the change), and throttling propagates for the retry.
 */
import { isThrottling } from '../../core/errors.ts';
import { isTeamAggregateAlarmName } from '../../core/naming.ts';
import { OPERATORS_PK, OVERRIDE_SK_PREFIX, type OverrideItem } from '../../core/operator-items.ts';
import { applicableOverride, sparesEpisode, type OverrideAsk } from '../../core/operators.ts';
import { alarmingSince, alarmStates, type AlarmStates } from './alarms.ts';
import { queryAll } from './dynamo.ts';
import { logger } from './logger.ts';
import { table, type WatchedAlarm } from './tables.ts';

/** Every item of the operators partition (overrides and emergencies), read once. */
export type OperatorItems = ReadonlyArray<{ sk: string } & Record<string, unknown>>;

/** Reads the operators partition: one consistent Query (paginated past 1 MB). */
export const readOperatorItems = async (): Promise<OperatorItems> =>
  queryAll<{ sk: string } & Record<string, unknown>>({
    TableName: table.operators(),
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': 'pk' },
    ExpressionAttributeValues: { ':pk': OPERATORS_PK },
    ConsistentRead: true,
  });

/** The announced overrides among the operators items (an unannounced one does not count yet). */
export const overridesOf = (items: OperatorItems): OverrideItem[] =>
  items.filter((i) => typeof i.sk === 'string' && i.sk.startsWith(OVERRIDE_SK_PREFIX) && typeof i.announcedAt === 'string') as unknown as OverrideItem[];

/** A reader of the operators partition for one decision: read at most once, and only when asked; undefined when it could not be read. */
export type OperatorsReader = () => Promise<OperatorItems | undefined>;

export const operatorsReader = (read: () => Promise<OperatorItems> = readOperatorItems): OperatorsReader => {
  let items: Promise<OperatorItems | undefined> | undefined;
  return () =>
    (items ??= read().catch((err: Error) => {
      logger.warn('cannot read the operators table; no override applies (fail closed)', { error: `${err.name}: ${err.message}` });
      return undefined;
    }));
};

/**
 * The override that sets `ask.blocker` aside for that step now, if any (none when the table
 * cannot be read); with `accept`, only among the overrides it accepts (a team-alarm override
 * whose episode is the aggregate's: sparesEpisode).
 */
export const overrideFor = async (read: OperatorsReader, ask: OverrideAsk, accept: (o: OverrideItem) => boolean = () => true): Promise<OverrideItem | undefined> => {
  const items = await read();
  return items ? applicableOverride(overridesOf(items).filter(accept), ask) : undefined;
};

/** Who set a blocker aside and why, as events and step outputs carry it. */
export interface OverrideNote {
  id: string;
  blocker: string;
  by: string;
  reason: string;
  expires: string;
}

export const noteOf = (o: OverrideItem): OverrideNote => ({ id: o.id, blocker: o.blocker, by: o.by, reason: o.reason, expires: o.expires });

/**
 * The alarms of `alarming` that a team-alarm override spares for the step `scope`: the team
 * aggregate of a region, while a team-alarm override applies to (that region, the pipeline,
 * the change) and the aggregate is still in the ALARM episode it was in when the override was
 * applied (sparesEpisode). When the aggregate entered ALARM is read with DescribeAlarms
 * (`states.since` when the caller read it, else one call here, made only when an override
 * applies); when it cannot be told, nothing is spared. The step's own alarms, its one-box
 * and anomaly alarms are never spared. The operators table is read only when an aggregate is
 * among them.
 */
export const sparedAlarms = async (
  scope: { pipeline: string; change: string },
  alarming: readonly WatchedAlarm[],
  read: OperatorsReader = operatorsReader(),
  states?: AlarmStates,
): Promise<WatchedAlarm[]> => {
  const aggregates = alarming.filter((a) => isTeamAggregateAlarmName(a.name, a.region));
  if (aggregates.length === 0) return [];
  const nowMs = Date.now();
  const ask = (a: WatchedAlarm): OverrideAsk => ({ blocker: 'team-alarm', region: a.region, pipeline: scope.pipeline, change: scope.change, nowMs });
  const candidates: WatchedAlarm[] = [];
  for (const a of aggregates) if (await overrideFor(read, ask(a))) candidates.push(a);
  if (candidates.length === 0) return [];
  const known = states?.since ? states : await episodes(candidates);
  const spared: WatchedAlarm[] = [];
  for (const a of candidates) {
    const since = known ? alarmingSince(known, a) : undefined;
    if (await overrideFor(read, ask(a), (o) => sparesEpisode(o, since))) spared.push(a);
  }
  return spared;
};

/** When the aggregates entered ALARM (one DescribeAlarms per region); undefined when unreadable (nothing is spared). */
const episodes = async (alarms: WatchedAlarm[]): Promise<AlarmStates | undefined> => {
  try {
    return await alarmStates(alarms);
  } catch (err) {
    if (isThrottling(err)) throw err;
    logger.warn('cannot tell when the team aggregate entered ALARM; no override spares it (fail closed)', { error: `${(err as Error).name}: ${(err as Error).message}` });
    return undefined;
  }
};

/** `alarming` without the alarms sparedAlarms spares. */
export const unspared = async (
  scope: { pipeline: string; change: string },
  alarming: readonly WatchedAlarm[],
  read?: OperatorsReader,
  states?: AlarmStates,
): Promise<WatchedAlarm[]> => {
  const spared = await sparedAlarms(scope, alarming, read, states);
  return spared.length === 0 ? [...alarming] : alarming.filter((a) => !spared.some((s) => s.name === a.name && s.region === a.region));
};
