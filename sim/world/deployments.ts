/**
 * CodeDeploy's deployments in the world: Created -> (1 s) InProgress -> batches of 2-minute
 * installs -> Succeeded | Failed | Stopped, with the state-change events AWS emits and a
 * `world.deployment` stream event for every status.
 */
import { EventType, type HandsoffEvent } from '../../core/events.ts';
import { EVENT_STATE_OF_STATUS } from '../../core/codedeploy.ts';
import { batchSize } from './deployment-config.ts';
import type { Deployment, DeploymentGroup, DeploymentStatus, Host, S3Revision } from './model.ts';
import { appliesTo } from './serve.ts';
import { DEPLOYMENT_START_DELAY_MS, HOST_INSTALL_MS, nextDeploymentId, type WorldEmission, type WorldState } from './state.ts';

export class Deployments {
  constructor(
    private readonly state: WorldState,
    private readonly emit: (e: WorldEmission) => void,
    /** Whether an emission of that kind and region is to be lost now (World.dropEvents). */
    private readonly drops: (kind: 'codedeploy', region: string, now: number) => boolean,
    /** A batch is about to be installed on some of the group's hosts. */
    private readonly onBatch: (group: DeploymentGroup) => void = () => undefined,
  ) {}

  /** Registers a Created deployment and schedules its start. */
  createDeployment(group: DeploymentGroup, configName: string, revision: S3Revision, description: string | undefined): Deployment {
    const now = Date.now();
    const deployment: Deployment = {
      id: nextDeploymentId(this.state),
      group,
      configName,
      revision,
      ...(group.lastSuccessful ? { previousRevision: group.lastSuccessful.revision } : {}),
      ...(description !== undefined ? { description } : {}),
      status: 'Created',
      createTime: now,
      next: 0,
      batch: [],
      succeeded: 0,
      failed: 0,
      stopRequested: false,
    };
    this.state.deployments.set(deployment.id, deployment);
    group.active = deployment;
    group.lastAttempted = deployment;
    this.state.counters.running++;
    this.announce(deployment);
    deployment.timer = setTimeout(() => this.begin(deployment), DEPLOYMENT_START_DELAY_MS);
    return deployment;
  }

  /** StopDeployment: now if no batch is installing, else when the batch in flight finishes. */
  stopDeployment(deployment: Deployment): void {
    if (deployment.status === 'Created') {
      if (deployment.timer !== undefined) clearTimeout(deployment.timer);
      this.finish(deployment, 'Stopped', { code: 'DEPLOYMENT_STOPPED', message: 'The deployment was stopped by a user request.' });
      return;
    }
    deployment.stopRequested = true;
  }

  private begin(deployment: Deployment): void {
    deployment.timer = undefined;
    deployment.status = 'InProgress';
    deployment.startTime = Date.now();
    this.announce(deployment);
    this.startBatch(deployment);
  }

  private startBatch(deployment: Deployment): void {
    const hosts = deployment.group.hosts;
    const size = batchSize(deployment.configName, hosts.length, deployment.group.pipeline) ?? 1;
    deployment.batch = hosts.slice(deployment.next, deployment.next + size);
    deployment.next += deployment.batch.length;
    this.onBatch(deployment.group);
    for (const host of deployment.batch) host.installing = true;
    deployment.timer = setTimeout(() => this.finishBatch(deployment), HOST_INSTALL_MS);
  }

  private finishBatch(deployment: Deployment): void {
    deployment.timer = undefined;
    const now = Date.now();
    const key = deployment.revision.s3Location.key;
    const crashed: Host[] = [];
    for (const host of deployment.batch) {
      host.installing = false;
      host.revision = key;
      host.installedAt = now;
      host.installEndedAt = now;
      const behavior = this.state.behaviors.get(key);
      if (behavior?.kind === 'crash' && appliesTo(behavior, host.group)) crashed.push(host);
    }
    deployment.failed += crashed.length;
    deployment.succeeded += deployment.batch.length - crashed.length;
    deployment.batch = [];
    if (deployment.stopRequested) {
      this.finish(deployment, 'Stopped', { code: 'DEPLOYMENT_STOPPED', message: 'The deployment was stopped by a user request.' });
    } else if (crashed.length > 0) {
      this.finish(deployment, 'Failed', {
        code: 'HEALTH_CONSTRAINTS',
        message: `The overall deployment failed because too many individual instances failed deployment: ${crashed.map((h) => h.id).join(', ')} failed ValidateService after installing ${key}.`,
      });
    } else if (deployment.next < deployment.group.hosts.length) {
      this.startBatch(deployment);
    } else {
      this.finish(deployment, 'Succeeded');
    }
  }

  private finish(deployment: Deployment, status: DeploymentStatus, error?: { code: string; message: string }): void {
    deployment.status = status;
    deployment.completeTime = Date.now();
    deployment.timer = undefined;
    if (error) deployment.error = error;
    const group = deployment.group;
    if (group.active === deployment) group.active = undefined;
    if (status === 'Succeeded') group.lastSuccessful = deployment;
    this.state.counters.running--;
    this.announce(deployment);
  }

  /** Emits the CodeDeploy state-change event (if any) and the world.deployment stream event. */
  private announce(deployment: Deployment): void {
    const group = deployment.group;
    const state = EVENT_STATE_OF_STATUS[deployment.status];
    const dropped = state !== undefined && this.drops('codedeploy', group.region, Date.now());
    if (state && !dropped) {
      this.emit({
        kind: 'codedeploy',
        detail: { region: group.region, application: group.application, deploymentGroup: group.name, deploymentId: deployment.id, state },
      });
    }
    const key = deployment.revision.s3Location.key;
    const prefix = `${group.pipeline.name}/`;
    const revision = key.startsWith(prefix) && key.endsWith('.zip') ? key.slice(prefix.length, -'.zip'.length) : key;
    const event: HandsoffEvent = {
      time: new Date(Date.now()).toISOString(),
      type: EventType.WORLD_DEPLOYMENT,
      pipeline: group.pipeline.name,
      stage: group.stage,
      region: group.region,
      ...(group.unit !== undefined ? { unit: group.unit } : {}),
      target: group.target,
      deploymentId: deployment.id,
      status: deployment.status,
      revision,
      deploymentGroup: group.name,
      ...(dropped ? { dropped: true } : {}),
    };
    this.emit({ kind: 'stream', event });
  }
}
