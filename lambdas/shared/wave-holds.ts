/**
 * Wave holds (StartBakeInput.wave): a region of a wave of several that is done waits at the end
 * of its branch in a hold that watches its alarms, so a slow burn there fails it at once (and
 * the branch rolls the region back) while the other regions of the wave are still deploying.
 * Each hold, once written, adds its region to the wave's record (`waveReachedKey`, a string
 * set); the one that completes the set ends every hold of the wave: their ends move to now
 * (a new one-time schedule each), and bake-end ends them as it ends any hold, judging their
 * alarms. Adding a region twice changes nothing, so a retried start-bake reaches the wave
 * again and ends the holds a crashed attempt did not; a hold no one ends ends at its cap.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { bakeIdOf, scheduleBakeEnd } from './bakes.ts';
import { conditionalWrite, getItem } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { logger } from './logger.ts';
import { bakeWaiterKey, expiresAt, table, waveHoldBakeId, WaiterStatus, type BakeWaiter } from './tables.ts';
import { clients } from './clients.ts';
import { deliver, finishWaiter } from './waiters.ts';
import { WAVE_HOLD_CAP_SECONDS } from '../../core/contracts.ts';

/** The waiters-table record of the regions of a wave that reached their hold (a string set, `reached`). */
export const waveReachedKey = (pipeline: string, change: string, stage: string): string => `wave#${pipeline}#${change}#${stage}`;

/** A released hold's end: this far ahead, so its schedule is never in the past. */
const RELEASE_LEAD_MS = 1000;

/** The wave hold of `region`'s waiter key, for the change and stage of `of`. */
const holdKeyOf = (of: Pick<BakeWaiter, 'pipeline' | 'change' | 'stage'>, region: string): string =>
  bakeWaiterKey(waveHoldBakeId(bakeIdOf({ pipeline: of.pipeline, change: of.change, stage: of.stage, region })));

/**
 * Ends an open wave hold now (its next extension's schedule); false when it was over. One whose
 * end was moved already (by an attempt that may have died before its schedule) gets that
 * extension's schedule again: a schedule that exists already is kept.
 */
const release = async (waiter: BakeWaiter, now: number): Promise<boolean> => {
  if (waiter.status !== WaiterStatus.OPEN) return false;
  if (waiter.extensions > 0 && waiter.endsAt <= now + RELEASE_LEAD_MS) {
    await scheduleBakeEnd(waiter.bakeId, Math.max(waiter.endsAt, now + RELEASE_LEAD_MS), waiter.extensions);
    return false;
  }
  const next = waiter.extensions + 1;
  const endsAt = now + RELEASE_LEAD_MS;
  const moved = await conditionalWrite(
    new UpdateCommand({
      TableName: table.waiters(),
      Key: { pk: waiter.pk },
      UpdateExpression: 'SET #endsAt = :endsAt, #extensions = :next, #updatedAt = :now',
      ConditionExpression: '#status = :open AND #extensions = :current',
      ExpressionAttributeNames: { '#endsAt': 'endsAt', '#extensions': 'extensions', '#status': 'status', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':endsAt': endsAt, ':next': next, ':current': waiter.extensions, ':open': WaiterStatus.OPEN, ':now': nowIso() },
    }),
  );
  if (moved) await scheduleBakeEnd(waiter.bakeId, endsAt, next);
  return moved;
};

/**
 * Adds the hold's region to its wave's record and, when every region of the wave is there,
 * ends all the wave's holds. @returns whether the wave is complete.
 */
export const reachWave = async (hold: BakeWaiter): Promise<boolean> => {
  const regions = hold.wave!.regions;
  const out = await clients()
    .dynamo()
    .send(
      new UpdateCommand({
        TableName: table.waiters(),
        Key: { pk: waveReachedKey(hold.pipeline, hold.change, hold.stage) },
        UpdateExpression: 'ADD #reached :region SET #expiresAt = if_not_exists(#expiresAt, :expires)',
        ExpressionAttributeNames: { '#reached': 'reached', '#expiresAt': 'expiresAt' },
        // The record outlives the longest hold of the wave (its cap).
        ExpressionAttributeValues: { ':region': new Set([hold.region!]), ':expires': expiresAt(Date.now() + WAVE_HOLD_CAP_SECONDS * 1000) },
        ReturnValues: 'ALL_NEW',
      }),
    );
  const reached = new Set<string>((out.Attributes?.reached as Set<string> | undefined) ?? []);
  if (!regions.every((r) => reached.has(r))) return false;
  const released: string[] = [];
  for (const region of regions) {
    const waiter = await getItem<BakeWaiter>(table.waiters(), { pk: holdKeyOf(hold, region) });
    if (waiter && (await release(waiter, Date.now()))) released.push(region);
  }
  logger.info('every region of the wave is done: its holds end', { pipeline: hold.pipeline, change: hold.change, stage: hold.stage, released });
  return true;
};

/**
 * Ends the open wave holds of a wave that is rolled back as a whole (rollback, no region): the
 * Map of its regions ended (a region's branch failed and the others were stopped, or the wave
 * bake failed), so no hold there waits for anything. Each is finished and its task told (a
 * task that no longer waits counts as told): none keeps watching alarms for a change that
 * failed, for up to its 60-day cap. @returns the regions whose hold it ended.
 */
export const endWaveHolds = async (pipeline: string, change: string, stage: string, regions: readonly string[]): Promise<string[]> => {
  const ended: string[] = [];
  for (const region of regions) {
    const pk = holdKeyOf({ pipeline, change, stage }, region);
    const hold = await getItem<BakeWaiter>(table.waiters(), { pk });
    if (hold?.status !== WaiterStatus.OPEN) continue;
    const finished = await finishWaiter(pk, { ok: false, error: 'WaveRolledBack', cause: { reason: `the wave ${stage} is rolled back`, region } });
    if (!finished) continue;
    await deliver(finished);
    ended.push(region);
  }
  if (ended.length > 0) logger.info('the wave is rolled back: its open holds end', { pipeline, change, stage, regions: ended });
  return ended;
};
