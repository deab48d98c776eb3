import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bakeEnd } from '../../lambdas/bake-end/index.ts';
import { onAlarmEvent } from '../../lambdas/on-alarm-event/index.ts';
import { scheduleName } from '../../lambdas/shared/bakes.ts';
import type { StartBakeInput } from '../../core/contracts.ts';
import { handler as startBakeHandler, startBake } from '../../lambdas/start-bake/index.ts';
import { cloudWatch, ddb, fakeWaiters, NOW, published, scheduler, sfn, invokeHandler, useAwsMocks } from './support.ts';

useAwsMocks();

const agg = 'handsoff-storefront-sa-east-1-aggregate';
const until = '2026-12-02T12:00:00Z';
const hold: StartBakeInput = {
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region: 'sa-east-1',
  unit: 'sae1-az2',
  target: 'fleet',
  taskToken: 'hold-token',
  purpose: 'hold',
  until,
  durationSeconds: 0,
  minRequests: 0,
  alarms: [
    { region: 'sa-east-1', name: agg },
    { region: 'sa-east-1', name: 'faults' },
  ],
  metricScopes: [],
};
const bakeId = 'storefront-api#c1#wave-1#sa-east-1#sae1-az2#hold#2026-12-02T12:00:00.000Z';

const alarms = (states: Record<string, 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'>): void => {
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
  });
};

let store: ReturnType<typeof fakeWaiters>;
beforeEach(() => {
  store = fakeWaiters([]);
  alarms({ [agg]: 'OK', faults: 'OK' });
  scheduler.on(CreateScheduleCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});

describe('hold (start-bake with purpose hold)', () => {
  it('waits until `until` watching its alarms, and publishes no bake event', async () => {
    await expect(startBake(hold)).resolves.toEqual({ bakeId, registration: 'created' });
    expect(store.get(`bake#${bakeId}`)).toMatchObject({ kind: 'bake', purpose: 'hold', status: 'OPEN', openShard: 'OPEN', endsAt: Date.parse(until), minRequests: 0 });
    expect(scheduler).toHaveReceivedCommandWith(CreateScheduleCommand, {
      Name: scheduleName(bakeId, 0),
      ScheduleExpression: 'at(2026-12-02T12:00:00)',
      Target: expect.objectContaining({ Input: JSON.stringify({ bakeId }) }),
    });
    expect(cloudWatch).toHaveReceivedCommand(DescribeAlarmsCommand);
    expect(published()).toEqual([]);
  });

  it('does not collide with the bake of the same scope, nor with a later hold', async () => {
    await startBake(hold);
    await startBake({ ...hold, taskToken: 'bake-token', purpose: 'bake', durationSeconds: 1800, minRequests: 100, metricScopes: [{ region: 'sa-east-1', scope: 'sae1-az2' }] });
    await startBake({ ...hold, taskToken: 'hold-token-2', until: '2026-12-03T12:00:00Z' });
    expect([...store.keys()].sort()).toEqual([
      'bake#storefront-api#c1#wave-1#sa-east-1#sae1-az2',
      `bake#${bakeId}`,
      'bake#storefront-api#c1#wave-1#sa-east-1#sae1-az2#hold#2026-12-03T12:00:00.000Z',
    ]);
    expect(published().map((e) => e.type)).toEqual(['bake.started']);
  });

  it('fails at once when a watched alarm goes to ALARM', async () => {
    await startBake(hold);
    await expect(
      onAlarmEvent({ source: 'aws.cloudwatch', 'detail-type': 'x', region: 'sa-east-1', time: NOW.toISOString(), detail: { alarmName: agg, state: { value: 'ALARM' } } }),
    ).resolves.toEqual({ failed: [`bake#${bakeId}`], cleared: [] });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'hold-token',
      error: 'AlarmTriggered',
      cause: JSON.stringify({ reason: `alarm ${agg} went to ALARM`, alarm: agg, region: 'sa-east-1' }),
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', alarm: agg, alarmName: agg, unit: 'sae1-az2' })]);
  });

  it('ends at its time with alarms OK or without data, needing no requests: the gate it ends into holds on alarms without data', async () => {
    // (The hold's Next is its gate: test/statemachines/asl.test.ts; the gate's data rule: check-window.test.ts.)
    await startBake(hold);
    vi.setSystemTime(Date.parse(until));
    alarms({ [agg]: 'OK', faults: 'INSUFFICIENT_DATA' });
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'hold-token',
      output: JSON.stringify({ bakeId, purpose: 'hold', until: '2026-12-02T12:00:00.000Z' }),
    });
    expect(cloudWatch).not.toHaveReceivedCommand(GetMetricDataCommand);
    expect(published()).toEqual([]);
    expect(store.get(`bake#${bakeId}`)).not.toHaveProperty('openShard');
  });

  it('fails closed at its end on a missing alarm or one in ALARM', async () => {
    await startBake(hold);
    vi.setSystemTime(Date.parse(until));
    alarms({ [agg]: 'OK' });
    await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'failed' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      error: 'AlarmMissing',
      cause: JSON.stringify({ reason: 'alarm faults (sa-east-1) does not exist at the end of the hold; a hold never passes unwatched', alarm: 'faults', region: 'sa-east-1' }),
    });

    alarms({ [agg]: 'OK', faults: 'OK' });
    await startBake({ ...hold, taskToken: 'hold-token-2', until: '2026-12-03T12:00:00Z' });
    vi.setSystemTime(Date.parse('2026-12-03T12:00:00Z'));
    alarms({ [agg]: 'ALARM', faults: 'OK' });
    await bakeEnd({ bakeId: bakeId.replace('2026-12-02', '2026-12-03') });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'hold-token-2', error: 'AlarmTriggered', cause: expect.stringContaining('"region":"sa-east-1"') });
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', alarm: agg })]);
  });

  it('ends at once when `until` has passed already', async () => {
    await expect(startBake({ ...hold, until: '2026-12-01T17:00:00Z' })).resolves.toMatchObject({ registration: 'created' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'hold-token' });
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });

  it('accepts an empty alarm list for a hold', async () => {
    await expect(startBake({ ...hold, alarms: [] })).resolves.toMatchObject({ registration: 'created' });
  });

  it('needs `until`', async () => {
    await expect(invokeHandler(startBakeHandler, { ...hold, until: undefined })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringMatching(/until/) });
    await expect(invokeHandler(startBakeHandler, { ...hold, until: 'tomorrow' })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('until: expected an ISO 8601 time') });
  });
});
