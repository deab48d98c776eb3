import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ConflictException, CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { ThrottlingException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bakeEnd } from '../../lambdas/bake-end/index.ts';
import { scheduleName } from '../../lambdas/shared/bakes.ts';
import { StartBakeInput } from '../../core/contracts.ts';
import { handler as startBakeHandler, startBake } from '../../lambdas/start-bake/index.ts';
import { $metadata, cloudWatch, ddb, fakeWaiters, NOW, published, scheduler, schedulesOf, sfn, invokeHandler, useAwsMocks } from './support.ts';

useAwsMocks();

const input: StartBakeInput = {
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region: 'sa-east-1',
  target: 'onebox',
  taskToken: 'bake-token',
  durationSeconds: 3600,
  minRequests: 100,
  alarms: [
    { region: 'sa-east-1', name: 'agg' },
    { region: 'sa-east-1', name: 'faults' },
  ],
  metricScopes: [{ region: 'sa-east-1', scope: 'onebox' }],
  service: 'StorefrontApi',
};
const bakeId = 'storefront-api#c1#wave-1#sa-east-1#onebox';
const HOUR = 3_600_000;

const alarms = (states: Record<string, 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'>): void => {
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
  });
};
const requests = (...values: number[]): void => {
  cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: values }] });
};

let store: ReturnType<typeof fakeWaiters>;
beforeEach(() => {
  store = fakeWaiters([]);
  alarms({ agg: 'OK', faults: 'OK' });
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});

describe('start-bake', () => {
  it('passes a bake of zero in the same invocation, without waiting for requests or a schedule', async () => {
    requests();
    await startBake({ ...input, durationSeconds: 0 });
    expect(schedulesOf('bake-end')).toEqual([]);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'bake-token' });
    expect(published().map((e) => e.type)).toEqual(['bake.started', 'bake.completed']);
  });

  it('fails a bake of zero whose alarm is in ALARM', async () => {
    requests();
    alarms({ agg: 'OK', faults: 'ALARM' });
    await startBake({ ...input, durationSeconds: 0 });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'bake-token', error: 'AlarmTriggered' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('parks the token, watches the alarms and schedules the end', async () => {
    await expect(startBake(input)).resolves.toEqual({ bakeId, registration: 'created' });
    expect(store.get(`bake#${bakeId}`)).toMatchObject({ status: 'OPEN', token: 'bake-token', startedAt: NOW.getTime(), endsAt: NOW.getTime() + HOUR, service: 'StorefrontApi', maxExtensionSeconds: 7200 });
    expect(scheduler).toHaveReceivedCommandWith(CreateScheduleCommand, {
      Name: scheduleName(bakeId, 0),
      GroupName: 'handsoff',
      ScheduleExpression: 'at(2026-12-01T19:00:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: 'arn:aws:lambda:us-west-2:111122223333:function:bake-end',
        RoleArn: 'arn:aws:iam::111122223333:role/scheduler',
        Input: JSON.stringify({ bakeId }),
      },
    });
    expect(scheduleName(bakeId, 0).length).toBeLessThanOrEqual(64);
    expect(scheduleName(bakeId, 0)).toMatch(/^[0-9a-zA-Z-_.]+$/);
    expect(published()).toEqual([expect.objectContaining({ type: 'bake.started', duration: 'PT1H', stage: 'wave-1', target: 'onebox' })]);
  });

  it('re-registers a retried task on the same bake without restarting its clock', async () => {
    await startBake(input);
    vi.setSystemTime(NOW.getTime() + 60_000);
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException({ message: 'exists', Message: 'exists', $metadata }));
    await expect(startBake({ ...input, taskToken: 'bake-token-2' })).resolves.toEqual({ bakeId, registration: 'reregistered' });
    expect(store.get(`bake#${bakeId}`)).toMatchObject({ token: 'bake-token-2', endsAt: NOW.getTime() + HOUR });
    expect(published()).toHaveLength(1);
  });

  it('rejects an empty alarm list for a bake, which would pass unwatched', async () => {
    await expect(invokeHandler(startBakeHandler, { ...input, alarms: [] })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('alarms: must not be empty for a bake') });
    await expect(invokeHandler(startBakeHandler, { ...input, purpose: 'bake', alarms: [] })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('alarms') });
    expect(store.size).toBe(0);
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('fails closed at once when a watched alarm does not exist', async () => {
    alarms({ agg: 'OK' });
    await startBake(input);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'bake-token', error: 'AlarmMissing', cause: expect.stringContaining('faults') });
    expect(schedulesOf('bake-end')).toEqual([]);
  });
});

describe('bake-end', () => {
  beforeEach(async () => {
    await startBake(input);
    vi.setSystemTime(NOW.getTime() + HOUR);
  });

  it('completes the bake when its time passed with enough requests and alarms OK', async () => {
    requests(60, 40, 25);
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed', requests: 125 });
    expect(cloudWatch).toHaveReceivedCommandWith(GetMetricDataCommand, {
      StartTime: NOW,
      EndTime: new Date(NOW.getTime() + HOUR),
      MetricDataQueries: [
        expect.objectContaining({
          MetricStat: {
            Metric: {
              Namespace: 'Handsoff/Service',
              MetricName: 'RequestCount',
              Dimensions: [
                { Name: 'Service', Value: 'StorefrontApi' },
                { Name: 'Scope', Value: 'onebox' },
              ],
            },
            Period: 60,
            Stat: 'Sum',
          },
        }),
      ],
    });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'bake-token', output: JSON.stringify({ bakeId, requests: 125 }) });
    expect(published().map((e) => e.type)).toEqual(['bake.started', 'bake.completed']);
    // A duplicate schedule invocation is a no-op.
    await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'not-open' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('extends on thin traffic, never passing on silence, and fails past the cap', async () => {
    requests(10);
    // 1 h bake: extensions of 15 min, at most 2 h in all.
    for (let i = 1; i <= 8; i++) {
      await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'extended', requests: 10 });
      expect(scheduler).toHaveReceivedCommandWith(CreateScheduleCommand, { Name: scheduleName(bakeId, i) });
      vi.setSystemTime(Date.now() + 15 * 60_000);
    }
    expect(store.get(`bake#${bakeId}`)).toMatchObject({ extensions: 8, extendedSeconds: 7200 });
    await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'failed' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'bake-token',
      error: 'InsufficientData',
      cause: expect.stringContaining('"reason":"insufficient-data"'),
    });
    const cause = JSON.parse(sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input.cause!);
    expect(cause).toEqual({
      reason: 'insufficient-data',
      detail: '10 requests seen of 100 required over PT3H (bake PT1H, extended by PT2H, cap PT2H)',
    });
    expect(published().filter((e) => e.type === 'bake.extended')).toHaveLength(8);
    expect(published()[1]).toMatchObject({ type: 'bake.extended', reason: 'min-datapoints', stage: 'wave-1' });
    expect(published()[1]).toEqual(
      expect.objectContaining({ requests: 10, minRequests: 100, until: new Date(NOW.getTime() + HOUR + 15 * 60_000).toISOString() }),
    );
  });

  it('treats an alarm in INSUFFICIENT_DATA as not enough data: extends', async () => {
    requests(500);
    alarms({ agg: 'OK', faults: 'INSUFFICIENT_DATA' });
    await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'extended' });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(published()[1]).toMatchObject({ type: 'bake.extended', reason: 'min-datapoints', requests: 500, minRequests: 100, detail: 'alarms in INSUFFICIENT_DATA: faults (sa-east-1)' });
    expect(store.get(`bake#${bakeId}`)).toMatchObject({ endsAt: NOW.getTime() + HOUR + 15 * 60_000 });
  });

  it('fails closed when a watched alarm is missing at the end', async () => {
    requests(500);
    alarms({ agg: 'OK' });
    await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'failed' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'AlarmMissing' });
  });

  it('fails when an alarm is in ALARM at the end', async () => {
    requests(500);
    alarms({ agg: 'ALARM', faults: 'OK' });
    await bakeEnd({ bakeId });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      error: 'AlarmTriggered',
      cause: JSON.stringify({ reason: 'alarm agg is in ALARM at the end of the bake', alarm: 'agg', region: 'sa-east-1' }),
    });
    expect(published()).toContainEqual(expect.objectContaining({ type: 'alarm.triggered', alarm: 'agg', alarmName: 'agg' }));
  });

  it('ignores a stale schedule that fires before the end', async () => {
    vi.setSystemTime(NOW.getTime() + HOUR / 2);
    await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'early' });
    expect(cloudWatch).not.toHaveReceivedCommand(GetMetricDataCommand);
  });

  it('delivers on a retried schedule a result whose first delivery failed after the bake was finished', async () => {
    requests(60, 40, 25);
    sfn.on(SendTaskSuccessCommand).rejectsOnce(new Error('Rate exceeded')).resolves({});
    await expect(bakeEnd({ bakeId })).rejects.toThrow('Rate exceeded');
    // Lambda retries the asynchronous invocation: the task must get its result now, not time out.
    await bakeEnd({ bakeId });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
    expect(sfn).toHaveReceivedNthCommandWith(SendTaskSuccessCommand, 2, { taskToken: 'bake-token', output: JSON.stringify({ bakeId, requests: 125 }) });
    expect(store.get(`bake#${bakeId}`)).toMatchObject({ status: 'DONE', delivered: true });
    // Once delivered, a further duplicate is a no-op.
    await bakeEnd({ bakeId });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
  });

  it('lets throttling propagate', async () => {
    ddb.on(GetCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata }));
    await expect(bakeEnd({ bakeId })).rejects.toBeInstanceOf(ThrottlingException);
  });
});

describe('start-bake: the TTL of a wait', () => {
  const DAY = 24 * HOUR;
  it('counts from the end of a closed-window hold of weeks, not from its start: the table never drops an open wait', async () => {
    const until = new Date(NOW.getTime() + 40 * DAY).toISOString();
    await startBake({ ...input, purpose: 'hold', until, durationSeconds: 0, minRequests: 0, metricScopes: [] });
    const [hold] = [...store.values()];
    expect(hold).toMatchObject({ status: 'OPEN', purpose: 'hold', endsAt: Date.parse(until) });
    expect(hold!.expiresAt).toBe(Math.floor(Date.parse(until) / 1000) + 30 * 24 * 3600);
  });

  it('counts from the latest end of a bake, every extension for data points taken', async () => {
    requests();
    await startBake({ ...input, durationSeconds: 10 * 24 * 3600 });
    const bake = store.get(`bake#${bakeId}`)!;
    expect(bake.expiresAt * 1000).toBeGreaterThanOrEqual(NOW.getTime() + 30 * DAY + 10 * DAY + bake.maxExtensionSeconds * 1000);
  });
});

describe('start-bake: a wave hold (a region done before the others of its wave)', () => {
  const wave = { regions: ['eu-west-1', 'us-east-2'] };
  const hold = (region: string, taskToken: string): StartBakeInput => ({
    pipeline: 'storefront-api',
    change: 'c1',
    stage: 'wave-2',
    region,
    taskToken,
    purpose: 'hold',
    wave,
    durationSeconds: 0,
    minRequests: 0,
    alarms: [{ region, name: 'agg' }],
    metricScopes: [],
    service: 'StorefrontApi',
  });
  const holdOf = (region: string) => store.get(`bake#storefront-api#c1#wave-2#${region}#*#wave-hold`)!;
  let reached: Set<string>;
  beforeEach(() => {
    // The wave's record: a string set the holds ADD their region to.
    reached = new Set();
    ddb.on(UpdateCommand, { TableName: 'waiters', Key: { pk: 'wave#storefront-api#c1#wave-2' } }).callsFake((update) => {
      for (const region of update.ExpressionAttributeValues[':region'] as Set<string>) reached.add(region);
      return { Attributes: { pk: 'wave#storefront-api#c1#wave-2', reached: new Set(reached) } };
    });
  });

  it('waits, watching its region, while another region of the wave is not done; its cap is 60 days', async () => {
    await startBake(hold('eu-west-1', 't-eu'));
    expect(holdOf('eu-west-1')).toMatchObject({ status: 'OPEN', purpose: 'hold', wave, watching: ['agg'], endsAt: NOW.getTime() + 60 * 24 * HOUR });
    expect([...reached]).toEqual(['eu-west-1']);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('the last region to arrive ends every hold of the wave: each ends a second later, by a schedule of its own, judged on its alarms', async () => {
    await startBake(hold('eu-west-1', 't-eu'));
    await startBake(hold('us-east-2', 't-us'));
    for (const region of wave.regions) expect(holdOf(region)).toMatchObject({ status: 'OPEN', endsAt: NOW.getTime() + 1000, extensions: 1 });
    expect(schedulesOf('bake-end').filter((s) => s.Name!.endsWith('-1'))).toHaveLength(2);
    vi.setSystemTime(NOW.getTime() + 1000);
    await bakeEnd({ bakeId: holdOf('eu-west-1').bakeId });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 't-eu' });
    // A retried start of the last hold reaches the wave again and moves nothing twice.
    await startBake(hold('us-east-2', 't-us'));
    expect(holdOf('us-east-2')).toMatchObject({ extensions: 1 });
    expect(published()).toEqual([]);
  });

  it('outlives the 30-day TTL: the hold and the wave\'s record expire only after the 60-day cap', async () => {
    await startBake(hold('eu-west-1', 't-eu'));
    const cap = (NOW.getTime() + 60 * 24 * HOUR) / 1000;
    expect(holdOf('eu-west-1').expiresAt).toBeGreaterThanOrEqual(cap);
    const record = ddb.commandCalls(UpdateCommand).find((c) => c.args[0].input.Key!.pk === 'wave#storefront-api#c1#wave-2')!;
    expect(record.args[0].input.ExpressionAttributeValues![':expires']).toBeGreaterThanOrEqual(cap);
  });

  it('a retry after the end of a hold was moved but its schedule was not made schedules it again', async () => {
    await startBake(hold('eu-west-1', 't-eu'));
    // The last region's attempt moves eu-west-1's end, then dies before its schedule is made.
    const euEnd = scheduleName(holdOf('eu-west-1').bakeId, 1);
    scheduler.on(CreateScheduleCommand, { Name: euEnd }).rejectsOnce(new Error('Lambda timed out')).resolves({ ScheduleArn: 'arn:schedule' });
    await expect(startBake(hold('us-east-2', 't-us'))).rejects.toThrow('Lambda timed out');
    expect(holdOf('eu-west-1')).toMatchObject({ status: 'OPEN', extensions: 1, endsAt: NOW.getTime() + 1000 });
    await startBake(hold('us-east-2', 't-us'));
    expect(schedulesOf('bake-end').filter((s) => s.Name === euEnd)).toHaveLength(2);
    expect(holdOf('eu-west-1')).toMatchObject({ extensions: 1 });
    expect(holdOf('us-east-2')).toMatchObject({ status: 'OPEN', extensions: 1 });
  });

  it('is refused for a bake, and must list its own region', () => {
    const bad = StartBakeInput.safeParse({ ...hold('eu-west-1', 't'), purpose: 'bake' });
    expect(bad.success).toBe(false);
    const elsewhere = StartBakeInput.safeParse({ ...hold('sa-east-1', 't') });
    expect(!elsewhere.success && elsewhere.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['wave', "must list the hold's own region (sa-east-1)"]]);
  });
});
