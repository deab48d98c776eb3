/**
 * Handler `lane`: each stage of a pipeline holds at most one change at a time, so that at
 * most one deployment runs per CodeDeploy deployment group and changes keep their order.
 * A change acquires the next stage before it releases the one it is in; with release batching
 * (batched.ts, core/batching.ts) a change that must wait frees the stage it is in, and of the
 * changes waiting for a lane the newest gets it, superseding the older ones.
 *
 * Items (lanes table, core/tables.ts): sk `holder`, the change holding the lane and its
 * execution; sk `wait#${change}`, a change waiting for it, with its task token and enqueue
 * time. The logic (lambdas/shared/lanes.ts) is shared with the reconciler, which frees lanes
 * whose holder's execution ended and retries hand-overs that failed.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { BlockReason, EventType } from '../../core/events.ts';
import { clients } from '../shared/clients.ts';
import { LaneInput } from '../../core/contracts.ts';
import { queryAll } from '../shared/dynamo.ts';
import { handOver, markLanesInUse, releaseHolder, removeWaiter, tryHold } from '../shared/lanes.ts';
import { logger } from '../shared/logger.ts';
import { nowIso } from '../shared/duration.ts';
import { publish } from '../shared/publish.ts';
import { laneKey, laneWaitSk, table, type LaneWaitItem } from '../shared/tables.ts';
import { sendTaskSuccess } from '../shared/tokens.ts';
import { lambdaHandler } from '../runtime/handler.ts';
import { acquireBatched, type AcquireResult } from './batched.ts';

const acquire = async (input: Extract<LaneInput, { action: 'acquire' }>): Promise<AcquireResult> => {
  if (input.batching) return acquireBatched(input);
  const { pipeline, stage, change, execution } = input;
  // First: the next reconciler sweep looks at the lanes (lanes.ts lanesDue).
  await markLanesInUse();
  if (await tryHold(pipeline, stage, change, execution)) {
    await sendTaskSuccess(input.taskToken, { lane: stage });
    return { held: true };
  }
  // Busy: enqueue (a retry overwrites its own entry with the new token, keeping its place).
  const pk = laneKey(pipeline, stage);
  const existing = await queryAll<LaneWaitItem>({
    TableName: table.lanes(),
    KeyConditionExpression: 'pk = :pk AND sk = :sk',
    ExpressionAttributeValues: { ':pk': pk, ':sk': laneWaitSk(change) },
  });
  const entry: LaneWaitItem = {
    pk,
    sk: laneWaitSk(change),
    change,
    token: input.taskToken,
    enqueuedAt: existing[0]?.enqueuedAt ?? nowIso(),
    pipeline,
    stage,
    ...(execution ? { execution } : {}),
  };
  await clients().dynamo().send(new PutCommand({ TableName: table.lanes(), Item: entry }));
  // The holder may have released between our first try and the enqueue.
  if (await tryHold(pipeline, stage, change, execution)) {
    await removeWaiter(pipeline, stage, change);
    await sendTaskSuccess(input.taskToken, { lane: stage });
    return { held: true };
  }
  if (!existing[0]) {
    await publish([{ type: EventType.BLOCKED, reason: BlockReason.LANE, pipeline, change, stage }]);
  }
  return { held: false };
};

const release = async (input: Extract<LaneInput, { action: 'release' }>): Promise<{ released: string[] }> => {
  const released: string[] = [];
  // First: the next reconciler sweep looks at the lanes (a hand-over that fails below is done again).
  await markLanesInUse();
  for (const stage of input.stages) {
    if (await releaseHolder(input.pipeline, stage, input.change)) {
      released.push(stage);
    } else {
      // Not ours (already released, or never acquired): still drop a stale wait entry.
      await removeWaiter(input.pipeline, stage, input.change);
      logger.info('lane not held by this change; nothing to release', { stage, change: input.change });
    }
    // Hand over even when not ours to release: a retried release must not strand a waiter.
    await handOver(input.pipeline, stage);
  }
  return { released };
};

export const lane = async (input: LaneInput): Promise<{ held?: boolean; supersededBy?: string; released?: string[] }> => {
  return input.action === 'acquire' ? acquire(input) : release(input);
};

export const handler = lambdaHandler('lane', LaneInput, lane);
