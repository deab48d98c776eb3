/**
 * Handler `rollback` (`.waitForTaskToken`): restores the previously deployed revision in
 * every deployment group of (stage, region) that got the change, with the fast-rollback
 * configuration. The task completes when every rollback deployment succeeded
 * (on-deployment-event counts them down). A retry re-registers its token and only starts
 * rollbacks not started yet; CodeDeploy's one-deployment-per-group rule backs that up.
 */
import { StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventType } from '../../core/events.ts';
import { artifactKey, DeploymentConfig } from '../../core/naming.ts';
import { clients } from '../shared/clients.ts';
import { reasonFromCause, regionFromCause } from '../shared/failure.ts';
import { createOrAdoptDeployment } from '../shared/codedeploy.ts';
import { env, ENV } from '../shared/config.ts';
import { RollbackInput, type RollbackResult } from '../../core/contracts.ts';
import { settleFromCodeDeploy, unrestorableResult } from '../shared/deployment-outcome.ts';
import { conditionalWrite, conflictingItem, isConditionalCheckFailed, queryAll } from '../shared/dynamo.ts';
import { nowIso } from '../shared/duration.ts';
import { DeploymentGroupBusyError, hasName, InvalidInputError } from '../../core/errors.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import {
  DeploymentStatus,
  deploymentSkPrefix,
  deploymentWaiterKey,
  expiresAt,
  rollbackSetKey,
  scopeOf,
  table,
  WaiterKind,
  WaiterStatus,
  type ArtifactLocation,
  type DeploymentItem,
  type RollbackSetWaiter,
  type RollbackWaiter,
} from '../shared/tables.ts';
import { sendTaskFailure, sendTaskSuccess } from '../shared/tokens.ts';
import { registerWaiter, type Registration } from '../shared/waiters.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface RollbackOutput {
  /** Deployment groups being rolled back (0: completed at once). */
  rollbacks: number;
  registration?: Registration;
}

const FINISHED: readonly string[] = [DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.STOPPED];

const locationOf = (item: DeploymentItem): ArtifactLocation =>
  item.previousLocation ?? {
    bucket: env(ENV.ARTIFACT_BUCKET),
    key: artifactKey(item.pipeline, item.previousRevision!),
    bundleType: 'zip',
  };

/** Stops the change's deployment if it may still run; our rollback replaces CodeDeploy's own. */
const stopIfRunning = async (item: DeploymentItem): Promise<void> => {
  if (FINISHED.includes(item.status)) return;
  try {
    await clients()
      .codeDeploy(item.region)
      .send(new StopDeploymentCommand({ deploymentId: item.deploymentId!, autoRollbackEnabled: false }));
    logger.info('deployment stopped for rollback', { deploymentId: item.deploymentId });
  } catch (err) {
    if (!hasName(err, 'DeploymentAlreadyCompletedException')) throw err;
  }
};

const startRollbackDeployment = async (item: DeploymentItem, reason: string): Promise<string> => {
  const location = locationOf(item);
  const group = { region: item.region, application: item.application, deploymentGroup: item.deploymentGroup };
  // A group already running a rollback of ours from a dead attempt, or CodeDeploy's automatic
  // one, restoring the same artifact: adopted. Anything else (the stopped deployment still
  // winding down): busy, retried.
  const { id } = await createOrAdoptDeployment(
    group,
    location.key,
    {
      revision: {
        revisionType: 'S3',
        // eTag/version pin the exact previous artifact: CodeDeploy verifies them.
        s3Location: {
          bucket: location.bucket,
          key: location.key,
          bundleType: (location.bundleType ?? 'zip') as 'zip',
          eTag: location.eTag,
          version: location.version,
        },
      },
      deploymentConfigName: DeploymentConfig.FAST_ROLLBACK,
      description: `handsoff rollback ${item.pipeline} ${item.change} ${item.stage} to ${item.previousRevision}: ${reason}`.slice(0, 1000),
      autoRollbackConfiguration: { enabled: false },
    },
    `deployment group ${item.deploymentGroup} in ${item.region} is busy; rollback to ${item.previousRevision} will be retried`,
  );
  return id;
};

/** Marks the start of a scope's rollback; true only for the first attempt that does. */
const markRollbackStarted = (item: DeploymentItem): Promise<boolean> =>
  conditionalWrite(
    new UpdateCommand({
      TableName: table.deployments(),
      Key: { pk: item.pk, sk: item.sk },
      UpdateExpression: 'SET #started = :now',
      ConditionExpression: 'attribute_not_exists(#started)',
      ExpressionAttributeNames: { '#started': 'rollbackStartedAt' },
      ExpressionAttributeValues: { ':now': nowIso() },
    }),
  );

/** Records the rollback on the deployment item; the first recorded id wins. */
const recordRollback = async (item: DeploymentItem, rollbackId: string): Promise<string> => {
  try {
    await clients()
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: table.deployments(),
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: 'SET #rid = :rid, #updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(#rid) OR #rid = :rid',
          ExpressionAttributeNames: { '#rid': 'rollbackDeploymentId', '#updatedAt': 'updatedAt' },
          ExpressionAttributeValues: { ':rid': rollbackId, ':now': nowIso() },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    return rollbackId;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const recorded = (await conflictingItem<DeploymentItem>(err, table.deployments(), { pk: item.pk, sk: item.sk }))?.rollbackDeploymentId;
    logger.warn('another rollback was recorded for this deployment first', { deploymentId: item.deploymentId, rollbackId, recorded });
    return recorded ?? rollbackId;
  }
};

const registerRollbackWaiter = async (item: DeploymentItem, rollbackId: string, parent: string): Promise<Registration> => {
  const now = nowIso();
  const waiter: RollbackWaiter = {
    pk: deploymentWaiterKey(rollbackId),
    kind: WaiterKind.ROLLBACK,
    status: WaiterStatus.OPEN,
    ...scopeOf(item),
    alarms: [],
    deploymentId: rollbackId,
    revision: item.previousRevision ?? locationOf(item).key,
    deploymentGroup: item.deploymentGroup,
    parent,
    deploymentsPk: item.pk,
    deploymentsSk: item.sk,
    createdAt: now,
    updatedAt: now,
    expiresAt: expiresAt(Date.now()),
  };
  return registerWaiter(waiter);
};

export const rollback = async (input: RollbackInput): Promise<RollbackOutput> => {
  const missing = (['pipeline', 'change', 'stage', 'taskToken'] as const).filter((f) => typeof input?.[f] !== 'string' || !input[f]);
  if (missing.length > 0) throw new InvalidInputError(`rollback input lacks ${missing.join(', ')}`);
  const { pipeline, change, stage } = input;
  const reason = reasonFromCause(input.reason ?? 'rollback');
  // A wave-level rollback (no region) after a failure that names its region (an alarm of one
  // region failed the wave bake) rolls back that region only; the other regions keep the
  // change, as when one region of a wave fails. Without a named region: every region.
  const region = input.region ?? regionFromCause(input.reason);

  const items = await queryAll<DeploymentItem>({
    TableName: table.deployments(),
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
    ExpressionAttributeValues: { ':pk': `${pipeline}#${change}`, ':prefix': deploymentSkPrefix(stage, region) },
  });
  const deployed = items.filter((i) => i.deploymentId);
  const restorable = deployed.filter((i) => i.previousRevision || i.previousLocation);
  const unrestorable = deployed.filter((i) => !restorable.includes(i));
  for (const item of unrestorable) {
    // The group's first deployment: there is no previous revision to restore; stop it.
    logger.warn('no previous revision to restore; deployment stopped only', { deploymentGroup: item.deploymentGroup, region: item.region });
    await stopIfRunning(item);
  }
  // Those groups keep serving what they got: once the others are restored, the task fails (RollbackFailed).
  const unrestorableGroups = unrestorable.map((i) => ({ deploymentGroup: i.deploymentGroup, region: i.region }));
  if (restorable.length === 0 && unrestorableGroups.length > 0) {
    const failure = unrestorableResult(unrestorableGroups);
    await sendTaskFailure(input.taskToken, failure.error, failure.cause);
    logger.error('nothing could be rolled back', { pipeline, change, stage, region: region ?? '*', unrestorable: unrestorableGroups });
    return { rollbacks: 0 };
  }
  if (restorable.length === 0) {
    await sendTaskSuccess(input.taskToken, { rolledBack: [] } satisfies RollbackResult);
    logger.info('nothing to roll back', { pipeline, change, stage, region: region ?? '*' });
    return { rollbacks: 0 };
  }

  const now = nowIso();
  const set: RollbackSetWaiter = {
    // Keyed by the task's own scope: a retry of the same task finds the same set.
    pk: rollbackSetKey(pipeline, change, stage, input.region),
    kind: WaiterKind.ROLLBACK_SET,
    status: WaiterStatus.OPEN,
    token: input.taskToken,
    ...scopeOf(input),
    alarms: [],
    pending: restorable.length,
    reason,
    rolledBack: [],
    unrestorable: unrestorableGroups.length > 0 ? unrestorableGroups : undefined,
    createdAt: now,
    updatedAt: now,
    expiresAt: expiresAt(Date.now()),
  };
  const registration = await registerWaiter(set);
  if (registration === 'replayed') return { rollbacks: restorable.length, registration };

  // 1. Begin: every scope that got the change is announced once (the moment handsoff starts
  //    rolling it back) and its deployment stopped if it still runs. Nothing here waits for
  //    CodeDeploy, so the reaction to an alarm is seconds, whatever the groups are doing.
  for (const item of restorable.filter((i) => !i.rollbackDeploymentId)) {
    if (await markRollbackStarted(item)) {
      await publish([
        {
          type: EventType.ROLLBACK_STARTED,
          ...scopeOf(item),
          revision: item.previousRevision ?? locationOf(item).key,
          stopped: item.deploymentId,
          reason,
        },
      ]);
    }
    await stopIfRunning(item);
  }
  // 2. Restore: a rollback deployment per group. A group whose stopped deployment is still
  //    finishing its batch refuses it; the others go ahead and the task retries for that one.
  let busy: DeploymentGroupBusyError | undefined;
  for (const item of restorable) {
    if (item.rollbackDeploymentId) {
      // Started by an earlier attempt: make sure its waiter exists, and settle it if the
      // rollback ended while none did.
      if ((await registerRollbackWaiter(item, item.rollbackDeploymentId, set.pk)) === 'created') {
        await settleFromCodeDeploy(item.region, item.rollbackDeploymentId);
      }
      continue;
    }
    try {
      const rollbackId = await recordRollback(item, await startRollbackDeployment(item, reason));
      await registerRollbackWaiter(item, rollbackId, set.pk);
    } catch (err) {
      if (!(err instanceof DeploymentGroupBusyError)) throw err;
      busy ??= err;
    }
  }
  if (busy) throw busy;
  return { rollbacks: restorable.length, registration };
};

export const handler = lambdaHandler('rollback', RollbackInput, rollback);
