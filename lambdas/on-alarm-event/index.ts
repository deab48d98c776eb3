/**
 * Handler `on-alarm-event`: CloudWatch "Alarm State Change" events. An alarm going to ALARM
 * fails, within seconds, every deployment step and bake watching it; the state machine then
 * rolls back. Each waiter fails once, however often the event is delivered.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { failWaiterOnAlarm } from '../shared/alarms.ts';
import { clients } from '../shared/clients.ts';
import type { AlarmStateChangeDetail, BusEvent } from '../shared/contracts.ts';
import { queryAll } from '../shared/dynamo.ts';
import { logger } from '../shared/logger.ts';
import { table, type WatchItem } from '../shared/tables.ts';

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
    const waiter = await failWaiterOnAlarm(w.sk, { name: alarm, region: w.region ?? event.region }, `alarm ${alarm} went to ALARM`);
    if (!waiter) {
      // Finished already (or gone): the watch is stale.
      await clients()
        .dynamo()
        .send(new DeleteCommand({ TableName: table.watches(), Key: { pk: w.pk, sk: w.sk } }));
      continue;
    }
    failed.push(waiter.pk);
  }
  logger.info('alarm state change handled', { alarm, watches: watches.length, failed });
  return { failed };
};

export const handler = middy(onAlarmEvent).use(injectLambdaContext(logger));
