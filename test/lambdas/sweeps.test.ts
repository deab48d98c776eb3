/**
 * The reconciler sweeps on demand (core/sweeps.ts): the waits that open, and the sweeps that
 * still find one to watch, wake the sweep of a slot of the five-minute grid with a one-time
 * schedule; idle holds and blocker waits wake only the sweep just past their end.
 */
import { CreateScheduleCommand, ConflictException, ThrottlingException } from '@aws-sdk/client-scheduler';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { nextSweepSlot, overdueSweepSlot, sweepScheduleName, sweptEverySlot } from '../../core/sweeps.ts';
import { reconcile } from '../../lambdas/reconcile/index.ts';
import { scheduleBakeEnd } from '../../lambdas/shared/bakes.ts';
import { wakeSweep } from '../../lambdas/shared/sweeps.ts';
import { registerWaiter } from '../../lambdas/shared/waiters.ts';
import { OPEN_WAITERS_INDEX, type Waiter } from '../../lambdas/shared/tables.ts';
import { $metadata, cloudWatch, ddb, fakeWaiters, NEXT_SWEEP, NOW, scheduler, sfn, useAwsMocks } from './support.ts';
import { agg, bakeWaiter, deploymentWaiter } from './waiter-fixtures.ts';

useAwsMocks();

const MIN = 60_000;
const at = (iso: string): number => Date.parse(iso);
const RECONCILE_ARN = 'arn:aws:lambda:us-west-2:111122223333:function:reconcile';

/** The sweep schedules created, as `slot ISO` (the bake-end schedules apart). */
const sweepsWoken = (): string[] =>
  scheduler
    .commandCalls(CreateScheduleCommand)
    .map((c) => c.args[0].input)
    .filter((i) => i.Target?.Arn === RECONCILE_ARN)
    .map((i) => i.ScheduleExpression!);

let store: ReturnType<typeof fakeWaiters>;
const openIndex = (): void => {
  ddb.on(QueryCommand, { IndexName: OPEN_WAITERS_INDEX }).callsFake(() => ({
    Items: structuredClone([...store.values()].filter((w) => w.openShard === 'OPEN')),
  }));
};

beforeEach(() => {
  scheduler.on(CreateScheduleCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: agg, StateValue: 'OK' }, { AlarmName: 'company', StateValue: 'ALARM' }] });
});

describe('the sweep grid', () => {
  it('puts the next sweep on the first five-minute slot strictly after now', () => {
    expect(new Date(nextSweepSlot(at('2026-12-01T18:00:00Z'))).toISOString()).toBe('2026-12-01T18:05:00.000Z');
    expect(new Date(nextSweepSlot(at('2026-12-01T18:04:59.999Z'))).toISOString()).toBe('2026-12-01T18:05:00.000Z');
    expect(new Date(nextSweepSlot(at('2026-12-01T18:05:00.001Z'))).toISOString()).toBe('2026-12-01T18:10:00.000Z');
  });

  it('sweeps a bake or hold on the first slot a minute or more past its end', () => {
    expect(new Date(overdueSweepSlot(at('2026-12-01T19:00:00Z'))).toISOString()).toBe('2026-12-01T19:05:00.000Z');
    expect(new Date(overdueSweepSlot(at('2026-12-01T19:03:59Z'))).toISOString()).toBe('2026-12-01T19:05:00.000Z');
    expect(new Date(overdueSweepSlot(at('2026-12-01T19:04:01Z'))).toISOString()).toBe('2026-12-01T19:10:00.000Z');
  });

  it('watches every slot a deployment, a rollback deployment and a bake with alarms; not a hold, a blocker wait or a rollback set', () => {
    const alarms = [{ region: 'sa-east-1', name: agg }];
    expect(sweptEverySlot({ kind: 'deployment' })).toBe(true);
    expect(sweptEverySlot({ kind: 'rollback' })).toBe(true);
    expect(sweptEverySlot({ kind: 'bake', alarms })).toBe(true);
    expect(sweptEverySlot({ kind: 'bake', purpose: 'bake', alarms })).toBe(true);
    // An unknown purpose is read as a bake (bakes.ts purposeOf): swept every slot, never less.
    expect(sweptEverySlot({ kind: 'bake', purpose: 'soak', alarms })).toBe(true);
    expect(sweptEverySlot({ kind: 'bake', alarms: [] })).toBe(false);
    expect(sweptEverySlot({ kind: 'bake' })).toBe(false);
    expect(sweptEverySlot({ kind: 'bake', purpose: 'hold', alarms })).toBe(false);
    expect(sweptEverySlot({ kind: 'bake', purpose: 'blocker', alarms })).toBe(false);
    expect(sweptEverySlot({ kind: 'rollback-set' })).toBe(false);
  });
});

describe('waking a sweep', () => {
  it('creates one one-time schedule per slot, named by it, that invokes the reconciler and deletes itself', async () => {
    await expect(wakeSweep(at('2026-12-01T18:05:00Z'), 'test')).resolves.toBe(true);
    expect(scheduler).toHaveReceivedCommandWith(CreateScheduleCommand, {
      Name: sweepScheduleName(at('2026-12-01T18:05:00Z')),
      GroupName: 'handsoff',
      ScheduleExpression: 'at(2026-12-01T18:05:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: { Arn: RECONCILE_ARN, RoleArn: 'arn:aws:iam::111122223333:role/scheduler', Input: '{}' },
    });
    expect(sweepScheduleName(at('2026-12-01T18:05:00Z'))).toMatch(/^[0-9a-zA-Z_.-]{1,64}$/);
  });

  it('takes a slot woken already as woken (ConflictException), and never schedules one in the past', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException({ message: 'exists', Message: 'exists', $metadata }));
    await expect(wakeSweep(at('2026-12-01T18:05:00Z'), 'test')).resolves.toBe(false);
    scheduler.on(CreateScheduleCommand).resolves({});
    await wakeSweep(NOW.getTime() - 10 * MIN, 'test');
    expect(sweepsWoken().at(-1)).toBe('at(2026-12-01T18:05:00)');
  });

  it('lets the step go on when the wake fails (the heartbeat sweeps), but not when the reconciler is not configured', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ThrottlingException({ message: 'slow down', Message: 'slow down', $metadata }));
    await expect(wakeSweep(at('2026-12-01T18:05:00Z'), 'test')).resolves.toBe(false);
    vi.stubEnv('HANDSOFF_RECONCILE_FUNCTION_ARN', '');
    await expect(wakeSweep(at('2026-12-01T18:05:00Z'), 'test')).rejects.toThrow(/HANDSOFF_RECONCILE_FUNCTION_ARN/);
    vi.unstubAllEnvs();
  });
});

describe('who wakes a sweep', () => {
  it('a deployment that opens wakes the next slot; a hold that opens does not', async () => {
    store = fakeWaiters([]);
    await registerWaiter(deploymentWaiter('d-1', { openShard: undefined }) as unknown as Waiter);
    expect(sweepsWoken()).toEqual(['at(2026-12-01T18:05:00)']);
    await registerWaiter(bakeWaiter('hold-1', { purpose: 'hold', alarms: [], openShard: undefined, endsAt: NOW.getTime() + 48 * 60 * MIN }) as unknown as Waiter);
    expect(sweepsWoken()).toEqual(['at(2026-12-01T18:05:00)']);
  });

  it('a bake end scheduled wakes the sweep just past it; a blocker re-check does not', async () => {
    await scheduleBakeEnd('b-1', at('2026-12-03T09:00:00Z'), 0);
    expect(sweepsWoken()).toEqual(['at(2026-12-03T09:05:00)']);
    await scheduleBakeEnd('blocker-1', at('2026-12-01T19:00:00Z'), 1, { overdueSweep: false });
    expect(sweepsWoken()).toEqual(['at(2026-12-03T09:05:00)']);
    expect(scheduler).toHaveReceivedCommandTimes(CreateScheduleCommand, 3);
  });
});

describe('a sweep', () => {
  it('wakes the next slot while a deployment it read is still open', async () => {
    store = fakeWaiters([deploymentWaiter('d-1')]);
    openIndex();
    await expect(reconcile()).resolves.toMatchObject({ checked: 1, nextSweep: NEXT_SWEEP });
    expect(sweepsWoken()).toEqual(['at(2026-12-01T18:05:00)']);
  });

  it('wakes nothing when what it read is a hold watching alarms and a blocker wait: their own ends are swept, the heartbeat reads their alarms', async () => {
    store = fakeWaiters([
      bakeWaiter('hold', { purpose: 'hold', endsAt: NOW.getTime() + 2 * 24 * 60 * MIN }),
      bakeWaiter('blocker', { purpose: 'blocker', alarms: [], blocker: { region: 'sa-east-1', name: 'company', state: 'ALARM' }, endsAt: NOW.getTime() + 40 * MIN }),
    ]);
    openIndex();
    const out = await reconcile();
    expect(out).toEqual({ checked: 2, completed: 0, failed: 0 });
    expect(sweepsWoken()).toEqual([]);
  });

  it('wakes the next slot before it fails, so the next run tries again', async () => {
    store = fakeWaiters([]);
    ddb.on(QueryCommand, { IndexName: OPEN_WAITERS_INDEX }).rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException', $metadata }));
    await expect(reconcile()).rejects.toThrow();
    expect(sweepsWoken()).toEqual(['at(2026-12-01T18:05:00)']);
  });
});
