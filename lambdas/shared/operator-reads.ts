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
 * Fails closed, for overrides: an operators table that cannot be read (throttled or
 * otherwise) sets nothing aside: the blocker holds, the alarm counts. That is logged, never
 * thrown. The emergency read of a production gate is stricter (gate.ts): an unreadable table
 * there is BlockerUnavailable, as an unreadable blocker alarm is (the gate cannot tell
 * whether an emergency holds the change), and throttling propagates for the retry.
 */
import { isTeamAggregateAlarmName } from '../../core/naming.ts';
import { OPERATORS_PK, OVERRIDE_SK_PREFIX, type OverrideItem } from '../../core/operator-items.ts';
import { applicableOverride, type OverrideAsk } from '../../core/operators.ts';
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

/** The overrides among the operators items. */
export const overridesOf = (items: OperatorItems): OverrideItem[] =>
  items.filter((i) => typeof i.sk === 'string' && i.sk.startsWith(OVERRIDE_SK_PREFIX)) as unknown as OverrideItem[];

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

/** The override that sets `ask.blocker` aside for that step now, if any (none when the table cannot be read). */
export const overrideFor = async (read: OperatorsReader, ask: OverrideAsk): Promise<OverrideItem | undefined> => {
  const items = await read();
  return items ? applicableOverride(overridesOf(items), ask) : undefined;
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
 * the change). The step's own alarms, its one-box and anomaly alarms are never spared. The
 * operators table is read only when an aggregate is among them.
 */
export const sparedAlarms = async (
  scope: { pipeline: string; change: string },
  alarming: readonly WatchedAlarm[],
  read: OperatorsReader = operatorsReader(),
): Promise<WatchedAlarm[]> => {
  const aggregates = alarming.filter((a) => isTeamAggregateAlarmName(a.name, a.region));
  if (aggregates.length === 0) return [];
  const nowMs = Date.now();
  const spared: WatchedAlarm[] = [];
  for (const a of aggregates) {
    if (await overrideFor(read, { blocker: 'team-alarm', region: a.region, pipeline: scope.pipeline, change: scope.change, nowMs })) spared.push(a);
  }
  return spared;
};

/** `alarming` without the alarms sparedAlarms spares. */
export const unspared = async (
  scope: { pipeline: string; change: string },
  alarming: readonly WatchedAlarm[],
  read?: OperatorsReader,
): Promise<WatchedAlarm[]> => {
  const spared = await sparedAlarms(scope, alarming, read);
  return spared.length === 0 ? [...alarming] : alarming.filter((a) => !spared.some((s) => s.name === a.name && s.region === a.region));
};
