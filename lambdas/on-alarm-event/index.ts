/**
 * Handler `on-alarm-event`: CloudWatch "Alarm State Change" events. An alarm going to ALARM
 * fails, within seconds, every deployment step and bake watching it; the state machine then
 * rolls back. Each waiter fails once, however often the event is delivered.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { EventType } from '../../core/events.ts';
import { clients } from '../shared/clients.ts';
import { StepError, type AlarmStateChangeDetail, type BusEvent } from '../shared/contracts.ts';
import { queryAll } from '../shared/dynamo.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { scopeOf, table, type WatchItem } from '../shared/tables.ts';
import { deliver, finishWaiter, unwatch } from '../shared/waiters.ts';

export interface AlarmEventOutput {
  /** Waiters this event failed. */
  failed: string[];
}

export const onAlarmEvent = async (event: BusEvent<AlarmStateChangeDetail>): Promise<AlarmEventOutput> => {
  const alarm = event?.detail?.alarmName;
  if (!alarm || event.detail.state?.value !== 'ALARM') return { failed: [] };
  const watches = await queryAll<WatchItem>({
    TableName: table.watches(),
    KeyConditionExpression: '#pk = :alarm',
    ExpressionAttributeNames: { '#pk': 'pk' },
    ExpressionAttributeValues: { ':alarm': alarm },
  });
  const failed: string[] = [];
  for (const w of watches) {
    const waiter = await finishWaiter(w.sk, {
      ok: false,
      error: StepError.ALARM_TRIGGERED,
      cause: { reason: `alarm ${alarm} went to ALARM`, alarm },
    });
    if (!waiter) {
      // Finished already (or gone): the watch is stale.
      await clients()
        .dynamo()
        .send(new DeleteCommand({ TableName: table.watches(), Key: { pk: w.pk, sk: w.sk } }));
      continue;
    }
    failed.push(waiter.pk);
    await publish([{ type: EventType.ALARM_TRIGGERED, ...scopeOf(waiter), alarm }]);
    await deliver(waiter);
    await unwatch(waiter.alarms, waiter.pk);
  }
  logger.info('alarm state change handled', { alarm, watches: watches.length, failed });
  return { failed };
};

export const handler = middy(onAlarmEvent).use(injectLambdaContext(logger));
