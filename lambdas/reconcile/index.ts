/**
 * Handler `reconcile`, invoked on demand (core/sweeps.ts: a one-time schedule of a sweep slot,
 * woken by the handler that opens a wait and by a sweep that still finds one to watch) and by
 * the hourly heartbeat; the simulator runs it the same way. A lost event delays a decision but
 * never loses it. For every OPEN waiter
 * (the sparse `open-waiters` index of the waiters table):
 * - a watched alarm in ALARM fails it, exactly as on-alarm-event would (AlarmTriggered,
 *   `alarm.triggered` with `detectedBy: 'reconciler'`);
 * - a change deployment or rollback deployment that CodeDeploy reports finished is settled
 *   exactly as on-deployment-event would (a lost CodeDeploy event);
 * - a blocker wait whose blocking alarm exists in another state than the one that closed the
 *   gate succeeds, as on-alarm-event would on its event (the gate checks again); one whose
 *   blocking alarm no longer exists waits on (a vanished alarm ends no wait);
 * - a bake, hold or blocker wait more than a minute past its end is ended as bake-end would (a lost schedule).
 * - a blocker wait that an announced override sets aside is ended as the override's apply would (a lost wake).
 * Before those, every waiter finished more than a minute ago whose result never reached Step
 * Functions (the index keeps it until delivered: a handler died or was throttled between
 * finishing and delivering it) is delivered, its stored result; a rollback deployment's to its
 * rollback set. A task that no longer waits counts as delivered.
 * Nothing is settled as succeeded while its alarms cannot be read: a deployment whose region's
 * DescribeAlarms failed stays open (the next run tries again); one whose watched alarm no longer
 * exists fails closed (AlarmMissing), as start-deployment would refuse it.
 * Then the lanes, when they are due (touched by a lane handler since the last look, or
 * LANES_SWEEP_PERIOD_MS since it): a lane held by an execution that ended (stopped, failed,
 * timed out) is freed and handed on; a hand-over that failed is done again (lambdas/shared/lanes.ts).
 * Every decision is a conditional OPEN -> DONE update: whichever of the event path and the
 * reconciler comes first wins, the other is a no-op. Throttling propagates (the next run, or
 * the Lambda retry, goes on); any other error with one waiter is logged and the rest are
 * still reconciled.
 */
import { alarmStates, failWaiterOnAlarm, observedState, type AlarmStates } from '../shared/alarms.ts';
import { endBake } from '../shared/bakes.ts';
import { clearBlocker, clearsBlocker } from '../shared/blockers.ts';
import { clearLanesMarker, lanesDue, LANES_MARKER_GRACE_MS, markLanesSwept, sweepLanes } from '../shared/lanes.ts';
import { deliver, finishWaiter, isUndelivered, markDelivered } from '../shared/waiters.ts';
import { StepError } from '../../core/contracts.ts';
import { type ReconcileOutput, ScheduledInvocation } from '../../core/contracts.ts';
import { deliverRollback, settleFromCodeDeploy } from '../shared/deployment-outcome.ts';
import { queryAll } from '../shared/dynamo.ts';
import { isThrottling } from '../../core/errors.ts';
import { logger } from '../shared/logger.ts';
import { operatorsReader, overridesOf, unspared, type OperatorsReader } from '../shared/operator-reads.ts';
import { overridableBlockerOf, wakeWaitsAmong } from '../shared/overrides.ts';
import {
  OPEN_SHARD,
  OPEN_SHARD_ATTRIBUTE,
  OPEN_WAITERS_INDEX,
  LANES_MARKER_KEY,
  table,
  WaiterKind,
  WaiterStatus,
  watchedAlarms,
  type BakeWaiter,
  type DeploymentWaiter,
  type LanesMarker,
  type RollbackWaiter,
  type Waiter,
  type WatchedAlarm,
} from '../shared/tables.ts';
import { lambdaHandler } from '../runtime/handler.ts';
import { nextSweepSlot, OVERDUE_MS, sweptEverySlot } from '../../core/sweeps.ts';
import { wakeSweep } from '../shared/sweeps.ts';

export type { ReconcileOutput } from '../../core/contracts.ts';

export { OVERDUE_MS } from '../../core/sweeps.ts';

/** A waiter finished this long ago and still undelivered was left by a handler that died or was throttled before delivering it. */
export const UNDELIVERED_MS = 60_000;

/** The unit the index filter's cut is rounded up to (sweptWaiters). */
const FILTER_CUT_MS = 3_600_000;

/**
 * The sparse index: every open waiter, and every finished one not delivered yet (eventually
 * consistent: re-checked by each conditional write; a delivery a moment ago may still show).
 * Left out by the Query's filter: an open bake or hold that watches no alarm, waits for no
 * blocking alarm and is not yet OVERDUE_MS past its end (the closed-window holds of regions
 * the change has not reached, most of what is open in a long rollout). A sweep has nothing to
 * do with one (no alarm to read, no lost schedule yet), so only its bytes are saved. The
 * filter keeps every other item, the lanes marker and an item without `endsAt` among them. Its cut is `overdueBefore` rounded up to the hour
 * (FILTER_CUT_MS): the same request from one sweep to the next for an hour (the local engine
 * remembers the parse of a repeated expression). Rounded up, it keeps more, never less: a hold
 * ending within the hour is read too, and reconcileBake ends only the ones really overdue.
 */
export const sweptWaiters = async (overdueBefore: number): Promise<{ open: Waiter[]; undelivered: Waiter[]; marker?: LanesMarker }> => {
  const all = await queryAll<Waiter>({
    TableName: table.waiters(),
    IndexName: OPEN_WAITERS_INDEX,
    KeyConditionExpression: '#shard = :open',
    FilterExpression:
      'NOT (#kind = :bake AND #status = :isOpen AND attribute_not_exists(#blocker) AND (attribute_not_exists(#alarms) OR size(#alarms) = :none) AND #endsAt >= :overdueBefore)',
    ExpressionAttributeNames: {
      '#shard': OPEN_SHARD_ATTRIBUTE,
      '#kind': 'kind',
      '#status': 'status',
      '#blocker': 'blocker',
      '#alarms': 'alarms',
      '#endsAt': 'endsAt',
    },
    ExpressionAttributeValues: {
      ':open': OPEN_SHARD,
      ':bake': WaiterKind.BAKE,
      ':isOpen': WaiterStatus.OPEN,
      ':none': 0,
      ':overdueBefore': Math.ceil(overdueBefore / FILTER_CUT_MS) * FILTER_CUT_MS,
    },
  });
  const marker = (all as unknown[]).find((w) => (w as { pk?: string }).pk === LANES_MARKER_KEY) as LanesMarker | undefined;
  return { open: all.filter((w) => w.status === WaiterStatus.OPEN), undelivered: all.filter(isUndelivered), marker };
};

const alarmKey = (a: WatchedAlarm): string => `${a.region}\u0000${a.name}`;

type Tally = { completed: number; failed: number; errors: number };

/** Runs one waiter's reconciliation: throttling propagates, anything else is logged and counted. */
const guarded = async <T>(tally: Tally, waiter: Waiter, step: string, run: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await run();
  } catch (err) {
    if (isThrottling(err)) throw err;
    tally.errors++;
    logger.error('reconciling a waiter failed; the next run tries again', { waiter: waiter.pk, step, error: err as Error });
    return undefined;
  }
};

/**
 * (b) Alarms in ALARM whose state-change event was lost: fail the waiters watching them.
 * Blocking alarms that changed state whose event was lost: end the blocker waits for them
 * (reconcileBlockerWait), as on-alarm-event would.
 */
/** What the alarm pass could read: regions whose states were read, and alarms found missing there. */
interface AlarmView {
  /** Alarm states per region read: only there may a blocker wait or a deployment be decided. */
  read: Map<string, AlarmStates>;
  missing: Set<string>;
}

const reconcileAlarms = async (waiters: Waiter[], settled: Set<string>, tally: Tally, operators: OperatorsReader): Promise<AlarmView> => {
  const byRegion = new Map<string, Map<string, WatchedAlarm>>();
  for (const w of waiters) {
    for (const a of watchedAlarms(w)) {
      const region = byRegion.get(a.region) ?? new Map<string, WatchedAlarm>();
      region.set(a.name, a);
      byRegion.set(a.region, region);
    }
  }
  const alarming = new Set<string>();
  /** Alarm states per region read: only there may a blocker wait or a deployment be decided. */
  const read = new Map<string, AlarmStates>();
  const missing = new Set<string>();
  for (const [region, alarms] of byRegion) {
    try {
      const states = await alarmStates([...alarms.values()]);
      for (const a of states.alarming) alarming.add(alarmKey(a));
      for (const a of states.missing) missing.add(alarmKey(a));
      read.set(region, states);
    } catch (err) {
      if (isThrottling(err)) throw err;
      tally.errors++;
      logger.error('cannot read alarm states; the next run tries again', { region, error: err as Error });
    }
  }
  for (const w of waiters) {
    const inAlarm = (w.alarms ?? []).filter((a) => alarming.has(alarmKey(a)));
    const alarm = inAlarm.length > 0 ? (await unspared(w, inAlarm, operators))[0] : undefined;
    if (!alarm) {
      if (w.kind === WaiterKind.BAKE && w.purpose === 'blocker') await reconcileBlockerWait(w, read, settled, tally);
      continue;
    }
    const failed = await guarded(tally, w, 'alarm', () =>
      failWaiterOnAlarm(w.pk, alarm, `alarm ${alarm.name} is in ALARM (found by the reconciler)`, { detectedBy: 'reconciler' }),
    );
    settled.add(w.pk);
    if (failed) {
      tally.failed++;
      logger.warn('alarm event lost; waiter failed by the reconciler', { waiter: w.pk, alarm: alarm.name, region: alarm.region });
    }
  }
  return { read, missing };
};

/**
 * A change deployment is settled only as far as its alarms were read: none missing (else it
 * fails closed, AlarmMissing) and every region read (else it stays open: true is returned and
 * nothing is decided). Rollback deployments watch no alarms.
 */
const holdOnUnreadAlarms = async (w: DeploymentWaiter | RollbackWaiter, view: AlarmView, tally: Tally): Promise<boolean> => {
  const alarms = w.alarms ?? [];
  const missing = alarms.filter((a) => view.read.has(a.region) && view.missing.has(alarmKey(a)));
  if (missing.length > 0) {
    const names = missing.map((a) => a.name);
    const done = await finishWaiter(w.pk, {
      ok: false,
      error: StepError.ALARM_MISSING,
      cause: {
        reason: `alarm ${names.join(', ')} does not exist in ${missing[0]!.region}; handsoff does not promote a deployment it cannot watch (found by the reconciler)`,
        alarm: names[0],
        region: missing[0]!.region,
        deploymentId: w.deploymentId,
      },
    });
    if (done) {
      await deliver(done);
      tally.failed++;
      logger.warn('watched alarm missing; deployment failed closed by the reconciler', { waiter: w.pk, alarms: names });
    }
    return true;
  }
  if (alarms.some((a) => !view.read.has(a.region))) {
    logger.warn('alarm states unreadable; deployment left open for the next run', { waiter: w.pk });
    return true;
  }
  return false;
};

/**
 * A blocker wait whose blocking alarm now exists in another state than the one that closed
 * the gate (its event lost): ended as on-alarm-event would. A blocking alarm that no longer
 * exists, or whose state could not be read, ends nothing: a gate never opens on doubt.
 */
const reconcileBlockerWait = async (w: BakeWaiter, read: Map<string, AlarmStates>, settled: Set<string>, tally: Tally): Promise<void> => {
  const blocker = w.blocker;
  const states = blocker ? read.get(blocker.region) : undefined;
  if (!blocker || !states) return;
  const now = observedState(states, blocker);
  if (now === 'MISSING' || !clearsBlocker(blocker, now)) return;
  const cleared = await guarded(tally, w, 'blocker', () => clearBlocker(w.pk, blocker.name, now));
  settled.add(w.pk);
  if (cleared) {
    tally.completed++;
    logger.warn('blocking alarm changed state; blocker wait ended by the reconciler', { waiter: w.pk, alarm: blocker.name, region: blocker.region, state: now });
  }
};

/**
 * (f) Blocker waits that an announced override sets aside, whose wake was lost (the apply died
 * after announcing it, or its wake failed and no one retried the request): ended by the
 * apply's own rule (wakeWaitsAmong), so a lost wake costs at most a heartbeat, not the wait's
 * re-check period (core/contracts.ts, blockerRecheckSeconds). The operators table is read only
 * when a wait an override could end is open; unreadable, nothing is ended (the next run tries again).
 */
const reconcileOverrides = async (waiters: Waiter[], settled: Set<string>, tally: Tally, operators: OperatorsReader): Promise<void> => {
  const blocked = waiters.filter((w) => !settled.has(w.pk) && overridableBlockerOf(w) !== undefined);
  if (blocked.length === 0) return;
  const items = await operators();
  for (const o of items ? overridesOf(items) : []) {
    try {
      for (const pk of await wakeWaitsAmong(o, blocked)) {
        settled.add(pk);
        tally.completed++;
        logger.warn("override's wake lost; blocker wait ended by the reconciler", { waiter: pk, override: o.id });
      }
    } catch (err) {
      if (isThrottling(err)) throw err;
      tally.errors++;
      logger.error('ending the waits of an override failed; the next run tries again', { override: o.id, error: err as Error });
    }
  }
};

/** (a) Deployments CodeDeploy reports finished whose state-change event was lost. */
const reconcileDeployment = async (w: DeploymentWaiter | RollbackWaiter, view: AlarmView, done: Set<string>, tally: Tally): Promise<void> => {
  if (!w.region || !w.deploymentId) return;
  if (await holdOnUnreadAlarms(w, view, tally)) return;
  const settled = await settleFromCodeDeploy(w.region, w.deploymentId);
  if (settled?.outcome !== 'finished') return;
  done.add(w.pk);
  if (settled.state === 'SUCCESS') tally.completed++;
  else tally.failed++;
  logger.warn('deployment event lost; settled by the reconciler', { waiter: w.pk, deploymentId: w.deploymentId, state: settled.state });
};

/** (c) Bakes and holds past their end (lost schedule): ended before `overdueBefore`, the same cut as the index's filter. */
const reconcileBake = async (w: BakeWaiter, overdueBefore: number, done: Set<string>, tally: Tally): Promise<void> => {
  if (!(w.endsAt < overdueBefore)) return;
  const out = await endBake(w.bakeId);
  if (out.outcome !== 'extended') done.add(w.pk);
  if (out.outcome === 'completed') tally.completed++;
  else if (out.outcome === 'failed') tally.failed++;
  logger.warn('bake end schedule lost; ended by the reconciler', { waiter: w.pk, outcome: out.outcome });
};

/**
 * (e) Finished waiters whose result never reached Step Functions, finished over a minute ago
 * (a handler still at work is left to it): the stored result is delivered, a rollback
 * deployment's to its set, and its watches dropped. One with nothing to deliver is dropped
 * from the index.
 */
const redeliver = async (waiters: Waiter[], now: number, tally: Tally): Promise<number> => {
  let delivered = 0;
  for (const w of waiters) {
    const finishedAt = Date.parse(w.updatedAt);
    if (Number.isFinite(finishedAt) && finishedAt > now - UNDELIVERED_MS) continue;
    const done = await guarded(tally, w, 'delivery', async () => {
      if (w.kind === WaiterKind.ROLLBACK) await deliverRollback(w);
      else if (w.result && w.token) await deliver(w);
      else await markDelivered(w.pk);
      return true;
    });
    if (!done) continue;
    delivered++;
    logger.warn('finished waiter never delivered; delivered by the reconciler', { waiter: w.pk, kind: w.kind, finishedAt: w.updatedAt });
  }
  return delivered;
};

/**
 * (d) Lanes held by executions that ended, and hand-overs that failed: looked at only when the
 * marker says they are due (lanesDue: touched since the last look, or a sweep period since it),
 * so a sweep in the long stretches where no lane changes hands costs no Scan and no
 * DescribeExecution.
 */
const reconcileLanes = async (
  tally: Tally,
  marker: LanesMarker | undefined,
  now: number,
  started: number,
): Promise<{ lanesFreed: number; lanesHandedOver: number; again: boolean }> => {
  if (!marker || !lanesDue(marker, now)) return { lanesFreed: 0, lanesHandedOver: 0, again: false };
  try {
    const sweep = await sweepLanes();
    // No lane held or waited for, and no acquire for a while: the marker goes (unless one touched it meanwhile).
    if (sweep.items === 0 && marker.touchedAt < now - LANES_MARKER_GRACE_MS) await clearLanesMarker(marker);
    else await markLanesSwept(started);
    // A touch just before this look may have written after it: the next slot looks again.
    return { lanesFreed: sweep.freed, lanesHandedOver: sweep.handedOver, again: lanesDue({ ...marker, sweptAt: started }, now) };
  } catch (err) {
    if (isThrottling(err)) throw err;
    tally.errors++;
    logger.error('sweeping the lanes failed; the next run tries again', { error: err as Error });
    return { lanesFreed: 0, lanesHandedOver: 0, again: true };
  }
};

/** A sweep that throws (throttled, say) wakes the next slot first: the next run tries again, not only the heartbeat. */
export const reconcile = async (): Promise<ReconcileOutput> => {
  try {
    return await sweep();
  } catch (err) {
    await wakeSweep(nextSweepSlot(Date.now()), 'a sweep failed');
    throw err;
  }
};

const sweep = async (): Promise<ReconcileOutput> => {
  // Before the index is read: a lane touched after this is looked at again by the next sweep.
  const started = Date.now();
  const overdueBefore = started - OVERDUE_MS;
  const { open: waiters, undelivered, marker } = await sweptWaiters(overdueBefore);
  const tally: Tally = { completed: 0, failed: 0, errors: 0 };
  const now = Date.now();
  // A quiet sweep: one Query of the index finds no open waiter it must look at, nothing
  // undelivered and no lanes marker (so no lane is held or waited for): nothing to reconcile.
  if (waiters.length === 0 && undelivered.length === 0 && !marker) {
    logger.info('nothing open; quiet sweep');
    return { checked: 0, completed: 0, failed: 0 };
  }
  // Decisions already taken first: their steps have waited longest.
  const redelivered = await redeliver(undelivered, now, tally);
  const settled = new Set<string>();
  // Alarms first: a step whose alarm fires fails, even if its deployment also ended.
  // Read once for the run, and only if a team aggregate in ALARM watches a step or an overridable blocker holds a wait (operator-reads.ts).
  const operators = operatorsReader();
  const view = await reconcileAlarms(waiters, settled, tally, operators);
  await reconcileOverrides(waiters, settled, tally, operators);
  for (const w of waiters) {
    if (settled.has(w.pk)) continue;
    if (w.kind === WaiterKind.DEPLOYMENT || w.kind === WaiterKind.ROLLBACK) {
      await guarded(tally, w, 'deployment', () => reconcileDeployment(w, view, settled, tally));
    } else if (w.kind === WaiterKind.BAKE) {
      await guarded(tally, w, 'bake', () => reconcileBake(w, overdueBefore, settled, tally));
    }
  }
  const lanes = await reconcileLanes(tally, marker, now, started);
  // The next slot, while a waiter this sweep left open is watched every slot (core/sweeps.ts),
  // a finished one is still to deliver, the lanes are to look at again, or an error left work undone.
  const again =
    waiters.some((w) => !settled.has(w.pk) && sweptEverySlot(w)) || undelivered.length > redelivered || lanes.again || tally.errors > 0;
  const next = again ? nextSweepSlot(Date.now()) : undefined;
  if (next !== undefined) await wakeSweep(next, 'a sweep found work still watched');
  const out: ReconcileOutput = {
    checked: waiters.length,
    completed: tally.completed,
    failed: tally.failed,
    ...(lanes.lanesFreed > 0 ? { lanesFreed: lanes.lanesFreed } : {}),
    ...(lanes.lanesHandedOver > 0 ? { lanesHandedOver: lanes.lanesHandedOver } : {}),
    ...(redelivered > 0 ? { redelivered } : {}),
    ...(next !== undefined ? { nextSweep: new Date(next).toISOString() } : {}),
  };
  logger.info('reconciled open waiters', { ...out, errors: tally.errors });
  return out;
};

export const handler = lambdaHandler('reconcile', ScheduledInvocation, reconcile);
