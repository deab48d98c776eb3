/**
 * Handler `on-alarm-event`: CloudWatch "Alarm State Change" events.
 * - ALARM fails, within seconds, every deployment step, bake and hold watching the alarm; the
 *   state machine then rolls back. A blocker wait whose blocking alarm it is only waits for it
 *   to clear and is not failed, unless the alarm is also one of the wait's own alarms.
 * - OK or INSUFFICIENT_DATA ends every blocker wait for the alarm (SendTaskSuccess with
 *   `cleared`): the gate checks again, and publishes `unblocked`. Nothing else is published.
 * Each waiter finishes once, however often the event is delivered.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { failWaiterOnAlarm } from '../shared/alarms.ts';
import { clearBlocker } from '../shared/bakes.ts';
import { clients } from '../shared/clients.ts';
import { AlarmStateChangeDetail, type BusEvent, busEvent } from '../../core/contracts.ts';
import { queryAll } from '../shared/dynamo.ts';
import { logger } from '../shared/logger.ts';
import { table, type WatchItem } from '../shared/tables.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface AlarmEventOutput {
  /** Waiters this event failed (ALARM). */
  failed: string[];
  /** Blocker waits this event ended because their blocking alarm cleared (OK, INSUFFICIENT_DATA). */
  cleared: string[];
}

const dropStaleWatch = async (w: WatchItem): Promise<void> => {
  await clients()
    .dynamo()
    .send(new DeleteCommand({ TableName: table.watches(), Key: { pk: w.pk, sk: w.sk } }));
};

export const onAlarmEvent = async (event: BusEvent<AlarmStateChangeDetail>): Promise<AlarmEventOutput> => {
  const alarm = event?.detail?.alarmName;
  const state = event?.detail?.state?.value;
  const out: AlarmEventOutput = { failed: [], cleared: [] };
  if (!alarm || (state !== 'ALARM' && state !== 'OK' && state !== 'INSUFFICIENT_DATA')) return out;
  const watches = await queryAll<WatchItem>({
    TableName: table.watches(),
    KeyConditionExpression: '#pk = :alarm',
    ExpressionAttributeNames: { '#pk': 'pk' },
    ExpressionAttributeValues: { ':alarm': alarm },
  });
  for (const w of watches) {
    if (state === 'ALARM') {
      // A blocker wait watches its blocking alarm to learn when it clears: ALARM is what it waits out.
      if (w.failsOnAlarm === false) continue;
      const waiter = await failWaiterOnAlarm(w.sk, { name: alarm, region: w.region ?? event.region }, `alarm ${alarm} went to ALARM`);
      // Finished already (or gone): the watch is stale.
      if (!waiter) await dropStaleWatch(w);
      else out.failed.push(waiter.pk);
    } else {
      if (w.blocker !== true) continue;
      // Finished already: whoever finished it dropped its watches (or does so now).
      const waiter = await clearBlocker(w.sk, alarm);
      if (waiter) out.cleared.push(waiter.pk);
    }
  }
  logger.info('alarm state change handled', { alarm, state, watches: watches.length, ...out });
  return out;
};

export const handler = lambdaHandler('on-alarm-event', busEvent(AlarmStateChangeDetail), onAlarmEvent);
