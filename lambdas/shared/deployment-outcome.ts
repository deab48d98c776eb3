/**
 * What a CodeDeploy deployment's end means to handsoff: completes the deployment step's
 * task, or counts a rollback done. Shared by on-deployment-event, and (from what CodeDeploy
 * reports) by the reconciler and by start-deployment and rollback when they find a
 * deployment already finished.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventType } from '../../core/events.ts';
import { clients } from './clients.ts';
import { getDeployment, TERMINAL_STATE } from './codedeploy.ts';
import { StepError, type DeploymentResult, type RollbackResult } from './contracts.ts';
import { conditionalWrite, getItem, isConditionalCheckFailed } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { logger } from './logger.ts';
import { publish } from './publish.ts';
import {
  DeploymentStatus,
  deploymentWaiterKey,
  scopeOf,
  table,
  WaiterKind,
  WaiterStatus,
  type DeploymentWaiter,
  type RollbackSetWaiter,
  type RollbackWaiter,
  type Waiter,
  type WaiterResult,
} from './tables.ts';
import { deliver, finishWaiter, unwatch } from './waiters.ts';

/** CodeDeploy state-change `state` values that end a deployment. */
export const FINAL_STATES: Record<string, DeploymentStatus> = {
  SUCCESS: DeploymentStatus.SUCCEEDED,
  FAILURE: DeploymentStatus.FAILED,
  STOP: DeploymentStatus.STOPPED,
};

export type Outcome = 'ignored' | 'unknown-deployment' | 'finished' | 'duplicate';

export const resultOf = (deploymentId: string, state: string): WaiterResult =>
  state === 'SUCCESS'
    ? { ok: true, output: { deploymentId, status: 'Succeeded' } satisfies DeploymentResult }
    : { ok: false, error: StepError.DEPLOYMENT_FAILED, cause: { reason: `deployment ${deploymentId} ${state}`, deploymentId } };

/** Moves the deployments item to a final status once; true when this call did it. */
const settleDeploymentItem = (waiter: DeploymentWaiter, status: DeploymentStatus): Promise<boolean> =>
  conditionalWrite(
    new UpdateCommand({
      TableName: table.deployments(),
      Key: { pk: waiter.deploymentsPk, sk: waiter.deploymentsSk },
      UpdateExpression: 'SET #status = :status, #updatedAt = :now',
      ConditionExpression: 'attribute_exists(pk) AND #status IN (:claimed, :running) AND (attribute_not_exists(#id) OR #id = :id)',
      ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt', '#id': 'deploymentId' },
      ExpressionAttributeValues: {
        ':status': status,
        ':now': nowIso(),
        ':claimed': DeploymentStatus.CLAIMED,
        ':running': DeploymentStatus.IN_PROGRESS,
        ':id': waiter.deploymentId,
      },
    }),
  );

const onChangeDeployment = async (waiter: DeploymentWaiter, finished: boolean, state: string): Promise<void> => {
  const status = FINAL_STATES[state]!;
  if (await settleDeploymentItem(waiter, status)) {
    await publish([
      {
        type: state === 'SUCCESS' ? EventType.DEPLOYMENT_SUCCEEDED : EventType.DEPLOYMENT_FAILED,
        ...scopeOf(waiter),
        deploymentId: waiter.deploymentId,
        revision: waiter.revision,
        reason: state === 'SUCCESS' ? undefined : `deployment ${waiter.deploymentId} ${state}`,
      },
    ]);
  }
  if (finished) {
    await deliver(waiter);
    await unwatch(waiter.alarms, waiter.pk);
  }
};

/** One rollback deployment ended: count it on its set; the last one completes the rollback task. */
const onRollbackDeployment = async (waiter: RollbackWaiter, state: string): Promise<void> => {
  const entry = { deploymentGroup: waiter.deploymentGroup, region: waiter.region ?? '', revision: waiter.revision };
  if (state !== 'SUCCESS') {
    const set = await finishWaiter(waiter.parent, {
      ok: false,
      error: StepError.ROLLBACK_FAILED,
      cause: { reason: `rollback deployment ${waiter.deploymentId} of ${waiter.deploymentGroup} ${state}`, deploymentId: waiter.deploymentId },
    });
    if (set) await deliver(set);
    return;
  }
  let set: RollbackSetWaiter;
  try {
    const updated = await clients()
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: table.waiters(),
          Key: { pk: waiter.parent },
          UpdateExpression: 'SET #pending = #pending - :one, #rolledBack = list_append(#rolledBack, :entry), #updatedAt = :now',
          ConditionExpression: '#status = :open',
          ExpressionAttributeNames: { '#pending': 'pending', '#rolledBack': 'rolledBack', '#status': 'status', '#updatedAt': 'updatedAt' },
          ExpressionAttributeValues: { ':one': 1, ':entry': [entry], ':open': WaiterStatus.OPEN, ':now': nowIso() },
          ReturnValues: 'ALL_NEW',
        }),
      );
    set = updated.Attributes as RollbackSetWaiter;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    logger.warn('rollback set no longer open; rollback counted nowhere', { parent: waiter.parent, deploymentId: waiter.deploymentId });
    return;
  }
  await publish([{ type: EventType.ROLLBACK_COMPLETED, ...scopeOf(waiter), revision: waiter.revision, deploymentId: waiter.deploymentId }]);
  if (set.pending <= 0) {
    const done = await finishWaiter(set.pk, { ok: true, output: { rolledBack: set.rolledBack } satisfies RollbackResult });
    if (done) await deliver(done);
  }
};

/** Applies a CodeDeploy deployment's state change. Duplicates and non-final states are no-ops. */
export const onDeploymentState = async (deploymentId: string, state: string): Promise<Outcome> => {
  if (!(state in FINAL_STATES)) return 'ignored';
  const pk = deploymentWaiterKey(deploymentId);
  const finished = await finishWaiter(pk, resultOf(deploymentId, state));
  const waiter = finished ?? (await getItem<Waiter>(table.waiters(), { pk }));
  if (!waiter) {
    logger.info('deployment not started by handsoff (or its waiter is not stored yet); ignored', { deploymentId, state });
    return 'unknown-deployment';
  }
  if (waiter.kind === WaiterKind.DEPLOYMENT) {
    await onChangeDeployment(waiter, finished !== undefined, state);
  } else if (waiter.kind === WaiterKind.ROLLBACK && finished) {
    await onRollbackDeployment(waiter, state);
  }
  return finished ? 'finished' : 'duplicate';
};

/**
 * Applies the end CodeDeploy reports for a deployment now: for an end whose state-change
 * event came while no waiter was stored, or was lost. Undefined while it still runs.
 */
export const settleFromCodeDeploy = async (
  region: string,
  deploymentId: string,
): Promise<{ state: string; outcome: Outcome } | undefined> => {
  const status = (await getDeployment(region, deploymentId))?.status;
  const state = status ? TERMINAL_STATE[status] : undefined;
  if (!state) return undefined;
  return { state, outcome: await onDeploymentState(deploymentId, state) };
};
