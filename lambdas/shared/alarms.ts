/**
 * Reading the current state of watched alarms (metric and composite), region by region, and
 * failing a waiter on an alarm in ALARM (the alarm-event path and the reconciler alike).
 */
import { DescribeAlarmsCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { EventType } from '../../core/events.ts';
import { triggeredAlarmLabel } from '../../core/naming.ts';
import { isAlarmName } from '../../core/operator-items.ts';
import { clients } from './clients.ts';
import { StepError, type ObservedAlarmState } from '../../core/contracts.ts';
import { publish, type EventDraft } from './publish.ts';
import { scopeOf, watchedAlarms, type ScopeFields, type Waiter, type WatchedAlarm } from './tables.ts';
import { deliver, finishWaiter } from './waiters.ts';

/**
 * `alarm.triggered` for a scope: `alarm` is the label docs/simulation.md names (`anomaly:<Metric>`
 * for anomaly alarms, else the alarm's name), `alarmName` always the full name. A scope
 * without a region (a wave bake) takes the alarm's region.
 */
export const alarmTriggeredEvent = (scope: ScopeFields, alarm: WatchedAlarm, extra: Record<string, unknown> = {}): EventDraft => ({
  type: EventType.ALARM_TRIGGERED,
  ...scopeOf(scope),
  region: scope.region ?? alarm.region,
  alarm: triggeredAlarmLabel(alarm.name),
  alarmName: alarm.name,
  ...extra,
});

/**
 * Fails an OPEN waiter because `alarm` is in ALARM (once: undefined when it was finished
 * already), publishes `alarm.triggered`, completes its task and drops its watches.
 */
export const failWaiterOnAlarm = async (
  waiterKey: string,
  alarm: WatchedAlarm,
  reason: string,
  eventFields: Record<string, unknown> = {},
): Promise<Waiter | undefined> => {
  const waiter = await finishWaiter(waiterKey, {
    ok: false,
    error: StepError.ALARM_TRIGGERED,
    cause: { reason, alarm: alarm.name, region: alarm.region },
  });
  if (!waiter) return undefined;
  await publish([alarmTriggeredEvent(waiter, alarm, eventFields)]);
  await deliver(waiter);
  return waiter;
};

export interface AlarmStates {
  missing: WatchedAlarm[];
  alarming: WatchedAlarm[];
  insufficient: WatchedAlarm[];
  /**
   * When each alarm of `alarming` entered ALARM (epoch ms: StateTransitionedTimestamp, else
   * StateUpdatedTimestamp), keyed by alarmSinceKey: which ALARM episode it is in.
   */
  since?: ReadonlyMap<string, number>;
}

/** The key of an alarm in AlarmStates.since. */
export const alarmSinceKey = (alarm: WatchedAlarm): string => `${alarm.region}\u0000${alarm.name}`;

/** When `alarm` (in ALARM in `states`) entered ALARM, if DescribeAlarms said. */
export const alarmingSince = (states: AlarmStates, alarm: WatchedAlarm): number | undefined => states.since?.get(alarmSinceKey(alarm));

/**
 * A timestamp as epoch millis (NaN when there is none). The SDK gives a Date, whose time is
 * read as it is: a new Date would be the slower fake one in the simulator.
 */
const epochMs = (t: Date | string | number | null | undefined): number =>
  typeof t === 'object' && t !== null ? t.getTime() : typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : Number.NaN;

/** DescribeAlarms takes at most 100 names per call. */
const BATCH = 100;

/**
 * Alarms grouped by state (OK ones in none); DescribeAlarms per region, 100 names per call.
 * A name that is no alarm (an emergency-hold key, core/operator-items.ts) is never sent to
 * CloudWatch: it is answered missing, as CloudWatch would (a blocker wait on it waits on).
 */
export const alarmStates = async (alarms: WatchedAlarm[]): Promise<AlarmStates> => {
  const byRegion = new Map<string, string[]>();
  for (const alarm of alarms) {
    if (!isAlarmName(alarm.name)) continue;
    const names = byRegion.get(alarm.region);
    if (names) names.push(alarm.name);
    else byRegion.set(alarm.region, [alarm.name]);
  }
  /** region -> alarm name -> state, of the alarms DescribeAlarms returned. */
  const states = new Map<string, Map<string, StateValue | undefined>>();
  const since = new Map<string, number>();
  for (const [region, names] of byRegion) {
    const found = new Map<string, StateValue | undefined>();
    states.set(region, found);
    const unique = [...new Set(names)];
    for (let i = 0; i < unique.length; i += BATCH) {
      let nextToken: string | undefined;
      do {
        // Without AlarmTypes DescribeAlarms returns metric alarms only, and the team
        // aggregate is a composite alarm.
        const page = await clients()
          .cloudWatch(region)
          .send(
            new DescribeAlarmsCommand({
              AlarmNames: unique.slice(i, i + BATCH),
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
              NextToken: nextToken,
            }),
          );
        for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
          if (!a.AlarmName) continue;
          found.set(a.AlarmName, a.StateValue);
          if (a.StateValue !== 'ALARM') continue;
          const ms = epochMs(a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp);
          if (Number.isFinite(ms)) since.set(alarmSinceKey({ region, name: a.AlarmName }), ms);
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
  }
  const result: AlarmStates = { missing: [], alarming: [], insufficient: [], since };
  for (const alarm of alarms) {
    const found = states.get(alarm.region);
    if (!found?.has(alarm.name)) result.missing.push(alarm);
    else {
      const state = found.get(alarm.name);
      if (state === 'ALARM') result.alarming.push(alarm);
      else if (state !== 'OK') result.insufficient.push(alarm);
    }
  }
  return result;
};

const sameAlarm = (a: WatchedAlarm, b: WatchedAlarm): boolean => a.name === b.name && a.region === b.region;

/** The state of `alarm` in `states` (read by alarmStates with it): OK when it is in none of the lists. */
export const observedState = (states: AlarmStates, alarm: WatchedAlarm): ObservedAlarmState => {
  if (states.missing.some((a) => sameAlarm(a, alarm))) return 'MISSING';
  if (states.alarming.some((a) => sameAlarm(a, alarm))) return 'ALARM';
  if (states.insufficient.some((a) => sameAlarm(a, alarm))) return 'INSUFFICIENT_DATA';
  return 'OK';
};

/**
 * The alarms of `states` that lack the data a step requires. The rule, for every gate and
 * deployment start: each alarm handsoff gates a step on (the team aggregate, the company
 * event) or starts a deployment under (the alarms the deployment watches) is required. In
 * INSUFFICIENT_DATA it cannot tell the scope is healthy, so the step holds (`blocked`,
 * reason `insufficient-data`) until the alarm has data, and then decides: OK goes on, ALARM
 * blocks (or rolls back where the change runs already). No alarm is exempt by name: the
 * alarm plan's treatMissingData decides which can lack data. An alarm that treats missing
 * data as notBreaching goes OK without data on AWS and never holds a step; one that treats it
 * as missing (host health), an aggregate (composite) whose members were not evaluated yet,
 * and an anomaly band still learning can. Bakes judge data their own way (they extend, then
 * fail with `insufficient-data`: bakes.ts); a hold ends into its gate, which judges.
 */
export const withoutData = (states: AlarmStates): WatchedAlarm[] => states.insufficient;
