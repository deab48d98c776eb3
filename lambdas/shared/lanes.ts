/**
 * Lanes (lanes table, core/tables.ts): each stage of a pipeline holds at most one change at a
 * time. Acquire, release and hand-over, shared by the `lane` handler and the reconciler
 * (which hands on lanes whose holder's execution ended, or whose hand-over was never confirmed).
 * Conditional writes make every step idempotent; a waiter re-checks the lane after enqueueing,
 * so a release racing with it never strands it. A batching pipeline's lanes (core/batching.ts)
 * go to the newest waiter, superseding the older ones (handOverBatch).
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { DeleteCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BlockReason, EventType } from '../../core/events.ts';
import { hasName } from '../../core/errors.ts';
import { clients } from './clients.ts';
import { conditionalWrite } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { logger } from './logger.ts';
import { endEmergency } from './emergency-hold.ts';
import { publish } from './publish.ts';
import {
  LANE_HOLDER_SK,
  LANES_MARKER_KEY,
  OPEN_SHARD,
  OPEN_SHARD_ATTRIBUTE,
  type LanesMarker,
  laneKey,
  laneWaitSk,
  table,
  type LaneHolderItem,
  type LaneWaitItem,
} from './tables.ts';
import { sendTaskSuccess } from './tokens.ts';
import { wakeSweep } from './sweeps.ts';
import { nextSweepSlot } from '../../core/sweeps.ts';
import { batches, LANE_LAST_SK, nextInBatch, supersededByFloor, type LaneGrant, type LaneLastItem } from '../../core/batching.ts';
import { fastTrackedChanges, lanePartition, raiseFloor, supersede, type LanePartition } from './batching.ts';

/** A marker untouched this long, with the lanes table found empty, is deleted by the reconciler. */
export const LANES_MARKER_GRACE_MS = 3_600_000;

/**
 * How often the reconciler looks at lanes nothing touched: a lane whose holder's execution
 * ended without releasing it (stopped, timed out) is freed within this and one reconciler
 * period. Anything a lane handler does (acquire, release, hand-over) touches the marker first,
 * so a hand-over that failed or a waiter never told is looked at by the next sweep.
 */
export const LANES_SWEEP_PERIOD_MS = 30 * 60_000;

/**
 * A lane handler touches the marker before it acts, so a touch shortly before a look began may
 * have its writes land after the look read the lanes. A touch this long before the look (a
 * handler's 30 s timeout, with room for clocks that differ between Lambdas) counts as unseen:
 * the next sweep looks again.
 */
export const LANES_TOUCH_MARGIN_MS = 2 * 60_000;

/**
 * Whether a reconciler sweep must look at the lanes: never looked at, touched since the last
 * look began or within LANES_TOUCH_MARGIN_MS before it, or the last look a sweep period old.
 */
export const lanesDue = (marker: LanesMarker, now: number): boolean =>
  marker.sweptAt === undefined ||
  marker.touchedAt >= marker.sweptAt - LANES_TOUCH_MARGIN_MS ||
  now - marker.sweptAt >= LANES_SWEEP_PERIOD_MS;

/**
 * Records a look at the lanes that began at `at` (so a touch during the look is newer, and the
 * next sweep looks again). Never creates the marker: false when it is gone.
 */
export const markLanesSwept = (at: number): Promise<boolean> =>
  conditionalWrite(
    new UpdateCommand({
      TableName: table.waiters(),
      Key: { pk: LANES_MARKER_KEY },
      UpdateExpression: 'SET #sweptAt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#sweptAt': 'sweptAt' },
      ExpressionAttributeValues: { ':at': at },
    }),
  );

/**
 * Before a change takes, waits for or releases a lane: the lanes marker is touched (created if
 * need be) and the next sweep woken (core/sweeps.ts), which looks at the lanes.
 */
export const markLanesInUse = async (): Promise<void> => {
  await touchLanesMarker();
  await wakeSweep(nextSweepSlot(Date.now()), 'a lane changes hands');
};

const touchLanesMarker = async (): Promise<void> => {
  await clients()
    .dynamo()
    .send(
      new UpdateCommand({
        TableName: table.waiters(),
        Key: { pk: LANES_MARKER_KEY },
        UpdateExpression: 'SET #shard = :open, #touchedAt = :now ADD #touches :one',
        ExpressionAttributeNames: { '#shard': OPEN_SHARD_ATTRIBUTE, '#touchedAt': 'touchedAt', '#touches': 'touches' },
        ExpressionAttributeValues: { ':open': OPEN_SHARD, ':now': Date.now(), ':one': 1 },
      }),
    );
};

/**
 * Deletes the lanes marker as it was read (no acquire since): false when one touched it
 * meanwhile. Both the counter and the touch time must match, so a marker deleted by another
 * sweep and created again by an acquire (its counter back at 1) is never taken for the old one.
 */
export const clearLanesMarker = (marker: LanesMarker): Promise<boolean> =>
  conditionalWrite(
    new DeleteCommand({
      TableName: table.waiters(),
      Key: { pk: LANES_MARKER_KEY },
      ConditionExpression: '#touches = :touches AND #touchedAt = :touchedAt',
      ExpressionAttributeNames: { '#touches': 'touches', '#touchedAt': 'touchedAt' },
      ExpressionAttributeValues: { ':touches': marker.touches, ':touchedAt': marker.touchedAt },
    }),
  );

/** Takes the lane if it is free or already the change's. */
export const tryHold = (pipeline: string, stage: string, change: string, execution?: string): Promise<boolean> =>
  conditionalWrite(
    new PutCommand({
      TableName: table.lanes(),
      Item: {
        pk: laneKey(pipeline, stage),
        sk: LANE_HOLDER_SK,
        change,
        since: nowIso(),
        pipeline,
        stage,
        ...(execution ? { execution } : {}),
      } satisfies LaneHolderItem,
      ConditionExpression: 'attribute_not_exists(pk) OR change = :change',
      ExpressionAttributeValues: { ':change': change },
    }),
  );

/** Frees the lane if `change` holds it; true when this call did. */
export const releaseHolder = (pipeline: string, stage: string, change: string): Promise<boolean> =>
  conditionalWrite(
    new DeleteCommand({
      TableName: table.lanes(),
      Key: { pk: laneKey(pipeline, stage), sk: LANE_HOLDER_SK },
      ConditionExpression: 'change = :change',
      ExpressionAttributeValues: { ':change': change },
    }),
  );

export const removeWaiter = (pipeline: string, stage: string, change: string) =>
  clients()
    .dynamo()
    .send(new DeleteCommand({ TableName: table.lanes(), Key: { pk: laneKey(pipeline, stage), sk: laneWaitSk(change) } }));

/** Tells a waiting change it holds the lane; false when its task no longer waits (its execution ended, or the token is unusable). */
const tell = async (token: string, stage: string): Promise<boolean> => {
  try {
    return await sendTaskSuccess(token, { lane: stage } satisfies LaneGrant);
  } catch (err) {
    if (hasName(err, 'InvalidToken')) return false;
    throw err;
  }
};

/**
 * Hands a freed lane on: a batching lane's way (handOverBatch), else in order (handOverInOrder).
 * @returns the change told it holds the lane, if any.
 */
export const handOver = async (pipeline: string, stage: string, holder?: string): Promise<string | undefined> =>
  (await handOverBatch(pipeline, stage, undefined, holder)).told;

/**
 * Hands a freed lane to the change that has waited longest. A change whose task no longer
 * waits (its execution stopped, failed or timed out while it waited) does not keep the lane:
 * its entry is dropped and the lane goes to the next one. Also re-sends the token of a
 * change that took the lane but was never told (its wait entry is still there; `holder`
 * names it when known, so that it goes first).
 */
const handOverInOrder = async (pipeline: string, stage: string, waiters: LaneWaitItem[], holder?: string): Promise<string | undefined> => {
  // The change that took the lane but was never told goes first: it holds the lane already.
  const ordered = holder ? [...waiters.filter((w) => w.change === holder), ...waiters.filter((w) => w.change !== holder)] : waiters;
  for (const next of ordered) {
    // tryHold also succeeds when the lane already is next's (a retried release whose earlier
    // try failed after taking it): its wait entry still exists, so its token is sent again.
    if (!(await tryHold(pipeline, stage, next.change, next.execution))) return undefined; // someone else took it: they hand over in turn
    // Tell the waiter before dropping its entry, so that a failure in between is retried, never lost.
    const told = await tell(next.token, stage);
    await removeWaiter(pipeline, stage, next.change);
    if (told) {
      await publish([{ type: EventType.UNBLOCKED, reason: BlockReason.LANE, pipeline, change: next.change, stage }]);
      return next.change;
    }
    logger.warn('waiting change no longer waits; lane handed to the next one', { pipeline, stage, change: next.change });
    await releaseHolder(pipeline, stage, next.change);
  }
  return undefined;
};

export interface BatchHandOver {
  /** The change told it holds the lane, if any. */
  told?: string;
  /** The changes told they are superseded, and by which. */
  superseded: Array<{ change: string; by: string }>;
}

/**
 * A lane's hand-over, batching when every waiter batches (core/batching.ts batches), else in
 * order (handOverInOrder: a lane that still holds a wait entry from before its pipeline turned
 * batching on). Batching, the waiters merged before the lane's newest holder are superseded by
 * it; a free lane goes to the newest waiter (the newest fast-tracked one first), which raises
 * the floor, and so supersedes the older ones in the next round. A holder never told it holds
 * the lane is told again first. Each round ends a waiter's wait or returns, so the loop ends.
 * `read`: the lane's partition, when the caller just read it; `holder`: as handOverInOrder's.
 */
export const handOverBatch = async (pipeline: string, stage: string, read?: LanePartition, holder?: string): Promise<BatchHandOver> => {
  const result: BatchHandOver = { superseded: [] };
  let fastTracked: Set<string> | undefined | null = null; // read once, when a choice needs it
  // Each round ends one waiter's wait or returns: the bound is only a net.
  let lane = read ?? (await lanePartition(pipeline, stage));
  if (!batches(lane.waits)) return { ...result, told: await handOverInOrder(pipeline, stage, lane.waits, holder) };
  for (let round = 0, rounds = 2 * lane.waits.length + 2; round < rounds; round++, lane = await lanePartition(pipeline, stage)) {
    const older = supersededByFloor(lane.waits, lane.last);
    for (const waiter of older) {
      await supersede(waiter, stage, lane.last!.change);
      result.superseded.push({ change: waiter.change, by: lane.last!.change });
    }
    const rest = lane.waits.filter((w) => !older.includes(w));
    const untold = lane.holder && rest.find((w) => w.change === lane.holder!.change);
    if (rest.length === 0 || (lane.holder && !untold)) return result;
    if (!untold && rest.length > 1 && fastTracked === null) fastTracked = await fastTrackedChanges(pipeline);
    const next = untold ?? nextInBatch(rest, rest.length > 1 ? (fastTracked ?? undefined) : new Set())!;
    if (!(await tryHold(pipeline, stage, next.change, next.execution))) return result; // someone else took it: they hand over in turn
    const newer = await raiseFloor(pipeline, stage, next.change, next.mergedAt!);
    if (newer) {
      // A change merged after it held the lane meanwhile: it gives the lane back, and the next round supersedes it.
      logger.warn('a newer change held the lane meanwhile; not handing it to an older one', { pipeline, stage, change: next.change, newer });
      await releaseHolder(pipeline, stage, next.change);
      continue;
    }
    const told = await tell(next.token, stage);
    await removeWaiter(pipeline, stage, next.change);
    if (told) {
      await publish([{ type: EventType.UNBLOCKED, reason: BlockReason.LANE, pipeline, change: next.change, stage }]);
      result.told = next.change;
    } else {
      logger.warn('waiting change no longer waits; lane handed to the next one', { pipeline, stage, change: next.change });
      await releaseHolder(pipeline, stage, next.change);
    }
  }
  return result;
};

/** Step Functions execution statuses that still hold what they acquired. */
const LIVE = ['RUNNING', 'PENDING_REDRIVE'];

/** Whether the execution still runs; true when it cannot tell (the lane is never freed on doubt). */
const executionRuns = async (execution: string): Promise<boolean> => {
  try {
    const { status } = await clients().sfn().send(new DescribeExecutionCommand({ executionArn: execution }));
    return status === undefined || LIVE.includes(status);
  } catch (err) {
    if (hasName(err, 'ExecutionDoesNotExist')) return false;
    throw err;
  }
};

export interface LaneSweep {
  /** Lanes freed because their holder's execution ended. */
  freed: number;
  /** Changes told they hold a lane (a hand-over done or re-sent). */
  handedOver: number;
  /** Items of the lanes table the sweep found (holders and waits; not the batching order floors, which stay). */
  items: number;
}

/**
 * The reconciler's lane sweep: a lane held by an execution that ended (stopped, failed, timed
 * out) is freed and handed on, and the change's approved emergency is over (emergency-hold.ts); a lane with waiters and no holder (a release whose hand-over
 * failed), or whose holder was never told, is handed over again.
 */
export const sweepLanes = async (): Promise<LaneSweep> => {
  const items: Array<LaneHolderItem | LaneWaitItem> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await clients().dynamo().send(new ScanCommand({ TableName: table.lanes(), ExclusiveStartKey: start }));
    items.push(...((page.Items ?? []) as Array<LaneHolderItem | LaneWaitItem>));
    start = page.LastEvaluatedKey;
  } while (start);
  const lanes = new Map<string, { holder?: LaneHolderItem; last?: LaneLastItem; waits: LaneWaitItem[] }>();
  let inUse = 0;
  for (const item of items) {
    const lane = lanes.get(item.pk) ?? { waits: [] };
    // A batching lane's order floor (`last`) stays when the lane is free: it is no use of the lane.
    if (item.sk === LANE_LAST_SK) lane.last = item as unknown as LaneLastItem;
    else if (item.sk === LANE_HOLDER_SK) lane.holder = item as LaneHolderItem;
    else lane.waits.push(item as LaneWaitItem);
    if (item.sk !== LANE_LAST_SK) inUse++;
    lanes.set(item.pk, lane);
  }
  const sweep: LaneSweep = { freed: 0, handedOver: 0, items: inUse };
  for (const { holder, last, waits } of lanes.values()) {
    const pipeline = holder?.pipeline ?? waits[0]?.pipeline;
    const stage = holder?.stage ?? waits[0]?.stage;
    if (!pipeline || !stage) continue; // an item written before lanes named their pipeline and stage
    if (holder?.execution && !(await executionRuns(holder.execution))) {
      if (await releaseHolder(pipeline, stage, holder.change)) {
        sweep.freed++;
        logger.warn('lane held by an execution that ended; freed', { pipeline, stage, change: holder.change, execution: holder.execution });
      }
      // Its own entry, if it was still waiting to be told, goes too; the others get the lane.
      await removeWaiter(pipeline, stage, holder.change);
      // A fast-tracked change that ended without reaching notify (stopped, timed out) holds no one.
      await endEmergency(pipeline, holder.change);
      if (waits.some((w) => w.change !== holder.change) && (await handOver(pipeline, stage))) sweep.handedOver++;
    } else if (holder) {
      // Held by a running execution: only a holder never told it holds the lane needs its token
      // again, and, batching, waiters older than the lane's newest holder are told they are superseded.
      const untold = waits.some((w) => w.change === holder.change);
      if ((untold || supersededByFloor(waits, last).length > 0) && (await handOver(pipeline, stage, holder.change))) sweep.handedOver++;
    } else if (waits.length > 0 && (await handOver(pipeline, stage))) {
      // Free, with changes waiting: a release whose hand-over failed.
      sweep.handedOver++;
    }
  }
  return sweep;
};
