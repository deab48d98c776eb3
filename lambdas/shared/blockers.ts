/**
 * Blocker waits: a gate closed by an alarm waits for that alarm to leave the state that
 * closed it (ALARM, INSUFFICIENT_DATA, or MISSING: the alarm does not exist). The rule of
 * when a wait ends, and its conditional end, shared by start-bake, on-alarm-event and the
 * reconciler. (Its end at the re-check cap is a bake end: bakes.ts.)
 */
import type { BlockerResult, BlockingState, ObservedAlarmState } from '../../core/contracts.ts';
import { alarmStates, observedState } from './alarms.ts';
import { judgeBakeAlarms } from './bakes.ts';
import { logger } from './logger.ts';
import { watchedAlarms, type BakeWaiter } from './tables.ts';
import { deliver, finishWaiter } from './waiters.ts';

/** The state a blocker wait's blocking alarm blocks in (a wait stored without one was blocked by ALARM). */
export const blockingStateOf = (blocker: { state?: BlockingState }): BlockingState => blocker.state ?? 'ALARM';

/**
 * Whether the blocking alarm being in `state` ends a blocker wait: it exists, in another
 * state than the one that closed the gate (the gate then decides again). An alarm that
 * vanishes never ends a wait: a gate does not open without its blocker.
 */
export const clearsBlocker = (blocker: { state?: BlockingState }, state: ObservedAlarmState): boolean =>
  state !== 'MISSING' && state !== blockingStateOf(blocker);

/**
 * A blocker wait's blocking alarm is now in `state`, another than the one that blocked
 * (clearsBlocker): it succeeds with `cleared`, once (the guard makes sure the waiter is a
 * blocker wait for that very alarm, blocked in another state). Publishes nothing: the gate's
 * next check publishes `unblocked`. @returns the finished waiter, or undefined when it was
 * finished already (or is no blocker wait that `state` ends).
 */
export const clearBlocker = async (waiterKey: string, alarm: string, state: Exclude<ObservedAlarmState, 'MISSING'>): Promise<BakeWaiter | undefined> => {
  const bakeId = waiterKey.startsWith('bake#') ? waiterKey.slice('bake#'.length) : waiterKey;
  const output: BlockerResult = { bakeId, purpose: 'blocker', cleared: alarm };
  // A wait stored without `blocker.state` was blocked by ALARM: any other state ends it.
  const blockedElsewise =
    state === 'ALARM'
      ? 'attribute_exists(#blocker.#blockedState) AND #blocker.#blockedState <> :state'
      : '(attribute_not_exists(#blocker.#blockedState) OR #blocker.#blockedState <> :state)';
  const finished = (await finishWaiter(
    waiterKey,
    { ok: true, output },
    {
      condition: `#purpose = :blocker AND #blocker.#name = :alarm AND ${blockedElsewise}`,
      names: { '#purpose': 'purpose', '#blocker': 'blocker', '#name': 'name', '#blockedState': 'state' },
      values: { ':blocker': 'blocker', ':alarm': alarm, ':state': state },
    },
  )) as BakeWaiter | undefined;
  if (!finished) return undefined;
  await deliver(finished);
  logger.info('blocking alarm changed state; blocker wait ended', { waiter: waiterKey, alarm, state, blockedBy: finished.blocker && blockingStateOf(finished.blocker) });
  return finished;
};

/**
 * The start of a blocker wait (its watches written already): one DescribeAlarms for its alarms
 * and its blocking alarm. One of `alarms` missing or in ALARM fails it at once, as it fails a
 * hold (the blocking alarm too when it is one of `alarms` and in ALARM; missing, it is waited
 * for); else a blocking alarm that exists in another state than the one that blocked ends it
 * at once with `cleared` (clearsBlocker); else it waits.
 */
export const startBlockerCheck = async (waiter: BakeWaiter): Promise<'failed' | 'cleared' | 'waiting'> => {
  const blocker = waiter.blocker;
  const states = await alarmStates(watchedAlarms(waiter));
  const check = await judgeBakeAlarms(waiter, states, 'at the start of the blocker wait');
  if (check.problem === 'missing' || check.problem === 'alarm') return 'failed';
  const now = blocker ? observedState(states, blocker) : undefined;
  if (blocker && now && now !== 'MISSING' && clearsBlocker(blocker, now)) {
    await clearBlocker(waiter.pk, blocker.name, now);
    return 'cleared';
  }
  return 'waiting';
};
