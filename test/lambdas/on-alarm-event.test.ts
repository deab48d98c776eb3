import { SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { BatchWriteCommand, DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { onAlarmEvent } from '../../lambdas/on-alarm-event/index.ts';
import type { AlarmStateChangeDetail, BusEvent } from '../../core/contracts.ts';
import { ddb, fakeWaiters, published, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const alarm = 'handsoff-storefront-sa-east-1-aggregate';
const event = (value: 'OK' | 'ALARM'): BusEvent<AlarmStateChangeDetail> => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  region: 'sa-east-1',
  time: '2026-12-01T18:00:00Z',
  detail: { alarmName: alarm, state: { value } },
});
const anomaly = 'storefront-api-sa-east-1-onebox-anomaly-latency';
const scope = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };

beforeEach(() => {
  sfn.on(SendTaskFailureCommand).resolves({});
  fakeWaiters([
    // Each waiter is its own watch record (in the open-waiters index, naming its alarms).
    { pk: 'deployment#d-1', kind: 'deployment', status: 'OPEN', openShard: 'OPEN', token: 'dep-token', ...scope, target: 'onebox', alarms: [{ region: 'sa-east-1', name: alarm }, { region: 'sa-east-1', name: 'faults' }], watching: [alarm, 'faults'] },
    { pk: 'bake#b', kind: 'bake', status: 'OPEN', openShard: 'OPEN', token: 'bake-token', ...scope, unit: 'sae1-az1', alarms: [{ region: 'sa-east-1', name: alarm }, { region: 'sa-east-1', name: anomaly }], watching: [alarm, anomaly] },
    { pk: 'bake#other', kind: 'bake', status: 'OPEN', openShard: 'OPEN', token: 'other-token', ...scope, unit: 'sae1-az2', alarms: [{ region: 'sa-east-1', name: 'faults' }], watching: ['faults'] },
  ]);
});

describe('on-alarm-event', () => {
  it('fails every step watching the alarm, within the event', async () => {
    await expect(onAlarmEvent(event('ALARM'))).resolves.toEqual({ failed: ['deployment#d-1', 'bake#b'], cleared: [] });
    const cause = JSON.stringify({ reason: `alarm ${alarm} went to ALARM`, alarm, region: 'sa-east-1' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'dep-token', error: 'AlarmTriggered', cause });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'bake-token', error: 'AlarmTriggered', cause });
    expect(published()).toEqual([
      expect.objectContaining({ type: 'alarm.triggered', alarm, stage: 'wave-1', region: 'sa-east-1', target: 'onebox' }),
      expect.objectContaining({ type: 'alarm.triggered', alarm, unit: 'sae1-az1' }),
    ]);
    // One Query finds them (a waiter that does not watch the alarm is not touched); no watch item is deleted.
    // The alarm is a team aggregate: one more Query, of the operators table (a team-alarm override would spare it).
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: 'operators' });
    expect(sfn).not.toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'other-token' });
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('fails each step once when the event is delivered twice', async () => {
    await onAlarmEvent(event('ALARM'));
    await expect(onAlarmEvent(event('ALARM'))).resolves.toEqual({ failed: [], cleared: [] });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 2);
    expect(published()).toHaveLength(2);
  });

  it('ends no step when the alarm goes back to OK (only blocker waits end on OK)', async () => {
    await expect(onAlarmEvent(event('OK'))).resolves.toEqual({ failed: [], cleared: [] });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(published()).toEqual([]);
  });

  it('names an anomaly alarm anomaly:<Metric>, with its full name in alarmName', async () => {
    await onAlarmEvent({ ...event('ALARM'), detail: { alarmName: anomaly, state: { value: 'ALARM' } } });
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', alarm: 'anomaly:Latency', alarmName: anomaly, unit: 'sae1-az1' })]);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'bake-token',
      cause: JSON.stringify({ reason: `alarm ${anomaly} went to ALARM`, alarm: anomaly, region: 'sa-east-1' }),
    });
  });
});
