/**
 * The emergency's gate rules and its end.
 *
 * - `emergencyGate` (decideGate asks it at production gates, with the operators partition it
 *   read): the fast-tracked change itself is not held by its deployment window; another change
 *   of the pipeline that has not entered production (no wave-1 step started) waits at its
 *   gate (`emergency-hold`) while a fast-tracked change that has entered production runs. A
 *   fast-tracked change behind it is not waited for: the lanes keep the changes' order, so
 *   it could not pass, and the hold would hold the emergency too.
 * - `settleChange` (notify, when a change is over, before it publishes): records the change's
 *   outcome with its record and marks its approved emergency `over` (`endEmergency`), then ends
 *   the waits held by it (they name the pipeline's emergency-hold key as their blocking alarm;
 *   one Query of the open-waiters index, as an alarm's state change does). Each held gate then
 *   decides again. The nets: the reconciler ends the emergency of a change whose execution
 *   ended holding a lane (stopped, timed out), and a holder whose change record carries a final
 *   status holds no one (a held wait sees it at its hourly re-check, bakes.ts).
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BlockReason } from '../../core/events.ts';
import { emergencyHoldKey, emergencyKey, type EmergencyItem } from '../../core/operator-items.ts';
import { FINAL_STATUS_OF_EVENT, FIRST_PRODUCTION_STAGE, holdingEmergencies, isFinalStatus, windowWaived } from '../../core/operators.ts';
import { clearBlocker } from './blockers.ts';
import { clients } from './clients.ts';
import { conditionalWrite, getItem, isConditionalCheckFailed } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { logger } from './logger.ts';
import { changeKey, deploymentSkPrefix, table, WaiterKind, type BakeWaiter, type ChangeStartedItem } from './tables.ts';
import { waitersWatching } from './waiters.ts';

/** What the emergencies say of a production gate: its window waived, or the change held (as a blocker the wait waits out). */
export interface EmergencyGate {
  windowWaived: boolean;
  hold?: { reason: typeof BlockReason.EMERGENCY_HOLD; alarm: { region: string; name: string; state: 'ALARM' }; emergency: string };
}

/** Whether the change has started a step in the first production wave (one Query, one item at most). */
export const enteredProduction = async (pipeline: string, change: string): Promise<boolean> => {
  const page = await clients()
    .dynamo()
    .send(
      new QueryCommand({
        TableName: table.deployments(),
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :stage)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': `${pipeline}#${change}`, ':stage': deploymentSkPrefix(FIRST_PRODUCTION_STAGE) },
        Limit: 1,
        ConsistentRead: true,
      }),
    );
  return (page.Items ?? []).length > 0;
};

/** Whether the change's record carries its final status (one consistent GetItem). */
const changeOver = async (pipeline: string, change: string): Promise<boolean> =>
  isFinalStatus((await getItem<ChangeStartedItem>(table.changes(), changeKey(pipeline, change)))?.status);

/**
 * The emergencies' decision for the production gate of `change` (stage `stage`, `region`),
 * from the emergency records of the operators partition (`emergencies`). Reads the
 * deployments table only while a fast-tracked change of the pipeline runs; errors propagate
 * (the gate fails closed).
 */
export const emergencyGate = async (
  emergencies: readonly EmergencyItem[],
  step: { pipeline: string; change: string; stage: string; region: string },
): Promise<EmergencyGate> => {
  const { pipeline, change, stage, region } = step;
  const waived = windowWaived(emergencies, pipeline, change);
  if (stage !== FIRST_PRODUCTION_STAGE) return { windowWaived: waived };
  const holders = holdingEmergencies(emergencies, pipeline, change);
  if (holders.length === 0 || (await enteredProduction(pipeline, change))) return { windowWaived: waived };
  for (const e of holders) {
    // A holder whose change is over holds no one, even if its end was never settled.
    if (await changeOver(pipeline, e.change)) continue;
    if (await enteredProduction(pipeline, e.change)) {
      return { windowWaived: waived, hold: { reason: BlockReason.EMERGENCY_HOLD, alarm: { region, name: emergencyHoldKey(pipeline), state: 'ALARM' }, emergency: e.change } };
    }
  }
  return { windowWaived: waived };
};

/** Ends the waits held by the pipeline's emergency: each held gate decides again. @returns how many it ended. */
export const releaseHeld = async (pipeline: string): Promise<number> => {
  const key = emergencyHoldKey(pipeline);
  let released = 0;
  for (const w of await waitersWatching(key)) {
    const wait = w as BakeWaiter;
    if (wait.kind !== WaiterKind.BAKE || wait.purpose !== 'blocker' || wait.blocker?.name !== key) continue;
    if (await clearBlocker(wait.pk, key, 'OK')) released++;
  }
  return released;
};

/**
 * The change's approved emergency is over: marked `over` (again on a retry: the condition is
 * only that it was approved) and the changes it held released. Nothing when the change had no
 * approved emergency. Errors propagate (the caller retries).
 */
export const endEmergency = async (pipeline: string, change: string): Promise<number> => {
  const ended = await conditionalWrite(
    new UpdateCommand({
      TableName: table.operators(),
      Key: emergencyKey(pipeline, change),
      UpdateExpression: 'SET #over = :true, #overAt = :now',
      ConditionExpression: '#state = :approved',
      ExpressionAttributeNames: { '#over': 'over', '#overAt': 'overAt', '#state': 'state' },
      ExpressionAttributeValues: { ':true': true, ':now': nowIso(), ':approved': 'approved' },
    }),
  );
  if (!ended) return 0;
  const released = await releaseHeld(pipeline);
  logger.info('emergency over; held changes released', { pipeline, change, released });
  return released;
};

/**
 * A change is over (`type` is change.completed, .failed, .rejected or .superseded): its record
 * gets its outcome, its approved emergency is over, and the changes it held are released.
 * notify runs it before it publishes the final event, so EventBridge being down does not keep
 * the hold; errors propagate (the state machine retries notify). Idempotent: a retry records
 * again and releases what is still held. `published`: the final event of this type was
 * published already (markFinalPublished), by an attempt that died before it answered.
 */
export const settleChange = async (type: string, pipeline: string | undefined, change: string | undefined): Promise<{ published: boolean }> => {
  const final = finalOf(type, pipeline, change);
  if (!final) return { published: false };
  const before = await setOnChange(final.pipeline, final.change, 'status', final.status);
  await endEmergency(final.pipeline, final.change);
  return { published: before?.finalPublished === type };
};

/**
 * Records that a change's final event was published (after PutEvents), so that a retry of a
 * notify that died after publishing does not publish it again. Nothing for an event that
 * ends no change, or a change without a record.
 */
export const markFinalPublished = async (type: string, pipeline: string | undefined, change: string | undefined): Promise<void> => {
  const final = finalOf(type, pipeline, change);
  if (final) await setOnChange(final.pipeline, final.change, 'finalPublished', type);
};

/** The change an event of `type` ends, with its final status; undefined for any other event. */
const finalOf = (type: string, pipeline: string | undefined, change: string | undefined): { status: string; pipeline: string; change: string } | undefined => {
  const status = FINAL_STATUS_OF_EVENT[type];
  return status && pipeline && change ? { status, pipeline, change } : undefined;
};

/** Sets one attribute of a change's record, if it exists: the record as it was (undefined: none). */
const setOnChange = async (pipeline: string, change: string, attribute: string, value: string): Promise<ChangeStartedItem | undefined> => {
  try {
    const out = await clients()
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: table.changes(),
          Key: changeKey(pipeline, change),
          UpdateExpression: 'SET #attribute = :value',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#attribute': attribute },
          ExpressionAttributeValues: { ':value': value },
          ReturnValues: 'ALL_OLD',
        }),
      );
    return out?.Attributes as ChangeStartedItem | undefined;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    return undefined;
  }
};
