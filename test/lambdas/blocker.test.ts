import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bakeEnd } from '../../lambdas/bake-end/index.ts';
import { onAlarmEvent } from '../../lambdas/on-alarm-event/index.ts';
import { scheduleName } from '../../lambdas/shared/bakes.ts';
import type { AlarmStateChangeDetail, BusEvent, StartBakeInput } from '../../core/contracts.ts';
import { handler as startBakeHandler, startBake } from '../../lambdas/start-bake/index.ts';
import { cloudWatch, ddb, fakeWaiters, fakeWatches, NOW, published, scheduler, sfn, invokeHandler, useAwsMocks } from './support.ts';

useAwsMocks();

const region = 'sa-east-1';
const agg = 'handsoff-storefront-sa-east-1-aggregate';
const company = 'handsoff-company-event-sa-east-1';
const until = '2026-12-01T18:15:00Z';
/** A unit gate blocked by a company event: the change runs in the region already, its alarms stay watched. */
const wait: StartBakeInput = {
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region,
  unit: 'sae1-az2',
  target: 'fleet',
  taskToken: 'blocker-token',
  purpose: 'blocker',
  blocker: { region, name: company },
  until,
  durationSeconds: 0,
  minRequests: 0,
  alarms: [
    { region, name: agg },
    { region, name: 'faults' },
  ],
  metricScopes: [],
};
const scopeId = 'storefront-api#c1#wave-1#sa-east-1#sae1-az2';
const bakeId = `${scopeId}#blocker#${company}#2026-12-01T18:15:00.000Z`;
const key = `bake#${bakeId}`;

type State = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
/** Alarm states DescribeAlarms answers (absent: the alarm does not exist). */
const alarms = (states: Record<string, State>): void => {
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
  });
};
const event = (alarmName: string, value: State): BusEvent<AlarmStateChangeDetail> => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  region,
  time: NOW.toISOString(),
  detail: { alarmName, state: { value } },
});

let store: ReturnType<typeof fakeWaiters>;
let watches: ReturnType<typeof fakeWatches>;
beforeEach(() => {
  store = fakeWaiters([]);
  watches = fakeWatches();
  alarms({ [agg]: 'OK', faults: 'OK', [company]: 'ALARM' });
  scheduler.on(CreateScheduleCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});

describe('blocker wait (start-bake with purpose blocker)', () => {
  it('waits while the blocking alarm is in ALARM, watching it and its alarms, with the re-check as its end', async () => {
    await expect(startBake(wait)).resolves.toEqual({ bakeId, registration: 'created' });
    expect(store.get(key)).toMatchObject({
      kind: 'bake',
      purpose: 'blocker',
      blocker: { region, name: company },
      status: 'OPEN',
      openShard: 'OPEN',
      endsAt: Date.parse(until),
      minRequests: 0,
      alarms: wait.alarms,
    });
    // The waiter is its own watch record: its alarms and its blocking alarm, in one item
    // (the blocking alarm completes the wait on OK and, not being one of its alarms, does not fail it on ALARM).
    expect(store.get(key)!.watching).toEqual([agg, 'faults', company]);
    expect([...watches.values()]).toEqual([
      { pk: agg, sk: key, region },
      { pk: 'faults', sk: key, region },
      { pk: company, sk: key, region },
    ]);
    // One DescribeAlarms for its alarms and the blocker.
    expect(cloudWatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: [agg, 'faults', company] });
    expect(scheduler).toHaveReceivedCommandWith(CreateScheduleCommand, {
      Name: scheduleName(bakeId, 0),
      ScheduleExpression: 'at(2026-12-01T18:15:00)',
      Target: expect.objectContaining({ Input: JSON.stringify({ bakeId }) }),
    });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(published()).toEqual([]);
  });

  it.each(['OK', 'INSUFFICIENT_DATA'] as const)('ends successfully as soon as the blocking alarm goes to %s, once, publishing nothing', async (state) => {
    await startBake(wait);
    await expect(onAlarmEvent(event(company, state))).resolves.toEqual({ failed: [], cleared: [key] });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'blocker-token',
      output: JSON.stringify({ bakeId, purpose: 'blocker', cleared: company }),
    });
    // Conditional on the waiter being OPEN and a blocker wait for this very alarm, blocked in another state.
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: key },
      ConditionExpression:
        '#status = :open AND (#purpose = :blocker AND #blocker.#name = :alarm AND (attribute_not_exists(#blocker.#blockedState) OR #blocker.#blockedState <> :state))',
      ExpressionAttributeValues: expect.objectContaining({ ':blocker': 'blocker', ':alarm': company, ':state': state }),
    });
    expect(store.get(key)).toMatchObject({ status: 'DONE', delivered: true });
    expect(store.get(key)).not.toHaveProperty('openShard');
    expect(watches.size).toBe(0);
    expect(published()).toEqual([]);

    // A duplicate delivery, and the schedule at `until`, are no-ops.
    await expect(onAlarmEvent(event(company, state))).resolves.toEqual({ failed: [], cleared: [] });
    vi.setSystemTime(Date.parse(until));
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'not-open' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('is not ended by OK of one of its other alarms', async () => {
    await startBake(wait);
    await expect(onAlarmEvent(event('faults', 'OK'))).resolves.toEqual({ failed: [], cleared: [] });
    expect(store.get(key)).toMatchObject({ status: 'OPEN' });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('fails at once when one of its alarms goes to ALARM', async () => {
    await startBake(wait);
    await expect(onAlarmEvent(event('faults', 'ALARM'))).resolves.toEqual({ failed: [key], cleared: [] });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: 'blocker-token',
      error: 'AlarmTriggered',
      cause: JSON.stringify({ reason: 'alarm faults went to ALARM', alarm: 'faults', region }),
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', alarm: 'faults', unit: 'sae1-az2' })]);
    // Its watches are gone, the blocking alarm's too: its OK later ends nothing.
    expect(watches.size).toBe(0);
    await expect(onAlarmEvent(event(company, 'OK'))).resolves.toEqual({ failed: [], cleared: [] });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it("ignores the blocking alarm's own ALARM (it waits for it to clear)", async () => {
    await startBake(wait);
    await expect(onAlarmEvent(event(company, 'ALARM'))).resolves.toEqual({ failed: [], cleared: [] });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(published()).toEqual([]);
    expect(store.get(key)).toMatchObject({ status: 'OPEN' });
    expect(watches.size).toBe(3);
    // ... and still ends on its OK.
    await expect(onAlarmEvent(event(company, 'OK'))).resolves.toEqual({ failed: [], cleared: [key] });
  });

  it('one-box gate (no alarms of its own): waits for the team aggregate, ALARM again does not fail it, OK ends it', async () => {
    const teamWait: StartBakeInput = { ...wait, target: 'onebox', unit: undefined, blocker: { region, name: agg }, alarms: [] };
    const teamKey = `bake#storefront-api#c1#wave-1#sa-east-1#onebox#blocker#${agg}#2026-12-01T18:15:00.000Z`;
    alarms({ [agg]: 'ALARM', [company]: 'OK' });
    await expect(startBake(teamWait)).resolves.toMatchObject({ registration: 'created' });
    expect([...watches.values()]).toEqual([{ pk: agg, sk: teamKey, region }]);
    await expect(onAlarmEvent(event(agg, 'ALARM'))).resolves.toEqual({ failed: [], cleared: [] });
    await expect(onAlarmEvent(event(agg, 'OK'))).resolves.toEqual({ failed: [], cleared: [teamKey] });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'blocker-token',
      output: JSON.stringify({ bakeId: teamKey.slice('bake#'.length), purpose: 'blocker', cleared: agg }),
    });
  });

  it('fails at once when the blocking alarm is one of its alarms and in ALARM (a team alarm where the change runs)', async () => {
    alarms({ [agg]: 'ALARM', faults: 'OK', [company]: 'OK' });
    await startBake({ ...wait, blocker: { region, name: agg } });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: 'blocker-token',
      error: 'AlarmTriggered',
      cause: JSON.stringify({ reason: `alarm ${agg} is in ALARM at the start of the blocker wait`, alarm: agg, region }),
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', alarm: agg })]);
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
    expect(watches.size).toBe(0);
  });

  it('fails on the ALARM event of a blocking alarm that is also one of its alarms', async () => {
    // (A waiting state the start never leaves behind, since it fails or clears at once; the
    // event path still honours it.) The team aggregate blocks and is one of its alarms.
    const teamKey = `bake#${scopeId}#blocker#${agg}#2026-12-01T18:15:00.000Z`;
    store.set(teamKey, { pk: teamKey, kind: 'bake', purpose: 'blocker', status: 'OPEN', openShard: 'OPEN', token: 'blocker-token', pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region, unit: 'sae1-az2', blocker: { region, name: agg }, alarms: wait.alarms, watching: [agg, 'faults'], bakeId: teamKey.slice(5), endsAt: Date.parse(until) });
    expect(watches.get(`${agg}\u0000${teamKey}`)).toEqual({ pk: agg, sk: teamKey, region });
    await expect(onAlarmEvent(event(agg, 'ALARM'))).resolves.toEqual({ failed: [teamKey], cleared: [] });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'blocker-token', error: 'AlarmTriggered' });
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', alarm: agg })]);
    expect(watches.size).toBe(0);
  });

  it.each([
    ['OK', { [agg]: 'OK', faults: 'OK', [company]: 'OK' }],
    ['INSUFFICIENT_DATA', { [agg]: 'OK', faults: 'OK', [company]: 'INSUFFICIENT_DATA' }],
  ] as const)('succeeds at once when the blocking alarm is %s already', async (_, states) => {
    alarms(states as Record<string, State>);
    await expect(startBake(wait)).resolves.toEqual({ bakeId, registration: 'created' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'blocker-token',
      output: JSON.stringify({ bakeId, purpose: 'blocker', cleared: company }),
    });
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
    expect(watches.size).toBe(0);
    expect(published()).toEqual([]);
  });

  it('is not ended by its blocking alarm vanishing: at the start, at `until`, nor by the next check', async () => {
    alarms({ [agg]: 'OK', faults: 'OK' });
    await expect(startBake(wait)).resolves.toEqual({ bakeId, registration: 'created' });
    expect(store.get(key)).toMatchObject({ status: 'OPEN' });
    expect(sfn).not.toHaveReceivedAnyCommand();
    // At its re-check time it ends as a re-check (no `cleared`): the gate then finds the alarm missing.
    vi.setSystemTime(Date.parse(until));
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'blocker-token',
      output: JSON.stringify({ bakeId, purpose: 'blocker', until: '2026-12-01T18:15:00.000Z' }),
    });
  });

  describe('blocked by a missing alarm (alarm-missing)', () => {
    const missingWait: StartBakeInput = { ...wait, blocker: { region, name: company, state: 'MISSING' } };

    it('waits while the alarm does not exist, then ends on its first state change', async () => {
      alarms({ [agg]: 'OK', faults: 'OK' });
      await expect(startBake(missingWait)).resolves.toEqual({ bakeId, registration: 'created' });
      expect(store.get(key)).toMatchObject({ status: 'OPEN', blocker: { region, name: company, state: 'MISSING' } });
      expect(watches.get(`${company}\u0000${key}`)).toEqual({ pk: company, sk: key, region });
      expect(sfn).not.toHaveReceivedAnyCommand();
      // Created again: its INSUFFICIENT_DATA -> OK transition ends the wait, and the gate decides.
      await expect(onAlarmEvent(event(company, 'OK'))).resolves.toEqual({ failed: [], cleared: [key] });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { output: JSON.stringify({ bakeId, purpose: 'blocker', cleared: company }) });
    });

    it('ends at once when the alarm exists again at its start', async () => {
      alarms({ [agg]: 'OK', faults: 'OK', [company]: 'INSUFFICIENT_DATA' });
      await startBake(missingWait);
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { output: JSON.stringify({ bakeId, purpose: 'blocker', cleared: company }) });
    });

    it('does not fail on a missing blocking alarm that is one of its alarms (the team aggregate where the change runs)', async () => {
      alarms({ faults: 'OK', [company]: 'OK' });
      await startBake({ ...wait, blocker: { region, name: agg, state: 'MISSING' } });
      expect(sfn).not.toHaveReceivedAnyCommand();
      vi.setSystemTime(Date.parse(until));
      await expect(bakeEnd({ bakeId: `${scopeId}#blocker#${agg}#2026-12-01T18:15:00.000Z` })).resolves.toMatchObject({ outcome: 'completed' });
      expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    });
  });

  describe('blocked by an alarm without data (insufficient-data)', () => {
    const noDataWait: StartBakeInput = { ...wait, target: 'onebox', unit: undefined, alarms: [], blocker: { region, name: agg, state: 'INSUFFICIENT_DATA' } };
    const noDataKey = `bake#storefront-api#c1#wave-1#sa-east-1#onebox#blocker#${agg}#2026-12-01T18:15:00.000Z`;

    it('waits while it has no data, and ends when it has: OK or ALARM, the gate decides', async () => {
      for (const state of ['OK', 'ALARM'] as const) {
        store.clear();
        watches.clear();
        sfn.resetHistory();
        alarms({ [agg]: 'INSUFFICIENT_DATA', [company]: 'OK' });
        await startBake(noDataWait);
        expect(store.get(noDataKey)).toMatchObject({ status: 'OPEN' });
        await expect(onAlarmEvent(event(agg, 'INSUFFICIENT_DATA'))).resolves.toEqual({ failed: [], cleared: [] });
        await expect(onAlarmEvent(event(agg, state))).resolves.toEqual({ failed: [], cleared: [noDataKey] });
        expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
          output: JSON.stringify({ bakeId: noDataKey.slice('bake#'.length), purpose: 'blocker', cleared: agg }),
        });
      }
    });

    it('is failed by ALARM where the alarm is one of its own (the change runs there: rolled back as usual)', async () => {
      alarms({ [agg]: 'INSUFFICIENT_DATA', faults: 'OK', [company]: 'OK' });
      await startBake({ ...wait, blocker: { region, name: agg, state: 'INSUFFICIENT_DATA' } });
      const own = `bake#${scopeId}#blocker#${agg}#2026-12-01T18:15:00.000Z`;
      await expect(onAlarmEvent(event(agg, 'ALARM'))).resolves.toEqual({ failed: [own], cleared: [] });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { error: 'AlarmTriggered' });
    });
  });

  it('rejects an unknown blocking state', async () => {
    await expect(invokeHandler(startBakeHandler, { ...wait, blocker: { region, name: company, state: 'GONE' } })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('blocker.state') });
  });

  it('fails at the start when one of its alarms is missing, whatever the blocker', async () => {
    alarms({ [agg]: 'OK', [company]: 'OK' });
    await startBake(wait);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'blocker-token', error: 'AlarmMissing' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('succeeds at `until` with the blocker still in ALARM: the gate checks again', async () => {
    await startBake(wait);
    vi.setSystemTime(Date.parse(until));
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'blocker-token',
      output: JSON.stringify({ bakeId, purpose: 'blocker', until: '2026-12-01T18:15:00.000Z' }),
    });
    expect(watches.size).toBe(0);
    expect(published()).toEqual([]);
  });

  it('fails at `until` when one of its alarms is in ALARM (its event lost)', async () => {
    await startBake(wait);
    vi.setSystemTime(Date.parse(until));
    alarms({ [agg]: 'OK', faults: 'ALARM', [company]: 'ALARM' });
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'failed' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'blocker-token', error: 'AlarmTriggered' });
  });

  it('ends at once when `until` has passed already', async () => {
    await startBake({ ...wait, until: '2026-12-01T17:59:00Z' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'blocker-token' });
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });

  it('a retried task re-checks the blocker: a clear whose event came before the watch is not missed', async () => {
    await startBake(wait);
    alarms({ [agg]: 'OK', faults: 'OK', [company]: 'OK' });
    await expect(startBake({ ...wait, taskToken: 'blocker-token-2' })).resolves.toEqual({ bakeId, registration: 'reregistered' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'blocker-token-2' });
  });

  it('does not collide with the bake or a hold of the same scope, nor with the next blocker wait', async () => {
    await startBake(wait);
    await startBake({ ...wait, taskToken: 'hold-token', purpose: 'hold', blocker: undefined });
    await startBake({ ...wait, taskToken: 'bake-token', purpose: 'bake', durationSeconds: 1800, minRequests: 100, metricScopes: [{ region, scope: 'sae1-az2' }] });
    await startBake({ ...wait, taskToken: 'blocker-token-2', until: '2026-12-01T18:30:00Z' });
    await startBake({ ...wait, taskToken: 'blocker-token-3', blocker: { region, name: agg } });
    expect([...store.keys()].sort()).toEqual(
      [
        `bake#${scopeId}`,
        `bake#${scopeId}#blocker#${agg}#2026-12-01T18:15:00.000Z`,
        key,
        `bake#${scopeId}#blocker#${company}#2026-12-01T18:30:00.000Z`,
        `bake#${scopeId}#hold#2026-12-01T18:15:00.000Z`,
      ].sort(),
    );
  });

  it('needs the blocking alarm and `until`', async () => {
    await expect(invokeHandler(startBakeHandler, { ...wait, blocker: undefined })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringMatching(/blocker/) });
    await expect(invokeHandler(startBakeHandler, { ...wait, blocker: { region, name: '' } })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('blocker.name') });
    await expect(invokeHandler(startBakeHandler, { ...wait, until: undefined })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringMatching(/until/) });
  });
});
