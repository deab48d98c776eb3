/**
 * Virtual time for the simulator (@sinonjs/fake-timers): the clock only moves when no
 * handler is running, to the next timer, so days of rollout take a second and waits wake in
 * order. setImmediate stays real: dynalite schedules with it, and `settle` uses it to let
 * promise chains run out.
 */
import { promisify } from 'node:util';
import FakeTimers from '@sinonjs/fake-timers';

/** Node (and the fake clock) fire a timer longer than this at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Marks a setTimeout that honours longer delays. */
const LONG_TIMERS = Symbol.for('handsoff.longTimers');

/** Runs `fn` at virtual time `whenMs`, however far away: long waits re-arm in steps. */
export const at = (whenMs: number, fn: () => void): void => {
  const delay = whenMs - Date.now();
  if (delay > MAX_TIMER_MS) setTimeout(() => at(whenMs, fn), MAX_TIMER_MS);
  else setTimeout(fn, Math.max(0, delay));
};

/**
 * Lets `setTimeout` wait longer than MAX_TIMER_MS (Node, and the fake clock like it, would
 * fire such a timer at once): such a timer is re-armed in steps, so a task's TimeoutSeconds of
 * weeks (a freeze of a month, the region executions' 60 days) is honoured by the local
 * interpreter as on AWS. Applied over the timers in place now (real or fake).
 * @returns what puts those timers back.
 */
const allowLongTimers = (): (() => void) => {
  const plainSet = globalThis.setTimeout;
  const plainClear = globalThis.clearTimeout;
  const long = new WeakMap<object, { current: unknown }>();
  const setLong = ((fn: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    if (!(typeof delay === 'number' && delay > MAX_TIMER_MS)) return plainSet(fn, delay, ...args);
    const state = { current: undefined as unknown, unref: false };
    const handle = {
      ref: () => ((state.unref = false), (state.current as { ref?: () => void } | undefined)?.ref?.(), handle),
      unref: () => ((state.unref = true), (state.current as { unref?: () => void } | undefined)?.unref?.(), handle),
      hasRef: () => !state.unref,
      refresh: () => handle,
      [Symbol.toPrimitive]: () => 0,
    };
    const arm = (remaining: number): void => {
      state.current = remaining > MAX_TIMER_MS ? plainSet(() => arm(remaining - MAX_TIMER_MS), MAX_TIMER_MS) : plainSet(() => fn(...args), remaining);
      if (state.unref) (state.current as { unref?: () => void }).unref?.();
    };
    arm(delay);
    long.set(handle, state);
    return handle;
  }) as typeof setTimeout;
  const clearLong = ((handle?: unknown) => {
    const state = handle && typeof handle === 'object' ? long.get(handle) : undefined;
    plainClear((state ? state.current : handle) as Parameters<typeof clearTimeout>[0]);
  }) as typeof clearTimeout;
  // util.promisify(setTimeout) keeps working as with the timers underneath.
  const custom = (plainSet as unknown as Record<symbol, unknown>)[promisify.custom];
  if (custom) Object.defineProperty(setLong, promisify.custom, { value: custom });
  Object.defineProperty(setLong, LONG_TIMERS, { value: true });
  globalThis.setTimeout = setLong;
  globalThis.clearTimeout = clearLong;
  return () => {
    if (globalThis.setTimeout === setLong) globalThis.setTimeout = plainSet;
    if (globalThis.clearTimeout === clearLong) globalThis.clearTimeout = plainClear;
  };
};

/**
 * Long timers on the timers in place (the real ones, when no fake clock is installed), unless
 * they are long already: the interpreter run without the virtual clock (a definition's own
 * tests) would otherwise time a task of 60 days out after a millisecond (sim/asl-runtime.ts
 * applies it).
 */
export const honourLongRealTimers = (): void => {
  if ((globalThis.setTimeout as unknown as Record<symbol, unknown>)[LONG_TIMERS]) return;
  allowLongTimers();
};

export interface VirtualClock {
  /** Virtual now, epoch ms. */
  readonly now: number;
  /** Fires the next timer (moving the clock to it). */
  next(): void;
  uninstall(): void;
  readonly installed: boolean;
}

/** Fakes the timers and Date from `startMs` on. */
export const installClock = (startMs: number): VirtualClock => {
  const clock = FakeTimers.install({
    now: startMs,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    // SDK requests started before the install clear their (native) timers after it.
    shouldClearNativeTimers: true,
  });
  const restoreLongTimers = allowLongTimers();
  let installed = true;
  return {
    get now() {
      return clock.now;
    },
    next: () => {
      clock.next();
    },
    uninstall: () => {
      if (!installed) return;
      restoreLongTimers();
      clock.uninstall();
      installed = false;
    },
    get installed() {
      return installed;
    },
  };
};

/** Lets the real event loop turn once (I/O, setImmediate), whatever the fake clock says. */
export const realImmediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Waits until nothing runs: three quiet turns of the real event loop in a row with no
 * invocation pending (`pending()`), awaiting `idle()` whenever one is.
 */
export const settle = async (queue: { readonly pending: number; idle(): Promise<void> }): Promise<void> => {
  for (let quiet = 0; quiet < 3; ) {
    await realImmediate();
    if (queue.pending === 0) quiet++;
    else {
      quiet = 0;
      await queue.idle();
    }
  }
};
