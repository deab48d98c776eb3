/**
 * Virtual time for the simulator (@sinonjs/fake-timers): the clock only moves when no
 * handler is running, to the next timer, so days of rollout take a second and waits wake in
 * order. setImmediate stays real: dynalite schedules with it, and `settle` uses it to let
 * promise chains run out.
 */
import FakeTimers from '@sinonjs/fake-timers';

/** Node (and the fake clock) fire a timer longer than this at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `fn` at virtual time `whenMs`, however far away: long waits re-arm in steps. */
export const at = (whenMs: number, fn: () => void): void => {
  const delay = whenMs - Date.now();
  if (delay > MAX_TIMER_MS) setTimeout(() => at(whenMs, fn), MAX_TIMER_MS);
  else setTimeout(fn, Math.max(0, delay));
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
