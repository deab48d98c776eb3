import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { SendTaskFailureCommand, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { onDeploymentEvent } from '../../lambdas/on-deployment-event/index.ts';
import type { BusEvent, CodeDeployStateChangeDetail } from '../../core/contracts.ts';
import { $metadata, codeDeploy, ddb, fakeWaiters, published, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const event = (deploymentId: string, state: string): BusEvent<CodeDeployStateChangeDetail> => ({
  source: 'aws.codedeploy',
  'detail-type': 'CodeDeploy Deployment State-change Notification',
  region: 'sa-east-1',
  time: '2026-12-01T18:00:00Z',
  detail: { region: 'sa-east-1', application: 'storefront-api', deploymentGroup: 'storefront-api-onebox', deploymentId, state },
});

const deploymentWaiter = {
  pk: 'deployment#d-1',
  kind: 'deployment',
  status: 'OPEN',
  token: 'token-1',
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region: 'sa-east-1',
  target: 'onebox',
  alarms: [{ region: 'sa-east-1', name: 'agg' }],
  deploymentId: 'd-1',
  revision: 'r1',
  deploymentGroup: 'storefront-api-onebox',
  deploymentsPk: 'storefront-api#c1',
  deploymentsSk: 'wave-1#sa-east-1#storefront-api-onebox',
};

beforeEach(() => {
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  // CodeDeploy agrees with the events unless a test says otherwise.
  codeDeploy.on(GetDeploymentCommand).callsFake(({ deploymentId }) => ({ deploymentInfo: { deploymentId, status: 'Succeeded' } }));
});

describe('on-deployment-event', () => {
  it('completes the step on SUCCESS and says so', async () => {
    const store = fakeWaiters([deploymentWaiter]);
    await expect(onDeploymentEvent(event('d-1', 'SUCCESS'))).resolves.toEqual({ outcome: 'finished' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'token-1',
      output: JSON.stringify({ deploymentId: 'd-1', status: 'Succeeded' }),
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'deployments',
      Key: { pk: 'storefront-api#c1', sk: 'wave-1#sa-east-1#storefront-api-onebox' },
      ExpressionAttributeValues: expect.objectContaining({ ':status': 'SUCCEEDED' }),
    });
    // No watch to delete: the waiter is its own watch record.
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
    expect(published()).toEqual([
      expect.objectContaining({ type: 'deployment.succeeded', deploymentId: 'd-1', revision: 'r1', target: 'onebox', stage: 'wave-1', region: 'sa-east-1' }),
    ]);
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'DONE', delivered: true });
  });

  it('confirms a SUCCESS with CodeDeploy, in the deployment\'s region, before it completes the step', async () => {
    fakeWaiters([deploymentWaiter]);
    await onDeploymentEvent(event('d-1', 'SUCCESS'));
    expect(codeDeploy).toHaveReceivedCommandWith(GetDeploymentCommand, { deploymentId: 'd-1' });
    expect(await codeDeploy.call(0).thisValue.config.region()).toBe('sa-east-1');
  });

  it('never promotes on a forged or early SUCCESS: CodeDeploy says the deployment still runs', async () => {
    const store = fakeWaiters([deploymentWaiter]);
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-1', status: 'InProgress' } });
    await expect(onDeploymentEvent(event('d-1', 'SUCCESS'))).resolves.toEqual({ outcome: 'unconfirmed' });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(published()).toEqual([]);
    expect(store.get('deployment#d-1')).toMatchObject({ status: 'OPEN' });
  });

  it('applies the end CodeDeploy reports when a stale SUCCESS contradicts it', async () => {
    fakeWaiters([deploymentWaiter]);
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-1', status: 'Failed' } });
    await onDeploymentEvent(event('d-1', 'SUCCESS'));
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'token-1', error: 'DeploymentFailed' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(published()).toEqual([expect.objectContaining({ type: 'deployment.failed' })]);
  });

  it('fails the step on FAILURE with the reason', async () => {
    fakeWaiters([deploymentWaiter]);
    await onDeploymentEvent(event('d-1', 'FAILURE'));
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: 'token-1',
      error: 'DeploymentFailed',
      cause: JSON.stringify({ reason: 'deployment d-1 FAILURE', deploymentId: 'd-1' }),
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'deployment.failed', reason: 'deployment d-1 FAILURE' })]);
  });

  it('completes the task once when the event is delivered twice', async () => {
    fakeWaiters([deploymentWaiter]);
    await onDeploymentEvent(event('d-1', 'SUCCESS'));
    await expect(onDeploymentEvent(event('d-1', 'SUCCESS'))).resolves.toEqual({ outcome: 'duplicate' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('ignores other states and deployments it did not start', async () => {
    fakeWaiters([deploymentWaiter]);
    await expect(onDeploymentEvent(event('d-1', 'START'))).resolves.toEqual({ outcome: 'ignored' });
    await expect(onDeploymentEvent(event('d-unknown', 'SUCCESS'))).resolves.toEqual({ outcome: 'unknown-deployment' });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(published()).toEqual([]);
  });

  it('logs and ignores a late event for a task that timed out', async () => {
    fakeWaiters([deploymentWaiter]);
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata }));
    await expect(onDeploymentEvent(event('d-1', 'SUCCESS'))).resolves.toEqual({ outcome: 'finished' });
  });

  it('counts rollbacks down and completes the rollback task with the last one', async () => {
    const scope = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };
    const rollbackOf = (id: string, group: string) => ({
      pk: `deployment#${id}`,
      kind: 'rollback',
      status: 'OPEN',
      ...scope,
      alarms: [],
      deploymentId: id,
      revision: 'r0',
      deploymentGroup: group,
      parent: 'rollback#storefront-api#c1#wave-1#sa-east-1',
      deploymentsPk: 'storefront-api#c1',
      deploymentsSk: `wave-1#sa-east-1#${group}`,
    });
    fakeWaiters([
      { pk: 'rollback#storefront-api#c1#wave-1#sa-east-1', kind: 'rollback-set', status: 'OPEN', token: 'rb-token', ...scope, alarms: [], pending: 2, rolledBack: [] },
      rollbackOf('d-r1', 'storefront-api-onebox'),
      rollbackOf('d-r2', 'storefront-api-sae1-az1'),
    ]);
    await onDeploymentEvent(event('d-r1', 'SUCCESS'));
    expect(sfn).not.toHaveReceivedAnyCommand();
    await onDeploymentEvent(event('d-r1', 'SUCCESS')); // duplicate: not counted twice
    expect(sfn).not.toHaveReceivedAnyCommand();
    await onDeploymentEvent(event('d-r2', 'SUCCESS'));
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'rb-token',
      output: JSON.stringify({
        rolledBack: [
          { deploymentGroup: 'storefront-api-onebox', region: 'sa-east-1', revision: 'r0' },
          { deploymentGroup: 'storefront-api-sae1-az1', region: 'sa-east-1', revision: 'r0' },
        ],
      }),
    });
    expect(published().map((e) => e.type)).toEqual(['rollback.completed', 'rollback.completed']);
    expect(published()[0]).toMatchObject({ revision: 'r0', stage: 'wave-1', region: 'sa-east-1' });
  });

  describe('a rollback countdown interrupted by a crash', () => {
    const scope = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };
    const parent = 'rollback#storefront-api#c1#wave-1#sa-east-1';
    const rollbackOf = (id: string, group: string, extra: Record<string, unknown> = {}) => ({
      pk: `deployment#${id}`,
      kind: 'rollback',
      status: 'OPEN',
      ...scope,
      alarms: [],
      deploymentId: id,
      revision: 'r0',
      deploymentGroup: group,
      parent,
      deploymentsPk: 'storefront-api#c1',
      deploymentsSk: `wave-1#sa-east-1#${group}`,
      ...extra,
    });
    const done = { status: 'DONE', result: { ok: true, output: { deploymentId: 'd-r1', status: 'Succeeded' } } };
    const setOf = (extra: Record<string, unknown>) => ({ pk: parent, kind: 'rollback-set', status: 'OPEN', token: 'rb-token', ...scope, alarms: [], ...extra });
    const entry1 = { deploymentGroup: 'storefront-api-onebox', region: 'sa-east-1', revision: 'r0' };

    it('counts a rollback whose waiter was finished but never counted, exactly once', async () => {
      const store = fakeWaiters([setOf({ pending: 2, rolledBack: [] }), rollbackOf('d-r1', 'storefront-api-onebox', done), rollbackOf('d-r2', 'storefront-api-sae1-az1')]);
      await expect(onDeploymentEvent(event('d-r1', 'SUCCESS'))).resolves.toEqual({ outcome: 'duplicate' });
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
        TableName: 'waiters',
        Key: { pk: parent },
        UpdateExpression: expect.stringContaining('ADD #counted :idSet'),
        ConditionExpression: '#status = :open AND NOT contains(#counted, :id)',
        ExpressionAttributeValues: expect.objectContaining({ ':id': 'd-r1', ':idSet': new Set(['d-r1']) }),
      });
      expect(store.get(parent)).toMatchObject({ status: 'OPEN', pending: 1, rolledBack: [entry1], counted: new Set(['d-r1']) });
      await onDeploymentEvent(event('d-r1', 'SUCCESS')); // redelivered again: not counted twice
      expect(store.get(parent)).toMatchObject({ status: 'OPEN', pending: 1 });
      expect(published()).toEqual([expect.objectContaining({ type: 'rollback.completed', deploymentId: 'd-r1' })]);
      await onDeploymentEvent(event('d-r2', 'SUCCESS'));
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
        taskToken: 'rb-token',
        output: JSON.stringify({ rolledBack: [entry1, { deploymentGroup: 'storefront-api-sae1-az1', region: 'sa-east-1', revision: 'r0' }] }),
      });
      expect(store.get(parent)).toMatchObject({ status: 'DONE', pending: 0, delivered: true });
    });

    it('finishes a set counted down to 0 when the duplicate event of its last rollback arrives', async () => {
      const store = fakeWaiters([setOf({ pending: 0, rolledBack: [entry1], counted: new Set(['d-r1']) }), rollbackOf('d-r1', 'storefront-api-onebox', done)]);
      await onDeploymentEvent(event('d-r1', 'SUCCESS'));
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'rb-token', output: JSON.stringify({ rolledBack: [entry1] }) });
      expect(store.get(parent)).toMatchObject({ status: 'DONE', pending: 0, delivered: true });
      expect(published()).toEqual([]);
    });
  });
});
