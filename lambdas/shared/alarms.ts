/**
 * Reading the current state of watched alarms (metric and composite), region by region, and
 * failing a waiter on an alarm in ALARM (the alarm-event path and the reconciler alike).
 */
import { DescribeAlarmsCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { EventType } from '../../core/events.ts';
import { triggeredAlarmLabel } from '../../core/naming.ts';
import { clients } from './clients.ts';
import { StepError } from '../../core/contracts.ts';
import { publish, type EventDraft } from './publish.ts';
import { scopeOf, watchedAlarms, type ScopeFields, type Waiter, type WatchedAlarm } from './tables.ts';
import { deliver, finishWaiter, unwatch } from './waiters.ts';

/**
 * `alarm.triggered` for a scope: `alarm` is the label SIMULATION.md names (`anomaly:<Metric>`
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
  await unwatch(watchedAlarms(waiter), waiter.pk);
  return waiter;
};

export interface AlarmStates {
  missing: WatchedAlarm[];
  alarming: WatchedAlarm[];
  insufficient: WatchedAlarm[];
}

/** DescribeAlarms takes at most 100 names per call. */
const BATCH = 100;

/** Alarms grouped by state (OK ones in none); DescribeAlarms per region, 100 names per call. */
export const alarmStates = async (alarms: WatchedAlarm[]): Promise<AlarmStates> => {
  const byRegion = new Map<string, string[]>();
  for (const alarm of alarms) byRegion.set(alarm.region, [...(byRegion.get(alarm.region) ?? []), alarm.name]);
  const states = new Map<string, StateValue | undefined>();
  const keyOf = (region: string, name: string): string => `${region}\u0000${name}`;
  for (const [region, names] of byRegion) {
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
          if (a.AlarmName) states.set(keyOf(region, a.AlarmName), a.StateValue);
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
  }
  const result: AlarmStates = { missing: [], alarming: [], insufficient: [] };
  for (const alarm of alarms) {
    const key = keyOf(alarm.region, alarm.name);
    if (!states.has(key)) result.missing.push(alarm);
    else if (states.get(key) === 'ALARM') result.alarming.push(alarm);
    else if (states.get(key) !== 'OK') result.insufficient.push(alarm);
  }
  return result;
};
