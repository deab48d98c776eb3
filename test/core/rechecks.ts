/**
 * The re-checks of a blocker wait that lasts `hours`, by the rule of core/contracts.ts: the first
 * an hour after the gate closed (check-window's `nextOpening`), then one per re-arm. In hours
 * since the gate closed.
 */
import { BLOCKER_RECHECK_SECONDS, blockerRecheckSeconds } from '../../core/contracts.ts';

export const recheckTimes = (hours: number, blocker: string | undefined): number[] => {
  const at: number[] = [];
  for (let t = BLOCKER_RECHECK_SECONDS, n = 1; t <= hours * 3600; t += blockerRecheckSeconds(n++, blocker)) at.push(t / 3600);
  return at;
};
