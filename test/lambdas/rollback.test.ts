import {
  CreateDeploymentCommand,
  DeploymentAlreadyCompletedException,
  DeploymentLimitExceededException,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { rollback } from '../../lambdas/rollback/index.ts';
import { onDeploymentState } from '../../lambdas/shared/deployment-outcome.ts';
import type { RollbackInput } from '../../core/contracts.ts';
import { RollbackElsewhereError } from '../../core/errors.ts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { $metadata, codeDeploy, ddb, events, fakeWaiters, NOW, published, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const input: RollbackInput = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1', taskToken: 'rb-1', reason: 'alarm agg went to ALARM' };
const scope = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };
const item = (group: string, extra: Record<string, unknown>) => ({
  pk: 'storefront-api#c1',
  sk: `wave-1#sa-east-1#${group}`,
  ...scope,
  application: 'storefront-api',
  deploymentGroup: group,
  revision: 'r1',
  artifact: { versionId: 'v1', eTag: 'e1', sha256: 'b'.repeat(64) },
  claimedAt: '2026-12-01T17:00:00.000Z',
  previousRevision: 'r0',
  previousLocation: { bucket: 'handsoff-artifacts', key: 'storefront-api/r0.zip', bundleType: 'zip', eTag: 'e0', version: 'v0' },
  ...extra,
});
const onebox = item('storefront-api-onebox', { target: 'onebox', status: 'SUCCEEDED', deploymentId: 'd-1' });
const unit = item('storefront-api-sae1-az1', { target: 'fleet', unit: 'sae1-az1', status: 'IN_PROGRESS', deploymentId: 'd-2' });

let store: ReturnType<typeof fakeWaiters>;
beforeEach(() => {
  store = fakeWaiters([]);
  sfn.on(SendTaskSuccessCommand).resolves({});
  codeDeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
  codeDeploy.on(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-onebox' }).resolves({ deploymentId: 'd-r1' });
  codeDeploy.on(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-sae1-az1' }).resolves({ deploymentId: 'd-r2' });
});

describe('rollback', () => {
  it('succeeds at once when nothing was deployed: CodeDeploy has no deployment of the claimed group\'s artifact', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item('storefront-api-onebox', { status: 'CLAIMED' })] });
    codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    await expect(rollback(input)).resolves.toEqual({ rollbacks: 0 });
    // looked for, in any status, before it concluded nothing was deployed
    expect(codeDeploy).toHaveReceivedCommandWith(ListDeploymentsCommand, { applicationName: 'storefront-api', deploymentGroupName: 'storefront-api-onebox' });
    expect(codeDeploy.commandCalls(ListDeploymentsCommand)[0]!.args[0].input.includeOnlyStatuses).toBeUndefined();
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'rb-1', output: JSON.stringify({ rolledBack: [] }) });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('rolls back a claimed group whose deployment was created but never recorded (a crash in between): stops it and restores', async () => {
    // Prepare: start-deployment died after CreateDeployment; the claim holds no id.
    ddb.on(QueryCommand).resolves({ Items: [item('storefront-api-onebox', { target: 'onebox', status: 'CLAIMED' })] });
    codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-lost'] });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-lost' }).resolves({
      deploymentInfo: {
        status: 'InProgress',
        description: 'handsoff storefront-api c1 wave-1',
        revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r1.zip', bundleType: 'zip', version: 'v1', eTag: 'e1' } },
      },
    });
    // Act
    await expect(rollback(input)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
    // Assess: found, recorded, stopped, and the previous object restored by version and ETag.
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: 'deployments', ExpressionAttributeValues: expect.objectContaining({ ':deploymentId': 'd-lost' }) });
    expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(StopDeploymentCommand, { deploymentId: 'd-lost', autoRollbackEnabled: false });
    expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, {
      deploymentGroupName: 'storefront-api-onebox',
      revision: { revisionType: 'S3', s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r0.zip', bundleType: 'zip', version: 'v0', eTag: 'e0' } },
    });
    expect(published()).toContainEqual(expect.objectContaining({ type: 'rollback.started', stopped: 'd-lost', revision: 'r0' }));
  });

  it('also restores a claimed group whose unrecorded deployment already ended', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item('storefront-api-onebox', { target: 'onebox', status: 'CLAIMED' })] });
    codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-lost'] });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-lost' }).resolves({
      deploymentInfo: {
        status: 'Succeeded',
        description: 'handsoff storefront-api c1 wave-1',
        revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r1.zip', bundleType: 'zip', version: 'v1', eTag: 'e1' } },
      },
    });
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentAlreadyCompletedException({ message: 'done', $metadata }));
    await expect(rollback(input)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
    expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-onebox' });
  });

  it('restores the exact previous artifact in every group of the region, stopping what still runs', async () => {
    ddb.on(QueryCommand).resolves({ Items: [onebox, unit] });
    await expect(rollback(input)).resolves.toEqual({ rollbacks: 2, registration: 'created' });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'deployments',
      ExpressionAttributeValues: { ':pk': 'storefront-api#c1', ':prefix': 'wave-1#sa-east-1#' },
    });
    expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(StopDeploymentCommand, { deploymentId: 'd-2', autoRollbackEnabled: false });
    expect(codeDeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      applicationName: 'storefront-api',
      deploymentGroupName: 'storefront-api-onebox',
      // the exact previous object: S3 version and ETag (CodeDeploy checks them)
      revision: { revisionType: 'S3', s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r0.zip', bundleType: 'zip', version: 'v0', eTag: 'e0' } },
      deploymentConfigName: 'handsoff-fast-rollback-33',
      description: expect.stringMatching(/^handsoff rollback storefront-api c1 wave-1/),
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'deployments',
      Key: { pk: 'storefront-api#c1', sk: 'wave-1#sa-east-1#storefront-api-onebox' },
      ExpressionAttributeValues: expect.objectContaining({ ':rollbackDeploymentId': 'd-r1' }),
    });
    expect(store.get('rollback#storefront-api#c1#wave-1#sa-east-1')).toMatchObject({ kind: 'rollback-set', status: 'OPEN', token: 'rb-1', pending: 2 });
    expect(store.get('deployment#d-r2')).toMatchObject({ kind: 'rollback', parent: 'rollback#storefront-api#c1#wave-1#sa-east-1', revision: 'r0', unit: 'sae1-az1' });
    expect(published()).toEqual([
      expect.objectContaining({ type: 'rollback.started', revision: 'r0', target: 'onebox', stage: 'wave-1', region: 'sa-east-1' }),
      expect.objectContaining({ type: 'rollback.started', revision: 'r0', target: 'fleet', unit: 'sae1-az1', stopped: 'd-2' }),
    ]);
    // `stopped` names a deployment that still ran: the one-box's had succeeded, the unit's was stopped.
    expect(published()[0]).not.toHaveProperty('stopped');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('is idempotent on retry: re-registers the token and starts nothing twice', async () => {
    ddb.on(QueryCommand).resolves({ Items: [onebox, unit] });
    await rollback(input);
    ddb.on(QueryCommand).resolves({ Items: [{ ...onebox, rollbackDeploymentId: 'd-r1' }, { ...unit, rollbackDeploymentId: 'd-r2' }] });
    await expect(rollback({ ...input, taskToken: 'rb-2' })).resolves.toEqual({ rollbacks: 2, registration: 'reregistered' });
    expect(codeDeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 2);
    expect(store.get('rollback#storefront-api#c1#wave-1#sa-east-1')).toMatchObject({ token: 'rb-2', pending: 2 });
    expect(published().filter((e) => e.type === 'rollback.started')).toHaveLength(2);
  });

  it('announces the rollback of a group on the retry when stopping its deployment failed: the scope is marked only once stopped', async () => {
    ddb.on(QueryCommand).resolves({ Items: [onebox, unit] });
    // The deployments table's mark: set once (attribute_not_exists), as DynamoDB would.
    const marked = new Set<string>();
    ddb.on(UpdateCommand, { TableName: 'deployments', ConditionExpression: 'attribute_not_exists(#started)' }).callsFake((update) => {
      if (marked.has(update.Key.sk)) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata });
      marked.add(update.Key.sk);
      return {};
    });
    codeDeploy.on(StopDeploymentCommand).rejectsOnce(new Error('connect ETIMEDOUT')).resolves({ status: 'Pending' });
    await expect(rollback(input)).rejects.toThrow('connect ETIMEDOUT');
    await rollback(input);
    const started = published().filter((e) => e.type === 'rollback.started');
    expect(started.map((e) => e.target)).toEqual(['onebox', 'fleet']);
    expect(started[1]).toMatchObject({ unit: 'sae1-az1', stopped: 'd-2' });
  });

  it('announces on the retry a scope it marked when publishing rollback.started failed, and each scope once', async () => {
    // The deployments table as DynamoDB keeps it: the marks the handler sets are read back on the retry.
    const rows = new Map<string, Record<string, any>>([onebox, unit].map((i) => [i.sk, structuredClone(i)]));
    ddb.on(QueryCommand).callsFake(() => ({ Items: [...rows.values()].map((r) => structuredClone(r)) }));
    ddb.on(UpdateCommand, { TableName: 'deployments' }).callsFake((update) => {
      const row = rows.get(update.Key.sk)!;
      if (update.ConditionExpression === 'attribute_not_exists(#started)' && row.rollbackStartedAt) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata });
      }
      for (const part of String(update.UpdateExpression).replace(/^SET /, '').split(', ')) {
        const [name, value] = part.split(' = ');
        row[update.ExpressionAttributeNames[name!]] = update.ExpressionAttributeValues[value!];
      }
      return {};
    });
    events.on(PutEventsCommand).rejectsOnce(new Error('EventBridge unavailable')).resolves({ FailedEntryCount: 0, Entries: [] });
    await expect(rollback(input)).rejects.toThrow('EventBridge unavailable');
    expect(rows.get(onebox.sk)).toMatchObject({ rollbackSet: 'rollback#storefront-api#c1#wave-1#sa-east-1' });
    await rollback(input);
    const delivered = events
      .commandCalls(PutEventsCommand)
      .slice(1)
      .flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!)))
      .filter((e) => e.type === 'rollback.started');
    expect(delivered.map((e) => e.target)).toEqual(['onebox', 'fleet']);
    expect(delivered[1]).toMatchObject({ unit: 'sae1-az1', stopped: 'd-2' });
    expect([...rows.values()].every((r) => r.rollbackAnnouncedAt)).toBe(true);
    // The stop is recorded on the scope, for a later retry's announcement.
    expect(rows.get(unit.sk)).toMatchObject({ rollbackStopped: 'd-2' });
  });

  it('names in `stopped`, on a retry, the deployment an earlier attempt stopped, though the table shows it STOPPED by now', async () => {
    const marked = { ...unit, status: 'STOPPED', rollbackStopped: 'd-2', rollbackStartedAt: '2026-12-01T18:00:00.000Z', rollbackSet: 'rollback#storefront-api#c1#wave-1#sa-east-1' };
    ddb.on(QueryCommand).resolves({ Items: [marked] });
    await rollback(input);
    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(published().filter((e) => e.type === 'rollback.started')).toEqual([expect.objectContaining({ unit: 'sae1-az1', stopped: 'd-2' })]);
  });

  it('starts every scope at once and retries only a group still winding down its stopped deployment', async () => {
    ddb.on(QueryCommand).resolves({ Items: [unit, onebox] });
    codeDeploy.on(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-sae1-az1' }).rejects(new DeploymentLimitExceededException({ message: 'limit', $metadata }));
    codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-2'] });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-2' }).resolves({ deploymentInfo: { revision: { s3Location: { key: 'storefront-api/c1.zip' } } } });
    await expect(rollback(input)).rejects.toMatchObject({ name: 'DeploymentGroupBusy' });
    // both scopes announced and the running one stopped before anything waited
    expect(published().filter((e) => e.type === 'rollback.started').map((e) => e.target)).toEqual(['fleet', 'onebox']);
    expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId: 'd-2' });
    // the free group got its rollback deployment regardless
    expect(codeDeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-onebox' });
  });

  it('adopts a rollback already running in the group, and ignores a deployment that already completed', async () => {
    ddb.on(QueryCommand).resolves({ Items: [unit] });
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentAlreadyCompletedException({ message: 'done', $metadata }));
    codeDeploy.on(CreateDeploymentCommand).rejects(new DeploymentLimitExceededException({ message: 'limit', $metadata }));
    codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-auto'] });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-auto' }).resolves({ deploymentInfo: { revision: { s3Location: { key: 'storefront-api/r0.zip', version: 'v0', eTag: 'e0' } } } });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-2' }).resolves({ deploymentInfo: { deploymentId: 'd-2', status: 'Succeeded' } });
    await expect(rollback(input)).resolves.toMatchObject({ rollbacks: 1 });
    expect(store.get('deployment#d-auto')).toMatchObject({ kind: 'rollback' });
    // It had succeeded before the rollback began: nothing was stopped.
    expect(published().find((e) => e.type === 'rollback.started')).not.toHaveProperty('stopped');
  });

  it('names in `stopped` a deployment an earlier attempt stopped before it died (CodeDeploy: over, Stopped)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [unit] });
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentAlreadyCompletedException({ message: 'done', $metadata }));
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-2' }).resolves({ deploymentInfo: { deploymentId: 'd-2', status: 'Stopped' } });
    await rollback(input);
    expect(published().find((e) => e.type === 'rollback.started')).toMatchObject({ stopped: 'd-2' });
  });

  it('rolls back only the region a wave-level failure names', async () => {
    const { region: _region, ...waveInput } = input;
    const cause = JSON.stringify({ reason: 'alarm agg is in ALARM at the end of the bake', alarm: 'agg', region: 'sa-east-1' });
    ddb.on(QueryCommand).resolves({ Items: [onebox] });
    await expect(rollback({ ...waveInput, reason: cause })).resolves.toMatchObject({ rollbacks: 1, registration: 'created' });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'deployments',
      ExpressionAttributeValues: { ':pk': 'storefront-api#c1', ':prefix': 'wave-1#sa-east-1#' },
    });
    expect(store.get('rollback#storefront-api#c1#wave-1#*')).toMatchObject({ kind: 'rollback-set', pending: 1, reason: 'alarm agg is in ALARM at the end of the bake' });
  });

  it('rolls back every region of the stage when a wave-level failure names none', async () => {
    const { region: _region, ...waveInput } = input;
    ddb.on(QueryCommand).resolves({ Items: [] });
    for (const reason of [JSON.stringify({ reason: 'insufficient-data', detail: '3 requests seen of 100 required over PT6H' }), 'States.Timeout']) {
      await rollback({ ...waveInput, reason });
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':pk': 'storefront-api#c1', ':prefix': 'wave-1#' } });
    }
    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':pk': 'storefront-api#c1', ':prefix': 'wave-1#sa-east-1#' } });
  });

  it("finishes at once, restoring nothing twice, when a wave-level rollback finds its regions rolled back by their own rollbacks", async () => {
    const { region: _region, ...waveInput } = input;
    const own = { ...onebox, rollbackStartedAt: '2026-12-01T17:00:00.000Z', rollbackSet: 'rollback#storefront-api#c1#wave-1#sa-east-1', rollbackDeploymentId: 'd-r1' };
    ddb.on(QueryCommand).resolves({ Items: [own] });
    codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-r1' }).resolves({ deploymentInfo: { deploymentId: 'd-r1', status: 'Succeeded' } });
    await expect(rollback({ ...waveInput, reason: 'States.TaskFailed' })).resolves.toEqual({ rollbacks: 0 });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'rb-1', output: JSON.stringify({ rolledBack: [] }) });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(store.get('rollback#storefront-api#c1#wave-1#*')).toBeUndefined();
  });

  it("ends the open wave holds of a wave rolled back as a whole: none keeps watching for a failed change", async () => {
    const { region: _region, ...waveInput } = input;
    const hold = { pk: 'bake#storefront-api#c1#wave-1#sa-east-1#*#wave-hold', kind: 'bake', purpose: 'hold', status: 'OPEN', token: 'hold-token', openShard: 'OPEN', watching: ['agg'], alarms: [{ region: 'sa-east-1', name: 'agg' }], ...scope };
    store.set(hold.pk, structuredClone(hold));
    ddb.on(QueryCommand).resolves({ Items: [onebox] });
    sfn.on(SendTaskFailureCommand).resolves({});
    await rollback({ ...waveInput, reason: 'States.TaskFailed' });
    expect(store.get(hold.pk)).toMatchObject({ status: 'DONE', result: { ok: false, error: 'WaveRolledBack' }, delivered: true });
    expect(store.get(hold.pk)).not.toHaveProperty('openShard');
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'hold-token', error: 'WaveRolledBack' });
  });

  it('leaves the wave holds alone when it rolls back one region (the hold of that region judged it)', async () => {
    const hold = { pk: 'bake#storefront-api#c1#wave-1#eu-west-1#*#wave-hold', kind: 'bake', purpose: 'hold', status: 'OPEN', token: 'hold-token', openShard: 'OPEN', ...scope, region: 'eu-west-1' };
    store.set(hold.pk, structuredClone(hold));
    ddb.on(QueryCommand).resolves({ Items: [onebox] });
    await rollback(input);
    expect(store.get(hold.pk)).toMatchObject({ status: 'OPEN' });
  });

  describe('an earlier stage of a change that failed later (failedIn)', () => {
    // The change reached beta and passed it; it failed in wave-2. Beta's groups: one still runs
    // the change, the other got a newer change since (which contains this one).
    const beta = (group: string, deploymentId: string) => ({
      ...item(group, { target: 'fleet', status: 'SUCCEEDED', deploymentId }),
      sk: `beta#us-west-2#${group}`,
      stage: 'beta',
      region: 'us-west-2',
    });
    const still = beta('storefront-api-beta', 'd-b1');
    const replaced = beta('storefront-api-beta-2', 'd-b2');
    const earlier: RollbackInput = {
      pipeline: 'storefront-api',
      change: 'c1',
      stage: 'beta',
      failedIn: 'wave-2',
      taskToken: 'rb-beta',
      reason: JSON.stringify({ reason: 'alarm agg went to ALARM', alarm: 'agg', region: 'us-east-1' }),
    };
    beforeEach(() => {
      codeDeploy.on(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta' }).resolves({ deploymentId: 'd-rb1' });
      codeDeploy.on(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta-2' }).resolves({ deploymentId: 'd-rb2' });
      codeDeploy.on(GetDeploymentGroupCommand, { deploymentGroupName: 'storefront-api-beta' }).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-b1' } } });
      codeDeploy.on(GetDeploymentGroupCommand, { deploymentGroupName: 'storefront-api-beta-2' }).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-c2' } } });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-c2' }).resolves({
        deploymentInfo: { deploymentId: 'd-c2', status: 'Succeeded', revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r2.zip', version: 'v2', eTag: 'e2' } } },
      });
    });

    it('rolls back every region of the stage, whatever region the reason names, and says where the change failed', async () => {
      ddb.on(QueryCommand).resolves({ Items: [still] });
      await expect(rollback(earlier)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':pk': 'storefront-api#c1', ':prefix': 'beta#' } });
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta' });
      expect(published()).toEqual([
        expect.objectContaining({ type: 'rollback.started', stage: 'beta', region: 'us-west-2', revision: 'r0', reason: 'the change failed in wave-2: alarm agg went to ALARM' }),
      ]);
    });

    it('leaves a group a newer change was deployed to since as it is, and restores the group that still runs the change', async () => {
      ddb.on(QueryCommand).resolves({ Items: [still, replaced] });
      await expect(rollback(earlier)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta' });
      expect(codeDeploy).not.toHaveReceivedCommandWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta-2' });
      expect(codeDeploy).not.toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId: 'd-c2' });
      // The change's deployment there had succeeded: nothing to stop, and the event names none.
      expect(published().map((e) => [e.deploymentGroup ?? e.target, e.stopped])).toEqual([['fleet', undefined]]);
      expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
      expect(store.get('rollback#storefront-api#c1#beta#*#failed-in#wave-2')).toMatchObject({
        pending: 1,
        superseded: [{ deploymentGroup: 'storefront-api-beta-2', region: 'us-west-2', revision: 'r2' }],
      });
    });

    it('rolls back a group whose newer deployment failed or stopped: the change may still serve there', async () => {
      for (const status of ['Failed', 'Stopped'] as const) {
        codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-c2' }).resolves({
          deploymentInfo: { deploymentId: 'd-c2', status, revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r2.zip', version: 'v2', eTag: 'e2' } } },
        });
        codeDeploy.resetHistory();
        store.clear();
        ddb.on(QueryCommand).resolves({ Items: [replaced] });
        await expect(rollback(earlier)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
        expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta-2' });
      }
    });

    it('waits (retries as busy) while the newer deployment still runs: it may yet roll back to the change', async () => {
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-c2' }).resolves({
        deploymentInfo: { deploymentId: 'd-c2', status: 'InProgress', revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r2.zip', version: 'v2', eTag: 'e2' } } },
      });
      ddb.on(QueryCommand).resolves({ Items: [replaced] });
      await expect(rollback(earlier)).rejects.toMatchObject({ name: 'DeploymentGroupBusy', retryable: true });
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    });

    it('completes at once, restoring nothing, when a newer change runs in every group of the stage', async () => {
      ddb.on(QueryCommand).resolves({ Items: [replaced] });
      await expect(rollback(earlier)).resolves.toEqual({ rollbacks: 0 });
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      expect(published()).toEqual([]);
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
        taskToken: 'rb-beta',
        output: JSON.stringify({ rolledBack: [], superseded: [{ deploymentGroup: 'storefront-api-beta-2', region: 'us-west-2', revision: 'r2' }] }),
      });
    });

    it("still restores a group whose latest deployment is CodeDeploy's own rollback to the previous revision", async () => {
      codeDeploy.on(GetDeploymentGroupCommand, { deploymentGroupName: 'storefront-api-beta' }).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-auto' } } });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-auto' }).resolves({
        deploymentInfo: { deploymentId: 'd-auto', status: 'Failed', revision: { s3Location: { bucket: 'handsoff-artifacts', key: 'storefront-api/r0.zip', version: 'v0', eTag: 'e0' } } },
      });
      ddb.on(QueryCommand).resolves({ Items: [still] });
      await expect(rollback(earlier)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta' });
    });

    it("leaves a scope another rollback of the change began (the failed region's own) to that one, and restores the rest", async () => {
      const failedRegion = { ...still, sk: 'wave-2#us-east-1#storefront-api-onebox', stage: 'wave-2', region: 'us-east-1', rollbackStartedAt: '2026-12-01T17:00:00.000Z', rollbackSet: 'rollback#storefront-api#c1#wave-2#us-east-1', rollbackDeploymentId: 'd-rx' };
      const sibling = { ...still, sk: 'wave-2#eu-west-1#storefront-api-beta', stage: 'wave-2', region: 'eu-west-1' };
      ddb.on(QueryCommand).resolves({ Items: [failedRegion, sibling] });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-rx' }).resolves({ deploymentInfo: { deploymentId: 'd-rx', status: 'Succeeded' } });
      await expect(rollback({ ...earlier, stage: 'wave-2' })).resolves.toEqual({ rollbacks: 1, registration: 'created' });
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta' });
      expect(store.get('rollback#storefront-api#c1#wave-2#*#failed-in#wave-2')).toMatchObject({ pending: 1 });
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
        Key: { pk: 'storefront-api#c1', sk: 'wave-2#eu-west-1#storefront-api-beta' },
        ExpressionAttributeValues: expect.objectContaining({ ':set': 'rollback#storefront-api#c1#wave-2#*#failed-in#wave-2' }),
      });
    });

    it('waits (retries as busy) while that other rollback still restores its group, having restored the rest', async () => {
      const failedRegion = { ...still, sk: 'wave-2#us-east-1#storefront-api-onebox', stage: 'wave-2', region: 'us-east-1', rollbackStartedAt: '2026-12-01T17:00:00.000Z', rollbackSet: 'rollback#storefront-api#c1#wave-2#us-east-1', rollbackDeploymentId: 'd-rx' };
      const sibling = { ...still, sk: 'wave-2#eu-west-1#storefront-api-beta', stage: 'wave-2', region: 'eu-west-1' };
      ddb.on(QueryCommand).resolves({ Items: [failedRegion, sibling] });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-rx' }).resolves({ deploymentInfo: { deploymentId: 'd-rx', status: 'InProgress' } });
      await expect(rollback({ ...earlier, stage: 'wave-2' })).rejects.toBeInstanceOf(RollbackElsewhereError);
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-beta' });
      expect(sfn).not.toHaveReceivedAnyCommand();
    });

    it('names a group whose rollback by that other one failed: the task fails with RollbackFailed, it may still serve the change', async () => {
      const failedRegion = { ...still, sk: 'wave-2#us-east-1#storefront-api-onebox', stage: 'wave-2', region: 'us-east-1', deploymentGroup: 'storefront-api-onebox', rollbackStartedAt: '2026-12-01T17:00:00.000Z', rollbackSet: 'rollback#storefront-api#c1#wave-2#us-east-1', rollbackDeploymentId: 'd-rx' };
      ddb.on(QueryCommand).resolves({ Items: [failedRegion] });
      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-rx' }).resolves({ deploymentInfo: { deploymentId: 'd-rx', status: 'Failed' } });
      sfn.on(SendTaskFailureCommand).resolves({});
      await expect(rollback({ ...earlier, stage: 'wave-2' })).resolves.toEqual({ rollbacks: 0 });
      expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
        error: 'RollbackFailed',
        cause: expect.stringContaining('storefront-api-onebox (us-east-1): its rollback d-rx by another rollback of the change ended Failed'),
      });
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    });

    describe('on a retry whose own restores all started', () => {
      const setKey = 'rollback#storefront-api#c1#wave-2#*#failed-in#wave-2';
      const other = { ...still, sk: 'wave-2#us-east-1#storefront-api-onebox', stage: 'wave-2', region: 'us-east-1', deploymentGroup: 'storefront-api-onebox', rollbackStartedAt: '2026-12-01T17:00:00.000Z', rollbackSet: 'rollback#storefront-api#c1#wave-2#us-east-1', rollbackDeploymentId: 'd-rx' };
      const own = { ...still, sk: 'wave-2#eu-west-1#storefront-api-beta', stage: 'wave-2', region: 'eu-west-1', rollbackStartedAt: '2026-12-01T17:00:00.000Z', rollbackAnnouncedAt: '2026-12-01T17:00:00.000Z', rollbackSet: setKey, rollbackDeploymentId: 'd-rs' };
      beforeEach(() => {
        // Its own set finished meanwhile (its one restore succeeded): a replay would report success.
        store.set(setKey, { pk: setKey, kind: 'rollback-set', status: 'DONE', token: 'rb-old', delivered: true, pending: 0, rolledBack: [], result: { ok: true, output: { rolledBack: [] } }, ...scope, stage: 'wave-2', region: undefined });
        ddb.on(QueryCommand).resolves({ Items: [other, own] });
        sfn.on(SendTaskFailureCommand).resolves({});
      });

      it('waits while the other rollback still restores its group, and replays nothing', async () => {
        codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-rx' }).resolves({ deploymentInfo: { deploymentId: 'd-rx', status: 'InProgress' } });
        await expect(rollback({ ...earlier, stage: 'wave-2', taskToken: 'rb-2' })).rejects.toBeInstanceOf(RollbackElsewhereError);
        expect(sfn).not.toHaveReceivedAnyCommand();
      });

      it('fails naming a group the other rollback failed to restore since its set was made', async () => {
        codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-rx' }).resolves({ deploymentInfo: { deploymentId: 'd-rx', status: 'Failed' } });
        await rollback({ ...earlier, stage: 'wave-2', taskToken: 'rb-2' });
        expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'rb-2', error: 'RollbackFailed', cause: expect.stringContaining('storefront-api-onebox (us-east-1)') });
        expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
      });
    });

    describe('a scope another rollback marked but never started a restore for', () => {
      const marked = (at: string, extra: Record<string, unknown> = { rollbackSet: 'rollback#storefront-api#c1#wave-2#us-east-1' }) => ({
        ...still,
        sk: 'wave-2#us-east-1#storefront-api-onebox',
        stage: 'wave-2',
        region: 'us-east-1',
        deploymentGroup: 'storefront-api-onebox',
        rollbackStartedAt: at,
        ...extra,
      });

      it('is waited for while that rollback may still start it (busy, for a quarter of an hour): never restored by two', async () => {
        ddb.on(QueryCommand).resolves({ Items: [marked(new Date(NOW.getTime() - 5 * 60_000).toISOString())] });
        await expect(rollback({ ...earlier, stage: 'wave-2' })).rejects.toBeInstanceOf(RollbackElsewhereError);
        expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      });

      it('is named unrestorable once that rollback left it (marked over 20 minutes ago), with the reason', async () => {
        sfn.on(SendTaskFailureCommand).resolves({});
        // `{}`: marked before marks named their set.
        for (const extra of [undefined, {}]) {
          ddb.on(QueryCommand).resolves({ Items: [marked('2026-12-01T17:00:00.000Z', extra)] });
          await expect(rollback({ ...earlier, stage: 'wave-2' })).resolves.toEqual({ rollbacks: 0 });
        }
        expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
          error: 'RollbackFailed',
          cause: expect.stringContaining('storefront-api-onebox (us-east-1): another rollback of the change marked it at 2026-12-01T17:00:00.000Z and never started its restore'),
        });
        expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 2);
        expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      });
    });

    it('names the first failed region of the wave when given its outcomes', async () => {
      ddb.on(QueryCommand).resolves({ Items: [still] });
      const outcomes = [
        { region: 'us-east-1', status: 'failed' as const, reason: JSON.stringify({ reason: 'alarm use1-faults went to ALARM', region: 'us-east-1' }) },
        { region: 'eu-west-1', status: 'succeeded' as const },
      ];
      await rollback({ ...earlier, reason: 'regions of wave-2 failed', outcomes });
      expect(published()[0]).toMatchObject({ reason: 'the change failed in wave-2: alarm use1-faults went to ALARM (in us-east-1)' });
    });
  });

  describe('a group without a previous revision to restore', () => {
    const first = item('storefront-api-sae1-az1', { target: 'fleet', unit: 'sae1-az1', status: 'IN_PROGRESS', deploymentId: 'd-2', previousRevision: undefined, previousLocation: undefined });
    beforeEach(() => {
      sfn.on(SendTaskFailureCommand).resolves({});
    });

    it('is stopped, and the task fails with RollbackFailed naming it when nothing else is restorable', async () => {
      ddb.on(QueryCommand).resolves({ Items: [first] });
      await expect(rollback(input)).resolves.toEqual({ rollbacks: 0 });
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(StopDeploymentCommand, { deploymentId: 'd-2', autoRollbackEnabled: false });
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
        taskToken: 'rb-1',
        error: 'RollbackFailed',
        cause: expect.stringContaining('storefront-api-sae1-az1 (sa-east-1)'),
      });
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    });

    it('counts a previous revision not pinned by an S3 version as nothing to restore: never rolls back by key alone', async () => {
      const keyOnly = { ...unit, previousLocation: { bucket: 'handsoff-artifacts', key: 'storefront-api/r0.zip', bundleType: 'zip' } };
      ddb.on(QueryCommand).resolves({ Items: [keyOnly] });
      await expect(rollback(input)).resolves.toEqual({ rollbacks: 0 });
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(StopDeploymentCommand, { deploymentId: 'd-2', autoRollbackEnabled: false });
      expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: 'rb-1', error: 'RollbackFailed' });
    });

    it('is stopped while the others are restored; then the task fails with RollbackFailed naming it', async () => {
      ddb.on(QueryCommand).resolves({ Items: [onebox, first] });
      await expect(rollback(input)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
      expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId: 'd-2', autoRollbackEnabled: false });
      expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { deploymentGroupName: 'storefront-api-onebox' });
      expect(store.get('rollback#storefront-api#c1#wave-1#sa-east-1')).toMatchObject({
        pending: 1,
        unrestorable: [{ deploymentGroup: 'storefront-api-sae1-az1', region: 'sa-east-1' }],
      });
      expect(sfn).not.toHaveReceivedAnyCommand();

      codeDeploy.on(GetDeploymentCommand, { deploymentId: 'd-r1' }).resolves({ deploymentInfo: { deploymentId: 'd-r1', status: 'Succeeded' } });
      await onDeploymentState('d-r1', 'SUCCESS');
      expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, {
        taskToken: 'rb-1',
        error: 'RollbackFailed',
        cause: expect.stringContaining('no previous revision to restore in storefront-api-sae1-az1 (sa-east-1)'),
      });
      expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { cause: expect.stringContaining('rolled back: storefront-api-onebox (sa-east-1)') });
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    });
  });
});

describe('rollback over a revision whose changes failed', () => {
  // c1 replaced r0 in the one-box; r0 is change r0's commit, and r0 replaced rA there. When r0
  // failed (elsewhere, after c1 was deployed over it), restoring it would put a failed change
  // back on the box: the rollback restores what r0 replaced.
  const rA = { bucket: 'handsoff-artifacts', key: 'storefront-api/rA.zip', bundleType: 'zip' as const, eTag: 'eA', version: 'vA' };
  const r0Record = { ...onebox, pk: 'storefront-api#r0', change: 'r0', revision: 'r0', previousRevision: 'rA', previousLocation: rA };
  const changes = (records: Record<string, { status?: string; commit?: string; rollingBackAt?: string }>) =>
    ddb.on(GetCommand).callsFake((get) => {
      if (get.TableName === 'waiters') return { Item: structuredClone(store.get(get.Key.pk)) };
      if (get.TableName === 'changes') {
        const change = String(get.Key.pk).replace(/^storefront-api#/, '');
        const record = records[change];
        return record ? { Item: { pk: get.Key.pk, sk: 'started', pipeline: 'storefront-api', change, commit: record.commit ?? change.replace(/-\d+$/, ''), ...record } } : {};
      }
      if (get.TableName === 'deployments') return get.Key.pk === r0Record.pk && get.Key.sk === r0Record.sk ? { Item: r0Record } : {};
      return {};
    });

  it('passes over a failed change: restores the revision that change replaced in the same group', async () => {
    changes({ r0: { status: 'failed' }, rA: { status: 'succeeded' } });
    ddb.on(QueryCommand).resolves({ Items: [onebox] });
    await expect(rollback(input)).resolves.toEqual({ rollbacks: 1, registration: 'created' });
    expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, {
      deploymentGroupName: 'storefront-api-onebox',
      revision: { revisionType: 'S3', s3Location: rA },
      description: expect.stringMatching(/^handsoff rollback storefront-api c1 wave-1 to rA: /),
    });
    expect(published()).toContainEqual(expect.objectContaining({ type: 'rollback.started', revision: 'rA', target: 'onebox' }));
    expect(store.get('deployment#d-r1')).toMatchObject({ kind: 'rollback', revision: 'rA' });
  });

  it('passes over a failing change too: one whose rollback began, not yet marked failed', async () => {
    changes({ r0: { rollingBackAt: '2026-12-01T17:55:00.000Z' }, rA: { status: 'succeeded' } });
    ddb.on(QueryCommand).resolves({ Items: [onebox] });
    await rollback(input);
    expect(codeDeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, { revision: { revisionType: 'S3', s3Location: rA } });
  });

  it('marks its own change failing, once, before it restores anything', async () => {
    changes({ r0: { status: 'succeeded' } });
    ddb.on(QueryCommand).resolves({ Items: [onebox] });
    const marks = () => ddb.commandCalls(UpdateCommand).filter((c) => c.args[0].input.TableName === 'changes');
    let markedBeforeRestore: number | undefined;
    codeDeploy.on(CreateDeploymentCommand).callsFake(() => {
      markedBeforeRestore ??= marks().length;
      return { deploymentId: 'd-r1' };
    });
    await rollback(input);
    expect(markedBeforeRestore).toBe(1);
    expect(marks().map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        Key: { pk: 'storefront-api#c1', sk: 'started' },
        UpdateExpression: 'SET #at = if_not_exists(#at, :now)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#at': 'rollingBackAt' },
      }),
    ]);
  });

  it('restores a revision that a later push of the same commit still carries without failing', async () => {
    changes({ r0: { status: 'failed' }, 'r0-2': { commit: 'r0' } });
    ddb.on(QueryCommand).resolves({ Items: [onebox] });
    await rollback(input);
    expect(codeDeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, { revision: { revisionType: 'S3', s3Location: { ...onebox.previousLocation, bundleType: 'zip' } } });
    expect(published()).toContainEqual(expect.objectContaining({ type: 'rollback.started', revision: 'r0' }));
  });

  it('restores nothing when the failed change left no record in the group: stopped only, the task fails naming the group', async () => {
    changes({ r0: { status: 'failed' } });
    ddb.on(QueryCommand).resolves({ Items: [unit] });
    sfn.on(SendTaskFailureCommand).resolves({});
    await expect(rollback(input)).resolves.toEqual({ rollbacks: 0 });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId: 'd-2' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'rb-1', cause: expect.stringContaining('storefront-api-sae1-az1 (sa-east-1)') });
  });
});
