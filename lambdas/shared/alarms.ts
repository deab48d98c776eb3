/** Reading the current state of watched alarms (metric and composite), region by region. */
import { DescribeAlarmsCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { clients } from './clients.ts';
import type { WatchedAlarm } from './tables.ts';

export interface AlarmStates {
  missing: WatchedAlarm[];
  alarming: WatchedAlarm[];
  insufficient: WatchedAlarm[];
}

/** DescribeAlarms takes at most 100 names per call. */
const BATCH = 100;

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
