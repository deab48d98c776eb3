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
const scope = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };

beforeEach(() => {
  sfn.on(SendTaskFailureCommand).resolves({});
  fakeWaiters([
    { pk: 'deployment#d-1', kind: 'deployment', status: 'OPEN', token: 'dep-token', ...scope, target: 'onebox', alarms: [{ region: 'sa-east-1', name: alarm }, { region: 'sa-east-1', name: 'faults' }] },
    { pk: 'bake#b', kind: 'bake', status: 'OPEN', token: 'bake-token', ...scope, unit: 'sae1-az1', alarms: [{ region: 'sa-east-1', name: alarm }] },
  ]);
  ddb.on(QueryCommand, { TableName: 'watches' }).resolves({
    Items: [
      { pk: alarm, sk: 'deployment#d-1', region: 'sa-east-1' },
      { pk: alarm, sk: 'bake#b', region: 'sa-east-1' },
    ],
  });
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
    expect(ddb).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: { watches: [{ DeleteRequest: { Key: { pk: alarm, sk: 'deployment#d-1' } } }, { DeleteRequest: { Key: { pk: 'faults', sk: 'deployment#d-1' } } }] },
    });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { TableName: 'watches', Key: { pk: alarm, sk: 'bake#b' } });
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
    const anomaly = 'storefront-api-sa-east-1-onebox-anomaly-latency';
    ddb.on(QueryCommand, { TableName: 'watches' }).resolves({ Items: [{ pk: anomaly, sk: 'bake#b', region: 'sa-east-1' }] });
    await onAlarmEvent({ ...event('ALARM'), detail: { alarmName: anomaly, state: { value: 'ALARM' } } });
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', alarm: 'anomaly:Latency', alarmName: anomaly, unit: 'sae1-az1' })]);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'bake-token',
      cause: JSON.stringify({ reason: `alarm ${anomaly} went to ALARM`, alarm: anomaly, region: 'sa-east-1' }),
    });
  });
});
