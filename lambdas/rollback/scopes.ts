/**
 * The rollback handler's reads of the scopes it rolls back (lambdas/rollback/index.ts): where
 * the change's artifact is, whether a newer change replaced it in a group, and what a scope
 * another rollback set of the change began came to.
 */
import { artifactKey } from '../../core/naming.ts';
import { isRunningStatus } from '../../core/codedeploy.ts';
import { DeploymentGroupBusyError } from '../../core/errors.ts';
import { env, ENV } from '../shared/config.ts';
import { deploys, getDeployment, latestDeploymentId, revisionOf } from '../shared/codedeploy.ts';
import type { CopyRecord } from '../shared/region-artifact.ts';
import type { ArtifactLocation, DeploymentItem } from '../shared/tables.ts';

/** Where the change's artifact is in a group (its region copy, else the home bucket's pinned object). */
export const changeLocationOf = (item: DeploymentItem & CopyRecord): ArtifactLocation => item.location ?? ({
  bucket: env(ENV.ARTIFACT_BUCKET),
  key: artifactKey(item.pipeline, item.revision),
  bundleType: 'zip',
  ...(item.artifact ? { version: item.artifact.versionId, eTag: item.artifact.eTag } : {}),
});

/**
 * The revision of a newer deployment the group got since the change's (a later change, which
 * contains this one): the group's latest deployment is neither the change's, nor our rollback of
 * it, nor a deployment of the change's artifact or of the revision it replaced (CodeDeploy's
 * automatic rollback), and it succeeded. Such a group is left as it is. When CodeDeploy cannot
 * tell, undefined: the group is rolled back (a failed change must not keep serving on doubt).
 */
export const supersededBy = async (item: DeploymentItem): Promise<string | undefined> => {
  const latest = await latestDeploymentId({ region: item.region, application: item.application, deploymentGroup: item.deploymentGroup });
  if (!latest || latest === item.deploymentId || latest === item.rollbackDeploymentId) return undefined;
  const info = await getDeployment(item.region, latest);
  if (!info) return undefined;
  if (deploys(info, changeLocationOf(item))) return undefined;
  if (item.previousLocation && deploys(info, item.previousLocation)) return undefined;
  // Only a newer deployment that succeeded replaced the change on the group's hosts. One still
  // running may yet fail and roll back to this change: wait for it (the task retries). One that
  // failed or stopped may have left the change serving: roll back.
  if (isRunningStatus(info.status)) {
    throw new DeploymentGroupBusyError(`deployment ${latest} of a newer revision still runs in ${item.deploymentGroup} (${item.region}); rollback waits for its end`, {
      deploymentGroup: item.deploymentGroup,
      region: item.region,
      deploymentId: latest,
    });
  }
  if (info.status !== 'Succeeded') return undefined;
  const key = info.revision?.s3Location?.key;
  return key ? revisionOf(item.pipeline, key) : latest;
};

/**
 * A scope another rollback marked this long ago without starting its restore was left by it
 * (its busy retries last a quarter of an hour): named unrestorable, never taken over, since
 * that rollback may still be running and two sets must never restore one scope.
 */
export const ABANDONED_AFTER_MS = 20 * 60_000;

/**
 * What the scopes another rollback set of the change began came to, read from CodeDeploy
 * (never restored or counted twice here): restored (nothing to do), still running or about to
 * start (`restoring`), or failed, stopped or left (`failedThere`: unless a newer change was
 * deployed there since, the group may still serve the change, so it is named unrestorable).
 */
export const restoredElsewhere = async (items: DeploymentItem[]): Promise<{ restoring: DeploymentItem[]; failedThere: Array<DeploymentItem & { why: string }> }> => {
  const restoring: DeploymentItem[] = [];
  const failedThere: Array<DeploymentItem & { why: string }> = [];
  for (const item of items) {
    if (!item.rollbackDeploymentId) {
      const since = Date.parse(item.rollbackStartedAt ?? '');
      if (Date.now() - since > ABANDONED_AFTER_MS) {
        failedThere.push({ ...item, why: `another rollback of the change marked it at ${item.rollbackStartedAt} and never started its restore` });
      } else restoring.push(item);
      continue;
    }
    const status = (await getDeployment(item.region, item.rollbackDeploymentId))?.status;
    if (status === 'Succeeded') continue;
    if (status === undefined || isRunningStatus(status)) restoring.push(item);
    else if ((await supersededBy(item)) === undefined) failedThere.push({ ...item, why: `its rollback ${item.rollbackDeploymentId} by another rollback of the change ended ${status}` });
  }
  return { restoring, failedThere };
};
