/**
 * What a CodeDeploy deployment's end means to handsoff: completes the deployment step's
 * task, or counts a rollback done. Shared by on-deployment-event, and (from what CodeDeploy
 * reports) by the reconciler and by start-deployment and rollback when they find a
 * deployment already finished.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventType } from '../../core/events.ts';
import { clients } from './clients.ts';
import { FINAL_EVENT_STATES, finalStateOf } from '../../core/codedeploy.ts';
import { getDeployment } from './codedeploy.ts';
import { StepError, type DeploymentResult, type RollbackResult } from '../../core/contracts.ts';
import { conditionalWrite, conflictingItem, getItem, isConditionalCheckFailed } from './dynamo.ts';
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
import { deliver, finishWaiter, markDelivered } from './waiters.ts';

/** The deployments table's status for each CodeDeploy status that ends a deployment (core/codedeploy.ts). */
const ITEM_STATUS: Record<string, DeploymentStatus> = {
  Succeeded: DeploymentStatus.SUCCEEDED,
  Failed: DeploymentStatus.FAILED,
  Stopped: DeploymentStatus.STOPPED,
};

/** `unconfirmed`: a SUCCESS event CodeDeploy does not confirm (the deployment still runs): nothing promoted. */
export type Outcome = 'ignored' | 'unknown-deployment' | 'finished' | 'duplicate' | 'unconfirmed';

export const resultOf = (deploymentId: string, state: string): WaiterResult =>
  state === 'SUCCESS'
    ? { ok: true, output: { deploymentId, status: 'Succeeded' } satisfies DeploymentResult }
    : { ok: false, error: StepError.DEPLOYMENT_FAILED, cause: { reason: `deployment ${deploymentId} ${state}`, deploymentId } };

/** The final event state a result of resultOf was made from (FAILURE when it cannot tell). */
export const stateOfResult = (result: WaiterResult): string => {
  if (result.ok) return 'SUCCESS';
  const last = result.cause?.reason?.split(' ').at(-1);
  return last && last !== 'SUCCESS' && last in FINAL_EVENT_STATES ? last : 'FAILURE';
};

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
  const status = ITEM_STATUS[FINAL_EVENT_STATES[state]!]!;
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
  }
};

/**
 * The rollback task fails when some group could not be restored (no previous revision to
 * restore, its deployment only stopped; or another rollback of the change failed there, `why`):
 * boxes it updated keep serving the change.
 */
export const unrestorableResult = (
  unrestorable: NonNullable<RollbackSetWaiter['unrestorable']>,
  rolledBack: RollbackSetWaiter['rolledBack'] = [],
): Extract<WaiterResult, { ok: false }> => ({
  ok: false,
  error: StepError.ROLLBACK_FAILED,
  cause: {
    reason: [
      ...(unrestorable.some((g) => !g.why)
        ? [`no previous revision to restore in ${unrestorable.filter((g) => !g.why).map((g) => `${g.deploymentGroup} (${g.region})`).join(', ')}; deployment stopped only`]
        : []),
      ...unrestorable.filter((g) => g.why).map((g) => `${g.deploymentGroup} (${g.region}): ${g.why}`),
    ].join('; '),
    detail: rolledBack.length > 0 ? `rolled back: ${rolledBack.map((g) => `${g.deploymentGroup} (${g.region})`).join(', ')}` : undefined,
  },
});

/** Completes the rollback set once every rollback is counted; a no-op (or a re-delivery) when it is done already. */
const finishSet = async (set: RollbackSetWaiter): Promise<void> => {
  if (set.pending > 0) return;
  const result: WaiterResult = set.unrestorable?.length
    ? unrestorableResult(set.unrestorable, set.rolledBack)
    : { ok: true, output: { rolledBack: set.rolledBack, ...(set.superseded?.length ? { superseded: set.superseded } : {}) } satisfies RollbackResult };
  const done = await finishWaiter(set.pk, result);
  if (done) await deliver(done);
};

/**
 * One rollback deployment ended: count it on its set; the last one completes the rollback task.
 * Runs again for a child already DONE (a redelivered event after a crash): the countdown records
 * the ids it counted, so it never counts one twice, and a set counted down to 0 is finished then.
 */
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
  let set: RollbackSetWaiter | undefined;
  let counted = false;
  try {
    const updated = await clients()
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: table.waiters(),
          Key: { pk: waiter.parent },
          UpdateExpression: 'SET #pending = #pending - :one, #rolledBack = list_append(#rolledBack, :entry), #updatedAt = :now ADD #counted :idSet',
          ConditionExpression: '#status = :open AND NOT contains(#counted, :id)',
          ExpressionAttributeNames: {
            '#pending': 'pending',
            '#rolledBack': 'rolledBack',
            '#status': 'status',
            '#updatedAt': 'updatedAt',
            '#counted': 'counted',
          },
          ExpressionAttributeValues: {
            ':one': 1,
            ':entry': [entry],
            ':open': WaiterStatus.OPEN,
            ':now': nowIso(),
            ':id': waiter.deploymentId,
            ':idSet': new Set([waiter.deploymentId]),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    set = updated.Attributes as RollbackSetWaiter;
    counted = true;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    // Counted already (a duplicate, or a retry after a crash), or the set is done: finish it if it is due.
    set = await conflictingItem<RollbackSetWaiter>(err, table.waiters(), { pk: waiter.parent });
    if (!set) logger.warn('no rollback set; rollback counted nowhere', { parent: waiter.parent, deploymentId: waiter.deploymentId });
  }
  if (set) await finishSet(set);
  // Last, and only by the call that counted it: a duplicate publishes nothing.
  if (counted) {
    await publish([{ type: EventType.ROLLBACK_COMPLETED, ...scopeOf(waiter), revision: waiter.revision, deploymentId: waiter.deploymentId }]);
  }
};

/**
 * Applies a CodeDeploy deployment's state change. Duplicates and non-final states are no-ops.
 * A SUCCESS is believed only as CodeDeploy confirms it (GetDeployment, in the waiter's region):
 * a forged or stale event never completes a step; when CodeDeploy reports another end, that
 * end is applied. `confirmed`: the state was read from CodeDeploy already.
 */
export const onDeploymentState = async (deploymentId: string, state: string, opts: { confirmed?: boolean } = {}): Promise<Outcome> => {
  if (!(state in FINAL_EVENT_STATES)) return 'ignored';
  const pk = deploymentWaiterKey(deploymentId);
  if (state === 'SUCCESS' && !opts.confirmed) {
    const stored = await getItem<Waiter>(table.waiters(), { pk });
    if (!stored?.region) {
      logger.info('deployment not started by handsoff (or its waiter is not stored yet); ignored', { deploymentId, state });
      return 'unknown-deployment';
    }
    const status = (await getDeployment(stored.region, deploymentId))?.status;
    const real = finalStateOf(status);
    if (!real) {
      logger.warn('SUCCESS event not confirmed by CodeDeploy; ignored', { deploymentId, status });
      return 'unconfirmed';
    }
    if (real !== state) logger.warn('CodeDeploy reports another end than the event; applying what CodeDeploy reports', { deploymentId, event: state, status });
    state = real;
  }
  const finished = await finishWaiter(pk, resultOf(deploymentId, state));
  const waiter = finished ?? (await getItem<Waiter>(table.waiters(), { pk }));
  if (!waiter) {
    logger.info('deployment not started by handsoff (or its waiter is not stored yet); ignored', { deploymentId, state });
    return 'unknown-deployment';
  }
  if (waiter.kind === WaiterKind.DEPLOYMENT) {
    await onChangeDeployment(waiter, finished !== undefined, state);
  } else if (waiter.kind === WaiterKind.ROLLBACK) {
    // Also for a child already DONE: a crash between finishing it and counting it down must not strand the set.
    await deliverRollback(waiter);
  }
  return finished ? 'finished' : 'duplicate';
};

/**
 * Delivers a finished rollback deployment's stored result to its rollback set (counted down
 * once, or failing it), then records the delivery: until then the reconciler finds it. Runs
 * again for one delivered already (a duplicate event): the countdown is idempotent.
 */
export const deliverRollback = async (waiter: RollbackWaiter): Promise<void> => {
  if (waiter.status !== WaiterStatus.DONE || !waiter.result) return;
  await onRollbackDeployment(waiter, stateOfResult(waiter.result));
  if (!waiter.delivered) await markDelivered(waiter.pk);
};

/**
 * Applies the end CodeDeploy reports for a deployment now: for an end whose state-change
 * event came while no waiter was stored, or was lost. Undefined while it still runs.
 */
export const settleFromCodeDeploy = async (
  region: string,
  deploymentId: string,
): Promise<{ state: string; outcome: Outcome } | undefined> => {
  const state = finalStateOf((await getDeployment(region, deploymentId))?.status);
  if (!state) return undefined;
  return { state, outcome: await onDeploymentState(deploymentId, state, { confirmed: true }) };
};
