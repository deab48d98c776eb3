/**
 * Live virtual time (`handsoff console`): instead of jumping from timer to timer, the run
 * follows the wall clock at a pace (`speed` virtual seconds per real second), can pause, and
 * takes actions from people (an override, an emergency request or decision) at the virtual
 * time they make them, through the operator handler, inside the engine's queue like every
 * other invocation.
 *
 * The run's fake clock (clock.ts) replaces the global timers while it runs: this module keeps
 * the real ones, taken when it loads, to sleep between ticks.
 */
import type { OperatorAction, OperatorResult } from '../core/operators.ts';

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
/** Real milliseconds, whatever the fake clock does to Date (it leaves `performance` alone). */
const realNow = (): number => performance.now();

/** The longest real sleep between two ticks of a live run. */
export const LIVE_TICK_MS = 100;

export interface Pace {
  /** Virtual seconds per real second. */
  speed: number;
  paused: boolean;
}

/** What the engine lends a live run: its clock, and a way to act now. */
export interface LiveDriver {
  /** Virtual now, epoch ms. */
  now(): number;
  readonly untilMs: number;
  /** Fires every timer due by `targetMs` in order (letting each one's work settle), then stands at `targetMs`; stops early when `interrupted()`. */
  advanceTo(targetMs: number, interrupted: () => boolean): Promise<void>;
  /** Invokes the operator handler with `action` now, in the engine's queue. */
  operate(action: OperatorAction): Promise<OperatorResult>;
}

interface Job {
  action: OperatorAction;
  resolve: (r: OperatorResult) => void;
  reject: (e: Error) => void;
}

const ended = (why: string): OperatorResult => ({ status: 409, error: `the run is over (${why}); nothing more happens in it`, reason: 'run-ended' });

/**
 * The live run's controls: the caller makes one, passes it to `simulate({ live })`, and
 * keeps it to act, to change the pace and to stop. The run ends at the scenario's `until`
 * (virtual time stops there) or at `stop()`.
 */
export class LiveControl {
  private pace: Pace;
  /** The pace's anchor: virtual time `virtual` at real time `real`. */
  private anchor = { real: realNow(), virtual: Number.NaN };
  private driver: LiveDriver | undefined;
  private readonly jobs: Job[] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  /** The pace changed: the advance under way stops where it is, and the loop aims again. */
  private repaced = false;
  private over: string | undefined;

  /** `signal`: aborting it stops the run, as `stop()` does. */
  constructor(pace: Partial<Pace> & { signal?: AbortSignal } = {}) {
    this.pace = { speed: pace.speed ?? 600, paused: pace.paused ?? false };
    if (pace.signal?.aborted) this.stopped = true;
    pace.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Virtual now: the run's clock (NaN before it starts). */
  now(): number {
    return this.driver ? this.driver.now() : this.anchor.virtual;
  }

  get state(): Pace & { now: number; running: boolean } {
    return { ...this.pace, now: this.now(), running: this.driver !== undefined };
  }

  /** Changes the pace from now on. */
  setPace(change: Partial<Pace>): Pace & { now: number } {
    this.anchor = { real: realNow(), virtual: this.driver ? this.driver.now() : this.anchor.virtual };
    this.pace = { speed: change.speed ?? this.pace.speed, paused: change.paused ?? this.pace.paused };
    this.repaced = true;
    this.wake?.();
    return { ...this.pace, now: this.now() };
  }

  /** Runs `action` at the current virtual time; what the operator handler answers. */
  act(action: OperatorAction): Promise<OperatorResult> {
    if (this.over) return Promise.resolve(ended(this.over));
    return new Promise((resolve, reject) => {
      this.jobs.push({ action, resolve, reject });
      this.wake?.();
    });
  }

  /** Ends the run at the current virtual time. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Where the wall clock puts virtual time now (at most `until`). */
  private target(untilMs: number): number {
    const { real, virtual } = this.anchor;
    const t = this.pace.paused ? virtual : virtual + (realNow() - real) * this.pace.speed;
    return Math.min(untilMs, Math.floor(t));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = realSetTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        realClearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** The engine's loop in live mode: until `until` or `stop()`. */
  async drive(driver: LiveDriver): Promise<void> {
    this.driver = driver;
    this.anchor = { real: realNow(), virtual: driver.now() };
    const busy = () => this.stopped || this.repaced || this.jobs.length > 0;
    try {
      while (!this.stopped) {
        const job = this.jobs.shift();
        if (job) {
          await driver.operate(job.action).then(job.resolve, job.reject);
          continue;
        }
        this.repaced = false;
        // Paused, it still fires what is due now (what a handler or the HTTP server set for 0 ms).
        await driver.advanceTo(Math.max(this.target(driver.untilMs), driver.now()), busy);
        if (driver.now() >= driver.untilMs) break;
        if (!busy()) await this.sleep(LIVE_TICK_MS);
      }
    } finally {
      this.over = this.stopped ? 'stopped' : `it reached its end, ${new Date(driver.untilMs).toISOString()}`;
      const now = driver.now();
      this.driver = undefined;
      this.anchor = { real: realNow(), virtual: now };
      for (const job of this.jobs.splice(0)) job.resolve(ended(this.over));
    }
  }
}
