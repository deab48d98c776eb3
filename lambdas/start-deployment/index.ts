/**
 * Handler `start-deployment` (`.waitForTaskToken`): starts the change's CodeDeploy
 * deployment in one deployment group and parks the task token until the deployment ends.
 *
 * Idempotent by a claim on the deployments table: a Step Functions retry or a duplicate
 * invocation never starts a second deployment. It re-registers the new token on the
 * deployment already started, adopts a deployment a crashed attempt created (running or
 * ended: one revision is deployed to a group once, and an ended one reports its real
 * outcome), and lets CodeDeploy's one-deployment-per-group rule back that up
 * (DeploymentGroupBusy, retried).
 *
 * The artifact is deployed from the region's own copy of the change's pinned object
 * (shared/region-artifact.ts: copied once per region, its SHA-256 checked against the
 * build's), by S3 version and ETag, never by key alone. The claim records that copy, so a
 * retry, an adoption and a rollback name the same object. Alarms are checked before anything starts (nothing deploys into an alarm), and
 * again once the waiter (its own watch record: `watching`) is written: an alarm that fires
 * between the first check and the waiter fails the step instead of being lost.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { EventType } from '../../core/events.ts';
import { alarmStates, alarmTriggeredEvent, failWaiterOnAlarm, withoutData } from '../shared/alarms.ts';
import { clients } from '../shared/clients.ts';
import { alarmConfigurationWithout, createOrAdoptDeployment, currentRevision, deploymentDescription, findClaimedDeployment, type GroupRef } from '../shared/codedeploy.ts';
import { homeLocation, regionCopy, type CopyRecord } from '../shared/region-artifact.ts';
import { StepError, StartDeploymentInput } from '../../core/contracts.ts';
import { settleFromCodeDeploy } from '../shared/deployment-outcome.ts';
import { nowIso } from '../shared/duration.ts';
import { clean, conflictingItem, getItem, isConditionalCheckFailed, setOnce } from '../shared/dynamo.ts';
import { logger } from '../shared/logger.ts';
import { sparedAlarms, unspared } from '../shared/operator-reads.ts';
import { publish } from '../shared/publish.ts';
import {
  deploymentKey,
  DeploymentStatus,
  deploymentWaiterKey,
  expiresAt,
  scopeOf,
  table,
  WaiterKind,
  WaiterStatus,
  type DeploymentItem,
  type ArtifactLocation,
  type DeploymentWaiter,
  type WatchedAlarm,
} from '../shared/tables.ts';
import { sendTaskFailure } from '../shared/tokens.ts';
import { deliver, finishWaiter, registerWaiter, type Registration } from '../shared/waiters.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export interface StartDeploymentOutput {
  /** `started`: created now; `adopted`: found running after a crash; `waiting`: token re-registered; `refused`: failed before starting. */
  outcome: 'started' | 'adopted' | 'waiting' | 'refused';
  deploymentId?: string;
  registration?: Registration;
}

/** The exact S3 object the region deploys: its copy of the change's pinned artifact (made now if the region lacks it). */
const locationOf = async (input: StartDeploymentInput): Promise<ArtifactLocation> => {
  const { sha256: _sha256, ...location } = await regionCopy(input.pipeline, input.revision, input.artifact, input.region);
  return location;
};


/**
 * With the waiter (its watch record) written, checks the alarms again: one that went to ALARM (or
 * vanished) since the first check, before the watches existed, fails the step now, exactly as
 * on-alarm-event would. @returns true when the waiter was failed (by this call or before).
 */
const failOnAlarmsAfterWatch = async (waiter: DeploymentWaiter): Promise<boolean> => {
  const states = await alarmStates(waiter.alarms);
  const alarm = (await unspared(waiter, states.alarming, undefined, states))[0];
  if (alarm) {
    await failWaiterOnAlarm(waiter.pk, alarm, `alarm ${alarm.name} is in ALARM while deployment ${waiter.deploymentId} starts`);
    return true;
  }
  if (states.missing.length > 0) {
    const names = states.missing.map((a) => a.name);
    const done = await finishWaiter(waiter.pk, {
      ok: false,
      error: StepError.ALARM_MISSING,
      cause: {
        reason: `alarm ${names.join(', ')} does not exist in ${waiter.region}; handsoff does not deploy without its alarms`,
        alarm: names[0],
        region: waiter.region,
        deploymentId: waiter.deploymentId,
      },
    });
    if (done) {
      await deliver(done);
    }
    return true;
  }
  return false;
};

/**
 * Fail closed before starting: every watched alarm must exist, none may be in ALARM, and
 * each must have data (withoutData's rule in alarms.ts).
 * @returns 'refused' when the task was failed, else the alarms in ALARM a team-alarm override spares.
 */
const refuseOnAlarms = async (input: StartDeploymentInput, alarms: WatchedAlarm[]): Promise<'refused' | WatchedAlarm[]> => {
  const states = await alarmStates(alarms);
  if (states.missing.length > 0) {
    const names = states.missing.map((a) => a.name);
    await sendTaskFailure(input.taskToken, StepError.ALARM_MISSING, {
      reason: `alarm ${names.join(', ')} does not exist in ${input.region}; handsoff does not deploy without its alarms`,
      alarm: names[0],
      region: input.region,
    });
    return 'refused';
  }
  // A team aggregate a team-alarm override spares for this change does not refuse it (operator-reads.ts).
  const spared = await sparedAlarms(input, states.alarming, undefined, states);
  const alarming = states.alarming.filter((a) => !spared.includes(a));
  if (alarming.length > 0) {
    const alarm = alarming[0]!.name;
    await publish(alarming.map((a) => alarmTriggeredEvent(input, a)));
    await sendTaskFailure(input.taskToken, StepError.ALARM_TRIGGERED, {
      reason: `alarm ${alarm} is in ALARM; deployment not started`,
      alarm,
      region: input.region,
    });
    return 'refused';
  }
  const noData = withoutData(states);
  if (noData.length > 0) {
    // Not started: the region machine goes back to its gate, which holds until the alarm has data.
    await sendTaskFailure(input.taskToken, StepError.ALARM_WITHOUT_DATA, {
      reason: `alarm ${noData.map((a) => a.name).join(', ')} has no data (INSUFFICIENT_DATA); deployment not started`,
      alarm: noData[0]!.name,
      region: input.region,
    });
    return 'refused';
  }
  return spared;
};

const createDeployment = async (input: StartDeploymentInput, group: GroupRef, location: ArtifactLocation, spared: WatchedAlarm[]): Promise<{ id: string; adopted: boolean }> => {
  const overrideAlarmConfiguration = await alarmConfigurationWithout(group, spared.map((a) => a.name));
  return createOrAdoptDeployment(
    group,
    location,
    {
      ...(overrideAlarmConfiguration ? { overrideAlarmConfiguration } : {}),
      // No configuration: the group's own (one host at a time for the one-box, the pipeline's
      // rolling configuration for units and stages), set by the target stack.
      description: deploymentDescription(input),
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
    },
    `deployment group ${input.deploymentGroup} in ${input.region} is running another deployment; handsoff waits for it rather than start a second one`,
  );
};

/**
 * Records the CodeDeploy id on the claim (first writer wins; the id is stable per group by CodeDeploy's limit).
 * @returns the id the claim holds: ours, or the one another attempt recorded first.
 */
const recordDeploymentId = async (key: { pk: string; sk: string }, deploymentId: string): Promise<string> => {
  const recorded = await setOnce(table.deployments(), key, 'deploymentId', deploymentId, { status: DeploymentStatus.IN_PROGRESS });
  // The condition failed yet no id is recorded: let the task retry.
  if (!recorded) throw new Error(`the deployment claim ${key.pk} ${key.sk} holds no deployment id yet refused ${deploymentId}; retrying`);
  if (recorded !== deploymentId) logger.error('deployment claim already holds another deployment id; waiting on the recorded one', { key, deploymentId, recorded });
  return recorded;
};

export const startDeployment = async (input: StartDeploymentInput): Promise<StartDeploymentOutput> => {
  const { pipeline, change, stage, region, deploymentGroup } = input;
  const key = deploymentKey(pipeline, change, stage, region, deploymentGroup);
  const group: GroupRef = { region, application: input.application, deploymentGroup };
  const alarms: WatchedAlarm[] = input.alarms.map((name) => ({ region, name }));

  let existing = await getItem<DeploymentItem & CopyRecord>(table.deployments(), key);
  let spared: WatchedAlarm[] = [];
  let location: ArtifactLocation | undefined;
  if (!existing) {
    const judged = await refuseOnAlarms(input, alarms);
    if (judged === 'refused') return { outcome: 'refused' };
    spared = judged;
    location = await locationOf(input);
    const previous = await currentRevision(pipeline, group);
    const now = nowIso();
    const claim: DeploymentItem & CopyRecord = {
      ...key,
      ...scopeOf(input),
      region,
      status: DeploymentStatus.CLAIMED,
      application: input.application,
      deploymentGroup,
      revision: input.revision,
      artifact: input.artifact,
      location,
      previousRevision: previous?.revision,
      previousLocation: previous?.location,
      claimedAt: now,
      updatedAt: now,
    };
    try {
      await clients()
        .dynamo()
        .send(
          new PutCommand({
            TableName: table.deployments(),
            Item: clean(claim),
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      existing = await conflictingItem<DeploymentItem & CopyRecord>(err, table.deployments(), key);
    }
  }

  let deploymentId = existing?.deploymentId;
  let outcome: StartDeploymentOutput['outcome'] = 'waiting';
  if (!deploymentId) {
    if (existing) {
      // Claimed by an attempt that died between claim and record: adopt what it created,
      // running or ended (a revision is deployed to a group once; an ended one reports its outcome).
      // A claim without a location was written before region copies: its attempt deployed the home bucket's object.
      const claimed = existing.location ?? homeLocation(pipeline, input.revision, input.artifact);
      const found = await findClaimedDeployment(group, claimed, { ...input, claimedAt: existing.claimedAt });
      deploymentId = found?.id;
      outcome = 'adopted';
      if (!deploymentId) {
        const judged = await refuseOnAlarms(input, alarms);
        if (judged === 'refused') return { outcome: 'refused' };
        spared = judged;
      }
    }
    if (!deploymentId) {
      const created = await createDeployment(input, group, location ?? existing?.location ?? (await locationOf(input)), spared);
      deploymentId = created.id;
      outcome = created.adopted ? 'adopted' : 'started';
    }
    const recorded = await recordDeploymentId(key, deploymentId);
    // Another attempt recorded its deployment first: wait on that one, never on an unrecorded id.
    if (recorded !== deploymentId) {
      deploymentId = recorded;
      outcome = 'waiting';
    }
  }

  const now = nowIso();
  const waiter: DeploymentWaiter = {
    pk: deploymentWaiterKey(deploymentId),
    kind: WaiterKind.DEPLOYMENT,
    status: WaiterStatus.OPEN,
    token: input.taskToken,
    ...scopeOf(input),
    alarms,
    deploymentId,
    revision: input.revision,
    application: input.application,
    deploymentGroup,
    deploymentsPk: key.pk,
    deploymentsSk: key.sk,
    createdAt: now,
    updatedAt: now,
    expiresAt: expiresAt(Date.now()),
  };
  const registration = await registerWaiter(waiter);
  if (registration === 'replayed') return { outcome, deploymentId, registration };
  // The waiter (its watch record) first, then the check: an alarm that fired before it existed is not lost.
  if (outcome !== 'waiting') {
    await publish([
      { type: EventType.DEPLOYMENT_STARTED, ...scopeOf(input), deploymentId, revision: input.revision, sha256: input.artifact.sha256, deploymentGroup },
    ]);
    logger.info('deployment started', { deploymentId, outcome, deploymentGroup, region });
  } else {
    logger.info('deployment already started; waiting on it', { deploymentId, registration });
  }
  if (await failOnAlarmsAfterWatch(waiter)) return { outcome, deploymentId, registration };
  // A deployment found rather than created may have ended while no waiter was stored (a crash
  // before it was): settle it from what CodeDeploy reports rather than wait for an event that already came.
  if (registration === 'created' && outcome !== 'started') await settleFromCodeDeploy(region, deploymentId);
  return { outcome, deploymentId, registration };
};

export const handler = lambdaHandler('start-deployment', StartDeploymentInput, startDeployment);
