/**
 * What an approved emergency does to a change's waits, without redeploying anything: its
 * bakes last the pipeline's `bake.emergencyFloor` (each bake carries it: the state machine
 * passes it with the bake's duration), and its window holds end (time windows do not hold it).
 *
 * - Running ones: the approval finds the change's open waiters (one Query of the open-waiters
 *   index) and moves each bake's end to its start + the floor (past already: now), each hold's
 *   end to now, with a new one-time schedule; bake-end then ends them as it ends any bake (its
 *   minimum data points still apply: a bake without them is extended as before).
 * - Later ones: start-bake reads the change's emergency record once, after its waiter is
 *   written (so a bake started while the approval lands is shortened by one side or the
 *   other), and shortens the bake the same way before it announces it.
 * A record that cannot be read keeps the normal, longer bake: that is the safe side.
 * Blocker waits are left alone: blockers still hold an emergency.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isThrottling } from '../../core/errors.ts';
import { emergencyKey, type EmergencyItem } from '../../core/operator-items.ts';
import { effectiveBakeMs, fastTracking } from '../../core/operators.ts';
import { scheduleBakeEnd } from './bakes.ts';
import { conditionalWrite, getItem, queryAll } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { logger } from './logger.ts';
import { OPEN_SHARD, OPEN_SHARD_ATTRIBUTE, OPEN_WAITERS_INDEX, table, WaiterKind, WaiterStatus, type BakeWaiter } from './tables.ts';

/** A schedule is set at least this far ahead (a bake past its floor ends at the next check). */
const SCHEDULE_LEAD_MS = 1000;

/** The end an approved emergency gives an open bake or hold; undefined when it keeps its own. */
export const fastTrackedEnd = (waiter: BakeWaiter, now: number): { endsAt: number; durationSeconds: number } | undefined => {
  // A wave hold waits for the wave's other regions (they are fast-tracked themselves), not for a window.
  if (waiter.status !== WaiterStatus.OPEN || waiter.purpose === 'blocker' || waiter.wave !== undefined) return undefined;
  if (waiter.purpose === 'hold') return waiter.endsAt > now + SCHEDULE_LEAD_MS ? { endsAt: now + SCHEDULE_LEAD_MS, durationSeconds: waiter.durationSeconds } : undefined;
  if (waiter.emergencyFloorSeconds === undefined) return undefined;
  const bakeMs = effectiveBakeMs(waiter.durationSeconds * 1000, waiter.emergencyFloorSeconds * 1000, 'approved');
  if (bakeMs >= waiter.durationSeconds * 1000) return undefined;
  const endsAt = Math.max(waiter.startedAt + bakeMs, now + SCHEDULE_LEAD_MS);
  return endsAt < waiter.endsAt ? { endsAt, durationSeconds: bakeMs / 1000 } : undefined;
};

/**
 * Moves the end of an open bake or hold as fastTrackedEnd says (conditional on the extension
 * it was read with, the next extension number: a new schedule) and schedules it (unless the
 * caller does); an extension or end taken meanwhile wins. @returns the waiter as it is now, or undefined when unchanged.
 */
export const fastTrackWaiter = async (waiter: BakeWaiter, now: number, schedule = true): Promise<BakeWaiter | undefined> => {
  const end = fastTrackedEnd(waiter, now);
  if (!end) return undefined;
  const next = waiter.extensions + 1;
  const moved = await conditionalWrite(
    new UpdateCommand({
      TableName: table.waiters(),
      Key: { pk: waiter.pk },
      UpdateExpression: 'SET #endsAt = :endsAt, #durationSeconds = :duration, #extensions = :next, #updatedAt = :now',
      ConditionExpression: '#status = :open AND #extensions = :current',
      ExpressionAttributeNames: { '#endsAt': 'endsAt', '#durationSeconds': 'durationSeconds', '#extensions': 'extensions', '#status': 'status', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':endsAt': end.endsAt, ':duration': end.durationSeconds, ':next': next, ':current': waiter.extensions, ':open': WaiterStatus.OPEN, ':now': nowIso() },
    }),
  );
  if (!moved) return undefined;
  if (schedule) await scheduleBakeEnd(waiter.bakeId, end.endsAt, next);
  logger.info('emergency: wait shortened', { bakeId: waiter.bakeId, purpose: waiter.purpose ?? 'bake', endsAt: new Date(end.endsAt).toISOString() });
  return { ...waiter, ...end, extensions: next };
};

/** The approval reaches the change's running bakes and window holds (one Query of the open waiters). */
export const fastTrackRunning = async (pipeline: string, change: string): Promise<number> => {
  const waiters = await queryAll<BakeWaiter>({
    TableName: table.waiters(),
    IndexName: OPEN_WAITERS_INDEX,
    KeyConditionExpression: '#shard = :open',
    FilterExpression: '#pipeline = :pipeline AND #change = :change AND #kind = :bake AND #status = :status',
    ExpressionAttributeNames: { '#shard': OPEN_SHARD_ATTRIBUTE, '#pipeline': 'pipeline', '#change': 'change', '#kind': 'kind', '#status': 'status' },
    ExpressionAttributeValues: { ':open': OPEN_SHARD, ':pipeline': pipeline, ':change': change, ':bake': WaiterKind.BAKE, ':status': WaiterStatus.OPEN },
  });
  const now = Date.now();
  let moved = 0;
  for (const w of waiters) if (await fastTrackWaiter(w, now)) moved++;
  return moved;
};

/**
 * start-bake's read: whether the change's emergency is approved and running. Anything it
 * cannot read answers false (the normal, longer bake), logged.
 */
export const emergencyApproved = async (pipeline: string, change: string): Promise<boolean> => {
  try {
    const item = await getItem<EmergencyItem>(table.operators(), emergencyKey(pipeline, change));
    return item !== undefined && fastTracking(item);
  } catch (err) {
    logger.warn('cannot read the emergency record; the bake keeps its normal length', {
      pipeline,
      change,
      throttled: isThrottling(err),
      error: `${(err as Error).name}: ${(err as Error).message}`,
    });
    return false;
  }
};
