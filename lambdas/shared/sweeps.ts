/**
 * Waking the reconciler (core/sweeps.ts): a one-time schedule of one sweep slot, in the bake
 * schedule group, that invokes the reconciler. Named by its slot, so the wakes of every
 * handler for the same slot are one sweep (ConflictException: woken already).
 * Best effort: a wake that fails is logged and the step goes on. A sweep is a safety net;
 * the heartbeat (RECONCILE_HEARTBEAT_SECONDS) sweeps in any case, so a lost wake delays the
 * catch of a lost event to the next heartbeat, never decides anything.
 */
import { isThrottling } from '../../core/errors.ts';
import { nextSweepSlot, sweepScheduleName } from '../../core/sweeps.ts';
import { ConfigurationError, env, ENV } from './config.ts';
import { logger } from './logger.ts';
import { createOneTimeSchedule } from './schedules.ts';

/** Wakes the sweep of `slot` (epoch millis on the sweep grid): true when this call scheduled it, false when it was scheduled already or the wake failed. */
export const wakeSweep = async (at: number, why: string): Promise<boolean> => {
  // A slot already past (a bake that ends now) is the next one: a schedule never fires in the past.
  const slot = Math.max(at, nextSweepSlot(Date.now()));
  const schedule = { name: sweepScheduleName(slot), at: slot, description: `handsoff reconciler sweep (${why})`, functionArn: env(ENV.RECONCILE_FUNCTION_ARN), input: {} };
  try {
    return (await createOneTimeSchedule(schedule)) === 'created';
  } catch (err) {
    // A missing setting is a deployment error: never a failed wake.
    if (err instanceof ConfigurationError) throw err;
    logger.warn(isThrottling(err) ? 'waking a sweep was throttled; the heartbeat sweeps instead' : 'waking a sweep failed; the heartbeat sweeps instead', {
      slot: new Date(slot).toISOString(),
      why,
      error: err as Error,
    });
    return false;
  }
};
