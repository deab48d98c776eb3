import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetDeploymentCommand, ThrottlingException } from '@aws-sdk/client-codedeploy';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { onAlarmEvent } from '../../lambdas/on-alarm-event/index.ts';
import { onDeploymentEvent } from '../../lambdas/on-deployment-event/index.ts';
import { reconcile } from '../../lambdas/reconcile/index.ts';
import { OPEN_WAITERS_INDEX } from '../../lambdas/shared/tables.ts';
import { $metadata, cloudWatch, codeDeploy, ddb, fakeWaiters, NEXT_SWEEP, NOW, published, scheduler, sfn, useAwsMocks } from './support.ts';
import { agg, bakeWaiter as baseBake, deploymentWaiter, scope } from './waiter-fixtures.ts';

useAwsMocks();

const anomaly = 'storefront-api-sa-east-1-onebox-anomaly-requests';
/** The reconciler's bake: ended two minutes ago, watching the aggregate and the one-box requests anomaly. */
const bakeWaiter = (bakeId: string, extra: Record<string, unknown> = {}) =>
  baseBake(bakeId, { alarms: [{ region: 'sa-east-1', name: agg }, { region: 'sa-east-1', name: anomaly }], ...extra }, 2 * 60_000);

let store: ReturnType<typeof fakeWaiters>;
/** The open-waiters index over the fake store: items with openShard, `pageSize` per page. */
const openIndex = (pageSize = 25, stale: Array<Record<string, unknown>> = []): void => {
  ddb.on(QueryCommand, { IndexName: OPEN_WAITERS_INDEX }).callsFake((input) => {
    const all = [...[...store.values()].filter((w) => w.openShard === 'OPEN'), ...stale].sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
    const from = input.ExclusiveStartKey ? all.findIndex((w) => w.pk === input.ExclusiveStartKey.pk) + 1 : 0;
    const page = all.slice(from, from + pageSize);
    const last = page.at(-1);
    return { Items: structuredClone(page), LastEvaluatedKey: from + pageSize < all.length && last ? { pk: last.pk, openShard: 'OPEN' } : undefined };
  });
};
const alarms = (states: Record<string, 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'>): void => {
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
  });
};

beforeEach(() => {
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  scheduler.on(CreateScheduleCommand).resolves({});
  alarms({ [agg]: 'OK', [anomaly]: 'OK' });
});

describe('reconcile', () => {
  it('lists open waiters from the sparse index', async () => {
    store = fakeWaiters([]);
    openIndex();
    await expect(reconcile()).resolves.toEqual({ checked: 0, completed: 0, failed: 0 });
    // What the filter leaves out is checked against the local DynamoDB (test/sim/reconcile-index.test.ts).
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'waiters',
      IndexName: 'open-waiters',
      KeyConditionExpression: '#shard = :open',
      FilterExpression:
        'NOT (#kind = :bake AND #status = :isOpen AND attribute_not_exists(#blocker) AND (attribute_not_exists(#alarms) OR size(#alarms) = :none) AND #endsAt >= :overdueBefore)',
      ExpressionAttributeNames: { '#shard': 'openShard', '#kind': 'kind', '#status': 'status', '#blocker': 'blocker', '#alarms': 'alarms', '#endsAt': 'endsAt' },
      // A minute before 18:00, rounded up to the hour.
      ExpressionAttributeValues: { ':open': 'OPEN', ':bake': 'bake', ':isOpen': 'OPEN', ':none': 0, ':overdueBefore': NOW.getTime() },
    });
  });

  it('completes a deployment whose CodeDeploy event was lost, as the event would', async () => {
    store = fakeWaiters([deploymentWaiter('d-1'), deploymentWaiter('d-2')]);
    openIndex();
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-1' }).resolves({ deploymentInfo: { status: 'Succeeded' } });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-2' }).resolves({ deploymentInfo: { status: 'InProgress' } });
    await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 2, completed: 1, failed: 0 });
    expect(codeDeploy).toHaveReceivedCommandWith(GetDeploymentCommand, { deploymentId: 'd-1' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'token-d-1',
      output: JSON.stringify({ deploymentId: 'd-1', status: 'Succeeded' }),
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'deployments',
      Key: { pk: 'storefront-api#c1', sk: 'wave-1#sa-east-1#storefront-api-onebox' },
      ExpressionAttributeValues: expect.objectContaining({ ':status': 'SUCCEEDED' }),
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'deployment.succeeded', deploymentId: 'd-1', stage: 'wave-1', region: 'sa-east-1' })]);
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', delivered: true });
    expect(store.get('deployment#d-1')).not.toHaveProperty('openShard');
    expect(store.get('deployment#d-2')).toMatchObject({ status: 'OPEN', openShard: 'OPEN' });

    // The late event is then a no-op, and so is the next run.
    await expect(onDeploymentEvent({ source: 'aws.codedeploy', 'detail-type': 'x', region: 'sa-east-1', time: NOW.toISOString(), detail: { region: 'sa-east-1', application: 'a', deploymentGroup: 'g', deploymentId: 'd-1', state: 'SUCCESS' } })).resolves.toEqual({ outcome: 'duplicate' });
    await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 1, completed: 0, failed: 0 });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  describe('settles nothing as succeeded while it cannot read the alarms', () => {
    it('leaves a finished deployment open while DescribeAlarms fails, and settles it once it reads them', async () => {
      store = fakeWaiters([deploymentWaiter('d-1')]);
      openIndex();
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-1' }).resolves({ deploymentInfo: { status: 'Succeeded' } });
      cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('service unavailable'), { name: 'InternalServiceError' }));
      await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 1, completed: 0, failed: 0 });
      expect(sfn).not.toHaveReceivedAnyCommand();
      expect(store.get('deployment#d-1')).toMatchObject({ status: 'OPEN' });
      expect(published()).toEqual([]);

      alarms({ [agg]: 'OK' });
      await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 1, failed: 0 });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'token-d-1' });
    });

    it('fails closed a deployment whose watched alarm no longer exists, never completes it', async () => {
      store = fakeWaiters([deploymentWaiter('d-1')]);
      openIndex();
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-1' }).resolves({ deploymentInfo: { status: 'Succeeded' } });
      alarms({});
      await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 1, completed: 0, failed: 1 });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'token-d-1', error: 'AlarmMissing', cause: expect.stringContaining(agg) });
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
      expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', result: { ok: false, error: 'AlarmMissing' } });
    });
  });

  it('fails a waiter whose alarm is in ALARM although the event was lost, as on-alarm-event would', async () => {
    store = fakeWaiters([bakeWaiter('b-1', { endsAt: NOW.getTime() + 3_600_000 })]);
    openIndex();
    alarms({ [agg]: 'OK', [anomaly]: 'ALARM' });
    await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 0, failed: 1 });
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: [agg, anomaly], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: 'token-b-1',
      error: 'AlarmTriggered',
      cause: JSON.stringify({ reason: `alarm ${anomaly} is in ALARM (found by the reconciler)`, alarm: anomaly, region: 'sa-east-1' }),
    });
    expect(published()).toEqual([
      expect.objectContaining({ type: 'alarm.triggered', alarm: 'anomaly:RequestCount', alarmName: anomaly, detectedBy: 'reconciler', unit: 'sae1-az1', region: 'sa-east-1' }),
    ]);
    // The late alarm event finds the waiter failed already.
    await expect(
      onAlarmEvent({ source: 'aws.cloudwatch', 'detail-type': 'x', region: 'sa-east-1', time: NOW.toISOString(), detail: { alarmName: anomaly, state: { value: 'ALARM' } } }),
    ).resolves.toEqual({ failed: [], cleared: [] });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 1);
  });

  it('leaves a waiter the event path finished meanwhile untouched (stale index entry)', async () => {
    const finished = { ...deploymentWaiter('d-1'), status: 'DONE', delivered: true, result: { ok: true, output: {} } };
    delete (finished as Record<string, unknown>).openShard;
    store = fakeWaiters([finished]);
    // The index still lists it as open (GSIs are eventually consistent).
    openIndex(25, [{ ...deploymentWaiter('d-1') }]);
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { status: 'Succeeded' } });
    alarms({ [agg]: 'ALARM' });
    await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 0, failed: 0 });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(published()).toEqual([]);
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', result: { ok: true } });
  });

  it('ends a bake whose schedule was lost, but not one still within a minute of its end', async () => {
    store = fakeWaiters([bakeWaiter('b-late'), bakeWaiter('b-recent', { endsAt: NOW.getTime() - 30_000 })]);
    openIndex();
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [80, 70] }] });
    await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 2, completed: 1, failed: 0 });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'token-b-late', output: JSON.stringify({ bakeId: 'b-late', requests: 150 }) });
    expect(published()).toEqual([expect.objectContaining({ type: 'bake.completed', requests: 150, unit: 'sae1-az1' })]);
    expect(store.get('bake#b-recent')).toMatchObject({ status: 'OPEN' });
  });

  it('ends an overdue hold as its schedule would', async () => {
    store = fakeWaiters([bakeWaiter('h-1#hold#2026-12-01T17:00:00.000Z', { bakeId: 'h-1#hold#2026-12-01T17:00:00.000Z', purpose: 'hold', minRequests: 0, metricScopes: [] })]);
    openIndex();
    alarms({ [agg]: 'OK', [anomaly]: 'INSUFFICIENT_DATA' });
    await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 1, failed: 0 });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-h-1#hold#2026-12-01T17:00:00.000Z' });
    expect(cloudWatch).not.toHaveReceivedCommand(GetMetricDataCommand);
    expect(published()).toEqual([]);
  });

  describe('blocker waits', () => {
    const company = 'handsoff-company-event-sa-east-1';
    const blockerWaiter = (id: string, extra: Record<string, unknown> = {}) =>
      bakeWaiter(id, { purpose: 'blocker', blocker: { region: 'sa-east-1', name: company }, minRequests: 0, metricScopes: [], endsAt: NOW.getTime() + 600_000, ...extra });

    it('ends a blocker wait whose OK event was lost, as on-alarm-event would', async () => {
      store = fakeWaiters([blockerWaiter('w-1')]);
      openIndex();
      alarms({ [agg]: 'OK', [anomaly]: 'OK', [company]: 'OK' });
      await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 1, failed: 0 });
      // One DescribeAlarms for its alarms and its blocker.
      expect(cloudWatch).toHaveReceivedCommandExactlyOnceWith(DescribeAlarmsCommand, { AlarmNames: [agg, anomaly, company] });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
        taskToken: 'token-w-1',
        output: JSON.stringify({ bakeId: 'w-1', purpose: 'blocker', cleared: company }),
      });
      expect(store.get('bake#w-1')).toMatchObject({ status: 'DONE', delivered: true });
      expect(published()).toEqual([]);
      // The late OK event then ends nothing.
      await expect(
        onAlarmEvent({ source: 'aws.cloudwatch', 'detail-type': 'x', region: 'sa-east-1', time: NOW.toISOString(), detail: { alarmName: company, state: { value: 'OK' } } }),
      ).resolves.toEqual({ failed: [], cleared: [] });
      expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    });

    it('never ends a blocker wait because its blocking alarm vanished', async () => {
      store = fakeWaiters([
        blockerWaiter('w-1'),
        blockerWaiter('w-2', { blocker: { region: 'sa-east-1', name: company, state: 'MISSING' } }),
        blockerWaiter('w-3', { blocker: { region: 'sa-east-1', name: company, state: 'INSUFFICIENT_DATA' } }),
      ]);
      openIndex();
      alarms({ [agg]: 'OK', [anomaly]: 'OK' });
      await expect(reconcile()).resolves.toEqual({ checked: 3, completed: 0, failed: 0 });
      expect(sfn).not.toHaveReceivedAnyCommand();
      for (const id of ['w-1', 'w-2', 'w-3']) expect(store.get(`bake#${id}`)).toMatchObject({ status: 'OPEN' });
    });

    it('ends a blocker wait whose alarm left the state it blocked in (its event lost), and no other', async () => {
      store = fakeWaiters([
        blockerWaiter('w-missing', { blocker: { region: 'sa-east-1', name: company, state: 'MISSING' } }),
        blockerWaiter('w-nodata', { blocker: { region: 'sa-east-1', name: company, state: 'INSUFFICIENT_DATA' } }),
      ]);
      openIndex();
      // The company event alarm exists again, without data yet: only the wait for its existence ends.
      alarms({ [agg]: 'OK', [anomaly]: 'OK', [company]: 'INSUFFICIENT_DATA' });
      await expect(reconcile()).resolves.toEqual({ checked: 2, completed: 1, failed: 0 });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'token-w-missing' });
      expect(store.get('bake#w-nodata')).toMatchObject({ status: 'OPEN' });
      // It has data.
      alarms({ [agg]: 'OK', [anomaly]: 'OK', [company]: 'OK' });
      await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 1, failed: 0 });
      expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-w-nodata', output: expect.stringContaining(`"cleared":"${company}"`) });
    });

    it('leaves a blocker wait alone while its blocker is in ALARM, and fails it when one of its alarms is', async () => {
      store = fakeWaiters([blockerWaiter('w-1')]);
      openIndex();
      alarms({ [agg]: 'OK', [anomaly]: 'OK', [company]: 'ALARM' });
      await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 0, failed: 0 });
      expect(sfn).not.toHaveReceivedAnyCommand();
      expect(store.get('bake#w-1')).toMatchObject({ status: 'OPEN' });

      alarms({ [agg]: 'OK', [anomaly]: 'ALARM', [company]: 'OK' });
      await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 0, failed: 1 });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'token-w-1', error: 'AlarmTriggered' });
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    });

    it('never sends the emergency-hold key of a held wait to CloudWatch (it is no alarm), and leaves the wait held', async () => {
      const hold = 'handsoff-emergency-hold#storefront-api';
      store = fakeWaiters([blockerWaiter('w-held', { blocker: { region: 'sa-east-1', name: hold, state: 'ALARM' } })]);
      openIndex();
      await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 0, failed: 0 });
      const named = cloudWatch.commandCalls(DescribeAlarmsCommand).flatMap((c) => c.args[0].input.AlarmNames ?? []);
      expect(named).toEqual([agg, anomaly]);
      expect(store.get('bake#w-held')).toMatchObject({ status: 'OPEN' });
      expect(sfn).not.toHaveReceivedAnyCommand();
    });

    it('decides nothing about a blocker whose state it cannot read', async () => {
      store = fakeWaiters([blockerWaiter('w-1')]);
      openIndex();
      cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
      await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 1, completed: 0, failed: 0 });
      expect(sfn).not.toHaveReceivedAnyCommand();
    });

    it('ends an overdue blocker wait (lost schedule) at its re-check time, blocker still in ALARM', async () => {
      store = fakeWaiters([blockerWaiter('w-1', { endsAt: NOW.getTime() - 2 * 60_000 })]);
      openIndex();
      alarms({ [agg]: 'OK', [anomaly]: 'OK', [company]: 'ALARM' });
      await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 1, failed: 0 });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
        taskToken: 'token-w-1',
        output: JSON.stringify({ bakeId: 'w-1', purpose: 'blocker', until: new Date(NOW.getTime() - 2 * 60_000).toISOString() }),
      });
    });
  });

  it('reads every page of the index', async () => {
    store = fakeWaiters([deploymentWaiter('d-1'), deploymentWaiter('d-2'), deploymentWaiter('d-3'), deploymentWaiter('d-4'), deploymentWaiter('d-5')]);
    openIndex(2);
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { status: 'Failed' } });
    await expect(reconcile()).resolves.toEqual({ checked: 5, completed: 0, failed: 5 });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 3);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'open-waiters', ExclusiveStartKey: { pk: 'deployment#d-2', openShard: 'OPEN' } });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 5);
    // One DescribeAlarms for the five waiters' (shared) alarm.
    expect(cloudWatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
  });

  it('lets throttling propagate', async () => {
    store = fakeWaiters([deploymentWaiter('d-1')]);
    openIndex();
    codeDeploy.on(GetDeploymentCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata }));
    await expect(reconcile()).rejects.toBeInstanceOf(ThrottlingException);
  });

  it('goes on with the other waiters when one cannot be checked', async () => {
    store = fakeWaiters([deploymentWaiter('d-1'), deploymentWaiter('d-2')]);
    openIndex();
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-1' }).rejects(Object.assign(new Error('no such deployment'), { name: 'DeploymentDoesNotExistException' }));
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-2' }).resolves({ deploymentInfo: { status: 'Stopped' } });
    await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 2, completed: 0, failed: 1 });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-d-2', error: 'DeploymentFailed' });
  });
});
