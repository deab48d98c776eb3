/**
 * Release batching's reads and writes on the lanes table (the rules: core/batching.ts): a
 * lane's partition read at once (holder, order floor, waiters), the floor raised when a change
 * takes the lane, a waiter told it is superseded, and the fast-tracked changes that no normal
 * change may supersede.
 */
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LANE_LAST_SK, type BatchWaitItem, type LaneGrant, type LaneLastItem } from '../../core/batching.ts';
import { isEmergencyItem, type EmergencyItem } from '../../core/operator-items.ts';
import { fastTracking } from '../../core/operators.ts';
import { clients } from './clients.ts';
import { conditionalWrite, getItem, queryAll } from './dynamo.ts';
import { logger } from './logger.ts';
import { readOperatorItems } from './operator-reads.ts';
import { LANE_HOLDER_SK, LANE_WAIT_PREFIX, laneKey, table, type LaneHolderItem, type LaneWaitItem } from './tables.ts';
import { sendTaskSuccess } from './tokens.ts';

export interface LanePartition {
  holder?: LaneHolderItem;
  /** The newest change that ever held the lane (batching pipelines only). */
  last?: LaneLastItem;
  /** The changes waiting for it, longest first. */
  waits: BatchWaitItem[];
}

/** Everything a lane's partition holds, in one Query (consistent: a hand-over decides on it). */
export const lanePartition = async (pipeline: string, stage: string): Promise<LanePartition> => {
  const items = await queryAll<Record<string, unknown> & { sk: string }>({
    TableName: table.lanes(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': laneKey(pipeline, stage) },
    ConsistentRead: true,
  });
  const lane: LanePartition = { waits: [] };
  for (const item of items) {
    if (item.sk === LANE_HOLDER_SK) lane.holder = item as unknown as LaneHolderItem;
    else if (item.sk === LANE_LAST_SK) lane.last = item as unknown as LaneLastItem;
    else if (item.sk.startsWith(LANE_WAIT_PREFIX)) lane.waits.push(item as unknown as BatchWaitItem);
  }
  lane.waits.sort((a, b) => a.enqueuedAt.localeCompare(b.enqueuedAt) || a.change.localeCompare(b.change));
  return lane;
};

/**
 * Records `change` as the newest change that held the lane, unless a change merged after it
 * did (a conditional write: two hand-overs racing cannot lower the floor).
 * @returns undefined when recorded (or already so), else the newer change that holds the floor.
 */
export const raiseFloor = async (pipeline: string, stage: string, change: string, mergedAt: string): Promise<string | undefined> => {
  const key = { pk: laneKey(pipeline, stage), sk: LANE_LAST_SK };
  const raised = await conditionalWrite(
    new UpdateCommand({
      TableName: table.lanes(),
      Key: key,
      UpdateExpression: 'SET #change = :change, #mergedAt = :mergedAt, #pipeline = :pipeline, #stage = :stage',
      // core/batching.ts mergedBefore's order: merged earlier, or in the same second with a smaller id.
      ConditionExpression: 'attribute_not_exists(pk) OR #change = :change OR #mergedAt < :mergedAt OR (#mergedAt = :mergedAt AND #change < :change)',
      ExpressionAttributeNames: { '#change': 'change', '#mergedAt': 'mergedAt', '#pipeline': 'pipeline', '#stage': 'stage' },
      ExpressionAttributeValues: { ':change': change, ':mergedAt': mergedAt, ':pipeline': pipeline, ':stage': stage },
    }),
  );
  if (raised) return undefined;
  return (await getItem<LaneLastItem>(table.lanes(), key))?.change ?? 'a newer change';
};

/**
 * The changes of the pipeline whose emergency is approved and running (never superseded by a
 * normal change); undefined when the operators table cannot be read (then nobody is passed over).
 */
export const fastTrackedChanges = async (pipeline: string): Promise<Set<string> | undefined> => {
  try {
    const items = await readOperatorItems();
    const emergencies = items.filter((i) => isEmergencyItem(i)) as unknown as EmergencyItem[];
    return new Set(emergencies.filter((e) => e.pipeline === pipeline && fastTracking(e)).map((e) => e.change));
  } catch (err) {
    logger.warn('cannot read the operators table; the lane goes to the change that waited longest', { pipeline, error: `${(err as Error).name}: ${(err as Error).message}` });
    return undefined;
  }
};

/**
 * Tells a waiting change it is superseded by `by` (its execution announces `change.superseded`
 * and ends), then drops its wait entry: a crash in between leaves the entry, and the next
 * hand-over or the reconciler tells it again (a task that no longer waits is just dropped).
 */
export const supersede = async (waiter: LaneWaitItem, stage: string, by: string): Promise<boolean> => {
  const told = await sendTaskSuccess(waiter.token, { lane: stage, supersededBy: by } satisfies LaneGrant);
  await clients().dynamo().send(new DeleteCommand({ TableName: table.lanes(), Key: { pk: waiter.pk, sk: waiter.sk } }));
  return told;
};
