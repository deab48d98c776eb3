/**
 * A finished waiter whose result never reached Step Functions (the handler died after its
 * conditional update, or SendTask* was throttled past its retries) is never lost: it stays in
 * the open-waiters index until delivered, a retried invocation delivers it, and so does the
 * reconciler a minute on; always the stored result, never another one.
 */
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { InvalidToken, SendTaskFailureCommand, SendTaskSuccessCommand, SFNServiceException, TaskDoesNotExist, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DeleteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bakeEnd } from '../../lambdas/bake-end/index.ts';
import { onAlarmEvent } from '../../lambdas/on-alarm-event/index.ts';
import { onDeploymentEvent } from '../../lambdas/on-deployment-event/index.ts';
import { reconcile } from '../../lambdas/reconcile/index.ts';
import { startBake } from '../../lambdas/start-bake/index.ts';
import { OPEN_WAITERS_INDEX } from '../../lambdas/shared/tables.ts';
import type { AlarmStateChangeDetail, BusEvent, CodeDeployStateChangeDetail } from '../../core/contracts.ts';
import { $metadata, cloudWatch, codeDeploy, ddb, fakeWaiters, NEXT_SWEEP, NOW, sfn, useAwsMocks } from './support.ts';
import { agg, bakeWaiter, deploymentWaiter, scope } from './waiter-fixtures.ts';

useAwsMocks();

const MINUTE = 60_000;

const deploymentEvent = (deploymentId: string, state: string): BusEvent<CodeDeployStateChangeDetail> => ({
  source: 'aws.codedeploy',
  'detail-type': 'CodeDeploy Deployment State-change Notification',
  region: 'sa-east-1',
  time: NOW.toISOString(),
  detail: { region: 'sa-east-1', application: 'storefront-api', deploymentGroup: 'storefront-api-onebox', deploymentId, state },
});
const alarmEvent = (value: 'ALARM' | 'OK'): BusEvent<AlarmStateChangeDetail> => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  region: 'sa-east-1',
  time: NOW.toISOString(),
  detail: { alarmName: agg, state: { value } },
});

const parent = 'rollback#storefront-api#c1#wave-1#sa-east-1';
const rollbackSet = (extra: Record<string, unknown> = {}) => ({
  pk: parent, kind: 'rollback-set', status: 'OPEN', openShard: 'OPEN', token: 'rb-token', ...scope, alarms: [], pending: 1, rolledBack: [], reason: 'alarm', ...extra,
});
const rollbackChild = (id: string, extra: Record<string, unknown> = {}) => ({
  pk: `deployment#${id}`, kind: 'rollback', status: 'OPEN', openShard: 'OPEN', ...scope, alarms: [], deploymentId: id, revision: 'r0',
  deploymentGroup: 'storefront-api-onebox', parent, deploymentsPk: 'storefront-api#c1', deploymentsSk: 'wave-1#sa-east-1#storefront-api-onebox', ...extra,
});

const throttled = () => new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata });
/** What the handler's caller sees when it dies mid-way (Lambda then retries the event). */
const crashed = () => Object.assign(new Error('the invocation died'), { name: 'Sandbox.Timedout' });

let store: ReturnType<typeof fakeWaiters>;
/** The open-waiters index over the fake store: exactly the items that carry openShard. */
const openIndex = (): void => {
  ddb.on(QueryCommand, { IndexName: OPEN_WAITERS_INDEX }).callsFake(() => ({
    Items: structuredClone([...store.values()].filter((w) => w.openShard === 'OPEN')),
  }));
};
const indexed = (): string[] => [...store.values()].filter((w) => w.openShard === 'OPEN').map((w) => String(w.pk));

beforeEach(() => {
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  codeDeploy.on(GetDeploymentCommand).callsFake(({ deploymentId }) => ({ deploymentInfo: { deploymentId, status: 'Succeeded' } }));
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: agg, StateValue: 'OK' }] });
});

describe('a crash after finishing a waiter and before delivering it', () => {
  it('keeps the deployment listed; the retried event delivers its result once', async () => {
    store = fakeWaiters([deploymentWaiter('d-1')]);
    sfn.on(SendTaskSuccessCommand).rejectsOnce(crashed()).resolves({});
    await expect(onDeploymentEvent(deploymentEvent('d-1', 'SUCCESS'))).rejects.toThrow('the invocation died');
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', result: { ok: true } });
    expect(store.get('deployment#d-1')).not.toHaveProperty('delivered');
    expect(indexed()).toEqual(['deployment#d-1']);

    await expect(onDeploymentEvent(deploymentEvent('d-1', 'SUCCESS'))).resolves.toEqual({ outcome: 'duplicate' });
    const output = JSON.stringify({ deploymentId: 'd-1', status: 'Succeeded' });
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken: 'token-d-1', output },
      { taskToken: 'token-d-1', output },
    ]);
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', delivered: true });
    expect(indexed()).toEqual([]);

    // Delivered: a further duplicate sends nothing.
    await onDeploymentEvent(deploymentEvent('d-1', 'SUCCESS'));
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
  });

  it('keeps a bake failed by an alarm listed; the retried alarm event delivers the failure', async () => {
    store = fakeWaiters([bakeWaiter('b1', { endsAt: NOW.getTime() + 30 * MINUTE })]);
    sfn.on(SendTaskFailureCommand).rejectsOnce(throttled()).resolves({});
    await expect(onAlarmEvent(alarmEvent('ALARM'))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(indexed()).toEqual(['bake#b1']);

    await expect(onAlarmEvent(alarmEvent('ALARM'))).resolves.toEqual({ failed: [], cleared: [] });
    const cause = JSON.stringify({ reason: `alarm ${agg} went to ALARM`, alarm: agg, region: 'sa-east-1' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 2);
    expect(sfn).toHaveReceivedNthCommandWith(SendTaskFailureCommand, 2, { taskToken: 'token-b1', error: 'AlarmTriggered', cause });
    expect(store.get('bake#b1')).toMatchObject({ status: 'DONE', delivered: true });
    expect(indexed()).toEqual([]);
  });

  it('keeps a bake ended by its schedule listed; the retried schedule delivers it', async () => {
    store = fakeWaiters([bakeWaiter('b1')]);
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [500] }] });
    sfn.on(SendTaskSuccessCommand).rejectsOnce(crashed()).resolves({});
    await expect(bakeEnd({ bakeId: 'b1' })).rejects.toThrow('the invocation died');
    expect(indexed()).toEqual(['bake#b1']);
    await expect(bakeEnd({ bakeId: 'b1' })).resolves.toEqual({ bakeId: 'b1', outcome: 'not-open' });
    expect(sfn).toHaveReceivedNthCommandWith(SendTaskSuccessCommand, 2, { taskToken: 'token-b1', output: JSON.stringify({ bakeId: 'b1', requests: 500 }) });
    expect(indexed()).toEqual([]);
  });
});

describe('the reconciler', () => {
  it('delivers a finished waiter whose delivery was throttled past its retries, once it is a minute old', async () => {
    store = fakeWaiters([deploymentWaiter('d-1')]);
    openIndex();
    sfn.on(SendTaskSuccessCommand).rejectsOnce(throttled()).resolves({});
    await expect(onDeploymentEvent(deploymentEvent('d-1', 'SUCCESS'))).rejects.toMatchObject({ name: 'ThrottlingException' });

    // Less than a minute on, the handler (or its retry) may still be at it: left alone.
    vi.setSystemTime(NOW.getTime() + 30_000);
    await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 0, completed: 0, failed: 0 });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);

    vi.setSystemTime(NOW.getTime() + 2 * MINUTE);
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
    await expect(reconcile()).resolves.toEqual({ checked: 0, completed: 0, failed: 0, redelivered: 1 });
    expect(sfn).toHaveReceivedNthCommandWith(SendTaskSuccessCommand, 2, { taskToken: 'token-d-1', output: JSON.stringify({ deploymentId: 'd-1', status: 'Succeeded' }) });
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', delivered: true });
    expect(indexed()).toEqual([]);
    // No watch to delete: the waiter, its own watch record, left the open-waiters index with its delivery.
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);

    await expect(reconcile()).resolves.toEqual({ checked: 0, completed: 0, failed: 0 });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
  });

  it('delivers an overdue bake it ended itself but could not deliver (its schedule lost), on its next run', async () => {
    store = fakeWaiters([bakeWaiter('b1', { endsAt: NOW.getTime() - 10 * MINUTE })]);
    openIndex();
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [500] }] });
    sfn.on(SendTaskSuccessCommand).rejectsOnce(throttled()).resolves({});
    await expect(reconcile()).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(indexed()).toEqual(['bake#b1']);
    vi.setSystemTime(NOW.getTime() + 5 * MINUTE);
    await expect(reconcile()).resolves.toEqual({ checked: 0, completed: 0, failed: 0, redelivered: 1 });
    expect(sfn).toHaveReceivedNthCommandWith(SendTaskSuccessCommand, 2, { taskToken: 'token-b1', output: JSON.stringify({ bakeId: 'b1', requests: 500 }) });
    expect(indexed()).toEqual([]);
  });

  it('counts a rollback deployment finished but never counted on its set, and completes the rollback task', async () => {
    const finishedAt = new Date(NOW.getTime() - 5 * MINUTE).toISOString();
    store = fakeWaiters([
      rollbackSet(),
      rollbackChild('d-r1', { status: 'DONE', updatedAt: finishedAt, result: { ok: true, output: { deploymentId: 'd-r1', status: 'Succeeded' } } }),
    ]);
    openIndex();
    await expect(reconcile()).resolves.toEqual({ checked: 1, completed: 0, failed: 0, redelivered: 1 });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'rb-token',
      output: JSON.stringify({ rolledBack: [{ deploymentGroup: 'storefront-api-onebox', region: 'sa-east-1', revision: 'r0' }] }),
    });
    expect(store.get(parent)).toMatchObject({ status: 'DONE', pending: 0, delivered: true });
    expect(store.get('deployment#d-r1')).toMatchObject({ delivered: true });
    expect(indexed()).toEqual([]);
  });
});

describe('a task that no longer waits', () => {
  it.each([
    ['TaskDoesNotExist', () => new TaskDoesNotExist({ message: 'gone', $metadata })],
    ['TaskTimedOut', () => new TaskTimedOut({ message: 'timed out', $metadata })],
    ['InvalidToken', () => new InvalidToken({ message: 'invalid token', $metadata })],
  ])('%s: the result counts as delivered, and is not sent again', async (_, error) => {
    store = fakeWaiters([deploymentWaiter('d-1')]);
    openIndex();
    sfn.on(SendTaskSuccessCommand).rejects(error());
    await expect(onDeploymentEvent(deploymentEvent('d-1', 'SUCCESS'))).resolves.toEqual({ outcome: 'finished' });
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', delivered: true });
    expect(indexed()).toEqual([]);
    vi.setSystemTime(NOW.getTime() + 10 * MINUTE);
    await reconcile();
    await onDeploymentEvent(deploymentEvent('d-1', 'SUCCESS'));
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });
});

describe('a retry never delivers another result than the first', () => {
  it('a deployment failed by its alarm and not delivered: its CodeDeploy SUCCESS and the reconciler deliver the failure', async () => {
    store = fakeWaiters([deploymentWaiter('d-1')]);
    openIndex();
    // The alarm handler dies before delivering; the deployment event's delivery is throttled.
    sfn.on(SendTaskFailureCommand).rejectsOnce(crashed()).rejectsOnce(throttled()).resolves({});
    await expect(onAlarmEvent(alarmEvent('ALARM'))).rejects.toThrow('the invocation died');

    vi.setSystemTime(NOW.getTime() + 2 * MINUTE);
    await expect(onDeploymentEvent(deploymentEvent('d-1', 'SUCCESS'))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(reconcile()).resolves.toMatchObject({ redelivered: 1 });
    const cause = JSON.stringify({ reason: `alarm ${agg} went to ALARM`, alarm: agg, region: 'sa-east-1' });
    expect(sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)).toEqual(Array(3).fill({ taskToken: 'token-d-1', error: 'AlarmTriggered', cause }));
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('a rollback deployment that succeeded is counted as succeeded, whatever state a later event claims', async () => {
    store = fakeWaiters([
      rollbackSet({ pending: 2 }),
      rollbackChild('d-r1', { status: 'DONE', result: { ok: true, output: { deploymentId: 'd-r1', status: 'Succeeded' } } }),
    ]);
    await onDeploymentEvent(deploymentEvent('d-r1', 'FAILURE'));
    expect(store.get(parent)).toMatchObject({ status: 'OPEN', pending: 1 });
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(store.get('deployment#d-r1')).toMatchObject({ delivered: true });
  });

  it('a bake retried with a new task token after it finished gets the stored result', async () => {
    const bakeId = 'storefront-api#c1#wave-1#sa-east-1#sae1-az1';
    store = fakeWaiters([bakeWaiter(bakeId, { status: 'DONE', result: { ok: false, error: 'AlarmTriggered', cause: { reason: 'alarm went to ALARM' } } })]);
    await expect(
      startBake({ ...scope, unit: 'sae1-az1', target: 'fleet', taskToken: 'token-retry', durationSeconds: 3600, minRequests: 1, alarms: [{ region: 'sa-east-1', name: agg }], metricScopes: [{ region: 'sa-east-1', scope: 'sae1-az1' }] }),
    ).resolves.toMatchObject({ registration: 'replayed' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'token-retry', error: 'AlarmTriggered', cause: JSON.stringify({ reason: 'alarm went to ALARM' }) });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(indexed()).toEqual([]);
  });
});
