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
import { failWaiterOnAlarm } from '../shared/alarms.ts';
import { clearBlocker, clearsBlocker } from '../shared/blockers.ts';
import { AlarmStateChangeDetail, type BusEvent, busEvent } from '../../core/contracts.ts';
import { logger } from '../shared/logger.ts';
import { operatorsReader, unspared } from '../shared/operator-reads.ts';
import { WaiterKind, WaiterStatus, type WatchedAlarm } from '../shared/tables.ts';
import { waitersWatching } from '../shared/waiters.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface AlarmEventOutput {
  /** Waiters this event failed (ALARM). */
  failed: string[];
  /** Blocker waits this event ended because their blocking alarm left the state that blocked. */
  cleared: string[];
}

export const onAlarmEvent = async (event: BusEvent<AlarmStateChangeDetail>): Promise<AlarmEventOutput> => {
  const alarm = event?.detail?.alarmName;
  const state = event?.detail?.state?.value;
  const out: AlarmEventOutput = { failed: [], cleared: [] };
  if (!alarm || (state !== 'ALARM' && state !== 'OK' && state !== 'INSUFFICIENT_DATA')) return out;
  // One Query: the waiters that watch the alarm (the open-waiters index, filtered on `watching`).
  const waiters = await waitersWatching(alarm);
  // Read once for the event, and only if a team aggregate went to ALARM (operator-reads.ts).
  const operators = operatorsReader();
  for (const w of waiters) {
    // Delivered meanwhile (the index lags): nothing to do. Finished, not delivered: finishWaiter delivers it.
    if (w.status !== WaiterStatus.OPEN && w.delivered === true) continue;
    const named = (w.alarms ?? []).filter((a) => a.name === alarm);
    const own: WatchedAlarm | undefined = named.find((a) => a.region === event.region) ?? named[0];
    if (state === 'ALARM' && own && (await unspared(w, [own], operators)).length === 0) {
      logger.info('team aggregate in ALARM spared by a team-alarm override', { waiter: w.pk, alarm });
      continue;
    }
    if (state === 'ALARM' && own) {
      const waiter = await failWaiterOnAlarm(w.pk, { name: alarm, region: own.region }, `alarm ${alarm} went to ALARM`);
      if (waiter) out.failed.push(waiter.pk);
      continue;
    }
    // A blocker wait watches its blocking alarm to learn when it leaves the state that closed
    // the gate (ALARM is what most wait out; a missing or data-less alarm may go to ALARM).
    if (w.kind !== WaiterKind.BAKE || w.purpose !== 'blocker' || w.blocker?.name !== alarm || !clearsBlocker(w.blocker, state)) continue;
    const waiter = await clearBlocker(w.pk, alarm, state);
    if (waiter) out.cleared.push(waiter.pk);
  }
  logger.info('alarm state change handled', { alarm, state, watching: waiters.length, ...out });
  return out;
};

export const handler = lambdaHandler('on-alarm-event', busEvent(AlarmStateChangeDetail), onAlarmEvent);
