/** CodeDeploy calls shared by start-deployment, rollback and the deployment-event handler. */
import {
  CreateDeploymentCommand,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  type CreateDeploymentCommandInput,
  type DeploymentStatus as CodeDeployStatus,
} from '@aws-sdk/client-codedeploy';
import { artifactKey } from '../../core/naming.ts';
import { clients } from './clients.ts';
import { DeploymentGroupBusyError, hasName } from '../../core/errors.ts';
import type { ArtifactLocation } from './tables.ts';

export interface GroupRef {
  region: string;
  application: string;
  deploymentGroup: string;
}

/** Statuses of a deployment that still occupies its group. */
export const RUNNING_STATUSES: CodeDeployStatus[] = ['Created', 'Queued', 'InProgress'];

/** CodeDeploy terminal statuses as the state-change events name them. */
export const TERMINAL_STATE: Partial<Record<string, string>> = {
  Succeeded: 'SUCCESS',
  Failed: 'FAILURE',
  Stopped: 'STOP',
};

/** Revision id of an artifact key (`${pipeline}/${revision}.zip`); the raw key otherwise. */
export const revisionOf = (pipeline: string, key: string): string => {
  const prefix = artifactKey(pipeline, '').replace(/\.zip$/, '');
  return key.startsWith(prefix) && key.endsWith('.zip') ? key.slice(prefix.length, -'.zip'.length) : key;
};

export const getDeployment = async (region: string, deploymentId: string) =>
  (await clients().codeDeploy(region).send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo;

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

/** A deployment still running in the group whose artifact is `key`, if any. */
export const findRunningDeployment = async (group: GroupRef, key: string): Promise<string | undefined> => {
  let nextToken: string | undefined;
  do {
    const page = await clients()
      .codeDeploy(group.region)
      .send(
        new ListDeploymentsCommand({
          applicationName: group.application,
          deploymentGroupName: group.deploymentGroup,
          includeOnlyStatuses: RUNNING_STATUSES,
          nextToken,
        }),
      );
    for (const id of page.deployments ?? []) {
      const info = await getDeployment(group.region, id);
      if (info?.revision?.s3Location?.key === key) return id;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
};

/**
 * Creates a deployment of the artifact `key` in the group. When CodeDeploy refuses because
 * the group runs one already, adopts it if it deploys the same artifact (created by an
 * attempt that died before recording it); otherwise throws DeploymentGroupBusy (retried)
 * with `busyMessage`.
 */
export const createOrAdoptDeployment = async (
  group: GroupRef,
  key: string,
  input: Omit<CreateDeploymentCommandInput, 'applicationName' | 'deploymentGroupName'>,
  busyMessage: string,
): Promise<{ id: string; adopted: boolean }> => {
  try {
    const created = await clients()
      .codeDeploy(group.region)
      .send(new CreateDeploymentCommand({ applicationName: group.application, deploymentGroupName: group.deploymentGroup, ...input }));
    if (!created.deploymentId) throw new Error(`CodeDeploy returned no deploymentId for ${group.deploymentGroup}`);
    return { id: created.deploymentId, adopted: false };
  } catch (err) {
    if (!hasName(err, 'DeploymentLimitExceededException')) throw err;
    const running = await findRunningDeployment(group, key);
    if (running) return { id: running, adopted: true };
    throw new DeploymentGroupBusyError(busyMessage, { region: group.region, deploymentGroup: group.deploymentGroup }, { cause: err });
  }
};
