/**
 * The emergency's gate rules and its end.
 *
 * - `emergencyGate` (decideGate asks it at production gates, with the operators partition it
 *   read): the fast-tracked change itself is not held by its deployment window; another change
 *   of the pipeline that has not entered production (no wave-1 step started) waits at its
 *   gate (`emergency-hold`) while a fast-tracked change that has entered production runs. A
 *   fast-tracked change behind it is not waited for: the lanes keep the changes' order, so
 *   it could not pass, and the hold would hold the emergency too.
 * - `settleChange` (notify, when a change is over): records the change's outcome with its
 *   record and marks its approved emergency `over`, then ends the waits held by it (they name
 *   the pipeline's emergency-hold key as their blocking alarm; one Query of the open-waiters
 *   index, as an alarm's state change does). Each held gate then decides again. A wait whose
 *   end was missed re-checks its gate at its hourly re-check (bakes.ts).
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BlockReason, EventType } from '../../core/events.ts';
import { emergencyHoldKey, emergencyKey, type EmergencyItem } from '../../core/operator-items.ts';
import { FIRST_PRODUCTION_STAGE, holdingEmergencies, windowWaived } from '../../core/operators.ts';
import { isThrottling } from '../../core/errors.ts';
import { clearBlocker } from './blockers.ts';
import { clients } from './clients.ts';
import { conditionalWrite } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { logger } from './logger.ts';
import { changeKey, deploymentSkPrefix, table, WaiterKind, type BakeWaiter } from './tables.ts';
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
    if (await enteredProduction(pipeline, e.change)) {
      return { windowWaived: waived, hold: { reason: BlockReason.EMERGENCY_HOLD, alarm: { region, name: emergencyHoldKey(pipeline), state: 'ALARM' }, emergency: e.change } };
    }
  }
  return { windowWaived: waived };
};

/** The outcome a final event gives a change's record. */
const OUTCOMES: Record<string, string> = {
  [EventType.CHANGE_COMPLETED]: 'succeeded',
  [EventType.CHANGE_FAILED]: 'failed',
  [EventType.CHANGE_REJECTED]: 'rejected',
  [EventType.CHANGE_SUPERSEDED]: 'superseded',
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
 * A change is over (`type` is change.completed, .failed, .rejected or .superseded): its record
 * gets its outcome, its approved emergency is over, and the changes it held are released.
 * Idempotent: a retry marks again and releases what is still held. Throttling propagates (the
 * state machine's retry); anything else is logged: the event is published already, and a held
 * wait re-checks its gate hourly.
 */
export const settleChange = async (type: string, pipeline: string | undefined, change: string | undefined): Promise<void> => {
  const status = OUTCOMES[type];
  if (!status || !pipeline || !change) return;
  try {
    await conditionalWrite(
      new UpdateCommand({
        TableName: table.changes(),
        Key: changeKey(pipeline, change),
        UpdateExpression: 'SET #status = :status',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status },
      }),
    );
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
    if (!ended) return;
    const released = await releaseHeld(pipeline);
    logger.info('emergency over; held changes released', { pipeline, change, status, released });
  } catch (err) {
    if (isThrottling(err)) throw err;
    logger.error('cannot record the end of the change with the operators; a held change waits for its hourly re-check', {
      pipeline,
      change,
      error: `${(err as Error).name}: ${(err as Error).message}`,
    });
  }
};
