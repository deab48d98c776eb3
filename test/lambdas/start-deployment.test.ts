import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateDeploymentCommand,
  DeploymentLimitExceededException,
  type DeploymentStatus,
  type GetDeploymentCommandOutput,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  ThrottlingException,
} from '@aws-sdk/client-codedeploy';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StartDeploymentInput } from '../../core/contracts.ts';
import { handler as startDeploymentHandler, startDeployment } from '../../lambdas/start-deployment/index.ts';
import { $metadata, cloudWatch, codeDeploy, ddb, fakeWaiters, marshalled, published, sfn, invokeHandler, useAwsMocks, regionBucketOf, copyOf } from './support.ts';

useAwsMocks();

const input: StartDeploymentInput = {
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region: 'sa-east-1',
  target: 'onebox',
  taskToken: 'token-2',
  revision: 'r1',
  artifact: { versionId: 'v-r1', eTag: 'e-r1', sha256: 'a'.repeat(64) },
  application: 'storefront-api',
  deploymentGroup: 'storefront-api-onebox',
  alarms: ['handsoff-storefront-sa-east-1-aggregate', 'storefront-api-sa-east-1-onebox-faults'],
};
const claimKey = { pk: 'storefront-api#c1', sk: 'wave-1#sa-east-1#storefront-api-onebox' };
/** What CodeDeploy reports of a deployment of the change's exact artifact, made by handsoff for this change and stage. */
const ours = (status: DeploymentStatus): GetDeploymentCommandOutput => ({
  deploymentInfo: {
    status,
    description: 'handsoff storefront-api c1 wave-1',
    revision: { s3Location: { bucket: regionBucketOf('sa-east-1'), key: 'storefront-api/r1.zip', bundleType: 'zip', ...copyOf('v-r1') } },
  },
  $metadata: {},
});

const alarmsAre = (state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA', present = input.alarms): void => {
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: present.slice(1).map((AlarmName) => ({ AlarmName, StateValue: state })),
    CompositeAlarms: present.slice(0, 1).map((AlarmName) => ({ AlarmName, StateValue: state })),
  });
};

beforeEach(() => {
  ddb.on(GetCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  alarmsAre('OK');
  codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { lastSuccessfulDeployment: { deploymentId: 'd-OLD' } } });
  codeDeploy
    .on(GetDeploymentCommand, { deploymentId: 'd-OLD' })
    .resolves({ deploymentInfo: { status: 'Succeeded', revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r0.zip', bundleType: 'zip', eTag: 'e0' } } } });
  codeDeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-NEW' });
  codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
});

describe('start-deployment', () => {
  it('claims the group, starts one deployment and parks the token', async () => {
    // Act
    const out = await startDeployment(input);
    // Assess
    expect(out).toMatchObject({ outcome: 'started', deploymentId: 'd-NEW', registration: 'created' });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'deployments',
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: expect.objectContaining({ ...claimKey, status: 'CLAIMED', revision: 'r1', artifact: input.artifact, previousRevision: 'r0', location: expect.objectContaining({ bucket: regionBucketOf('sa-east-1'), ...copyOf('v-r1') }) }),
    });
    expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, {
      applicationName: 'storefront-api',
      deploymentGroupName: 'storefront-api-onebox',
      // The exact object, the region's own copy of it: its S3 version and ETag, which CodeDeploy checks.
      revision: { revisionType: 'S3', s3Location: { bucket: regionBucketOf('sa-east-1'), key: 'storefront-api/r1.zip', bundleType: 'zip', ...copyOf('v-r1') } },
      description: 'handsoff storefront-api c1 wave-1',
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'deployments',
      Key: claimKey,
      ExpressionAttributeValues: expect.objectContaining({ ':deploymentId': 'd-NEW', ':status': 'IN_PROGRESS' }),
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'waiters',
      Item: expect.objectContaining({ pk: 'deployment#d-NEW', kind: 'deployment', status: 'OPEN', token: 'token-2', stage: 'wave-1', target: 'onebox' }),
    });
    // The waiter is its own watch record: both alarms named in it, no watch item written.
    expect(ddb).toHaveReceivedCommandWith(PutCommand, { TableName: 'waiters', Item: expect.objectContaining({ pk: 'deployment#d-NEW', watching: input.alarms }) });
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(published()).toEqual([
      expect.objectContaining({ type: 'deployment.started', deploymentId: 'd-NEW', revision: 'r1', sha256: input.artifact.sha256, target: 'onebox', stage: 'wave-1', region: 'sa-east-1', change: 'c1' }),
    ]);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it("leaves the batches to the group's own configuration (the pipeline's rolling one, set by the target stack)", async () => {
    await startDeployment({ ...input, target: 'fleet', unit: 'sae1-az1', deploymentGroup: 'storefront-api-sae1-az1' });
    const create = codeDeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input;
    expect(create.deploymentGroupName).toBe('storefront-api-sae1-az1');
    expect(create).not.toHaveProperty('deploymentConfigName');
  });

  it('adopts the existing deployment on a claim conflict, re-registering the new token', async () => {
    // Prepare: a concurrent attempt claimed first and started d-1.
    ddb
      .on(PutCommand, { TableName: 'deployments' })
      .rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata,
          Item: marshalled({ ...claimKey, status: 'IN_PROGRESS', deploymentId: 'd-1', revision: 'r1' }),
        }),
      );
    ddb
      .on(PutCommand, { TableName: 'waiters' })
      .rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata,
          Item: marshalled({ pk: 'deployment#d-1', kind: 'deployment', status: 'OPEN', token: 'token-1' }),
        }),
      );
    // Act
    const out = await startDeployment(input);
    // Assess
    expect(out).toMatchObject({ outcome: 'waiting', deploymentId: 'd-1', registration: 'reregistered' });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'waiters',
      Key: { pk: 'deployment#d-1' },
      ConditionExpression: '#status = :open',
      ExpressionAttributeValues: expect.objectContaining({ ':token': 'token-2' }),
    });
    expect(published()).toEqual([]);
  });

  it('replays the result to the new token when the deployment already finished', async () => {
    ddb.on(GetCommand, { TableName: 'deployments' }).resolves({ Item: { ...claimKey, status: 'SUCCEEDED', deploymentId: 'd-1' } });
    ddb.on(PutCommand, { TableName: 'waiters' }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata,
        Item: marshalled({
          pk: 'deployment#d-1',
          kind: 'deployment',
          status: 'DONE',
          token: 'token-1',
          delivered: true,
          result: { ok: true, output: { deploymentId: 'd-1', status: 'Succeeded' } },
        }),
      }),
    );
    await expect(startDeployment(input)).resolves.toMatchObject({ registration: 'replayed' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'token-2',
      output: JSON.stringify({ deploymentId: 'd-1', status: 'Succeeded' }),
    });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  describe('a claim whose deployment id was never recorded (the attempt died after CreateDeployment)', () => {
    beforeEach(() => {
      fakeWaiters([]);
      // The claim names the region copy its attempt deployed.
      ddb.on(GetCommand, { TableName: 'deployments' }).resolves({
        Item: { ...claimKey, status: 'CLAIMED', previousRevision: 'r0', claimedAt: '2026-12-01T17:50:00.000Z', location: ours('InProgress').deploymentInfo!.revision!.s3Location },
      });
      sfn.on(SendTaskSuccessCommand).resolves({});
      sfn.on(SendTaskFailureCommand).resolves({});
    });

    it('adopts what a claim from before region copies deployed (the home bucket\'s object), never deploying the revision again', async () => {
      ddb.on(GetCommand, { TableName: 'deployments' }).resolves({ Item: { ...claimKey, status: 'CLAIMED', previousRevision: 'r0', claimedAt: '2026-12-01T17:50:00.000Z' } });
      codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-5'] });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-5' }).resolves({
        deploymentInfo: {
          ...ours('InProgress').deploymentInfo,
          revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r1.zip', bundleType: 'zip', version: 'v-r1', eTag: 'e-r1' } },
        },
      });
      await expect(startDeployment(input)).resolves.toMatchObject({ outcome: 'adopted', deploymentId: 'd-5' });
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    });

    it('adopts the deployment it created while it still runs', async () => {
      codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-OTHER', 'd-7'] });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-OTHER' }).resolves({ deploymentInfo: { revision: { s3Location: { key: 'storefront-api/r0.zip' } } } });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-7' }).resolves(ours('InProgress'));
      const out = await startDeployment(input);
      expect(out).toMatchObject({ outcome: 'adopted', deploymentId: 'd-7' });
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: 'deployments', ExpressionAttributeValues: expect.objectContaining({ ':deploymentId': 'd-7' }) });
      expect(sfn).not.toHaveReceivedAnyCommand();
    });

    it('adopts the deployment it created after it ended, reporting its real outcome: a revision is deployed to a group once', async () => {
      codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-7'] });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-7' }).resolves(ours('Failed'));
      const out = await startDeployment(input);
      expect(out).toMatchObject({ outcome: 'adopted', deploymentId: 'd-7' });
      // every status, not only the running ones, since the claim was made
      const list = codeDeploy.commandCalls(ListDeploymentsCommand)[0]!.args[0].input;
      expect(list.includeOnlyStatuses).toBeUndefined();
      expect(list.createTimeRange?.start?.getTime()).toBeLessThanOrEqual(Date.parse('2026-12-01T17:50:00.000Z'));
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'token-2', error: 'DeploymentFailed' });
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    });

    it('completes the step when the adopted deployment had succeeded', async () => {
      codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-7'] });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-7' }).resolves(ours('Succeeded'));
      await startDeployment(input);
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'token-2', output: JSON.stringify({ deploymentId: 'd-7', status: 'Succeeded' }) });
    });

    it('does not adopt a deployment of another object, of another change, or without handsoff\'s description at that key', async () => {
      codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-OTHER-VERSION', 'd-OTHER-CHANGE', 'd-UNLABELLED'] });
      const other = ours('Succeeded').deploymentInfo!;
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-OTHER-VERSION' }).resolves({ deploymentInfo: { ...other, revision: { s3Location: { ...other.revision!.s3Location, version: 'v-old' } } } });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-OTHER-CHANGE' }).resolves({ deploymentInfo: { ...other, description: 'handsoff storefront-api c0 wave-1' } });
      // The same object deployed by someone else (no handsoff description) is not the claim's either.
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-UNLABELLED' }).resolves({ deploymentInfo: { ...other, description: undefined } });
      const out = await startDeployment(input);
      expect(out).toMatchObject({ outcome: 'started', deploymentId: 'd-NEW' });
      expect(codeDeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
    });
  });

  it('waits on the deployment the claim holds when another attempt recorded its id first', async () => {
    ddb.on(UpdateCommand, { TableName: 'deployments' }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata,
        Item: marshalled({ ...claimKey, status: 'IN_PROGRESS', deploymentId: 'd-FIRST' }),
      }),
    );
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-FIRST' }).resolves({ deploymentInfo: { deploymentId: 'd-FIRST', status: 'InProgress' } });
    const out = await startDeployment(input);
    expect(out).toMatchObject({ outcome: 'waiting', deploymentId: 'd-FIRST' });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: 'deployments', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, { TableName: 'waiters', Item: expect.objectContaining({ pk: 'deployment#d-FIRST', deploymentId: 'd-FIRST' }) });
    expect(ddb).not.toHaveReceivedCommandWith(PutCommand, { TableName: 'waiters', Item: expect.objectContaining({ pk: 'deployment#d-NEW' }) });
    expect(published()).not.toContainEqual(expect.objectContaining({ type: 'deployment.started', deploymentId: 'd-NEW' }));
  });

  it('refuses an artifact not pinned by S3 version and checksum: never deploys by key alone', async () => {
    for (const artifact of [undefined, { versionId: '', eTag: 'e-r1', sha256: 'a'.repeat(64) }, { versionId: 'v-r1', eTag: 'e-r1' }]) {
      await expect(invokeHandler(startDeploymentHandler, { ...input, artifact })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('artifact') });
    }
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('writes its alarm watches before it checks the alarms: an alarm that fires meanwhile fails the step', async () => {
    // Prepare: OK at the first check; ALARM by the time the watches are written.
    const order: string[] = [];
    const store = fakeWaiters([]);
    ddb.on(BatchWriteCommand).callsFake(() => {
      order.push('watch');
      return { UnprocessedItems: {} };
    });
    let checks = 0;
    cloudWatch.on(DescribeAlarmsCommand).callsFake(() => {
      order.push('check');
      const state = ++checks === 1 ? 'OK' : 'ALARM';
      return {
        MetricAlarms: input.alarms.slice(1).map((AlarmName) => ({ AlarmName, StateValue: state })),
        CompositeAlarms: input.alarms.slice(0, 1).map((AlarmName) => ({ AlarmName, StateValue: 'OK' })),
      };
    });
    sfn.on(SendTaskFailureCommand).resolves({});
    // Act
    await startDeployment(input);
    // Assess: the last check comes after the watches, and it fails the step as on-alarm-event would.
    expect(order.lastIndexOf('check')).toBeGreaterThan(order.indexOf('watch'));
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: 'token-2',
      error: 'AlarmTriggered',
      cause: expect.stringContaining('storefront-api-sa-east-1-onebox-faults'),
    });
    expect(store.get('deployment#d-NEW')).toMatchObject({ status: 'DONE', result: { ok: false, error: 'AlarmTriggered' } });
    expect(published()).toContainEqual(expect.objectContaining({ type: 'alarm.triggered', alarmName: 'storefront-api-sa-east-1-onebox-faults' }));
  });

  it('rejects an empty alarm list: a deployment never runs unwatched', async () => {
    await expect(invokeHandler(startDeploymentHandler, { ...input, alarms: [] })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('alarms: must not be empty; the deployment would run unwatched') });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('never starts a second deployment next to another one in the group', async () => {
    codeDeploy.on(CreateDeploymentCommand).rejects(new DeploymentLimitExceededException({ message: 'limit', $metadata }));
    codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ROLLBACK'] });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-ROLLBACK' }).resolves({ deploymentInfo: { revision: { s3Location: { key: 'storefront-api/r0.zip' } } } });
    await expect(startDeployment(input)).rejects.toMatchObject({ name: 'DeploymentGroupBusy', retryable: true });
    expect(codeDeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
    expect(ddb).not.toHaveReceivedCommandWith(PutCommand, { TableName: 'waiters' });
  });

  it('fails closed when a watched alarm does not exist', async () => {
    alarmsAre('OK', input.alarms.slice(0, 1));
    await expect(startDeployment(input)).resolves.toEqual({ outcome: 'refused' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'token-2',
      error: 'AlarmMissing',
      cause: expect.stringContaining('storefront-api-sa-east-1-onebox-faults'),
    });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('does not start while a watched alarm is in ALARM', async () => {
    alarmsAre('ALARM');
    await startDeployment(input);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'AlarmTriggered' });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(published()).toContainEqual(expect.objectContaining({ type: 'alarm.triggered', alarm: 'handsoff-storefront-sa-east-1-aggregate' }));
  });

  it('does not start while a watched alarm has no data (INSUFFICIENT_DATA): the gate holds it', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({
      CompositeAlarms: [{ AlarmName: input.alarms[0], StateValue: 'OK' }],
      MetricAlarms: [{ AlarmName: input.alarms[1], StateValue: 'INSUFFICIENT_DATA' }],
    });
    await expect(startDeployment(input)).resolves.toEqual({ outcome: 'refused' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: 'token-2',
      error: 'AlarmWithoutData',
      cause: JSON.stringify({
        reason: `alarm ${input.alarms[1]} has no data (INSUFFICIENT_DATA); deployment not started`,
        alarm: input.alarms[1],
        region: 'sa-east-1',
      }),
    });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(published()).toEqual([]);
  });

  it('asks for composite alarms too', async () => {
    await startDeployment(input);
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
  });

  it('lets throttling propagate for the state machine to retry', async () => {
    codeDeploy.on(CreateDeploymentCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata }));
    await expect(startDeployment(input)).rejects.toBeInstanceOf(ThrottlingException);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});
