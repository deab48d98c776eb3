/**
 * Handler `on-alarm-event`: CloudWatch "Alarm State Change" events.
 * - ALARM fails, within seconds, every deployment step, bake and hold watching the alarm; the
 *   state machine then rolls back. A blocker wait whose blocking alarm it is only waits for it
 *   to clear and is not failed, unless the alarm is also one of the wait's own alarms.
 * - A state other than the one a blocker wait for the alarm was blocked in (ALARM, or
 *   INSUFFICIENT_DATA, or a missing alarm that now exists) ends that wait (SendTaskSuccess
 *   with `cleared`): the gate checks again, and publishes `unblocked` or `blocked` with the
 *   new reason. Nothing else is published.
 * Each waiter finishes once, however often the event is delivered.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { failWaiterOnAlarm } from '../shared/alarms.ts';
import { clearBlocker, clearsBlocker } from '../shared/blockers.ts';
import { clients } from '../shared/clients.ts';
import { AlarmStateChangeDetail, type BusEvent, busEvent } from '../../core/contracts.ts';
import { queryAll } from '../shared/dynamo.ts';
import { logger } from '../shared/logger.ts';
import { table, type WatchItem } from '../shared/tables.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface AlarmEventOutput {
  /** Waiters this event failed (ALARM). */
  failed: string[];
  /** Blocker waits this event ended because their blocking alarm left the state that blocked. */
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
    if (state === 'ALARM' && w.failsOnAlarm !== false) {
      const waiter = await failWaiterOnAlarm(w.sk, { name: alarm, region: w.region ?? event.region }, `alarm ${alarm} went to ALARM`);
      // Finished already (or gone): the watch is stale.
      if (!waiter) await dropStaleWatch(w);
      else out.failed.push(waiter.pk);
      continue;
    }
    // A blocker wait watches its blocking alarm to learn when it leaves the state that closed
    // the gate (ALARM is what most wait out; a missing or data-less alarm may go to ALARM).
    if (w.blocker !== true || !clearsBlocker({ state: w.blockedState }, state)) continue;
    // Finished already: whoever finished it dropped its watches (or does so now).
    const waiter = await clearBlocker(w.sk, alarm, state);
    if (waiter) out.cleared.push(waiter.pk);
  }
  logger.info('alarm state change handled', { alarm, state, watches: watches.length, ...out });
  return out;
};

export const handler = lambdaHandler('on-alarm-event', busEvent(AlarmStateChangeDetail), onAlarmEvent);
