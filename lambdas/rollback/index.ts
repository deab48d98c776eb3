/**
 * Handler `rollback` (`.waitForTaskToken`): restores the previously deployed revision in
 * every deployment group of (stage, region) that got the change, with the fast-rollback
 * configuration, passing over the revisions of failed changes (restoreTargetOf). The task completes when every rollback deployment succeeded
 * (on-deployment-event counts them down). A retry re-registers its token and only starts
 * rollbacks not started yet; CodeDeploy's one-deployment-per-group rule backs that up.
 *
 * A group claimed by start-deployment whose deployment id was never recorded (the attempt
 * died between CreateDeployment and recording it) is not taken for untouched: its deployment
 * of the artifact is looked up in CodeDeploy, in any status, stopped if it runs and the group
 * restored. The previous revision is restored by its S3 version (and ETag), never by key alone:
 * a group whose previous revision is not pinned by a version cannot be restored (RollbackFailed).
 * Before anything is restored, each previous revision's copy in its region's bucket is checked
 * (shared/region-artifact.ts checkedCopy: that version still there, its ETag, S3's SHA-256 the
 * one it was copied with); one that is missing or differs fails the rollback with the reason
 * (ArtifactUnavailable) rather than deploy an object handsoff cannot verify.
 */
import { StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventType } from '../../core/events.ts';
import { DeploymentConfig } from '../../core/naming.ts';
import { clients } from '../shared/clients.ts';
import { firstFailedRegion, reasonFromCause, regionFromCause } from '../shared/failure.ts';
import { createOrAdoptDeployment, findClaimedDeployment, getDeployment } from '../shared/codedeploy.ts';
import { RollbackInput, type RollbackResult } from '../../core/contracts.ts';
import { settleFromCodeDeploy, unrestorableResult } from '../shared/deployment-outcome.ts';
import { conditionalWrite, getItem, queryAll, setOnce } from '../shared/dynamo.ts';
import { markFailing, restoreTargetOf, type RestoreTarget } from '../shared/restore-target.ts';
import { endWaveHolds } from '../shared/wave-holds.ts';
import { changeLocationOf, restoredElsewhere, supersededBy } from './scopes.ts';
import { nowIso } from '../shared/duration.ts';
import { ArtifactUnavailableError, DeploymentGroupBusyError, hasName, InvalidInputError, RollbackElsewhereError } from '../../core/errors.ts';
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
  type DeploymentItem,
  type RollbackSetWaiter,
  type RollbackWaiter,
} from '../shared/tables.ts';
import { sendTaskFailure, sendTaskSuccess } from '../shared/tokens.ts';
import { registerWaiter, type Registration } from '../shared/waiters.ts';
import { checkedCopy } from '../shared/region-artifact.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface RollbackOutput {
  /** Deployment groups being rolled back (0: completed at once). */
  rollbacks: number;
  registration?: Registration;
}

const FINISHED: readonly string[] = [DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.STOPPED];

/**
 * A claim without a recorded deployment: finds the deployment of the change's artifact that a
 * crashed start-deployment created in the group (running or ended) and records it on the claim.
 * @returns the item with its deployment id, or undefined when CodeDeploy has none (nothing was deployed).
 */
const recoverUnrecorded = async (item: DeploymentItem): Promise<DeploymentItem | undefined> => {
  const found = await findClaimedDeployment(
    { region: item.region, application: item.application, deploymentGroup: item.deploymentGroup },
    changeLocationOf(item),
    item,
  );
  if (!found) return undefined;
  logger.warn('claimed deployment was never recorded; found it in CodeDeploy', { deploymentGroup: item.deploymentGroup, deploymentId: found.id, status: found.info.status });
  const recorded = await setOnce(table.deployments(), { pk: item.pk, sk: item.sk }, 'deploymentId', found.id);
  return { ...item, deploymentId: recorded ?? found.id };
};

/**
 * Stops the change's deployment if it may still run; our rollback replaces CodeDeploy's own.
 * @returns whether it still ran (CodeDeploy took the stop), false when it had ended.
 */
const stopIfRunning = async (item: DeploymentItem): Promise<boolean> => {
  if (FINISHED.includes(item.status)) return false;
  try {
    await clients()
      .codeDeploy(item.region)
      .send(new StopDeploymentCommand({ deploymentId: item.deploymentId!, autoRollbackEnabled: false }));
    logger.info('deployment stopped for rollback', { deploymentId: item.deploymentId });
    return true;
  } catch (err) {
    if (!hasName(err, 'DeploymentAlreadyCompletedException')) throw err;
    // Over already: stopped, by an attempt of this rollback that died before it said so, or done.
    return (await getDeployment(item.region, item.deploymentId!))?.status === 'Stopped';
  }
};

const startRollbackDeployment = async (item: DeploymentItem, target: RestoreTarget, reason: string): Promise<string> => {
  const location = target.location!;
  const group = { region: item.region, application: item.application, deploymentGroup: item.deploymentGroup };
  // A group already running a rollback of ours from a dead attempt, or CodeDeploy's automatic
  // one, restoring the same object: adopted. Anything else (the stopped deployment still
  // winding down): busy, retried. Version and ETag pin the exact previous object: CodeDeploy verifies them.
  const { id } = await createOrAdoptDeployment(
    group,
    location,
    {
      deploymentConfigName: DeploymentConfig.FAST_ROLLBACK,
      description: `handsoff rollback ${item.pipeline} ${item.change} ${item.stage} to ${target.revision ?? location.key}: ${reason}`.slice(0, 1000),
      autoRollbackConfiguration: { enabled: false },
    },
    `deployment group ${item.deploymentGroup} in ${item.region} is busy; rollback to ${target.revision ?? location.key} will be retried`,
  );
  return id;
};

/** Marks the start of a scope's rollback by the set `setPk`; true only for the first attempt that does. */
const markRollbackStarted = (item: DeploymentItem, setPk: string): Promise<boolean> =>
  conditionalWrite(
    new UpdateCommand({
      TableName: table.deployments(),
      Key: { pk: item.pk, sk: item.sk },
      UpdateExpression: 'SET #started = :now, #set = :set',
      ConditionExpression: 'attribute_not_exists(#started)',
      ExpressionAttributeNames: { '#started': 'rollbackStartedAt', '#set': 'rollbackSet' },
      ExpressionAttributeValues: { ':now': nowIso(), ':set': setPk },
    }),
  );

/** Records the rollback on the deployment item; the first recorded id wins. */
const recordRollback = async (item: DeploymentItem, rollbackId: string): Promise<string> => {
  const recorded = await setOnce(table.deployments(), { pk: item.pk, sk: item.sk }, 'rollbackDeploymentId', rollbackId);
  if (recorded !== rollbackId) logger.warn('another rollback was recorded for this deployment first', { deploymentId: item.deploymentId, rollbackId, recorded });
  return recorded ?? rollbackId;
};

const registerRollbackWaiter = async (item: DeploymentItem, target: RestoreTarget, rollbackId: string, parent: string): Promise<Registration> => {
  const now = nowIso();
  const waiter: RollbackWaiter = {
    pk: deploymentWaiterKey(rollbackId),
    kind: WaiterKind.ROLLBACK,
    status: WaiterStatus.OPEN,
    ...scopeOf(item),
    alarms: [],
    deploymentId: rollbackId,
    revision: target.revision ?? target.location!.key,
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
  const { pipeline, change, stage, failedIn } = input;
  const failedRegion = firstFailedRegion(input.outcomes);
  const cause = failedRegion ? `${failedRegion.reason} (in ${failedRegion.region})` : reasonFromCause(input.reason ?? 'rollback');
  const reason = failedIn ? `the change failed in ${failedIn}: ${cause}` : cause;
  // A wave-level rollback (no region) after a failure that names its region (an alarm of one
  // region failed the wave bake) rolls back that region only; the other regions keep the
  // change, as when one region of a wave fails. Without a named region: every region. An
  // earlier stage of a change that failed later (`failedIn`): every region that got it.
  const region = input.region ?? (failedIn ? undefined : regionFromCause(input.reason));
  // Every rollback of a change fails it: marked first, so that no rollback of another change
  // restores it meanwhile (its status is set when its earlier stages are rolled back).
  await markFailing(pipeline, change);

  const items = await queryAll<DeploymentItem>({
    TableName: table.deployments(),
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
    ExpressionAttributeValues: { ':pk': `${pipeline}#${change}`, ':prefix': deploymentSkPrefix(stage, region) },
  });
  // A scope another rollback of the change began (the failed region's own, the wave's) is left
  // to that one: its set counts it down, not this one. What it came to is read (restoredElsewhere).
  const setPk = rollbackSetKey(pipeline, change, stage, input.region, failedIn);
  const deployed: DeploymentItem[] = [];
  const elsewhere: DeploymentItem[] = [];
  for (const item of items) {
    if (item.rollbackStartedAt !== undefined && item.rollbackSet !== setPk) {
      elsewhere.push(item);
      continue;
    }
    if (item.deploymentId) deployed.push(item);
    else {
      // Claimed, but the id never recorded: CodeDeploy may still have (or have had) a deployment of it.
      const recovered = await recoverUnrecorded(item);
      if (recovered) deployed.push(recovered);
    }
  }
  // A group a newer change was deployed to since keeps it: rolling it back would remove the newer change.
  const current: DeploymentItem[] = [];
  const superseded: NonNullable<RollbackResult['superseded']> = [];
  for (const item of deployed) {
    const newer = await supersededBy(item);
    if (newer === undefined) current.push(item);
    else {
      superseded.push({ deploymentGroup: item.deploymentGroup, region: item.region, revision: newer });
      logger.info('a newer deployment replaced the change in this group; not rolled back', { deploymentGroup: item.deploymentGroup, region: item.region, newer });
    }
  }
  const targets = new Map<DeploymentItem, RestoreTarget>();
  for (const item of current) {
    const target = await restoreTargetOf(item);
    targets.set(item, target);
    if (target.passedOver.length > 0) {
      logger.info('the revision the change replaced is a failed change; restoring what that one replaced', {
        deploymentGroup: item.deploymentGroup,
        region: item.region,
        passedOver: target.passedOver,
        restoring: target.revision,
      });
    }
  }
  const targetOf = (item: DeploymentItem): RestoreTarget => targets.get(item)!;
  const restorable = current.filter((i) => targetOf(i).location);
  const unrestorable = current.filter((i) => !restorable.includes(i));
  for (const item of unrestorable) {
    // The group's first deployment, a previous revision not pinned by an S3 version, or only
    // failed changes before this one: nothing exact and sound to restore; stop it.
    logger.warn('no previous revision to restore; deployment stopped only', {
      deploymentGroup: item.deploymentGroup,
      region: item.region,
      previous: item.previousLocation?.key ?? item.previousRevision,
      passedOver: targetOf(item).passedOver,
    });
    await stopIfRunning(item);
  }
  // Those groups keep serving what they got: once the others are restored, the task fails (RollbackFailed).
  const { restoring, failedThere } = await restoredElsewhere(elsewhere);
  const unrestorableGroups = [
    ...unrestorable.map((i) => ({ deploymentGroup: i.deploymentGroup, region: i.region })),
    ...failedThere.map((i) => ({ deploymentGroup: i.deploymentGroup, region: i.region, why: i.why })),
  ];
  // Another set still restoring a group of the scope: this task ends only once it has (RollbackElsewhere, retried).
  const waiting = restoring.length > 0 ? new RollbackElsewhereError(`another rollback of the change is still restoring ${restoring.map((i) => `${i.deploymentGroup} (${i.region})`).join(', ')}`) : undefined;
  // A wave rolled back as a whole: the holds of its regions wait for nothing any more. Ended
  // once the restores are started, and never in their way (best effort: a hold left open ends at its cap).
  const endHolds = async (): Promise<void> => {
    if (input.region !== undefined) return;
    try {
      await endWaveHolds(pipeline, change, stage, [...new Set(items.map((i) => i.region))]);
    } catch (err) {
      logger.warn('the wave holds could not be ended; each ends at its cap', { pipeline, change, stage, error: err as Error });
    }
  };
  // With no restore of its own left to start (none at all, or a retry whose restores all
  // started), it waits for another rollback still restoring a group before anything else (a
  // replay of its set would report success meanwhile), and fails naming a group that other
  // rollback failed to restore since its set was made.
  if (restorable.every((i) => i.rollbackDeploymentId)) {
    if (waiting) throw waiting;
    const made = failedThere.length > 0 ? await getItem<RollbackSetWaiter>(table.waiters(), { pk: setPk }) : undefined;
    if (made && !failedThere.every((g) => made.unrestorable?.some((u) => u.deploymentGroup === g.deploymentGroup && u.region === g.region))) {
      await endHolds();
      const failure = unrestorableResult(unrestorableGroups);
      await sendTaskFailure(input.taskToken, failure.error, failure.cause);
      return { rollbacks: restorable.length };
    }
  }
  if (restorable.length === 0) await endHolds();
  if (restorable.length === 0 && unrestorableGroups.length > 0) {
    const failure = unrestorableResult(unrestorableGroups);
    await sendTaskFailure(input.taskToken, failure.error, failure.cause);
    logger.error('nothing could be rolled back', { pipeline, change, stage, region: region ?? '*', unrestorable: unrestorableGroups });
    return { rollbacks: 0 };
  }
  if (restorable.length === 0) {
    await sendTaskSuccess(input.taskToken, { rolledBack: [], ...(superseded.length > 0 ? { superseded } : {}) } satisfies RollbackResult);
    logger.info('nothing to roll back', { pipeline, change, stage, region: region ?? '*' });
    return { rollbacks: 0 };
  }

  // Every copy to restore is checked before any is restored: a rollback never deploys an object
  // it cannot verify. The change's deployment in a group that fails the check is still stopped.
  const checked = new Map<DeploymentItem, string>();
  const unverified: { item: DeploymentItem; error: ArtifactUnavailableError }[] = [];
  for (const item of restorable.filter((i) => !i.rollbackDeploymentId)) {
    try {
      checked.set(item, await checkedCopy(item.region, targetOf(item).location!));
    } catch (err) {
      if (!(err instanceof ArtifactUnavailableError)) throw err;
      unverified.push({ item, error: err });
    }
  }
  if (unverified.length > 0) {
    for (const { item } of unverified) await stopIfRunning(item);
    logger.error('a copy to restore could not be verified; nothing restored', { pipeline, change, stage, groups: unverified.map((u) => u.item.deploymentGroup) });
    throw unverified[0]!.error;
  }

  const now = nowIso();
  const set: RollbackSetWaiter = {
    // Keyed by the task's own scope: a retry of the same task finds the same set.
    pk: setPk,
    kind: WaiterKind.ROLLBACK_SET,
    status: WaiterStatus.OPEN,
    token: input.taskToken,
    ...scopeOf(input),
    alarms: [],
    pending: restorable.length,
    reason,
    rolledBack: [],
    unrestorable: unrestorableGroups.length > 0 ? unrestorableGroups : undefined,
    superseded: superseded.length > 0 ? superseded : undefined,
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
    // Stopped first (a stop that fails leaves the scope unmarked), and the stop recorded, so
    // that a retry's announcement still names it. The scope is announced once marked by this
    // set, and marked announced after: a retry announces what a failed publish left unannounced.
    const stopped = (await stopIfRunning(item)) ? await setOnce(table.deployments(), { pk: item.pk, sk: item.sk }, 'rollbackStopped', item.deploymentId!) : item.rollbackStopped;
    const ours = item.rollbackSet === set.pk && item.rollbackStartedAt !== undefined;
    if ((ours && item.rollbackAnnouncedAt === undefined) || (!ours && (await markRollbackStarted(item, set.pk)))) {
      await publish([
        {
          type: EventType.ROLLBACK_STARTED,
          ...scopeOf(item),
          revision: targetOf(item).revision ?? targetOf(item).location!.key,
          sha256: checked.get(item),
          // Only a deployment that still ran when the rollback began (not one that had succeeded).
          ...(stopped ? { stopped } : {}),
          reason,
        },
      ]);
      await setOnce(table.deployments(), { pk: item.pk, sk: item.sk }, 'rollbackAnnouncedAt', nowIso());
    }
  }
  // 2. Restore: a rollback deployment per group. A group whose stopped deployment is still
  //    finishing its batch refuses it; the others go ahead and the task retries for that one.
  let busy: DeploymentGroupBusyError | undefined;
  for (const item of restorable) {
    if (item.rollbackDeploymentId) {
      // Started by an earlier attempt: make sure its waiter exists, and settle it if the
      // rollback ended while none did.
      if ((await registerRollbackWaiter(item, targetOf(item), item.rollbackDeploymentId, set.pk)) === 'created') {
        await settleFromCodeDeploy(item.region, item.rollbackDeploymentId);
      }
      continue;
    }
    try {
      const rollbackId = await recordRollback(item, await startRollbackDeployment(item, targetOf(item), reason));
      await registerRollbackWaiter(item, targetOf(item), rollbackId, set.pk);
    } catch (err) {
      if (!(err instanceof DeploymentGroupBusyError)) throw err;
      busy ??= err;
    }
  }
  await endHolds();
  if (busy ?? waiting) throw busy ?? waiting;
  return { rollbacks: restorable.length, registration };
};

export const handler = lambdaHandler('rollback', RollbackInput, rollback);
