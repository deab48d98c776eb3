/**
 * `acquire` for a batching pipeline (core/batching.ts). A change older than the lane's newest
 * holder is superseded at once. A free lane is taken, and the floor raised (a newer change that
 * took it meanwhile wins: the older one gives it back and is superseded). A busy lane: the
 * change enqueues, then frees the stage it holds (it finished it), so that newer changes can
 * pass it and join the wait; the hand-over that follows supersedes whoever the lane's newest
 * holder outdates, and gives a lane freed meanwhile to the newest waiter.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mergedBefore, type BatchWaitItem, type LaneGrant } from '../../core/batching.ts';
import type { LaneInput } from '../../core/contracts.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { BlockReason, EventType } from '../../core/events.ts';
import { lanePartition, raiseFloor } from '../shared/batching.ts';
import { clients } from '../shared/clients.ts';
import { nowIso } from '../shared/duration.ts';
import { handOver, handOverBatch, markLanesInUse, releaseHolder, removeWaiter, tryHold } from '../shared/lanes.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { laneKey, laneWaitSk, table } from '../shared/tables.ts';
import { sendTaskSuccess } from '../shared/tokens.ts';

type Acquire = Extract<LaneInput, { action: 'acquire' }>;
export interface AcquireResult {
  held: boolean;
  supersededBy?: string;
}

/** The merge time as one ISO form (the floor's condition compares strings). */
const mergeTime = (mergedAt: string | undefined): string => {
  const t = mergedAt === undefined ? Number.NaN : Date.parse(mergedAt);
  if (Number.isNaN(t)) {
    throw new InvalidInputError(`lane acquire with batching needs 'mergedAt', the change's merge time (ISO 8601); got ${JSON.stringify(mergedAt)}`, { field: 'mergedAt' });
  }
  return new Date(t).toISOString();
};

const superseded = async (input: Acquire, by: string): Promise<AcquireResult> => {
  logger.info('change older than the lane\'s newest holder; superseded', { stage: input.stage, change: input.change, by });
  await sendTaskSuccess(input.taskToken, { lane: input.stage, supersededBy: by } satisfies LaneGrant);
  await removeWaiter(input.pipeline, input.stage, input.change);
  return { held: false, supersededBy: by };
};

export const acquireBatched = async (input: Acquire): Promise<AcquireResult> => {
  const { pipeline, stage, change, execution } = input;
  const mergedAt = mergeTime(input.mergedAt);
  await markLanesInUse();
  const lane = await lanePartition(pipeline, stage);
  if (lane.last && lane.last.change !== change && mergedBefore({ change, mergedAt }, lane.last)) return superseded(input, lane.last.change);
  if (await tryHold(pipeline, stage, change, execution)) {
    const newer = await raiseFloor(pipeline, stage, change, mergedAt);
    if (newer) {
      await releaseHolder(pipeline, stage, change);
      await handOver(pipeline, stage);
      return superseded(input, newer);
    }
    // A wait entry of an earlier attempt goes: the holder is never told again with a stale token.
    if (lane.waits.some((w) => w.change === change)) await removeWaiter(pipeline, stage, change);
    await sendTaskSuccess(input.taskToken, { lane: stage } satisfies LaneGrant);
    return { held: true };
  }
  // Busy: enqueue (a retry overwrites its own entry with the new token, keeping its place).
  const existing = lane.waits.find((w) => w.change === change);
  const entry: BatchWaitItem = {
    pk: laneKey(pipeline, stage),
    sk: laneWaitSk(change),
    change,
    token: input.taskToken,
    enqueuedAt: existing?.enqueuedAt ?? nowIso(),
    pipeline,
    stage,
    ...(execution ? { execution } : {}),
    mergedAt,
    batching: true,
  };
  await clients().dynamo().send(new PutCommand({ TableName: table.lanes(), Item: entry }));
  // It finished the stage it holds: it frees it while it waits, so that a newer change can pass it and join the wait.
  if (input.previous && (await releaseHolder(pipeline, input.previous, change))) await handOver(pipeline, input.previous);
  // The holder may have released meanwhile; and a newer holder supersedes the older waiters.
  const after = await handOverBatch(pipeline, stage);
  if (after.told === change) return { held: true };
  const by = after.superseded.find((s) => s.change === change)?.by;
  if (by) return { held: false, supersededBy: by };
  if (!existing) await publish([{ type: EventType.BLOCKED, reason: BlockReason.LANE, pipeline, change, stage }]);
  return { held: false };
};
