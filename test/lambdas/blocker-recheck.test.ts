/**
 * A blocker wait's re-check takes its gate's decision in the handler, not in the execution:
 * while the gate would stay closed by the same alarm the wait is re-armed (a new schedule, a
 * heartbeat, no task completion); it wakes the execution only when the decision changed.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bakeEnd } from '../../lambdas/bake-end/index.ts';
import { scheduleName } from '../../lambdas/shared/bakes.ts';
import { blockerRecheckSeconds, type StartBakeInput } from '../../core/contracts.ts';
import { startBake } from '../../lambdas/start-bake/index.ts';
import { cloudWatch, fakeWaiters, fakeWatches, published, scheduler, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const region = 'sa-east-1';
const agg = 'handsoff-storefront-sa-east-1-aggregate';
const company = 'handsoff-company-event-sa-east-1';
const until = '2026-12-01T18:15:00Z';
const HOUR = 3_600_000;
/** A one-box gate blocked by a company event, as the gate sends it: with what the gate asked. */
const wait: StartBakeInput = {
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region,
  target: 'onebox',
  taskToken: 'blocker-token',
  purpose: 'blocker',
  blocker: { region, name: company, state: 'ALARM' },
  until,
  gate: { team: 'storefront', alarms: ['faults'] },
  durationSeconds: 0,
  minRequests: 0,
  alarms: [],
  metricScopes: [],
};
const bakeId = `storefront-api#c1#wave-1#sa-east-1#onebox#blocker#${company}#2026-12-01T18:15:00.000Z`;
const key = `bake#${bakeId}`;

type State = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
const alarms = (states: Record<string, State>): void => {
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
  });
};

let store: ReturnType<typeof fakeWaiters>;
beforeEach(() => {
  store = fakeWaiters([]);
  fakeWatches();
  alarms({ [agg]: 'OK', faults: 'OK', [company]: 'ALARM' });
  scheduler.on(CreateScheduleCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sfn.on(SendTaskHeartbeatCommand).resolves({});
});

const reachUntil = async (): Promise<void> => {
  await startBake(wait);
  scheduler.resetHistory();
  vi.setSystemTime(Date.parse(until));
};

describe('a blocker wait at its re-check time', () => {
  it('re-arms itself while the gate would stay closed by the same alarm: no task completion, a new schedule, a heartbeat', async () => {
    await reachUntil();
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'extended' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskHeartbeatCommand, { taskToken: 'blocker-token' });
    // The first re-arm: two hours (the gate's first re-check came an hour after it closed).
    const next = Date.parse(until) + blockerRecheckSeconds(1, company) * 1000;
    expect(next - Date.parse(until)).toBe(2 * HOUR);
    expect(scheduler).toHaveReceivedCommandExactlyOnceWith(CreateScheduleCommand, {
      Name: scheduleName(bakeId, 1),
      ScheduleExpression: `at(${new Date(next).toISOString().slice(0, 19)})`,
    });
    expect(store.get(key)).toMatchObject({ status: 'OPEN', endsAt: next, extensions: 1, expiresAt: Math.floor(Date.parse(until) / 1000) + 30 * 24 * 3600 });
    expect(published()).toEqual([]);
  });

  it('re-arms once per re-check however long the blocker holds, each period twice the last up to a day, and a duplicate schedule changes nothing', async () => {
    await reachUntil();
    const periods: number[] = [];
    for (let i = 1; i <= 8; i++) {
      await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'extended' });
      // The same schedule delivered twice: the wait is not due any more.
      await expect(bakeEnd({ bakeId })).resolves.toMatchObject({ outcome: 'early' });
      periods.push(((store.get(key)!.endsAt as number) - Date.now()) / HOUR);
      vi.setSystemTime(store.get(key)!.endsAt as number);
    }
    expect(periods).toEqual([2, 4, 8, 16, 24, 24, 24, 24]);
    expect(scheduler.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input.Name)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => scheduleName(bakeId, n)));
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskHeartbeatCommand, 8);
  });

  it('wakes the gate when the decision changed without an event: the company event OK, the team aggregate now in ALARM', async () => {
    await reachUntil();
    alarms({ [agg]: 'ALARM', faults: 'OK', [company]: 'OK' });
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'blocker-token',
      output: JSON.stringify({ bakeId, purpose: 'blocker', until: '2026-12-01T18:15:00.000Z' }),
    });
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });

  it('wakes the gate when the blocking alarm is in another blocking state (ALARM -> INSUFFICIENT_DATA)', async () => {
    await reachUntil();
    alarms({ [agg]: 'OK', faults: 'OK', [company]: 'INSUFFICIENT_DATA' });
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('never re-arms on alarms it cannot read: it wakes the gate, whose own rule fails the step with the reason', async () => {
    await reachUntil();
    cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    // The wait's own alarms are none (a one-box gate): only the decision reads alarms.
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });

  it('ends without waking anything when its task no longer waits (the execution stopped)', async () => {
    await reachUntil();
    sfn.on(SendTaskHeartbeatCommand).rejects(new TaskDoesNotExist({ message: 'gone', $metadata: {} }));
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'not-open' });
    expect(store.get(key)).toMatchObject({ status: 'DONE', delivered: true });
    expect(store.get(key)).not.toHaveProperty('openShard');
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });

  it('without what its gate asked (a wait of an older definition) wakes the gate at its re-check, as before', async () => {
    const { gate: _gate, ...old } = wait;
    await startBake(old);
    vi.setSystemTime(Date.parse(until));
    await expect(bakeEnd({ bakeId })).resolves.toEqual({ bakeId, outcome: 'completed' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });
});
