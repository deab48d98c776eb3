/**
 * When the reconciler sweeps (lambdas/reconcile): on demand, not on a clock. A sweep is the
 * safety net for a lost event, and only some waits can lose one that a sweep must catch
 * within minutes:
 * - a deployment or rollback deployment (a lost CodeDeploy event), and a bake that watches
 *   alarms (a lost alarm event): these are swept every SWEEP_PERIOD_MS while they are open.
 *   They last minutes to hours, so this costs a fixed number of sweeps per step.
 * - a closed-window hold, a bake that watches no alarm and a blocker wait only end on
 *   their bake-end schedule (a blocker wait also on its alarm's event, or at its re-check,
 *   blockerRecheckSeconds in core/contracts.ts, which reads the alarm itself): one sweep at each end,
 *   OVERDUE_MS after it, catches a lost schedule. The alarms a hold watches (the units the
 *   change already reached) are read by every heartbeat: a lost alarm event during a hold
 *   costs at most an hour. A freeze of a month or a weekend hold costs no other sweep.
 * What wakes a sweep is a one-time schedule of one slot of the SWEEP_PERIOD_MS grid (named by
 * the slot, so every wake of the same slot is one sweep): the handler that opens such a wait
 * wakes the next slot, or the slot after its end; each sweep that still finds a wait to watch
 * wakes the next one. A heartbeat (RECONCILE_HEARTBEAT_SECONDS, a standing schedule whatever
 * is open) sweeps too: it catches what a lost wake would leave (a handler that died before
 * waking, three failed attempts of a sweep) and looks at the lanes nobody touches.
 */
import { RECONCILE_PERIOD_SECONDS } from './contracts.ts';
import { WaiterKind, type Waiter } from './tables.ts';

/** The grid of sweep slots: a lost event delays a decision on a watched step by at most this. */
export const SWEEP_PERIOD_MS = RECONCILE_PERIOD_SECONDS * 1000;

/**
 * The standing schedule of the reconciler (an EventBridge rule on AWS, a virtual timer in the
 * simulator): what a lost wake costs at most, and how often lanes nobody touches are looked at.
 */
export const RECONCILE_HEARTBEAT_SECONDS = 3600;

/** A bake or hold this long past its end while still open lost its schedule. */
export const OVERDUE_MS = 60_000;

/** The first slot strictly after `now`: the next sweep of a wait opened or still watched now. */
export const nextSweepSlot = (now: number): number => Math.floor(now / SWEEP_PERIOD_MS) * SWEEP_PERIOD_MS + SWEEP_PERIOD_MS;

/** The first slot at or after `endsAt` + OVERDUE_MS: the sweep that ends a bake or hold whose schedule was lost. */
export const overdueSweepSlot = (endsAt: number): number => Math.ceil((endsAt + OVERDUE_MS) / SWEEP_PERIOD_MS) * SWEEP_PERIOD_MS;

/**
 * Whether an open waiter is swept every slot while it is open: a deployment, a rollback
 * deployment, or a bake that watches alarms (the change just deployed there; any purpose but
 * `hold` and `blocker` is a bake, as lambdas/shared/bakes.ts purposeOf reads it). A hold or a
 * blocker wait (the change waits where it is, its units baked) is swept at its end, and its
 * alarms are read by every heartbeat: a lost alarm event during one costs at most an hour.
 */
export const sweptEverySlot = (w: { kind: Waiter['kind']; alarms?: readonly unknown[]; purpose?: string }): boolean =>
  w.kind === WaiterKind.DEPLOYMENT ||
  w.kind === WaiterKind.ROLLBACK ||
  (w.kind === WaiterKind.BAKE && w.purpose !== 'hold' && w.purpose !== 'blocker' && (w.alarms ?? []).length > 0);

/** Scheduler names allow [0-9a-zA-Z-_.], at most 64 characters: the slot's epoch minute. */
export const sweepScheduleName = (slot: number): string => `handsoff-sweep-${Math.floor(slot / 60_000)}`;
