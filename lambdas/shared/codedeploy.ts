/** CodeDeploy calls shared by start-deployment, rollback and the deployment-event handler. */
import {
  CreateDeploymentCommand,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  type AlarmConfiguration,
  type CreateDeploymentCommandInput,
  type DeploymentInfo,
  type DeploymentStatus as SdkDeploymentStatus,
  type S3Location,
} from '@aws-sdk/client-codedeploy';
import { RUNNING_STATUSES } from '../../core/codedeploy.ts';
import { artifactKey } from '../../core/naming.ts';
import { clients } from './clients.ts';
import { DeploymentGroupBusyError, hasName } from '../../core/errors.ts';
import type { ArtifactLocation } from './tables.ts';

export interface GroupRef {
  region: string;
  application: string;
  deploymentGroup: string;
}

/** Revision id of an artifact key (`${pipeline}/${revision}.zip`); the raw key otherwise. */
export const revisionOf = (pipeline: string, key: string): string => {
  const prefix = artifactKey(pipeline, '').replace(/\.zip$/, '');
  return key.startsWith(prefix) && key.endsWith('.zip') ? key.slice(prefix.length, -'.zip'.length) : key;
};

export const getDeployment = async (region: string, deploymentId: string): Promise<DeploymentInfo | undefined> =>
  (await clients().codeDeploy(region).send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo;

/** The CodeDeploy S3 revision of a location: bucket, key, bundle type, and the object's version and ETag when known. */
export const s3LocationOf = (location: ArtifactLocation): S3Location => ({
  bucket: location.bucket,
  key: location.key,
  bundleType: (location.bundleType ?? 'zip') as S3Location['bundleType'],
  ...(location.version ? { version: location.version } : {}),
  ...(location.eTag ? { eTag: location.eTag } : {}),
});

/** True when the deployment's S3 revision is `location`: same bucket and key, and the same version and ETag where `location` pins them. */
export const deploys = (info: DeploymentInfo | undefined, location: ArtifactLocation): boolean => {
  const s3 = info?.revision?.s3Location;
  if (!s3 || s3.key !== location.key) return false;
  if (s3.bucket !== undefined && s3.bucket !== location.bucket) return false;
  if (location.version && s3.version !== location.version) return false;
  if (location.eTag && s3.eTag !== location.eTag) return false;
  return true;
};

/** The revision the group runs now: that of its last successful deployment. */
export const currentRevision = async (
  pipeline: string,
  group: GroupRef,
): Promise<{ revision: string; location: ArtifactLocation } | undefined> => {
  const info = (
    await clients()
      .codeDeploy(group.region)
      .send(new GetDeploymentGroupCommand({ applicationName: group.application, deploymentGroupName: group.deploymentGroup }))
  ).deploymentGroupInfo;
  const lastId = info?.lastSuccessfulDeployment?.deploymentId;
  if (!lastId) return undefined;
  const s3 = (await getDeployment(group.region, lastId))?.revision?.s3Location;
  if (!s3?.bucket || !s3.key) return undefined;
  return {
    revision: revisionOf(pipeline, s3.key),
    location: { bucket: s3.bucket, key: s3.key, bundleType: s3.bundleType, eTag: s3.eTag, version: s3.version },
  };
};

/**
 * The deployment's own alarm configuration when `spared` alarms (a team aggregate a team-alarm
 * override spares for the change) are among the group's: the group's alarms without them, so
 * CodeDeploy does not stop the overriding deployment on the aggregate while handsoff's own
 * judges spare it. Undefined when the group lists none of them (the group's configuration
 * stands). Needs codedeploy:UpdateDeploymentGroup on the group (CodeDeploy's rule).
 */
export const alarmConfigurationWithout = async (group: GroupRef, spared: readonly string[]): Promise<AlarmConfiguration | undefined> => {
  if (spared.length === 0) return undefined;
  const config = (
    await clients()
      .codeDeploy(group.region)
      .send(new GetDeploymentGroupCommand({ applicationName: group.application, deploymentGroupName: group.deploymentGroup }))
  ).deploymentGroupInfo?.alarmConfiguration;
  const alarms = config?.alarms ?? [];
  if (!config?.enabled || !alarms.some((a) => a.name && spared.includes(a.name))) return undefined;
  const rest = alarms.filter((a) => !a.name || !spared.includes(a.name));
  return rest.length > 0 ? { enabled: true, ignorePollAlarmFailure: config.ignorePollAlarmFailure ?? false, alarms: rest } : { enabled: false };
};

/** Id of the group's latest deployment (CodeDeploy's last attempted one, in any status), if CodeDeploy names one. */
export const latestDeploymentId = async (group: GroupRef): Promise<string | undefined> =>
  (
    await clients()
      .codeDeploy(group.region)
      .send(new GetDeploymentGroupCommand({ applicationName: group.application, deploymentGroupName: group.deploymentGroup }))
  )?.deploymentGroupInfo?.lastAttemptedDeployment?.deploymentId;

export interface DeploymentQuery {
  /** The artifact the deployment deploys. */
  location: ArtifactLocation;
  /** Only deployments still running (the default), or in any status (running or ended). */
  statuses?: 'running' | 'any';
  /** Only deployments with this description (handsoff's own, of one change and stage). */
  description?: string;
  /** Only deployments created at or after this time. */
  since?: Date;
}

/** The newest deployment in the group of `query.location` (and description), if any. */
export const findDeployment = async (group: GroupRef, query: DeploymentQuery): Promise<{ id: string; info: DeploymentInfo } | undefined> => {
  let nextToken: string | undefined;
  do {
    const page = await clients()
      .codeDeploy(group.region)
      .send(
        new ListDeploymentsCommand({
          applicationName: group.application,
          deploymentGroupName: group.deploymentGroup,
          ...(query.statuses === 'any' ? {} : { includeOnlyStatuses: RUNNING_STATUSES as SdkDeploymentStatus[] }),
          ...(query.since ? { createTimeRange: { start: query.since } } : {}),
          nextToken,
        }),
      );
    for (const id of page.deployments ?? []) {
      const info = await getDeployment(group.region, id);
      if (!deploys(info, query.location)) continue;
      // A deployment without handsoff's description is not one of ours, whatever it deploys.
      if (query.description !== undefined && info?.description !== query.description) continue;
      return { id, info: info! };
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
};

/** The description handsoff gives the deployment of a change in a stage: how it is found again. */
export const deploymentDescription = (s: { pipeline: string; change: string; stage: string }): string => `handsoff ${s.pipeline} ${s.change} ${s.stage}`;

/** How far before its claim a crashed attempt's deployment may have been created (clock skew between Lambda and CodeDeploy). */
const CLAIM_SKEW_MS = 5 * 60_000;

/**
 * The deployment a crashed attempt created for a claim (the attempt died between
 * CreateDeployment and recording it): the change's artifact, handsoff's description of the
 * change and stage, created since the claim, running or ended.
 */
export const findClaimedDeployment = (
  group: GroupRef,
  location: ArtifactLocation,
  claim: { pipeline: string; change: string; stage: string; claimedAt: string },
): Promise<{ id: string; info: DeploymentInfo } | undefined> => {
  const since = Date.parse(claim.claimedAt);
  return findDeployment(group, {
    location,
    statuses: 'any',
    description: deploymentDescription(claim),
    ...(Number.isFinite(since) ? { since: new Date(since - CLAIM_SKEW_MS) } : {}),
  });
};

/** A deployment still running in the group whose artifact is `location`, if any. */
export const findRunningDeployment = async (group: GroupRef, location: ArtifactLocation): Promise<string | undefined> =>
  (await findDeployment(group, { location }))?.id;

/**
 * Creates a deployment of the artifact `location` in the group. When CodeDeploy refuses because
 * the group runs one already, adopts it if it deploys the same artifact (created by an
 * attempt that died before recording it); otherwise throws DeploymentGroupBusy (retried)
 * with `busyMessage`.
 */
export const createOrAdoptDeployment = async (
  group: GroupRef,
  location: ArtifactLocation,
  input: Omit<CreateDeploymentCommandInput, 'applicationName' | 'deploymentGroupName' | 'revision'>,
  busyMessage: string,
): Promise<{ id: string; adopted: boolean }> => {
  try {
    const created = await clients()
      .codeDeploy(group.region)
      .send(
        new CreateDeploymentCommand({
          applicationName: group.application,
          deploymentGroupName: group.deploymentGroup,
          revision: { revisionType: 'S3', s3Location: s3LocationOf(location) },
          ...input,
        }),
      );
    if (!created.deploymentId) throw new Error(`CodeDeploy returned no deploymentId for ${group.deploymentGroup}`);
    return { id: created.deploymentId, adopted: false };
  } catch (err) {
    if (!hasName(err, 'DeploymentLimitExceededException')) throw err;
    const running = await findRunningDeployment(group, location);
    if (running) return { id: running, adopted: true };
    throw new DeploymentGroupBusyError(busyMessage, { region: group.region, deploymentGroup: group.deploymentGroup }, { cause: err });
  }
};
