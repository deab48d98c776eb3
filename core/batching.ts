/**
 * Release batching: the pure rules of who gets a lane, and who is superseded, when a
 * pipeline batches (`batching: true`, core/model.ts).
 *
 * - A lane remembers the newest change that ever held it (its `last` item, with the change's
 *   merge time). A change older than that is superseded on arrival by it: nothing older ever
 *   deploys in a stage after something newer, whatever delayed it.
 * - Of the changes waiting for a busy lane, the newest gets it when it is freed; once it holds
 *   it, every older waiter is older than the lane's newest holder, hence superseded by it (it
 *   contains their commits).
 * - An approved emergency (fast-tracked) is never superseded by a normal change waiting with it:
 *   the newest fast-tracked waiter gets the lane, the normal changes newer than it go on
 *   waiting behind it (they are handed the lane, and supersede each other, when it frees it).
 *   An emergency older than a change that already held the lane is superseded all the same:
 *   the newer change has passed that stage and carries its commits, and deploying the older
 *   one over it would undo them.
 *
 * "Newer" is the merge time (`mergedAt`, the push to main); changes merged at the same instant
 * are neither older nor newer than each other: one is never superseded by the other on arrival,
 * and among waiters the later enqueued counts as the newer.
 */

import type { LaneWaitItem } from './tables.ts';

/** Sort key of the item naming the newest change that ever held a lane (lanes table, `${pipeline}#${stage}`). */
export const LANE_LAST_SK = 'last';

/** The newest change that ever held a lane (sk `last`): a batching pipeline's order floor. */
export interface LaneLastItem {
  pk: string;
  sk: typeof LANE_LAST_SK;
  change: string;
  mergedAt: string;
  pipeline: string;
  stage: string;
}

/** What a batching waiter records with its wait entry (lanes table, sk `wait#${change}`). */
export interface BatchedWait {
  /** The change's merge time: its place in the batching order. */
  mergedAt: string;
  /** The pipeline batches: the lane goes to the newest waiter, the older ones are superseded. */
  batching: boolean;
}

/** A wait entry as a batching pipeline writes it (a strict one's lacks the batching fields). */
export type BatchWaitItem = LaneWaitItem & Partial<BatchedWait>;

/** What a change waiting for a lane is told: it holds the lane, or it is superseded by `supersededBy`. */
export interface LaneGrant {
  lane: string;
  supersededBy?: string;
}

const time = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));

/**
 * Whether `a` comes before `b` in the pipeline's order of changes: merged earlier, or in the same
 * second with the smaller id (a total order, the same at every stage, so that two changes merged
 * in one second never swap places between stages). False when either time is unknown (nothing is
 * superseded on doubt of order) and for the same change.
 */
export const mergedBefore = (a: { change: string; mergedAt?: string }, b: { change: string; mergedAt?: string }): boolean => {
  const ta = time(a.mergedAt);
  const tb = time(b.mergedAt);
  return ta < tb || (ta === tb && a.change < b.change);
};

interface Waiter {
  change: string;
  enqueuedAt: string;
  mergedAt?: string;
  batching?: boolean;
}

/** Oldest first, in mergedBefore's order: by merge time, then by id (the same at every stage and in every handler). */
export const batchOrder = <W extends Waiter>(waits: readonly W[]): W[] =>
  [...waits].sort((a, b) => (time(a.mergedAt) || 0) - (time(b.mergedAt) || 0) || (a.change < b.change ? -1 : a.change > b.change ? 1 : 0));

/** Whether the waiters batch: every one of them says so (a wait written by a strict pipeline, or before batching, keeps strict order). */
export const batches = (waits: readonly Waiter[]): boolean => waits.length > 0 && waits.every((w) => w.batching === true && w.mergedAt !== undefined);

/** The waiters superseded by the lane's newest holder (`floor`): those merged before it, never the floor's own entry. */
export const supersededByFloor = <W extends Waiter>(waits: readonly W[], floor: { change: string; mergedAt?: string } | undefined): W[] =>
  floor ? waits.filter((w) => w.change !== floor.change && mergedBefore(w, floor)) : [];

/**
 * The waiter a freed lane goes to, batching: the newest fast-tracked one if any waits, else the
 * newest. `fastTracked` undefined (the operators table could not be read): the one that has waited
 * longest, as a strict pipeline does (nobody is passed over on doubt: an emergency might be).
 */
export const nextInBatch = <W extends Waiter>(waits: readonly W[], fastTracked: ReadonlySet<string> | undefined): W | undefined => {
  if (waits.length === 0) return undefined;
  if (!fastTracked) return [...waits].sort((a, b) => a.enqueuedAt.localeCompare(b.enqueuedAt) || a.change.localeCompare(b.change))[0];
  const ordered = batchOrder(waits);
  const emergencies = ordered.filter((w) => fastTracked.has(w.change));
  return emergencies.at(-1) ?? ordered.at(-1);
};
