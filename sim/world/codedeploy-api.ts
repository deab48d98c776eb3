/**
 * The simulated CodeDeploy API of one region: a drop-in for CodeDeployClient.send that
 * dispatches on the SDK v3 command class name and answers with the SDK's shapes and
 * exception classes.
 */
import {
  ApplicationDoesNotExistException,
  ApplicationNameRequiredException,
  DeploymentAlreadyCompletedException,
  DeploymentConfigDoesNotExistException,
  DeploymentDoesNotExistException,
  DeploymentGroupDoesNotExistException,
  DeploymentGroupNameRequiredException,
  DeploymentIdRequiredException,
  DeploymentLimitExceededException,
  InvalidRevisionException,
  RevisionRequiredException,
} from '@aws-sdk/client-codedeploy';
import type { Deployment, DeploymentGroup, S3Revision } from './model.ts';
import type { World } from './world.ts';
import { isRunningStatus } from '../../core/codedeploy.ts';
import { batchSize } from './deployment-config.ts';
import { dispatcher, meta, toMs, type Handler, type Input } from './sdk.ts';

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

const revisionOf = (revision: S3Revision): S3Revision => ({
  revisionType: 'S3',
  s3Location: { ...revision.s3Location },
});

const summary = (d: Deployment | undefined): Record<string, unknown> | undefined =>
  d && {
    deploymentId: d.id,
    status: d.status,
    createTime: new Date(d.createTime),
    ...(d.completeTime !== undefined ? { endTime: new Date(d.completeTime) } : {}),
  };

const deploymentInfo = (d: Deployment): Record<string, unknown> => {
  const pending = d.group.hosts.length - d.succeeded - d.failed - d.batch.length;
  return {
    applicationName: d.group.application,
    deploymentGroupName: d.group.name,
    deploymentConfigName: d.configName,
    deploymentId: d.id,
    revision: revisionOf(d.revision),
    ...(d.previousRevision ? { previousRevision: revisionOf(d.previousRevision) } : {}),
    status: d.status,
    ...(d.error ? { errorInformation: { ...d.error } } : {}),
    createTime: new Date(d.createTime),
    ...(d.startTime !== undefined ? { startTime: new Date(d.startTime) } : {}),
    ...(d.completeTime !== undefined ? { completeTime: new Date(d.completeTime) } : {}),
    deploymentOverview: {
      Pending: isRunningStatus(d.status) ? pending : 0,
      InProgress: d.batch.length,
      Succeeded: d.succeeded,
      Failed: d.failed,
      Skipped: isRunningStatus(d.status) ? 0 : pending,
      Ready: 0,
    },
    ...(d.description !== undefined ? { description: d.description } : {}),
    creator: 'user',
    computePlatform: 'Server',
    deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
  };
};

export const codeDeployApi = (world: World, region: string): { send(command: unknown): Promise<unknown> } => {
  const findGroup = (input: Input): DeploymentGroup => {
    const application = str(input.applicationName);
    if (!application) throw new ApplicationNameRequiredException({ message: 'The minimum number of required application names was not specified.', ...meta });
    if (!world.applications.get(region)?.has(application)) {
      throw new ApplicationDoesNotExistException({ message: `No application found for name: ${application} (region ${region})`, ...meta });
    }
    const name = str(input.deploymentGroupName);
    if (!name) throw new DeploymentGroupNameRequiredException({ message: 'The deployment group name was not specified.', ...meta });
    const group = world.groups.get(`${region}\u0000${application}\u0000${name}`);
    if (!group) {
      throw new DeploymentGroupDoesNotExistException({ message: `No Deployment Group found for name: ${name} (application ${application}, region ${region})`, ...meta });
    }
    return group;
  };

  const findDeployment = (input: Input): Deployment => {
    const id = str(input.deploymentId);
    if (!id) throw new DeploymentIdRequiredException({ message: 'At least one deployment ID must be specified.', ...meta });
    const deployment = world.deployments.get(id);
    if (!deployment || deployment.group.region !== region) {
      throw new DeploymentDoesNotExistException({ message: `Deployment ${id} does not exist in ${region}`, ...meta });
    }
    return deployment;
  };

  const handlers: Record<string, Handler> = {
    CreateDeploymentCommand(input) {
      const group = findGroup(input);
      const revision = input.revision as { revisionType?: string; s3Location?: Record<string, unknown> } | undefined;
      if (!revision) throw new RevisionRequiredException({ message: 'The revision ID was not specified.', ...meta });
      const location = revision.s3Location;
      const bucket = str(location?.bucket);
      const key = str(location?.key);
      if ((revision.revisionType ?? 'S3') !== 'S3' || !bucket || !key) {
        throw new InvalidRevisionException({
          message: `the simulated world deploys S3 revisions only: got revisionType ${String(revision.revisionType)}, bucket ${String(bucket)}, key ${String(key)}; give { revisionType: 'S3', s3Location: { bucket, key: artifactKey(pipeline, revision), bundleType: 'zip' } }`,
          ...meta,
        });
      }
      const configName = str(input.deploymentConfigName) ?? group.defaultConfig;
      if (batchSize(configName, group.hosts.length, group.pipeline) === undefined) {
        throw new DeploymentConfigDoesNotExistException({ message: `No deployment configuration found for name: ${configName}`, ...meta });
      }
      if (group.active) {
        throw new DeploymentLimitExceededException({
          message: `The Deployment Group '${group.name}' already has an active Deployment '${group.active.id}'`,
          ...meta,
        });
      }
      const s3Location: S3Revision['s3Location'] = { bucket, key, bundleType: str(location?.bundleType) ?? 'zip' };
      if (str(location?.version)) s3Location.version = String(location?.version);
      if (str(location?.eTag)) s3Location.eTag = String(location?.eTag);
      // CodeDeploy reads the region's own copy: another bucket, or a version or ETag of another
      // object, is refused, as S3 behind CodeDeploy refuses it.
      const regionBucket = world.regionBucket(region);
      if (bucket !== regionBucket) {
        throw new InvalidRevisionException({ message: `the revision is in s3://${bucket}, not in this region's artifact bucket ${regionBucket}: copy it there first`, ...meta });
      }
      const mismatch = world.artifacts.mismatch(s3Location);
      if (mismatch) throw new InvalidRevisionException({ message: `the revision does not match the object in s3://${bucket}: ${mismatch}`, ...meta });
      const deployment = world.createDeployment(group, configName, { revisionType: 'S3', s3Location }, str(input.description));
      return { deploymentId: deployment.id };
    },

    GetDeploymentCommand(input) {
      return { deploymentInfo: deploymentInfo(findDeployment(input)) };
    },

    BatchGetDeploymentsCommand(input) {
      const ids = Array.isArray(input.deploymentIds) ? (input.deploymentIds as string[]) : [];
      const found = ids.map((id) => world.deployments.get(id)).filter((d): d is Deployment => d?.group.region === region);
      return { deploymentsInfo: found.map(deploymentInfo) };
    },

    ListDeploymentGroupsCommand(input) {
      const application = str(input.applicationName);
      if (!application) throw new ApplicationNameRequiredException({ message: 'The minimum number of required application names was not specified.', ...meta });
      if (!world.applications.get(region)?.has(application)) {
        throw new ApplicationDoesNotExistException({ message: `No application found for name: ${application} (region ${region})`, ...meta });
      }
      const names = [...world.groups.values()].filter((g) => g.region === region && g.application === application).map((g) => g.name);
      return { applicationName: application, deploymentGroups: names.sort() };
    },

    GetDeploymentGroupCommand(input) {
      const group = findGroup(input);
      return {
        deploymentGroupInfo: {
          applicationName: group.application,
          deploymentGroupId: `${group.region}-${group.name}`,
          deploymentGroupName: group.name,
          deploymentConfigName: group.defaultConfig,
          computePlatform: 'Server',
          ...(group.lastSuccessful ? { targetRevision: revisionOf(group.lastSuccessful.revision) } : {}),
          ...(group.lastSuccessful ? { lastSuccessfulDeployment: summary(group.lastSuccessful) } : {}),
          ...(group.lastAttempted ? { lastAttemptedDeployment: summary(group.lastAttempted) } : {}),
          deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
        },
      };
    },

    ListDeploymentsCommand(input) {
      let group: DeploymentGroup | undefined;
      if (input.applicationName !== undefined || input.deploymentGroupName !== undefined) group = findGroup(input);
      const statuses = Array.isArray(input.includeOnlyStatuses) ? new Set(input.includeOnlyStatuses as string[]) : undefined;
      const range = input.createTimeRange as { start?: unknown; end?: unknown } | undefined;
      const from = toMs(range?.start);
      const to = toMs(range?.end);
      const ids: string[] = [];
      for (const d of world.deployments.values()) {
        if (d.group.region !== region) continue;
        if (group && d.group !== group) continue;
        if (statuses && !statuses.has(d.status)) continue;
        if (from !== undefined && d.createTime < from) continue;
        if (to !== undefined && d.createTime > to) continue;
        ids.push(d.id);
      }
      // Newest first.
      return { deployments: ids.reverse() };
    },

    StopDeploymentCommand(input) {
      const d = findDeployment(input);
      if (!isRunningStatus(d.status)) {
        throw new DeploymentAlreadyCompletedException({ message: `Deployment ${d.id} has already completed (${d.status}).`, ...meta });
      }
      world.stopDeployment(d);
      return (d.status as string) === 'Stopped'
        ? { status: 'Succeeded', statusMessage: 'The deployment was stopped before any instance was touched.' }
        : { status: 'Pending', statusMessage: 'Stopping Pending. Stopping to deploy remaining instances.' };
    },
  };

  return dispatcher('CodeDeploy', handlers);
};
